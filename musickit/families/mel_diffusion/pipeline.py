"""The mel-diffusion pipeline: render -> log-mel windows -> U-Net -> DDPM training -> DDIM renders -> run folder.

Each step is a plain function of a
:class:`~musickit.families.mel_diffusion.config.MelDiffusionConfig`;
``recipes/mel_unet.py`` calls them top to bottom.

Example (a tiny run, as the tests make it)::

    config = MelDiffusionConfig.preset("smoke")
    data = load_data(config, seed=0)
    model = build_model(config)
    run = RunFolder("runs/demo")
    resuming = start_run(run, model, data, config, seed=0)
    train(model, data, config, run, resuming=resuming)
    metrics = write_run_samples(model, data, config, run, seed=0)
"""

import dataclasses
import json
import os

from musickit.audio.mel import MelSettings
from musickit.data.mel_windows import mel_pieces, truncate_score
from musickit.errors import UsageError
from musickit.families.mel_diffusion.config import MODEL_NAME
from musickit.families.mel_diffusion.generation import file_stem, render_pieces
from musickit.music.midi_io import write_midi
from musickit.runs.folder import DATA_FINGERPRINT_KEY, data_fingerprint
from musickit.utils.atomic import atomic_path


@dataclasses.dataclass
class MelData:
    """What :func:`load_data` returns: the mel settings, rendered training pieces and held-out ``(name, score)``."""

    settings: MelSettings
    train: list  # MelPiece
    held_out: list  # (name, Score), not rendered until generation
    renderer: str  # what rendered the training pieces: "fluidsynth" or "synth"


@dataclasses.dataclass(frozen=True)
class MelLayout:
    """The family's "representation": the mel convention and the window/token layout, saved as JSON in a run."""

    settings: dict
    frames: int
    frames_per_token: int
    context_tokens: int

    def get_config(self):
        return dataclasses.asdict(self)

    def save(self, path):
        with atomic_path(path) as temporary:
            with open(temporary, "w") as handle:
                json.dump(self.get_config(), handle, indent=2, sort_keys=True)


def mel_settings(config):
    return MelSettings(num_mels=config.num_mels)


def load_data(config, seed=0, soundfont=None):
    """Read ``config.data``, render the training pieces (cached) and keep the held-out ones as scores."""
    from musickit.data import load_pieces

    splits = load_pieces(config.data, seed=seed, max_files=config.max_files_per_source)
    settings = mel_settings(config)
    train = mel_pieces(
        [(piece.name, truncate_score(piece.score, config.max_seconds)) for piece in splits.train],
        settings,
        config.renderer,
        soundfont,
    )
    held_out = [(piece.name, piece.score) for piece in splits.test + splits.valid if piece.score.notes]
    if not train or not held_out:
        raise UsageError(f"--data {config.data}: too few pieces to train on and hold some out; add more files")
    renderers = sorted({piece.renderer for piece in train})
    return MelData(settings, train, held_out[: config.held_out_pieces], "+".join(renderers))


def build_model(config, compile=True):
    """A :class:`~musickit.models.mel_unet.MelUNet` for ``config``, compiled with Adam + EMA and the loss."""
    import keras

    from musickit.models.mel_unet import MelUNet

    model = MelUNet.from_preset(
        config.model_preset,
        num_mels=config.num_mels,
        frames=config.frames,
        tokens=config.tokens,
        frames_per_token=config.frames_per_token,
        context_tokens=config.context_tokens,
    )
    if compile:
        optimizer = keras.optimizers.Adam(
            config.learning_rate, clipnorm=1.0, use_ema=True, ema_momentum=config.ema_momentum
        )
        model.compile(optimizer=optimizer, loss=config.loss)
    return model


def start_run(run, model, data, config, seed, flags=None, resume=False, overwrite=False):
    """Open ``run``: ``run.json`` (config, mel settings, held-out names) and the held-out MIDI; ``True`` if resuming."""
    names = [name for name, _ in data.held_out]
    info = {
        "model": MODEL_NAME,
        "model_config": model.get_config(),
        "config": config.to_dict(),
        "mel_settings": data.settings.to_dict(),
        "renderer": data.renderer,
        "seed": seed,
        "held_out": names,
        DATA_FINGERPRINT_KEY: data_fingerprint(
            config.data, {"train": [piece.name for piece in data.train], "held_out": names}
        ),
    }
    resuming = run.start(info, resume=resume, overwrite=overwrite, flags=flags)
    for name, score in data.held_out:  # `musickit generate --run` renders these again
        write_midi(score, run.file("held_out", f"{file_stem(name)}.mid"))
    return resuming


def train(model, data, config, run, resuming=False, seed=0, verbose=None):
    """Fit on noisy random windows (the notes dropped ``condition_dropout`` of the time); save the EMA model."""
    import keras

    from musickit.data.mel_windows import noisy_window_dataset
    from musickit.runs.callbacks import AtomicBackupAndRestore

    batches = noisy_window_dataset(
        data.train,
        config.frames,
        config.frames_per_token,
        config.context_tokens,
        config.batch_size,
        seed=seed,
        condition_dropout=config.condition_dropout,
    )
    callbacks = [
        AtomicBackupAndRestore(run.backup_dir, delete_checkpoint=True),
        keras.callbacks.CSVLogger(run.history_path, append=resuming),
        keras.callbacks.TensorBoard(run.logs_dir, write_graph=False),
    ]
    history = model.fit(
        batches,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles
        verbose=(2 if os.environ.get("CI") else "auto") if verbose is None else verbose,
    )  # fit ends by swapping in the EMA weights (the optimizer's use_ema)
    run.save_model(
        model, MelLayout(data.settings.to_dict(), config.frames, config.frames_per_token, config.context_tokens)
    )
    return history


def write_run_samples(model, data, config, run, seed=0, soundfont=None, sampler=None):
    """Render the held-out pieces into ``samples/``; return the run's ``generation`` metrics (held-out means)."""
    result = render_pieces(
        model, data.held_out, data.settings, config, run.samples_dir, seed=seed, sampler=sampler, soundfont=soundfont
    )
    return {
        "sampler": sampler or config.sampler,
        "ddim_steps": config.ddim_steps,
        "guidance": config.guidance,
        **result["means"],
        "pieces": result["pieces"],
    }
