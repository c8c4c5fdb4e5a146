"""The ready-made ablation studies: which model family, which hyperparameters, which values.

A study tunes a few hyperparameters of a hypermodel (:mod:`musickit.tuning.hypermodels`)
over a small declared grid and holds every other one at its default. The grid
becomes a Keras Tuner ``HyperParameters`` registered in advance
(:meth:`Study.hyperparameters`), and the tuner is built with
``tune_new_entries=False``, so whatever else the hypermodel declares keeps its
default value.

Adding a study is one entry in :data:`STUDIES`::

    Study("dropout", PIANO_ROLL_LSTM, {"dropout": (0.0, 0.2, 0.4)},
          smoke_grid={"dropout": (0.0, 0.4)}, description="input dropout of the LSTMs")

A study of a model that has not landed carries ``status`` (why it cannot run)
instead of pretending.

Example:

>>> study = get_study("lstm_size")
>>> study.family, study.size()
('piano_roll_lstm', 9)
>>> sorted(study.hyperparameters().values)
['lstm_units', 'num_layers']
"""

import dataclasses
import math

import keras_tuner

from musickit.errors import UsageError

PIANO_ROLL_LSTM = "piano_roll_lstm"
MUSIC_TRANSFORMER = "music_transformer"
HIERARCHICAL_TRANSFORMER = "hierarchical_transformer"
VAE_GAN = "vae_gan"
AVAILABLE = "available"


@dataclasses.dataclass(frozen=True)
class Study:
    """One ablation: a model family and a grid over some of its hyperparameters.

    Args:
        name: the ``--study`` name.
        family: the hypermodel family (``piano_roll_lstm``, ``music_transformer``, ...).
        grid: ``{hyperparameter: values}``; each becomes an ``hp.Choice`` whose
            default is the first value (``(True, False)`` an ``hp.Boolean``).
        smoke_grid: a smaller grid for ``--smoke`` (tiny models, seconds); by
            default the first two values of each entry.
        description: one line for ``--list`` and the results table.
        status: ``"available"``, or why the study cannot run yet.
    """

    name: str
    family: str
    grid: dict
    smoke_grid: dict = None
    description: str = ""
    status: str = AVAILABLE

    @property
    def available(self):
        return self.status == AVAILABLE

    def size(self, smoke=False):
        """Points in the grid (the default ``--max-trials``)."""
        return math.prod(len(values) for values in self.values(smoke).values())

    def values(self, smoke=False):
        if not smoke:
            return self.grid
        return self.smoke_grid or {name: tuple(values[:2]) for name, values in self.grid.items()}

    def hyperparameters(self, smoke=False):
        """The study's space as Keras Tuner ``HyperParameters``, registered before the hypermodel's own."""
        hp = keras_tuner.HyperParameters()
        for name, values in self.values(smoke).items():
            if set(values) == {True, False} and all(isinstance(value, bool) for value in values):
                hp.Boolean(name, default=values[0])  # hp.Choice would store booleans as the integers 1 and 0
            else:
                hp.Choice(name, list(values), ordered=_ordered(values))
        return hp


def _ordered(values):
    # Numbers are ordered (the Bayesian tuner can then interpolate), names are not.
    return all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)


STUDIES = {
    study.name: study
    for study in [
        Study(
            "lstm_size",
            PIANO_ROLL_LSTM,
            {"lstm_units": (128, 256, 512), "num_layers": (1, 2, 3)},
            smoke_grid={"lstm_units": (4, 8), "num_layers": (1,)},
            description="LSTM width x depth of the piano-roll LSTM",
        ),
        Study(
            "frame_head",
            PIANO_ROLL_LSTM,
            {"head": ("independent", "autoregressive")},
            description="independent sigmoids vs the autoregressive (NADE-style) frame head",
        ),
        Study(
            "loss",
            MUSIC_TRANSFORMER,
            {"loss": ("cross_entropy", "focal", "label_smoothing")},
            description="token loss of the Music Transformer: cross-entropy, focal, label smoothing",
        ),
        Study(
            "lr_schedule",
            MUSIC_TRANSFORMER,
            {"lr_schedule": ("constant", "warmup_cosine", "step")},
            description="learning-rate schedule of the Music Transformer",
        ),
        # The hierarchical studies' full grids are GPU-scale (e.g. 12-layer encoders, 1024-token snippets, and
        # A, B1..Bn, C stages per trial); their smoke grids check the pipeline with a tiny model in seconds.
        Study(
            "encoder_size",
            HIERARCHICAL_TRANSFORMER,
            {"encoder_layers": (3, 6, 12), "encoder_heads": (4, 8, 16)},
            smoke_grid={"encoder_layers": (1, 2), "encoder_heads": (2,)},
            description="snippet-encoder layers x heads of the hierarchical transformer (GPU-scale grid)",
        ),
        Study(
            "snippet_length",
            HIERARCHICAL_TRANSFORMER,
            {"snippet_length": (128, 256, 512, 1024)},
            smoke_grid={"snippet_length": (8, 16)},
            description="tokens per section snippet read by the encoder (GPU-scale grid)",
        ),
        Study(
            "staging",
            HIERARCHICAL_TRANSFORMER,
            {"training": ("staged", "end_to_end")},
            description="staged (A: cross-attention, B: unfreezing, C: all) vs end-to-end training, equal steps",
        ),
        Study(
            "contrastive",
            HIERARCHICAL_TRANSFORMER,
            {"contrastive_pretraining": (True, False)},
            description="with vs without NT-Xent pre-training of the snippet encoder",
        ),
        # Each VAE-GAN trial is the family's recipe (about 12 minutes on 2 CPU cores at the cpu preset).
        Study(
            "vae_latents",
            VAE_GAN,
            {"bar_latent_dim": (16, 32, 64), "free_bits": (0.5, 1.0, 2.0)},
            smoke_grid={"bar_latent_dim": (2, 4), "free_bits": (1.0,)},
            description="bar latent size x free bits per dimension of the Transformer-VAE-GAN",
        ),
        Study(
            "vae_regularisers",
            VAE_GAN,
            {"kl_schedule": ("cyclical", "monotonic", "constant"), "adversarial_weight": (0.0, 0.05, 0.2)},
            smoke_grid={"kl_schedule": ("cyclical", "monotonic"), "adversarial_weight": (0.05,)},
            description="KL schedule x adversarial weight of the Transformer-VAE-GAN",
        ),
    ]
}


def get_study(name):
    """The study called ``name``; a one-line :class:`UsageError` for an unknown or unavailable one."""
    if name not in STUDIES:
        raise UsageError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)} (--list shows them)")
    study = STUDIES[name]
    if not study.available:
        raise UsageError(f"study {name!r} ({study.description}) {study.status}; it is not available yet")
    return study


def study_table():
    """A Markdown table of every study with its family, grid and availability (what ``--list`` prints)."""
    lines = ["| study | model | grid | trials | availability |", "|---|---|---|---|---|"]
    for study in STUDIES.values():
        grid = "; ".join(f"{name} {list(values)}" for name, values in study.grid.items())
        lines.append(f"| `{study.name}` | {study.family} | {grid} | {study.size()} | {study.status} |")
    return "\n".join(lines)
