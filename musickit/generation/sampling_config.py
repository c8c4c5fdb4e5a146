"""One sampling configuration for every model family, validated once, saved as a run's ``sampling.json``.

A :class:`SamplingConfig` holds every control that decides how a run
samples: the sampler's ``temperature``, ``top_k`` and ``top_p``, the key or
scale mask and how hard it is (``key_penalty``), the repetition penalty, and
the note rules and length of token models. Flags become a configuration at
the edge (:func:`musickit.runs.sampling_flags.sampling_config_from_flags`);
below that, samplers and processors read the configuration, never a flag.

Temperature is applied in one place per sampling path: the sampler divides
the logits by it, after every bias and processor (:meth:`SamplingConfig.temper`
for the piano-roll sampler, keras_hub's sampler built by
:func:`musickit.generation.token_sampling.token_sampler` for token models).

This module imports no Keras, so a recipe may build its configuration
before parsing flags.

Example:

>>> config = SamplingConfig(temperature=0.9, top_p=0.95, key="primer", key_penalty=2.0).validate()
>>> SamplingConfig.from_dict(config.to_dict()) == config
True
>>> SamplingConfig(top_p=1.5).validate()
Traceback (most recent call last):
...
musickit.errors.UsageError: --top-p must be in (0, 1], got 1.5
"""

import dataclasses
import math

import numpy as np

from musickit.errors import UsageError
from musickit.music.keys import SCALES, parse_key, scale_pitch_classes

MASKED_LOGIT = -1e9
#: ``key`` values that mean "the key estimated from the primer or prompt" (``primer`` is the piano roll's spelling).
KEYS_FROM_PROMPT = ("auto", "primer")
SAMPLING_FILE = "sampling.json"


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    """How a model samples; :meth:`validate` turns impossible values into one-line errors.

    Args:
        temperature: float > 0; the sampler divides the logits by it, last.
        top_k: keep the ``k`` most probable choices (0: off).
        top_p: nucleus mass in (0, 1] (1: off).
        key: a key such as ``"C"`` or ``"F# minor"``, ``"auto"``/``"primer"``
            for the key of the prompt, or ``None`` (no key mask).
        scale: a scale name from :data:`musickit.music.keys.SCALES`, or ``None`` (the key's own).
        key_penalty: logit taken from out-of-key pitches; ``None`` or 0 is a hard mask.
        repetition_penalty: >= 1 (1: off).
        repetition_window: frames (piano roll) or tokens (token models) the repetition penalty looks back.
        max_polyphony: most notes at once (0: no limit).
        min_voices: fewest notes sounding at once, a floor beside the ``max_polyphony`` cap (0: off; the
            corpus' usual voice count, 4 for the Bach chorales). A lower cap lowers the floor with it
            (:attr:`voice_floor`), so ``--max-polyphony 1`` alone gives one voice, not an error. Piano roll:
            when a frame has fewer keys, the model's most probable further keys are switched on (a held note's
            sustain where the model prefers it). Token models: no later ``Position`` or ``Bar`` while fewer
            notes would sound across the gap.
        clash_penalty: logit taken from a pitch a semitone from a sounding note (0: off). Token models: every
            ``Pitch`` token; piano roll: the keys the ``min_voices`` floor switches on.
        voices_from_corpus: a run replaces ``min_voices`` and ``max_polyphony`` with its training pieces'
            voice range when it starts (:meth:`fitted_to_corpus`) and saves those numbers, so a melody
            corpus is not sampled with a chorale's four voices; the values given are the fallback. Setting
            ``--min-voices`` or ``--max-polyphony`` turns it off.
        no_duplicates: never strike a pitch that is already sounding (token models).
        max_rest_steps: longest silence in grid steps (-1: no limit; token models).
        ascending_pitches: the notes of one position lowest first (token models).
        full_length: forbid the end token before ``new_tokens`` (token models).
        new_tokens: tokens to generate per piece (token models; ``None`` for frame models).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    key: str = None
    scale: str = None
    key_penalty: float = None
    repetition_penalty: float = 1.0
    repetition_window: int = 16
    max_polyphony: int = 0
    min_voices: int = 0
    clash_penalty: float = 0.0
    voices_from_corpus: bool = False
    no_duplicates: bool = False
    max_rest_steps: int = -1
    ascending_pitches: bool = False
    full_length: bool = False
    new_tokens: int = None

    def replace(self, **changes):
        """A copy with ``changes``, validated."""
        return dataclasses.replace(self, **changes).validate()

    @property
    def voice_floor(self):
        """The floor the samplers keep: ``min_voices``, never above ``max_polyphony``.

        >>> SamplingConfig(min_voices=4, max_polyphony=2).voice_floor
        2
        """
        return min(self.min_voices, self.max_polyphony) if self.max_polyphony else self.min_voices

    def fitted_to_corpus(self, floor, cap):
        """With ``voices_from_corpus``: this configuration keeping ``floor`` to ``cap`` voices (the training
        pieces' range, :func:`musickit.metrics.features.voice_range`), no longer marked; else ``self``.

        >>> SamplingConfig(min_voices=4, max_polyphony=4, voices_from_corpus=True).fitted_to_corpus(1, 1).voice_floor
        1
        >>> SamplingConfig(min_voices=4, max_polyphony=4).fitted_to_corpus(1, 1).voice_floor  # not asked: unchanged
        4
        """
        if not self.voices_from_corpus:
            return self
        return self.replace(min_voices=int(floor), max_polyphony=int(cap), voices_from_corpus=False)

    def validate(self):
        """``self`` if every value is possible, else a :class:`UsageError` naming the flag."""
        if not (
            isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature) and self.temperature > 0
        ):
            raise UsageError(f"--temperature must be > 0, got {self.temperature}")
        if int(self.top_k) != self.top_k or self.top_k < 0:
            raise UsageError(f"--top-k must be a whole number >= 0 (0 turns it off), got {self.top_k}")
        if not (math.isfinite(self.top_p) and 0 < self.top_p <= 1):
            raise UsageError(f"--top-p must be in (0, 1], got {self.top_p}")
        if not (math.isfinite(self.repetition_penalty) and self.repetition_penalty >= 1):
            raise UsageError(f"--repetition-penalty must be >= 1 (1 turns it off), got {self.repetition_penalty}")
        if self.repetition_window < 1:
            raise UsageError(f"repetition_window must be at least 1, got {self.repetition_window}")
        if self.scale is not None and self.scale not in SCALES:
            raise UsageError(f"--scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        if self.key_penalty is not None and not (math.isfinite(self.key_penalty) and self.key_penalty >= 0):
            raise UsageError(f"--key-penalty must be >= 0 (0: a hard key mask), got {self.key_penalty}")
        if self.key not in KEYS_FROM_PROMPT and (self.scale is not None or self.key is not None):
            try:
                scale_pitch_classes(self.key or "C", self.scale)
            except ValueError as error:
                raise UsageError(f"--key: {error}") from None
        if self.max_polyphony < 0:
            raise UsageError(f"--max-polyphony must be >= 0 (0 turns it off), got {self.max_polyphony}")
        if int(self.min_voices) != self.min_voices or self.min_voices < 0:
            raise UsageError(f"--min-voices must be a whole number >= 0 (0 turns it off), got {self.min_voices}")
        if not (isinstance(self.clash_penalty, (int, float)) and math.isfinite(self.clash_penalty)) or (
            self.clash_penalty < 0
        ):
            raise UsageError(f"--clash-penalty must be a logit >= 0 (0 turns it off), got {self.clash_penalty}")
        if self.max_rest_steps < -1:
            raise UsageError(f"--max-rest-steps must be >= -1 (-1 turns it off), got {self.max_rest_steps}")
        if self.new_tokens is not None and self.new_tokens < 1:
            raise UsageError(f"--new-tokens must be at least 1, got {self.new_tokens}")
        return self

    def without_steering(self):
        """The model's own distribution: temperature 1, no truncation and none of the musical steering
        (key, repetition and clash penalties, voice floor and cap); the rules that keep the representation
        valid (grammar order, ``no_duplicates``, ``ascending_pitches``, ``max_rest_steps``, ``full_length``)
        and ``new_tokens`` stay.

        What preference pairs are sampled under: the steering already gives the scorer what it rewards, so
        steered candidates differ in little but noise (benchmarks/RESULTS.md, issue 15).

        >>> steered = SamplingConfig(temperature=0.7, top_p=0.95, key="auto", max_polyphony=4, no_duplicates=True)
        >>> plain = steered.without_steering()
        >>> plain.temperature, plain.top_p, plain.key, plain.max_polyphony, plain.no_duplicates
        (1.0, 1.0, None, 0, True)
        """
        return self.replace(
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            key=None,
            scale=None,
            key_penalty=None,
            repetition_penalty=1.0,
            max_polyphony=0,
            min_voices=0,
            clash_penalty=0.0,
            voices_from_corpus=False,
        )

    # -- the run folder's sampling.json ------------------------------------------------------------

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values, base=None):
        """A validated configuration from :meth:`to_dict` output, over ``base`` (default: the neutral one).

        Reads the ``sampling.json`` of runs made before this class too: the
        piano roll's ``out_of_key_bias`` (a negative logit; ``-1e9`` was the
        hard mask) becomes ``key_penalty``, ``None`` values of the Music
        Transformer's old files keep ``base``'s value, and settings added
        later (``min_voices``, ``clash_penalty``) that an old file lacks keep
        ``base``'s value too. Unknown names are a one-line error.

        >>> old = {"temperature": 0.9, "top_p": 0.95, "key": "primer", "out_of_key_bias": -2.0, "max_polyphony": 4}
        >>> SamplingConfig.from_dict(old).key_penalty
        2.0
        """
        values = dict(values)
        if "out_of_key_bias" in values:
            bias = values.pop("out_of_key_bias")
            values.setdefault("key_penalty", None if bias is None or bias <= MASKED_LOGIT / 10 else -float(bias))
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UsageError(f"unknown sampling settings {unknown}; this musickit knows {sorted(names)}")
        base = base or cls()
        given = {name: value for name, value in values.items() if value is not None or name in ("key", "scale")}
        return dataclasses.replace(base, **given).validate()

    def save(self, run):
        """Write this configuration as ``run``'s ``sampling.json`` (``run`` is a :class:`~musickit.runs.RunFolder`)."""
        run.write_json(run.file(SAMPLING_FILE), self.to_dict())

    @classmethod
    def load(cls, run, base=None):
        """``run``'s saved configuration over ``base``, or ``None`` for a run from before ``sampling.json``."""
        import json
        import os

        path = run.file(SAMPLING_FILE)
        if not os.path.isfile(path):
            return None
        with open(path) as handle:
            return cls.from_dict(json.load(handle), base=base)

    # -- what the samplers read --------------------------------------------------------------------

    @property
    def key_from_prompt(self):
        """``True`` when the key is to be estimated from the primer or prompt."""
        return self.key in KEYS_FROM_PROMPT

    def temper(self, logits):
        """``logits / temperature``: the one place a frame sampler applies the temperature."""
        return logits / self.temperature

    def key_mask_bias(self, num_pitches, lowest_pitch, primer_key=None):
        """``(num_pitches,)`` logit bias: 0 for pitches in the scale, ``-key_penalty`` (or a hard mask) outside.

        ``primer_key`` is the key estimated from the primer, used when ``key``
        is ``"primer"``/``"auto"``; a minor key then also allows the raised
        6th and 7th (melodic minor).

        >>> bias = SamplingConfig(key="primer", key_penalty=2.0).key_mask_bias(12, 60, "A minor")
        >>> [pitch for pitch in range(12) if bias[pitch] == 0]
        [0, 2, 4, 5, 6, 7, 8, 9, 11]
        """
        if self.key is None and self.scale is None:
            return np.zeros(num_pitches, "float32")
        if self.key_from_prompt:
            key = primer_key or "C major"
            tonic, mode = parse_key(key)
            allowed = scale_pitch_classes(key, self.scale)
            if mode == "minor" and self.scale is None:
                allowed |= {(tonic + 9) % 12, (tonic + 11) % 12}  # melodic minor's raised 6th and 7th
        else:
            allowed = scale_pitch_classes(self.key or "C", self.scale or ("major" if self.key is None else None))
        outside = -float(self.key_penalty) if self.key_penalty else MASKED_LOGIT
        pitch_classes = (np.arange(num_pitches) + lowest_pitch) % 12
        return np.where(np.isin(pitch_classes, sorted(allowed)), 0.0, outside).astype("float32")
