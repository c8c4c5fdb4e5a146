"""The Music Transformer family's configuration: one dataclass of defaults, with smoke, cpu and gpu presets.

No Keras here: a recipe builds its configuration (and its flags' defaults)
before parsing flags, so ``--help`` answers at once.

Example:

>>> config = MusicTransformerConfig.preset("smoke")
>>> config.model_preset, config.sequence_length, config.sampling.new_tokens
('tiny', 96, 24)
"""

import dataclasses

from musickit.errors import UsageError
from musickit.families.configuration import FamilyConfig
from musickit.generation.sampling_config import SamplingConfig
from musickit.music.score import SECTION_LETTERS

MODEL_NAME = "music_transformer"
MODEL_PRESETS = ("base", "paper", "small", "tiny")  # the model's PRESETS, spelled here without Keras
POSITION_ENCODINGS = ("relative", "rotary", "absolute")
CONDITIONING_MODES = ("film", "additive")
LOSSES = ("cross_entropy", "focal")
DEFAULT_STYLE = "bach"
SAMPLE_METRICS = ("note_density", "polyphony", "in_scale_ratio", "rhythmic_regularity", "repeated_bar_ratio")

#: What a run made before ``sampling.json`` existed samples with (what ``musickit generate`` used then):
#: nothing but the grammar, up to run.json's ``new_tokens`` (else 512) tokens.
LEGACY_SAMPLING = SamplingConfig(repetition_window=64, new_tokens=512)
# The family's sampling (saved as the run's sampling.json): a cool temperature (0.9 gives 23% semitone
# clashes at the CPU training budget; the chorales have 7%), nucleus 0.95, the prompt's key as a soft
# mask (chorales are 94% diatonic), and the chorales' note rules: four voices at most and at least (on
# the 8th-note grid; without the floor four voices sound 31% of the time, in Bach 87%), pitches a semitone
# from a sounding note 1.5 logits rarer, no pitch struck twice, the notes of a position lowest first, no
# silent step, and no end before the last token (training chunks end anywhere, so the model ends too early).
FAMILY_SAMPLING = SamplingConfig(
    temperature=0.7,
    top_p=0.95,
    key="auto",
    key_penalty=1.2,
    max_polyphony=4,
    min_voices=4,
    clash_penalty=1.5,
    voices_from_corpus=True,
    no_duplicates=True,
    max_rest_steps=0,
    ascending_pitches=True,
    full_length=True,
    repetition_window=64,
    new_tokens=360,
)


@dataclasses.dataclass(frozen=True)
class MusicTransformerConfig(FamilyConfig):
    """Every setting of a Music Transformer run; the defaults are the ``cpu`` preset (the recipe's).

    Data: offline music21 corpora (``data``, comma-separated; each a style),
    at most ``max_files_per_source`` pieces each, as compact REMI+ tokens
    (no velocity or program tokens: a note is ``Pitch Duration``), in
    prompted sequences of ``sequence_length`` tokens whose prompt shows the
    sections in ``form``, ``snippet_length`` tokens each.

    Model: a ``model_preset`` decoder (``small``: 4 layers x 128 wide) with
    ``position_encoding`` attention and the style injected by ``conditioning``.

    Training: AdamW with a warmup-cosine schedule peaking at
    ``learning_rate``; ``loss`` with ``label_smoothing``; early stopping on
    validation NLL after ``patience`` epochs. ``steps_per_epoch``,
    ``validation_steps`` and ``evaluation_steps`` cap the batches (``None``: all).

    Generation: ``num_samples`` pieces in ``style`` (if trained on), sampled
    with ``sampling`` (saved as the run's ``sampling.json``); ``held_out_pieces``
    real pieces are measured beside them.
    """

    # Data.
    data: str = "bach"  # "bach,essen,ryans" adds folk styles
    max_files_per_source: int = 150
    steps_per_quarter: int = 4
    num_velocity_bins: int = 0
    use_programs: bool = False
    sequence_length: int = 512
    snippet_length: int = 64  # about two bars; 256 in the baseline proposal
    form: str = "AB"
    # Model.
    model_preset: str = "small"
    position_encoding: str = "relative"
    conditioning: str = "film"
    # Training.
    epochs: int = 4  # 30 or more for good results on a GPU
    batch_size: int = 8
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    clipnorm: float = 1.0
    loss: str = "cross_entropy"
    label_smoothing: float = 0.1
    patience: int = 3
    steps_per_epoch: int = None
    validation_steps: int = None
    evaluation_steps: int = None
    # Generation.
    style: str = None  # None: DEFAULT_STYLE when it is trained on, else the first style
    num_samples: int = 3
    held_out_pieces: int = 20
    sampling: SamplingConfig = FAMILY_SAMPLING

    def validate(self):
        for name, allowed in (
            ("model_preset", MODEL_PRESETS),
            ("position_encoding", POSITION_ENCODINGS),
            ("conditioning", CONDITIONING_MODES),
            ("loss", LOSSES),
        ):
            if getattr(self, name) not in allowed:
                flag = "--preset" if name == "model_preset" else f"--{name.replace('_', '-')}"
                raise UsageError(f"{flag} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if not self.form or not set(self.form) <= set(SECTION_LETTERS):
            raise UsageError(f"--form {self.form!r}: use section letters A to D, e.g. AB")
        self.check_at_least_one(("epochs", "batch_size", "sequence_length", "snippet_length", "num_samples"))
        if not 0 <= self.label_smoothing < 1:
            raise UsageError(f"--label-smoothing {self.label_smoothing}: use a number in [0, 1)")
        if not self.learning_rate > 0:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}")
        self.sampling.validate()
        return self


PRESETS = {
    # a tiny model and a few steps on a few Bach chorales: checks the pipeline in seconds (what tests use)
    "smoke": dict(
        max_files_per_source=6,
        sequence_length=96,
        snippet_length=16,
        model_preset="tiny",
        epochs=1,
        steps_per_epoch=2,
        validation_steps=1,
        evaluation_steps=1,
        num_samples=1,
        held_out_pieces=2,
        sampling=FAMILY_SAMPLING.replace(new_tokens=24),
    ),
    # the recipe's defaults: about 7 minutes an epoch on 2 CPU cores
    "cpu": dict(),
    # a GPU run: the base model, long enough to converge
    "gpu": dict(model_preset="base", epochs=50),
}
MusicTransformerConfig.PRESETS, MusicTransformerConfig.SAMPLING = PRESETS, FAMILY_SAMPLING


# The DPO alignment of a run (recipes/dpo_alignment.py): here, with no Keras, so its flags are checked at once.
CANDIDATE_SAMPLINGS = ("model", "run")


@dataclasses.dataclass(frozen=True)
class AlignmentConfig:
    """Every setting of an alignment; the defaults are the ``cpu`` preset (the recipe's, minutes on 2 cores).

    ``num_prompts`` openings of held-out pieces, ``num_candidates`` sampled
    continuations of ``new_tokens`` tokens each, up to ``pairs_per_prompt`` of
    their pairs (``None``: all; the widest score gaps first, best against worst
    always) with pairs closer than ``min_score_gap`` dropped, ``valid_fraction``
    of the pairs held out, whole prompts at a time (their pair accuracy is the
    implicit reward's held-out accuracy); DPO with
    ``beta`` and an optional ``nll_weight`` for ``epochs`` at ``learning_rate``;
    ``sample_prompts`` prompts get before/after samples. Candidates and those
    samples are drawn under ``candidate_sampling``: the model's own distribution
    (``"model"``) or the run's ``sampling.json`` (``"run"``).
    """

    beta: float = 0.1  # DPO's beta (Rafailov et al. 2023), musickit.losses.preference.DEFAULT_BETA
    # Hundreds of pairs (every pair of 8 candidates), so few epochs at a low rate, and a little NLL on the
    # chosen rows: without it DPO lowers every sampled row, the chosen ones too, and the KL grows (RESULTS.md:
    # at 3e-5 the KL to the reference was 0.060 nats a token, at 2e-5 0.040). 192 tokens are two to three bars of
    # four voices: over 96 (about one bar) the scores were noisier and the win rate 0.61 against 0.78.
    nll_weight: float = 0.5
    epochs: int = 2
    batch_size: int = 8
    learning_rate: float = 2e-5
    num_prompts: int = 36
    num_candidates: int = 8
    new_tokens: int = 192
    min_score_gap: float = 0.1
    pairs_per_prompt: int = None  # every pair of the candidates: best-vs-worst alone is memorised, not learnt
    max_training_overlap: float = 0.8
    valid_fraction: float = 0.25
    sample_prompts: int = 3
    held_out_rows: int = 32
    # Candidates (and the before/after comparison) come from the model's own distribution ("model":
    # SamplingConfig.without_steering) or under the run's sampling.json ("run"). Steered candidates already keep
    # the key and the voices the scorer rewards, so their pairs differ in noise: held-out pair accuracy 0.50-0.63
    # under "run", 0.76 under "model" at these defaults (benchmarks/RESULTS.md).
    candidate_sampling: str = "model"

    PRESETS = {
        "smoke": dict(
            nll_weight=0.0,  # plain DPO: its first loss is log 2 exactly (the policy is the reference)
            epochs=1,
            batch_size=4,
            num_prompts=1,
            num_candidates=2,
            new_tokens=12,
            min_score_gap=0.0,
            sample_prompts=1,
            held_out_rows=4,
        ),
        "cpu": dict(),
    }

    @classmethod
    def preset(cls, name, **changes):
        return cls(**(cls.PRESETS[name] | changes)).validate()

    def replace(self, **changes):
        return dataclasses.replace(self, **changes).validate()

    def validate(self):
        if not self.beta > 0:
            raise UsageError(f"--beta must be > 0, got {self.beta}")
        if not self.nll_weight >= 0:
            raise UsageError(f"--nll-weight must be >= 0, got {self.nll_weight}")
        if not self.learning_rate > 0:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}")
        for name in ("epochs", "batch_size", "num_prompts", "new_tokens", "sample_prompts"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.num_candidates < 2:
            raise UsageError(f"--num-candidates must be >= 2, got {self.num_candidates}")
        if self.pairs_per_prompt is not None and self.pairs_per_prompt < 1:
            raise UsageError(f"--pairs-per-prompt must be >= 1 (or left out: every pair), got {self.pairs_per_prompt}")
        if self.candidate_sampling not in CANDIDATE_SAMPLINGS:
            raise UsageError(
                f"--candidate-sampling must be one of {', '.join(CANDIDATE_SAMPLINGS)}, got {self.candidate_sampling!r}"
            )
        if not 0 <= self.valid_fraction < 1:
            raise UsageError(f"--valid-fraction must be in [0, 1), got {self.valid_fraction}")
        return self
