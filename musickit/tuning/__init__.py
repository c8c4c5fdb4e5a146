"""Keras Tuner hypermodels, ready-made ablation studies, survivable tuners and study results.

>>> from musickit.tuning import STUDIES
>>> "lstm_size" in STUDIES
True
"""

from musickit.tuning.hierarchical_hypermodel import HierarchicalTransformerHyperModel
from musickit.tuning.hypermodels import MusicTransformerHyperModel, PianoRollLSTMHyperModel
from musickit.tuning.results import write_results
from musickit.tuning.studies import STUDIES, Study, get_study
from musickit.tuning.tuners import make_tuner

__all__ = [
    "HierarchicalTransformerHyperModel",
    "MusicTransformerHyperModel",
    "PianoRollLSTMHyperModel",
    "STUDIES",
    "Study",
    "get_study",
    "make_tuner",
    "write_results",
]
