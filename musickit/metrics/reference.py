"""Reference corpora for evaluation, with their metric values cached on disk.

Comparing a handful of samples with the Bach chorales should not mean
parsing a hundred chorales every time. :func:`reference_features` computes a
source's :class:`~musickit.metrics.evaluation.SetFeatures` once and stores
them as JSON in ``$MUSICKIT_CACHE_DIR/reference_metrics``, keyed by the
source's fingerprint (file names, sizes and times for a folder; music21's
version and file list for a corpus), the metric names, and a digest of the
code that defines the metrics, so an edited metric never reads stale values.

Example:

>>> reference = reference_features("bach", max_files=50)  # doctest: +SKIP
>>> comparison = compare_sets(samples, reference)  # doctest: +SKIP
"""

import hashlib
import json
import os

from musickit.metrics.evaluation import METRIC_NAMES, SetFeatures
from musickit.utils.atomic import atomic_path

# Modules whose code decides metric values: all of musickit.metrics and the
# score/quantization/key code under it.
_DEFINING_PACKAGES = ("metrics", "music", "representations")


def definitions_digest():
    """SHA-1 of the source files that define the metric values."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha1()
    for package in _DEFINING_PACKAGES:
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
