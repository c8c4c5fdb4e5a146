"""The piano-roll LSTM family's configuration: one dataclass of defaults, with smoke, cpu and gpu presets.

No Keras here: a recipe builds its configuration (and its flags' defaults)
before parsing flags, so ``--help`` answers at once.

Example:

>>> config = PianoRollLSTMConfig.preset("smoke")
>>> config.lstm_units, config.epochs, config.sampling.temperature
(8, 2, 0.9)
>>> PianoRollLSTMConfig.preset("cpu", lstm_units=128).lstm_units
128
"""

import dataclasses

from musickit.errors import UsageError
from musickit.families.configuration import FamilyConfig
from musickit.generation.sampling_config import SamplingConfig
from musickit.music.score import DEFAULT_QPM

MODEL_NAME = "piano_roll_lstm"
FRAME_HEADS = ("independent", "autoregressive")  # the model's FRAME_HEADS, spelled here without Keras

# The family's sampling configuration, chosen on the Bach chorales (benchmarks/RESULTS.md, issue 17): a
# slightly cool temperature, per-key nucleus 0.95 (a key whose outcome is 95% sure takes it: this removes
# most stray notes, off-beat 16ths 16% -> 4%), four voices at most and at least (the chorales' usual voice
# count, 87% of their time: without the floor voices drop out and the model sounds four only 31% of the
# time), semitone neighbours 1.5 logits rarer (the floor's extra keys otherwise add clashes), and
# out-of-key notes made a little rarer (0.5 logit; 2.0 kept 99% of notes in scale against Bach's 92%) in
# the key estimated from the primer. The voice range is the training pieces' (voices_from_corpus: 4 to 4
# for the chorales, 1 for folk tunes). A repetition penalty of 1.5 per 4 quarters a key keeps sounding, and
# no voice the floor fills in on a key that has sounded that long, end the inner-voice drones: the longest
# stretch one pitch kept sounding fell from 11.5 to 6.4 quarters a piece (Bach's held-out chorales: 5.4).
FAMILY_SAMPLING = SamplingConfig(
    temperature=0.9,
    top_p=0.95,
    key="primer",
    key_penalty=0.5,
    max_polyphony=4,
    repetition_penalty=1.5,
    min_voices=4,
    clash_penalty=1.5,
    voices_from_corpus=True,
)


@dataclasses.dataclass(frozen=True)
class PianoRollLSTMConfig(FamilyConfig):
    """Every setting of a piano-roll LSTM run; the defaults are the ``cpu`` preset (the recipe's).

    Data: a 16th-note grid over the 88 piano keys (``steps_per_quarter``),
    with an onset channel so that a repeated note is two notes and a held one
    is one (``onsets``), and each step's position in a 4/4 bar (``metre``).
    Training windows of ``window_bars`` bars start every half window, on a
    bar line; ``transpose`` is the random transposition range in semitones.

    Model: ``lstm_units`` x ``num_layers`` LSTM (the reference configuration
    is 2 x 512), dropouts, a dense layer and a frame ``head``
    (``"independent"`` is the classic model; ``"autoregressive"`` samples the
    keys of a frame low to high).

    Training: weighted BCE with ``positive_weight`` for the independent head
    (the autoregressive head trains on the exact NLL); ``sample_every``
    epochs a MIDI sample is written. ``steps_per_epoch`` /
    ``validation_steps`` cap an epoch (``None``: the whole split).

    Evaluation and generation: ``evaluation_pieces`` caps the held-out pieces
    scored (``None``: all); ``bars`` are generated after ``primer_bars`` of a
    held-out piece; ``sampling`` is saved as the run's ``sampling.json``.
    """

    # Data.
    steps_per_quarter: int = 4
    onsets: bool = True
    metre: bool = True
    window_bars: int = 4
    transpose: int = 2
    max_files: int = None
    # Model.
    head: str = "autoregressive"
    lstm_units: int = 256
    num_layers: int = 2
    dropout: float = 0.3
    recurrent_dropout: float = 0.2
    dense_units: int = 256
    dense_dropout: float = 0.4
    head_hidden_units: int = 256
    frame_skip: bool = True  # the head also sees the current frame, next to the LSTM summary
    # Training.
    epochs: int = 8  # 40 for good results
    batch_size: int = 32
    learning_rate: float = 2e-3
    positive_weight: float = 10.0
    patience: int = 4
    sample_every: int = 2
    steps_per_epoch: int = None
    validation_steps: int = None
    # Evaluation and generation.
    evaluation_pieces: int = None
    bars: int = 8
    primer_bars: int = 2
    num_samples: int = 3
    qpm: float = DEFAULT_QPM  # tempo of rolls decoded without a primer file's own
    sampling: SamplingConfig = FAMILY_SAMPLING

    @property
    def frame_channels(self):
        return 2 if self.onsets else 1

    @property
    def steps_per_bar(self):
        return 4 * self.steps_per_quarter

    @property
    def window(self):
        """Frames per training window (its hop, half of it, is whole bars)."""
        return self.window_bars * self.steps_per_bar

    def validate(self):
        if self.head not in FRAME_HEADS:
            raise UsageError(f"--head must be one of {', '.join(FRAME_HEADS)}, got {self.head!r}")
        if self.steps_per_quarter not in (2, 4):
            raise UsageError(f"--steps-per-quarter must be 2 or 4, got {self.steps_per_quarter}")
        self.check_at_least_one(
            ("epochs", "batch_size", "lstm_units", "num_layers", "window_bars", "bars", "num_samples")
        )
        if not self.learning_rate > 0:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}")
        self.sampling.validate()
        return self


PRESETS = {
    # a tiny model and a few steps: checks the pipeline in seconds (what tests use)
    "smoke": dict(
        max_files=8,
        window_bars=2,
        lstm_units=8,
        num_layers=1,
        dense_units=8,
        head_hidden_units=8,
        epochs=2,
        steps_per_epoch=2,
        validation_steps=1,
        evaluation_pieces=2,
        bars=1,
    ),
    # the recipe's defaults: trains in minutes on a CPU
    "cpu": dict(),
    # the reference configuration (2 x 512), long enough to converge
    "gpu": dict(lstm_units=512, epochs=60),
}
PianoRollLSTMConfig.PRESETS, PianoRollLSTMConfig.SAMPLING = PRESETS, FAMILY_SAMPLING
