"""Representations: piano roll, performance events and REMI+ tokens, each saved as JSON next to a model.

Example:

>>> from musickit.representations import PianoRoll, load_representation
>>> PianoRoll(onset_channel=True).save("/tmp/representation.json")
>>> load_representation("/tmp/representation.json")
PianoRoll(steps_per_quarter=4, lowest_pitch=21, num_pitches=88, onset_channel=True, velocity=False, include_drums=False)
"""

from musickit.representations.base import Representation
from musickit.representations.loading import load_representation
from musickit.representations.performance import PerformanceTokenizer
from musickit.representations.piano_roll import PianoRoll
from musickit.representations.remi import REMITokenizer

__all__ = ["PerformanceTokenizer", "PianoRoll", "REMITokenizer", "Representation", "load_representation"]
