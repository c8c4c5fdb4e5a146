"""Data: sources, an on-disk cache, one split policy (by content group) and ``tf.data`` pipelines.

One string names a source (:mod:`musickit.data.sources`); :func:`load_dataset`
turns it into encoded, cached splits and :func:`load_pieces` into parsed,
split pieces, both with :func:`piece_splits`.

Example:

>>> from musickit.data import load_dataset, piano_roll_windows
>>> from musickit.representations.piano_roll import PianoRoll
>>> dataset = load_dataset("bach", PianoRoll(), max_files=20)  # doctest: +SKIP
>>> windows = piano_roll_windows(dataset.train, window_length=64, batch_size=32)  # doctest: +SKIP
>>> model.fit(windows, epochs=1)  # doctest: +SKIP
"""

import importlib

from musickit.data.curriculum import CurriculumPhase, curriculum_pairs, curriculum_phases, form_complexity
from musickit.data.dataset import EncodedDataset, EncodedSplit, load_dataset
from musickit.data.form_corpus import FormCorpus, build_form_corpus
from musickit.data.labels import EMOTION_CLASSES, TEMPO_CLASSES, emotion_class, tempo_class
from musickit.data.pieces import PieceSplits, load_pieces
from musickit.data.sources import DEFAULT_SOURCE, open_source, read_scores, roll_to_score
from musickit.data.splits import assign_splits, content_group, piece_splits
from musickit.music.sections import section_scores  # slicing lives with the music code

# The tf.data pipelines import TensorFlow (seconds); load them on first use so
# that `musickit info`, `musickit evaluate` and plain data loading start fast.
_LAZY = {
    name: "musickit.data.pipelines"
    for name in ("piano_roll_windows", "section_snippet_pairs", "token_windows", "window_starts")
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'musickit.data' has no attribute {name!r}")


__all__ = [
    "CurriculumPhase",
    "DEFAULT_SOURCE",
    "EMOTION_CLASSES",
    "EncodedDataset",
    "EncodedSplit",
    "FormCorpus",
    "PieceSplits",
    "TEMPO_CLASSES",
    "assign_splits",
    "build_form_corpus",
    "content_group",
    "curriculum_pairs",
    "curriculum_phases",
    "emotion_class",
    "form_complexity",
    "load_dataset",
    "load_pieces",
    "open_source",
    "piano_roll_windows",
    "piece_splits",
    "read_scores",
    "roll_to_score",
    "section_scores",
    "tempo_class",
    "section_snippet_pairs",
    "token_windows",
    "window_starts",
]
