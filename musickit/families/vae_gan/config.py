"""The Transformer-VAE-GAN family's configuration: one dataclass of defaults, with smoke, cpu and gpu presets.

No Keras here, so a recipe builds its flags' defaults before parsing them.

Example:

>>> config = VaeGanConfig.preset("smoke")
>>> config.model_preset, config.bars_per_segment, config.stages_to_run
('tiny', 2, ('transformer', 'vae', 'vae_gan'))
"""

import dataclasses

from musickit.errors import UsageError
from musickit.families.configuration import FamilyConfig
from musickit.generation.sampling_config import SamplingConfig

MODEL_NAME = "vae_gan"
MODEL_PRESETS = ("base", "small", "tiny")  # musickit.models.music_vae.PRESETS, spelled here without Keras
STAGES = ("transformer", "vae", "vae_gan")
TOKENIZERS = ("remi", "performance", "performance774")
KL_SCHEDULES = ("monotonic", "cyclical", "constant")

# Prior samples and interpolations: a cool temperature and nucleus 0.95 under the REMI grammar and the
# chorales' note rules (four voices at most, no pitch struck twice); a segment is a few bars, so no full length.
FAMILY_SAMPLING = SamplingConfig(
    temperature=0.8, top_p=0.95, max_polyphony=4, no_duplicates=True, repetition_window=64, new_tokens=256
)


@dataclasses.dataclass(frozen=True)
class VaeGanConfig(FamilyConfig):
    """Every setting of a Transformer-VAE-GAN run; the defaults are the ``cpu`` preset (the recipe's).

    Data: offline music21 corpora (``data``), at most ``max_files_per_source``
    pieces, as ``tokenizer`` tokens (REMI, unisons merged with
    ``merge_unisons``; or performance events: 388 or 774), cut into segments
    of ``bars_per_segment`` bars (every ``train_hop_bars`` bars in training,
    without overlap when measuring), at most ``max_segment_tokens`` tokens each.

    Model: a ``model_preset`` decoder with ``encoder_layers`` encoder blocks, a
    ``global_latent_dim`` latent and a ``bar_latent_dim`` latent per bar, written
    and read by ``beats_per_bar`` beats (REMI; 1 reads each bar whole).

    Training, stage by stage (:data:`STAGES` up to ``last_stage``): the decoder as a
    language model (``transformer_epochs``), the VAE (``vae_epochs``; each fit stage's
    learning rate decays over its last ``learning_rate_decay`` share of steps; KL with
    ``free_bits`` per dimension under ``kl_schedule`` after a reconstruction
    warm-up of ``kl_warmup_fraction`` of its steps), then ``gan_steps``
    adversarial steps. Training segments are transposed at random by up to
    ``transpose`` semitones (REMI; performance events are not). Each stage
    ends at a gate (``enforce_gates``: stop on failure) that checks greedy
    decoding for collapse.
    """

    # Data.
    data: str = "bach"
    max_files_per_source: int = 200
    tokenizer: str = "remi"
    steps_per_quarter: int = 4
    # REMI writes two chorale voices in unison as one note: MIDI sounds one key, so the second token carries
    # nothing a listener hears (47 of 64 held-out segments double a pitch, 2.2% of their notes). Held-out NLL
    # 0.470 -> 0.449, partly because those tokens are gone; greedy reconstruction did no better for it.
    merge_unisons: bool = True
    bars_per_segment: int = 4
    train_hop_bars: int = 2
    max_segment_tokens: int = 192
    # Model.
    model_preset: str = "small"
    encoder_layers: int = 2
    global_latent_dim: int = 32
    # 16 dimensions per quarter of a bar: a 4-voice chord's pitches and durations. With 16 per bar (4 per
    # quarter) greedy reconstructions kept the rhythm and lost the pitches (benchmarks/RESULTS.md).
    bar_latent_dim: int = 64
    # Each bar latent is pooled and read by eighths (8 beats of a 4/4 bar; REMI; performance events read it whole):
    # teacher-forced accuracy 0.82 by quarters, 0.86 by eighths, 0.86 by sixteenths with a larger model.
    beats_per_bar: int = 8
    # No dropout at the cpu preset's step budget: the model underfits (with 0.1 its training accuracy stayed
    # below its validation accuracy to the end). The gpu preset, which trains far longer, keeps 0.1.
    dropout: float = 0.0
    token_dropout: float = 0.0
    # Training.
    last_stage: str = "vae_gan"
    # 5 language-model epochs: after 1 (58 steps) greedy decoding alternated two tokens and the gate stopped the
    # recipe; after 5 it passes. 16 VAE epochs fit the recipe's 15 minutes on 2 cores (benchmarks/RESULTS.md).
    transformer_epochs: int = 5
    vae_epochs: int = 16  # 40 or more on a GPU
    gan_steps: int = 40
    batch_size: int = 16
    learning_rate: float = 1e-3
    # The share of each fit stage's steps over which the learning rate decays linearly to a tenth (0: constant).
    learning_rate_decay: float = 0.25
    steps_per_epoch: int = None
    # Largest random transposition of a training segment in semitones (0: off; REMI: performance events are not
    # transposed). Without it the model overfit the 929 training segments (accuracy 0.94 training, 0.86
    # validation); with 3: held-out NLL 0.45 -> 0.37.
    transpose: int = 3
    # The KL per dimension settles at the free bits: 0.25 left the decoder nearly blind to its latents (shuffling
    # them cost 0.03 accuracy), 1.0 with a KL weight of at most 0.2 let them carry 0.95 nats a dimension (0.07).
    # 2.0 with transposition reconstructs better (greedy 0.46 -> 0.51 token by token, NLL 0.37 -> 0.29) but its
    # prior samples clash (evaluator overlap 0.84 -> 0.78, semitone clashes three times the chorales'); 3.0: 1 of
    # 64 greedy prior decodes repeated one token 188 times (benchmarks/RESULTS.md).
    free_bits: float = 1.0
    kl_schedule: str = "cyclical"
    kl_warmup_fraction: float = 0.1
    kl_cycles: int = 2
    kl_max_weight: float = 0.2
    adversarial_weight: float = 0.05
    feature_matching_weight: float = 0.1
    gumbel_temperature: float = 1.0
    # Gates: greedy decoding must not repeat one token more than gate_max_token_run times in a row, and its
    # distinct tokens over its length must reach gate_min_distinct_ratio; the VAE must keep active units.
    enforce_gates: bool = True
    gate_max_token_run: int = 16
    gate_min_distinct_ratio: float = 0.05
    gate_min_active_units: float = 0.05
    gate_max_nll_increase: float = 0.05
    # Generation.
    num_samples: int = 3
    num_reconstructions: int = 3
    interpolation_steps: int = 5
    # Prior samples: fitted to the encoder's latents of the training segments (one Gaussian, or the mixture
    # below), at temperature 0.9.
    # N(0, 1) is wider than those latents (about 0.73 per bar dimension, 0.40 per global one) and ignores how
    # the bars of a piece covary, so its samples fell between the pieces: distinct-4 1.10 of the data's and
    # evaluator overlap 0.79 even at temperature 0.8; the fitted prior's 1.07 and 0.83 (benchmarks/RESULTS.md).
    # With 2 free bits the latents spread less like one Gaussian: at temperature 1, 1 of 64 greedy decodes slid
    # into repeating one token (66 and 186 times, two seeds); at 0.9 none of 128 did. 0.9 is kept: the judged
    # samples of the preset were measured there.
    prior_temperature: float = 0.9
    fitted_prior: bool = True
    # One Gaussian still falls between the pieces: its samples clash (semitone clashes 0.10-0.14 of the time,
    # the chorales' 0.04). A mixture of the training segments' own posteriors (1024 components hold all 929 of
    # the recipe's) judged 0.84-0.85 against 0.80 (32 samples, two seeds), clashes 0.07-0.09, and its samples
    # share fewer 16-token runs with the training segments (0.03-0.05) than held-out chorales do (0.08): at 16
    # epochs it does not replay them. Temperature then scales each component's spread. A model trained longer
    # has sharper posteriors: at 40 epochs the mixture's samples at 0.9-1.0 share 0.19-0.24 (replaying), at
    # 1.5 about what held-out chorales do (benchmarks/RESULTS.md).
    prior_components: int = 1024
    evaluation_segments: int = 64
    sampling: SamplingConfig = FAMILY_SAMPLING

    def validate(self):
        for name, allowed in (
            ("model_preset", MODEL_PRESETS),
            ("tokenizer", TOKENIZERS),
            ("kl_schedule", KL_SCHEDULES),
            ("last_stage", STAGES),
        ):
            if getattr(self, name) not in allowed:
                flag = {"model_preset": "--preset", "last_stage": "--stage"}.get(name, f"--{name.replace('_', '-')}")
                raise UsageError(f"{flag} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        self.check_at_least_one(
            (
                "batch_size",
                "bars_per_segment",
                "beats_per_bar",
                "train_hop_bars",
                "max_segment_tokens",
                "num_samples",
                "vae_epochs",
            )
        )
        if self.interpolation_steps < 2:
            raise UsageError(f"--interpolation-steps must be at least 2, got {self.interpolation_steps}")
        if not 0 <= self.token_dropout < 1:
            raise UsageError(f"--token-dropout {self.token_dropout}: use a number in [0, 1)")
        if self.free_bits < 0 or self.kl_max_weight < 0 or self.adversarial_weight < 0:
            raise UsageError("--free-bits, --kl-max-weight and --adversarial-weight must not be negative")
        if not 0 <= self.learning_rate_decay <= 1:
            raise UsageError(f"--learning-rate-decay {self.learning_rate_decay}: use a share of the steps in [0, 1]")
        if self.prior_components < 0:
            raise UsageError(
                f"--prior-components must be 0 (one Gaussian) or a number of components, got {self.prior_components}"
            )
        if self.transpose < 0:
            raise UsageError(f"--transpose must be 0 (off) or a number of semitones, got {self.transpose}")
        if not self.learning_rate > 0:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}")
        self.sampling.validate()
        return self

    @property
    def stages_to_run(self):
        """The stages up to and including ``last_stage``."""
        return STAGES[: STAGES.index(self.last_stage) + 1]


PRESETS = {
    # a tiny model and a few steps on a few chorales: checks the pipeline in seconds (what tests use);
    # its gates print but do not stop (a model trained for four steps has not learnt to avoid repetition)
    "smoke": dict(
        max_files_per_source=6,
        bars_per_segment=2,
        max_segment_tokens=48,
        model_preset="tiny",
        encoder_layers=1,
        global_latent_dim=8,
        bar_latent_dim=4,
        transformer_epochs=1,
        vae_epochs=1,
        gan_steps=2,
        steps_per_epoch=2,
        batch_size=4,
        num_samples=1,
        num_reconstructions=1,
        interpolation_steps=2,
        evaluation_segments=4,
        enforce_gates=False,
        sampling=FAMILY_SAMPLING.replace(new_tokens=24),
    ),
    # the recipe's defaults: all three stages on 2 CPU cores
    "cpu": dict(),
    # a GPU run: the base model, long enough to converge
    "gpu": dict(model_preset="base", vae_epochs=40, transformer_epochs=5, gan_steps=2000, batch_size=32, dropout=0.1),
}
VaeGanConfig.PRESETS, VaeGanConfig.SAMPLING = PRESETS, FAMILY_SAMPLING
