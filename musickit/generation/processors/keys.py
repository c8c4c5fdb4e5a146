"""A key and scale mask (hard or soft) over the pitch tokens of any tokenizer with a ``grammar``."""

import keras  # noqa: F401  (the examples in the docstrings use it)
import numpy as np

from musickit.errors import UsageError
from musickit.generation.processors.base import FORBIDDEN_LOGIT, LogitsProcessor, vocabulary_structure
from musickit.music.keys import scale_pitch_classes


class KeyScaleMask(LogitsProcessor):
    """Allow only pitch tokens whose pitch class is in a key's scale (and, optionally, a pitch range).

    Args:
        token_pitches: list, one entry per token id: its MIDI pitch for pitch
            tokens, -1 for every other token (left untouched).
        key: a key name such as ``"C"``, ``"A minor"`` or ``"F#"``.
        scale: optional scale name (``"major"``, ``"minor"``, ``"pentatonic"``...);
            defaults to the key's mode.
        pitch_range: optional ``(lowest, highest)`` MIDI pitches, inclusive.
        penalty: optional float; out-of-scale pitches lose this much logit
            instead of being forbidden (a soft key: chromatic notes stay
            possible, only rarer). The pitch range stays a hard limit.

    Example:

    >>> mask = KeyScaleMask([-1, 60, 61, 62], key="C", scale="major")
    >>> mask.allowed_tokens(4).tolist()
    [True, True, False, True]
    """

    fixed_rule = True

    def __init__(self, token_pitches, key="C", scale=None, pitch_range=None, penalty=None):
        try:
            self.pitch_classes = scale_pitch_classes(key, scale)
        except ValueError as error:
            raise UsageError(f"--key/--scale: {error}") from None
        self.token_pitches = [int(pitch) for pitch in token_pitches]
        self.key = key
        self.scale = scale
        self.pitch_range = None if pitch_range is None else tuple(int(p) for p in pitch_range)
        if penalty is not None and not float(penalty) > 0:
            raise UsageError(f"key penalty must be > 0 (or None for a hard mask), got {penalty}")
        self.penalty = None if penalty is None else float(penalty)

    @classmethod
    def from_tokenizer(cls, tokenizer, key="C", scale=None, pitch_range=None, vocabulary_size=None, penalty=None):
        """The mask over the pitch ids of ``tokenizer.grammar`` (REMI ``Pitch``, performance ``NOTE_ON``)."""
        kinds, values = vocabulary_structure(tokenizer, vocabulary_size)
        pitches = [value if kind == "pitch" else -1 for kind, value in zip(kinds, values)]
        return cls(pitches, key=key, scale=scale, pitch_range=pitch_range, penalty=penalty)

    def _masks(self, vocabulary_size):
        in_range, in_scale = np.ones(vocabulary_size, bool), np.ones(vocabulary_size, bool)
        for token, pitch in enumerate(self.token_pitches[:vocabulary_size]):
            if pitch < 0:
                continue
            in_range[token] = self.pitch_range is None or self.pitch_range[0] <= pitch <= self.pitch_range[1]
            in_scale[token] = pitch % 12 in self.pitch_classes
        return in_range, in_scale

    def allowed_tokens(self, vocabulary_size):
        in_range, in_scale = self._masks(vocabulary_size)
        return in_range if self.penalty is not None else in_range & in_scale

    def check_allowed(self, allowed):
        pitch_tokens = np.array([pitch >= 0 for pitch in self.token_pitches[: len(allowed)]])
        if pitch_tokens.any() and not (allowed[: len(pitch_tokens)] & pitch_tokens).any():
            raise UsageError(
                f"no pitch token is left by key {self.key!r}, scale {self.scale!r} and pitch range {self.pitch_range}; "
                "widen the range or choose another scale"
            )

    def logit_bias(self, vocabulary_size):
        bias = np.zeros(vocabulary_size, "float32")
        if self.penalty is not None:
            _, in_scale = self._masks(vocabulary_size)
            bias[~in_scale] = -self.penalty
        bias[~self.allowed_tokens(vocabulary_size)] = FORBIDDEN_LOGIT
        return bias

    def get_config(self):
        return {
            "token_pitches": self.token_pitches,
            "key": self.key,
            "scale": self.scale,
            "pitch_range": self.pitch_range,
            "penalty": self.penalty,
        }
