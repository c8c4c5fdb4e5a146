"""Models, one file per family. Importing this package registers them for ``.keras`` loading.

Example:

>>> from musickit.models import PianoRollLSTM
>>> model = PianoRollLSTM(lstm_units=8, num_layers=1, dense_units=8)
"""

from musickit.layers.snippet_encoder import SnippetEncoder
from musickit.models.hierarchical import HierarchicalTransformer
from musickit.models.markov_baseline import PerKeyMarkovBaseline
from musickit.models.mel_unet import MelUNet
from musickit.models.music_transformer import MusicTransformer
from musickit.models.music_vae import MusicVAE
from musickit.models.piano_roll_lstm import PianoRollLSTM
from musickit.models.snippet_classifier import SnippetStyleClassifier

__all__ = [
    "HierarchicalTransformer",
    "MelUNet",
    "MusicTransformer",
    "MusicVAE",
    "PerKeyMarkovBaseline",
    "PianoRollLSTM",
    "SnippetEncoder",
    "SnippetStyleClassifier",
]
