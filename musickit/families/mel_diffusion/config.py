"""The mel-diffusion family's configuration: one dataclass of defaults, with smoke, cpu and gpu presets.

No Keras here: the recipe builds its configuration (and its flags' defaults)
before parsing flags, so ``--help`` answers at once.

Example:

>>> config = MelDiffusionConfig.preset("smoke")
>>> config.model_preset, config.frames, config.ddim_steps
('tiny', 128, 2)
"""

import dataclasses

from musickit.errors import UsageError
from musickit.families.configuration import FamilyConfig

MODEL_NAME = "mel_diffusion"
MODEL_PRESETS = ("tiny", "small", "base")  # musickit.models.mel_unet.PRESETS, spelled here without Keras
SAMPLERS = ("ddim", "ddpm")  # musickit.generation.diffusion.SAMPLERS
RENDERERS = ("auto", "synth")  # musickit.data.mel_windows.RENDERERS
LOSSES = ("mse", "mae")


@dataclasses.dataclass(frozen=True)
class MelDiffusionConfig(FamilyConfig):
    """Every setting of a mel-diffusion run; the defaults are the ``cpu`` preset (the recipe's).

    Data: ``data`` pieces (at most ``max_files_per_source``, each cut to its
    first ``max_seconds`` seconds when set) rendered by ``renderer``
    (``auto``: FluidSynth when it and a soundfont are found, else the plain
    synth; ``synth``: always the plain synth) at 16 kHz into ``num_mels`` x
    ``frames`` log-mel windows, each with note tokens of ``frames_per_token``
    frames and ``context_tokens`` tokens of context each side.

    Model and training: a ``model_preset`` U-Net predicting v (the velocity
    ``sqrt(a) noise - sqrt(1 - a) x``: its scale stays 1 at every noise level
    on the cosine schedule, where epsilon-prediction's clean estimate blows up
    near pure noise) with the ``loss`` (mean squared error: the DDPM
    objective), Adam at ``learning_rate`` with EMA weights (``ema_momentum``),
    the notes dropped ``condition_dropout`` of the time (classifier-free
    guidance), ``epochs`` x ``steps_per_epoch`` batches of ``batch_size``.

    Generation: the first ``render_seconds`` of ``held_out_pieces`` held-out
    pieces, rendered window by window (windows overlap by a quarter) with
    ``sampler`` (``ddim`` with ``ddim_steps`` steps, or ``ddpm``'s 1000) at
    ``guidance``, then Griffin-Lim (``griffin_lim_iterations``).
    """

    # Data.
    data: str = "bach"
    max_files_per_source: int = 60
    max_seconds: float = 40.0
    renderer: str = "auto"
    num_mels: int = 64
    frames: int = 128
    frames_per_token: int = 1  # a token a frame (16 ms): the note sketch places onsets to the frame
    context_tokens: int = 8
    # Model and training.
    model_preset: str = "small"
    loss: str = "mse"
    learning_rate: float = 2e-3
    ema_momentum: float = 0.995
    condition_dropout: float = 0.1
    epochs: int = 5  # 100 or more on a GPU
    steps_per_epoch: int = 100
    batch_size: int = 8
    # Generation.
    sampler: str = "ddim"
    ddim_steps: int = 50
    # Guidance 2: on 3 held-out chorales its onsets are sharper than the conditional model's alone (guidance 1;
    # onset F1 0.81 against 0.79) and its mel L1, through the vocoder, lower (0.055 against 0.059; RESULTS.md).
    guidance: float = 2.0
    held_out_pieces: int = 3
    render_seconds: float = 8.0
    griffin_lim_iterations: int = 32

    @property
    def tokens(self):
        """Note tokens per window."""
        return self.frames // self.frames_per_token + 2 * self.context_tokens

    def validate(self):
        for name, allowed in (
            ("model_preset", MODEL_PRESETS),
            ("sampler", SAMPLERS),
            ("renderer", RENDERERS),
            ("loss", LOSSES),
        ):
            if getattr(self, name) not in allowed:
                flag = "--preset" if name == "model_preset" else f"--{name.replace('_', '-')}"
                raise UsageError(f"{flag} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        self.check_at_least_one(
            ("epochs", "batch_size", "steps_per_epoch", "ddim_steps", "held_out_pieces", "griffin_lim_iterations")
        )
        if self.ddim_steps > 1000:
            raise UsageError(f"--ddim-steps {self.ddim_steps}: use at most 1000 (the training schedule's levels)")
        if self.frames % (4 * self.frames_per_token) or self.num_mels % 4:
            raise UsageError(
                f"frames {self.frames} and num_mels {self.num_mels} must be multiples of 4 (and frames "
                f"of 4 x frames_per_token)"
            )
        if not 0 <= self.condition_dropout < 1:
            raise UsageError(f"--condition-dropout {self.condition_dropout}: use a number in [0, 1)")
        if not self.guidance >= 0:
            raise UsageError(f"--guidance must be >= 0, got {self.guidance}")
        if not self.render_seconds > 0 or (self.max_seconds is not None and not self.max_seconds > 0):
            raise UsageError("--render-seconds and --max-seconds must be positive")
        if not self.learning_rate > 0:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}")
        return self


PRESETS = {
    # a tiny model, two steps, a few seconds of four chorales: checks the pipeline (what tests use)
    "smoke": dict(
        max_files_per_source=4,
        max_seconds=6.0,
        model_preset="tiny",
        epochs=1,
        steps_per_epoch=2,
        batch_size=2,
        ddim_steps=2,
        held_out_pieces=1,
        render_seconds=2.0,
        griffin_lim_iterations=4,
    ),
    # the recipe's defaults, sized for 2 CPU cores
    "cpu": dict(),
    # a GPU run: the base U-Net, all the chorales, long training
    "gpu": dict(max_files_per_source=400, max_seconds=None, model_preset="base", epochs=200, batch_size=32),
}
MelDiffusionConfig.PRESETS = PRESETS
