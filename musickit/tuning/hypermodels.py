"""Keras Tuner hypermodels for musickit's model families, with their search spaces declared inline.

Each hypermodel's ``build(hp)`` declares every hyperparameter it reads with
``hp.Int`` / ``hp.Choice`` / ``hp.Float(..., sampling="log")`` and a default
equal to the model's (or the training helper's) own default, so building
with an empty ``HyperParameters()`` gives exactly the model you would get
without a tuner. A study (:mod:`musickit.tuning.studies`) tunes a few of
them and leaves the rest at those defaults.

``fit()`` is overridden because the batch size is tuned: the hypermodels take
the unbatched training data (piano rolls, or prompted token examples) and
batch it per trial.

Example:

>>> import keras_tuner
>>> hypermodel = PianoRollLSTMHyperModel()
>>> model = hypermodel.build(keras_tuner.HyperParameters())  # the defaults
>>> model.lstm_units, model.head
(512, 'independent')
"""

import inspect

import keras_tuner
import numpy as np

from musickit.data import piano_roll_windows
from musickit.families.music_transformer.config import MusicTransformerConfig
from musickit.families.music_transformer.pipeline import compile_model as compile_transformer
from musickit.families.piano_roll_lstm.training import adapt_windows, compile_model
from musickit.losses.sequence import sequence_loss
from musickit.models.music_transformer import PRESETS, MusicTransformer
from musickit.models.piano_roll_lstm import FRAME_HEADS, PianoRollLSTM
from musickit.training.optimizers import learning_rate_schedule
from musickit.training.schedules import step_decay

# The defaults of the training helpers the hypermodels call, read from their signatures so
# that "default" here can never drift from "default" there.
PIANO_ROLL_LEARNING_RATE = inspect.signature(compile_model).parameters["learning_rate"].default
PIANO_ROLL_POSITIVE_WEIGHT = inspect.signature(compile_model).parameters["positive_weight"].default
TRANSFORMER = MusicTransformerConfig()  # the family's training settings: learning rate, warmup, weight decay
TRANSFORMER_LEARNING_RATE = TRANSFORMER.learning_rate
DEFAULT_BATCH_SIZE = 32
BATCH_SIZES = (8, 16, 32, 64, 128, 256)
LOSSES = ("cross_entropy", "label_smoothing", "focal")
LEARNING_RATE_SCHEDULES = ("constant", "warmup_cosine", "step")


def constructor_defaults(model_class):
    """``{argument: default}`` of a model's constructor, the values a hypermodel's space defaults to.

    >>> constructor_defaults(PianoRollLSTM)["num_layers"]
    2
    """
    parameters = inspect.signature(model_class.__init__).parameters.values()
    return {parameter.name: parameter.default for parameter in parameters if parameter.default is not parameter.empty}


def _batch_sizes_with(default):
    return tuple(sorted(set(BATCH_SIZES) | {int(default)}))


class PianoRollLSTMHyperModel(keras_tuner.HyperModel):
    """Search space of :class:`~musickit.models.piano_roll_lstm.PianoRollLSTM` and its training.

    Hyperparameters (defaults are the model's and ``compile_model``'s):
    ``lstm_units``, ``num_layers``, ``dropout``, ``recurrent_dropout``,
    ``dense_units``, ``dense_dropout``, ``head``, ``head_hidden_units`` (only
    with the autoregressive head), ``positive_weight`` (only with the
    independent head; the autoregressive head trains on the exact NLL),
    ``learning_rate`` and ``batch_size``.

    The model is compiled with the family's
    :func:`musickit.families.piano_roll_lstm.training.compile_model`,
    so the logs carry ``nll`` and ``val_nll`` (nats per frame), the default
    objective.

    Args:
        window_length: frames per training window.
        transpose: random transposition of training windows, in semitones.
        batch_size: the batch size a study that does not tune it uses; on a
            GPU pass a larger one (e.g. 256).
        steps_per_epoch: optional cap on training batches per epoch.
        validation_steps: optional cap on validation batches.
        jit_compile: ``"auto"`` (Keras decides), ``True`` or ``False`` (XLA).
        seed: data order and augmentation seed.
        defaults: optional ``{hyperparameter: value}`` replacing the model's
            defaults for this search, e.g. tiny sizes for a smoke run or a
            bigger model on a GPU. Without it the defaults are the model's.

    ``fit(hp, model, train_rolls, validation_data=valid_rolls, **fit_kwargs)``
    takes lists of ``(steps, 88)`` rolls.

    Example:

    >>> hp = keras_tuner.HyperParameters()
    >>> hp.Fixed("lstm_units", 16)
    16
    >>> PianoRollLSTMHyperModel().build(hp).lstm_units
    16
    """

    def __init__(
        self,
        window_length=64,
        transpose=2,
        batch_size=DEFAULT_BATCH_SIZE,
        steps_per_epoch=None,
        validation_steps=None,
        jit_compile="auto",
        seed=0,
        defaults=None,
        name="piano_roll_lstm",
    ):
        super().__init__(name=name)
        self.defaults = dict(defaults or {})
        self.window_length = window_length
        self.transpose = transpose
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.validation_steps = validation_steps
        self.jit_compile = jit_compile
        self.seed = seed

    def build(self, hp):
        defaults = {**constructor_defaults(PianoRollLSTM), **self.defaults}
        head = hp.Choice("head", FRAME_HEADS, default=defaults["head"])
        with hp.conditional_scope("head", ["autoregressive"]):
            head_hidden_units = hp.Int("head_hidden_units", 8, 512, step=8, default=defaults["head_hidden_units"])
        with hp.conditional_scope("head", ["independent"]):
            # Weighted BCE: >1 pushes the sparse "on" keys up (the recipe's independent head uses 10).
            positive_weight = hp.Float(
                "positive_weight",
                1.0,
                30.0,
                sampling="log",
                default=defaults.get("positive_weight", PIANO_ROLL_POSITIVE_WEIGHT),
            )
        model = PianoRollLSTM(
            lstm_units=hp.Int("lstm_units", 8, 1024, step=8, default=defaults["lstm_units"]),
            num_layers=hp.Int("num_layers", 1, 4, default=defaults["num_layers"]),
            dropout=hp.Float("dropout", 0.0, 0.5, step=0.1, default=defaults["dropout"]),
            recurrent_dropout=hp.Float("recurrent_dropout", 0.0, 0.5, step=0.1, default=defaults["recurrent_dropout"]),
            dense_units=hp.Int("dense_units", 0, 512, step=8, default=defaults["dense_units"]),
            dense_dropout=hp.Float("dense_dropout", 0.0, 0.5, step=0.1, default=defaults["dense_dropout"]),
            head=head,
            head_hidden_units=head_hidden_units or defaults["head_hidden_units"],
        )
        learning_rate = hp.Float(
            "learning_rate", 1e-4, 1e-2, sampling="log", default=defaults.get("learning_rate", PIANO_ROLL_LEARNING_RATE)
        )
        compile_model(model, learning_rate=learning_rate, positive_weight=positive_weight or 1.0)
        if self.jit_compile != "auto":
            model.jit_compile = self.jit_compile
        return model

    def fit(self, hp, model, train_rolls, validation_data=None, **fit_kwargs):
        batch_size = hp.Choice("batch_size", _batch_sizes_with(self.batch_size), default=self.batch_size)
        head = model.head
        train = piano_roll_windows(
            train_rolls,
            self.window_length,
            batch_size=batch_size,
            transpose=self.transpose,
            seed=self.seed,
            drop_remainder=True,
        )
        valid = piano_roll_windows(
            validation_data,
            self.window_length,
            hop=self.window_length,
            batch_size=batch_size,
            transpose=0,
            shuffle=False,
        )
        return model.fit(
            adapt_windows(train, head),
            validation_data=adapt_windows(valid, head),
            steps_per_epoch=self.steps_per_epoch,
            validation_steps=self.validation_steps,
            shuffle=False,  # the pipeline shuffles
            **fit_kwargs,
        )


class MusicTransformerHyperModel(keras_tuner.HyperModel):
    """Search space of the decoder-only :class:`~musickit.models.music_transformer.MusicTransformer`.

    Architecture hyperparameters default to ``preset`` (``num_layers``,
    ``num_heads``, ``hidden_dim``, ``intermediate_dim``) and to the model's
    constructor (``dropout``, ``position_encoding``); training ones to the
    library's: ``loss`` (``cross_entropy``; ``label_smoothing`` and ``focal``
    add ``label_smoothing`` / ``focal_gamma``), ``lr_schedule``
    (``constant``, ``warmup_cosine`` as in the recipe, or ``step``: x0.1 at
    50% and 75% of training), ``learning_rate``, ``warmup_fraction`` and
    ``batch_size``.

    Whatever the training loss, the logs carry ``nll`` / ``val_nll``: the
    plain token cross-entropy in nats on the piece tokens, so trials with
    smoothed or focal losses are compared on one scale.

    Args:
        vocabulary_size: token ids, from the tokenizer.
        preset: ``tiny``, ``small``, ``base`` or ``paper``: the architecture defaults.
        condition_sizes: e.g. ``{"style": 4}``, as in the recipe.
        padding_id, end_id: the tokenizer's ids.
        epochs: training epochs (for the schedules' total steps).
        train_size: training examples (for the schedules' steps per epoch).
        batch_size, steps_per_epoch, validation_steps, jit_compile, seed: as
            for :class:`PianoRollLSTMHyperModel`.

    ``fit(hp, model, train_examples, validation_data=valid_examples, **fit_kwargs)``
    takes the dicts of :func:`musickit.generation.prompts.prompted_examples`.
    """

    def __init__(
        self,
        vocabulary_size,
        preset="small",
        condition_sizes=None,
        padding_id=0,
        end_id=None,
        epochs=1,
        train_size=1,
        batch_size=8,
        steps_per_epoch=None,
        validation_steps=None,
        jit_compile="auto",
        seed=0,
        name="music_transformer",
    ):
        super().__init__(name=name)
        self.vocabulary_size = vocabulary_size
        self.preset = preset
        self.condition_sizes = dict(condition_sizes or {})
        self.padding_id = padding_id
        self.end_id = end_id
        self.epochs = epochs
        self.train_size = train_size
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.validation_steps = validation_steps
        self.jit_compile = jit_compile
        self.seed = seed

    def _loss(self, hp):
        name = hp.Choice("loss", LOSSES, default="cross_entropy")
        with hp.conditional_scope("loss", ["label_smoothing"]):
            label_smoothing = hp.Float(
                "label_smoothing", 0.02, 0.3, sampling="log", default=TRANSFORMER.label_smoothing
            )
        with hp.conditional_scope("loss", ["focal"]):
            focal_gamma = hp.Float("focal_gamma", 0.5, 5.0, step=0.5, default=2.0)
        if name == "focal":
            return sequence_loss("focal", focal_gamma=focal_gamma)
        return sequence_loss("cross_entropy", label_smoothing=label_smoothing or 0.0)

    def _learning_rate(self, hp, total_steps):
        """The searched schedule: ``musickit.training.optimizers``' named ones, or ``step`` (x0.1 at 50% and 75%).

        :func:`compile_transformer` hands it to :func:`musickit.training.optimizers.build_optimizer`.
        """
        peak = hp.Float("learning_rate", 1e-5, 1e-2, sampling="log", default=TRANSFORMER_LEARNING_RATE)
        schedule = hp.Choice("lr_schedule", LEARNING_RATE_SCHEDULES, default="warmup_cosine")
        with hp.conditional_scope("lr_schedule", ["warmup_cosine"]):
            warmup_fraction = hp.Float("warmup_fraction", 0.0, 0.2, step=0.05, default=TRANSFORMER.warmup_fraction)
        if schedule == "step":
            return step_decay(peak, total_steps)
        warmup_fraction = TRANSFORMER.warmup_fraction if warmup_fraction is None else warmup_fraction
        return learning_rate_schedule(schedule, peak, total_steps, warmup_fraction)

    def _steps_per_epoch(self, batch_size):
        steps = max(1, self.train_size // batch_size)
        return min(steps, self.steps_per_epoch) if self.steps_per_epoch else steps

    def build(self, hp):
        preset = PRESETS[self.preset]
        defaults = constructor_defaults(MusicTransformer)
        num_heads = hp.Choice("num_heads", sorted({2, 4, 8, 16, preset["num_heads"]}), default=preset["num_heads"])
        hidden_dim = hp.Int("hidden_dim", 32, 2048, step=32, default=preset["hidden_dim"])
        model = MusicTransformer(
            vocabulary_size=self.vocabulary_size,
            num_layers=hp.Int("num_layers", 1, 24, default=preset["num_layers"]),
            num_heads=num_heads,
            # Heads split the width: round it to a multiple of the head count.
            hidden_dim=max(num_heads, hidden_dim // num_heads * num_heads),
            intermediate_dim=hp.Int("intermediate_dim", 64, 8192, step=64, default=preset["intermediate_dim"]),
            max_sequence_length=preset["max_sequence_length"],
            position_encoding=hp.Choice(
                "position_encoding", ("relative", "rotary", "absolute"), default=defaults["position_encoding"]
            ),
            condition_sizes=self.condition_sizes or None,
            dropout=hp.Float("dropout", 0.0, 0.3, step=0.05, default=defaults["dropout"]),
            padding_id=self.padding_id,
            end_id=self.end_id,
        )
        # Built now: the tuners' BackupAndRestore needs weights to restore into before fit.
        conditions = {name: np.zeros((1,), "int32") for name in self.condition_sizes}
        model({"token_ids": np.zeros((1, 4), "int32"), **conditions})
        batch_size = hp.Choice("batch_size", _batch_sizes_with(self.batch_size), default=self.batch_size)
        total_steps = self.epochs * self._steps_per_epoch(batch_size)
        # The family's optimizer and "nll" metric (the plain cross-entropy on piece tokens: one scale for every loss).
        return compile_transformer(
            model,
            TRANSFORMER,
            self._learning_rate(hp, total_steps),
            self._loss(hp),
            accuracy=False,
            jit_compile=self.jit_compile,
        )

    def fit(self, hp, model, train_examples, validation_data=None, **fit_kwargs):
        from musickit.generation.prompts import prompted_dataset

        batch_size = hp.Choice("batch_size", _batch_sizes_with(self.batch_size), default=self.batch_size)
        conditions = tuple(self.condition_sizes)
        train = prompted_dataset(train_examples, batch_size, seed=self.seed, conditions=conditions)
        valid = prompted_dataset(validation_data, batch_size, shuffle=False, conditions=conditions)
        return model.fit(
            train,
            validation_data=valid,
            steps_per_epoch=self.steps_per_epoch,  # None: every batch once per epoch
            validation_steps=self.validation_steps,
            shuffle=False,
            **fit_kwargs,
        )
