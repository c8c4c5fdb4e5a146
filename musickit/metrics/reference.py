"""Reference corpora for evaluation, with their metric values cached on disk.

Comparing a handful of samples with the Bach chorales should not mean
parsing a hundred chorales every time. :func:`reference_features` computes a
source's :class:`~musickit.metrics.evaluation.SetFeatures` once and stores
them as JSON in ``$MUSICKIT_CACHE_DIR/reference_metrics``, keyed by the
source's fingerprint (file names, sizes and times for a folder; music21's
version and file list for a corpus), the metric names, and a digest of the
code that defines the metrics, so an edited metric never reads stale values.

:func:`reference_splits` returns the parsed pieces themselves, split into
train/valid/test as :func:`musickit.data.load_dataset` splits them (70/15/15
by content group, or a source's published split), cached as compressed JSON
in ``$MUSICKIT_CACHE_DIR/reference_scores`` so that only the first call
parses the corpus.

Example:

>>> reference = reference_features("bach", max_files=50)  # doctest: +SKIP
>>> comparison = compare_sets(samples, reference)  # doctest: +SKIP
>>> splits = reference_splits("bach", seed=0)  # doctest: +SKIP
>>> len(splits["test"]) > 0  # doctest: +SKIP
True
"""

import gzip
import hashlib
import json
import os

from musickit.metrics.evaluation import METRIC_NAMES, SetFeatures
from musickit.utils.atomic import atomic_path

# Modules whose code decides metric values: all of musickit.metrics and the
# score/quantization/key code under it.
_DEFINING_PACKAGES = ("metrics", "music", "representations")


# Modules whose code decides how a source becomes scores.
_PARSING_PACKAGES = ("music",)


def definitions_digest(packages=_DEFINING_PACKAGES):
    """SHA-1 of the source files that define the metric values (or of ``packages``)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha1()
    for package in packages:
        folder = os.path.join(root, package)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    digest.update(name.encode() + handle.read())
    return digest.hexdigest()


def reference_features(source="bach", max_files=None, names=None, use_cache=True, show_progress=None):
    """:class:`SetFeatures` of a data source (see :mod:`musickit.data.sources`), cached on disk.

    Unreadable pieces are skipped by the source with one warning line each;
    a source with nothing readable raises :class:`musickit.DataSourceError`.
    """
    from musickit.data.cache import cache_dir, cache_key
    from musickit.data.sources import open_source, read_scores

    names = sorted(names or METRIC_NAMES)
    opened = open_source(source, max_files)
    key = cache_key("reference_metrics", opened.fingerprint(), names, definitions_digest())
    path = os.path.join(cache_dir(), "reference_metrics", f"{key}.json")
    if use_cache and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as handle:
                return SetFeatures.from_json(json.load(handle))
        except (OSError, ValueError, KeyError, TypeError):  # a damaged entry is recomputed, not fatal
            pass
    collection = read_scores(opened, show_progress=show_progress)
    features = SetFeatures.from_scores([piece.score for piece in collection.pieces], names)
    if use_cache:
        with atomic_path(path) as temporary:
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(features.to_json(), handle)
    return features


# ---------------------------------------------------------------- parsed pieces, split


def _score_to_json(score):
    return {
        "notes": [[n.pitch, n.velocity, n.start, n.end, n.program, int(n.is_drum), n.instrument] for n in score.notes],
        "tempos": [[tempo.time, tempo.qpm] for tempo in score.tempos],
        "time_signatures": [[sig.time, sig.numerator, sig.denominator] for sig in score.time_signatures],
        "key_signatures": [[key.time, key.key] for key in score.key_signatures],
        "markers": [[marker.time, marker.text] for marker in score.markers],
        "metadata": {key: value for key, value in score.metadata.items() if isinstance(value, (str, int, float))},
    }


def _score_from_json(document):
    from musickit.music.score import KeySignature, Marker, Note, Score, TempoChange, TimeSignature

    return Score(
        notes=[
            Note(p, v, s, e, program, bool(drum), instrument)
            for p, v, s, e, program, drum, instrument in document["notes"]
        ],
        tempos=[TempoChange(*row) for row in document["tempos"]],
        time_signatures=[TimeSignature(*row) for row in document["time_signatures"]],
        key_signatures=[KeySignature(*row) for row in document["key_signatures"]],
        markers=[Marker(*row) for row in document["markers"]],
        metadata=dict(document["metadata"]),
    )


def reference_pieces(source="bach", max_files=None, use_cache=True, show_progress=None):
    """Every readable piece of ``source`` as ``[{"name", "group", "split", "score"}]``, parsed once and cached.

    ``group`` is :func:`musickit.data.splits.content_group`; ``split`` the
    source's published split (None for corpora and folders).
    """
    from musickit.data.cache import cache_dir, cache_key
    from musickit.data.sources import open_source, read_scores
    from musickit.data.splits import content_group

    opened = open_source(source, max_files)
    parsing = definitions_digest(_PARSING_PACKAGES)
    key = cache_key("reference_scores", 1, opened.description, opened.fingerprint(), parsing)
    path = os.path.join(cache_dir(), "reference_scores", f"{key}.json.gz")
    document = None
    if use_cache and os.path.isfile(path):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError, EOFError):  # a damaged entry is re-parsed, not fatal
            document = None
    if document is None:
        collection = read_scores(opened, show_progress=show_progress)
        document = {
            "has_published_splits": collection.has_published_splits,
            "pieces": [
                {
                    "name": piece.name,
                    "group": content_group(piece.score),
                    "split": piece.entry.split,
                    "score": _score_to_json(piece.score),
                }
                for piece in collection.pieces
            ],
        }
        if use_cache:
            with atomic_path(path) as temporary:
                with gzip.open(temporary, "wt", encoding="utf-8") as handle:
                    json.dump(document, handle)
    pieces = [{**piece, "score": _score_from_json(piece["score"])} for piece in document["pieces"]]
    return pieces, document["has_published_splits"]


def reference_splits(source="bach", seed=0, max_files=None, use_cache=True, show_progress=None):
    """``{"train": [Score], "valid": [...], "test": [...]}`` of ``source``, split as ``load_dataset`` splits it.

    Pieces are assigned by :func:`musickit.data.splits.piece_splits` (the
    policy ``load_dataset`` uses): by content group with ``seed``, or a
    source's published split where it has one, so the test split of a run trained with ``--seed S`` on
    ``--data SOURCE`` is ``reference_splits(SOURCE, seed=S)["test"]``. (A
    piece the run's representation could not encode is not in the run's
    dataset; for the music21 corpora and the piano roll there is none.)
    """
    from musickit.data.splits import SPLIT_NAMES, piece_splits

    pieces, published = reference_pieces(source, max_files, use_cache, show_progress)
    published_splits = [piece["split"] for piece in pieces] if published else None
    places = piece_splits([piece["group"] for piece in pieces], published_splits, seed=seed)
    splits = {name: [] for name in SPLIT_NAMES}
    for piece, place in zip(pieces, places):
        splits[place].append(piece["score"])
    return splits
