"""``load_dataset``: a source, encoded by a representation, cached, split.

Example:

>>> from musickit.representations.piano_roll import PianoRoll
>>> dataset = load_dataset("bach", PianoRoll(), seed=0, max_files=10)  # doctest: +SKIP
>>> dataset.train[0].shape, dataset.train.metadata[0]["style"]  # doctest: +SKIP
((192, 88), 'bach')
"""

import dataclasses
import logging

import numpy as np

from musickit.data import cache
from musickit.data.sources import DEFAULT_SOURCE, open_source, read_scores
from musickit.data.splits import SPLIT_NAMES, content_group, piece_splits
from musickit.music.sections import section_scores

logger = logging.getLogger("musickit.data")

# section_scores lives with the music code (musickit.music.sections); it stays importable from here.
__all__ = ["EncodedDataset", "EncodedSplit", "load_dataset", "section_scores"]

# Score metadata kept with each encoded piece.
_KEPT_METADATA = ("name", "style", "title")


class EncodedSplit(list):
    """A list of encoded pieces (arrays) with a parallel ``metadata`` list of dicts.

    Each metadata dict has ``name``, ``style`` (or ``None``), ``group`` and
    ``sections``: a list of ``(label, array)`` pairs, one per marked section
    of the piece, each encoded on its own.
    """

    def __init__(self, arrays=(), metadata=()):
        super().__init__(arrays)
        self.metadata = list(metadata)
        if len(self.metadata) != len(self):
            raise ValueError("EncodedSplit needs one metadata dict per array")


@dataclasses.dataclass
class EncodedDataset:
    """Encoded pieces split into ``train``, ``valid`` and ``test``.

    ``skipped`` lists ``(name, reason)`` for every piece that could not be
    read or encoded; ``from_cache`` says whether parsing was skipped.
    """

    train: EncodedSplit
    valid: EncodedSplit
    test: EncodedSplit
    representation: object
    source: str
    seed: int
    skipped: list[tuple] = dataclasses.field(default_factory=list)
    from_cache: bool = False

    def split(self, name):
        """The split called ``name`` (``"validation"`` is accepted for ``"valid"``)."""
        name = {"validation": "valid"}.get(name, name)
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; use train, valid or test")
        return getattr(self, name)

    def __repr__(self):
        sizes = ", ".join(f"{name}={len(self.split(name))}" for name in SPLIT_NAMES)
        return (
            f"EncodedDataset(source={self.source!r}, {sizes}, skipped={len(self.skipped)}, "
            f"representation={self.representation!r}, from_cache={self.from_cache})"
        )

    @property
    def styles(self):
        """Sorted style labels that occur in any split (``None`` left out)."""
        return sorted({m["style"] for s in SPLIT_NAMES for m in self.split(s).metadata if m.get("style")})


def load_dataset(source=DEFAULT_SOURCE, representation=None, seed=0, max_files=None, use_cache=True):
    """Read ``source``, encode each piece with ``representation``, split 70/15/15 by content group.

    The split is :func:`musickit.data.splits.piece_splits`, the policy every
    dataset shares: a source's published split where it has one, else
    70/15/15 by content group (every transposition of a piece in one split).

    Args:
        source: a data-source string (see :mod:`musickit.data.sources`) or an
            opened :class:`~musickit.data.sources.Source`.
        representation: anything with ``encode(score) -> array`` and
            ``get_config()``; default ``PianoRoll()``.
        seed: the split seed. Benchmark files and TFDS datasets keep their
            published splits and ignore it.
        max_files: read only the first ``max_files`` pieces (per split for
            sources with published splits): for tests and smoke runs.
        use_cache: read from and write to the on-disk cache (:mod:`musickit.data.cache`).

    Pieces that cannot be read or that encode to nothing (no note inside the
    representation's range) are skipped with one warning line each.
    """
    if representation is None:
        from musickit.representations.piano_roll import PianoRoll

        representation = PianoRoll()
    if isinstance(source, str) or source is None:
        source = open_source(source, max_files)
    representation_key = {
        "class": f"{type(representation).__module__}.{type(representation).__qualname__}",
        "config": representation.get_config(),
    }
    path = cache.cache_path(cache.cache_key(source.description, source.fingerprint(), representation_key))
    stored = cache.load_arrays(path) if use_cache else None
    if stored is None:
        arrays, info = _parse_and_encode(source, representation)
        if use_cache:
            cache.save_arrays(path, arrays, info)
        from_cache = False
    else:
        arrays, info = stored
        from_cache = True
    return _assemble(arrays, info, representation, source, seed, from_cache)


def _parse_and_encode(source, representation):
    """Encode every readable piece; return flat arrays plus the JSON that says what each one is."""
    collection = read_scores(source)
    arrays, items, skipped = [], [], list(collection.skipped)
    for piece in collection.pieces:
        try:
            encoded = np.asarray(representation.encode(piece.score))
            sections = [(label, np.asarray(representation.encode(part))) for label, part in section_scores(piece.score)]
        except Exception as error:  # noqa: BLE001 - one odd score must not stop a whole corpus
            logger.warning("skipped %s: could not encode it (%s)", piece.name, error)
            skipped.append((piece.name, f"could not encode it ({error})"))
            continue
        if len(encoded) == 0:
            logger.warning("skipped %s: no notes the representation can hold", piece.name)
            skipped.append((piece.name, "no notes the representation can hold"))
            continue
        metadata = {key: piece.score.metadata.get(key) for key in _KEPT_METADATA}
        metadata["name"] = piece.name
        metadata["group"] = content_group(piece.score)
        metadata["split"] = piece.entry.split
        metadata["sections"] = []
        arrays.append(encoded)
        for label, section in sections:
            if len(section):
                metadata["sections"].append([label, len(arrays)])  # index of the section's own array
                arrays.append(section)
        items.append({"index": len(arrays) - 1 - len(metadata["sections"]), **metadata})
    return arrays, {"items": items, "skipped": skipped}


def _assemble(arrays, info, representation, source, seed, from_cache):
    items = info["items"]
    published = [item["split"] for item in items] if source.has_published_splits else None
    places = piece_splits([item["group"] for item in items], published, seed=seed)
    splits = {name: ([], []) for name in SPLIT_NAMES}
    for item, place in zip(items, places):
        metadata = {name: item[name] for name in ("name", "style", "title", "group")}
        metadata["sections"] = [(label, arrays[index]) for label, index in item["sections"]]
        target = splits[place]
        target[0].append(arrays[item["index"]])
        target[1].append(metadata)
    return EncodedDataset(
        *(EncodedSplit(*splits[name]) for name in SPLIT_NAMES),
        representation=representation,
        source=source.description,
        seed=seed,
        skipped=[tuple(pair) for pair in info["skipped"]],
        from_cache=from_cache,
    )
