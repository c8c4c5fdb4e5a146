"""Models, one file per family. Importing this package registers them for ``.keras`` loading."""

from musickit.models.markov_baseline import PerKeyMarkovBaseline
from musickit.models.piano_roll_lstm import PianoRollLSTM

__all__ = ["PerKeyMarkovBaseline", "PianoRollLSTM"]
