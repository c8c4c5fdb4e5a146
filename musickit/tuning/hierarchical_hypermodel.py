"""Keras Tuner hypermodel of the hierarchical transformer: its sizes, snippet length, staging and pre-training.

``build(hp)`` declares the architecture inline (decoder and snippet-encoder
sizes default to a preset, ``small`` being the hierarchical recipe's CPU
size) and the pipeline switches the ablation studies tune:
``snippet_length``, ``training`` (``"staged"`` A,B,C or ``"end_to_end"``) and
``contrastive_pretraining``. ``fit(hp, model, train_split,
validation_data=valid_split)`` then runs the family's pipeline
(:mod:`musickit.families.hierarchical_transformer.pipeline`, the recipe's):

1. optional NT-Xent pre-training of the encoder, then the decoder as a
   language model on plain token windows (``pipeline.pretrain``);
2. staged training on snippet/target pairs (``pipeline.train_stages``),
   built inside ``fit`` because the snippet length is a hyperparameter.

Its settings are a :class:`~musickit.families.hierarchical_transformer.config.HierarchicalConfig`
(the recipe's ``cpu`` preset unless ``config`` is given); hyperparameters replace its values per trial.

The objective is ``val_loss``: the token cross-entropy of held-out pieces in
nats (the trainer's loss weighs piece tokens only). End-to-end training gets
as many epochs as the staged schedule has steps, so both arms of the
``staging`` study train for the same number of steps.

Example:

>>> import keras_tuner
>>> from musickit.representations.remi import REMITokenizer
>>> hypermodel = HierarchicalTransformerHyperModel(REMITokenizer(), styles=["bach", "essen"])
>>> model = hypermodel.build(keras_tuner.HyperParameters())  # the defaults
>>> model.num_layers, model.encoder.num_layers, model.encoder.snippet_length
(4, 2, 64)
"""

import os
import shutil

import keras
import keras_tuner
import numpy as np
from keras_tuner.errors import FailedTrialError

from musickit.errors import UsageError
from musickit.families.hierarchical_transformer import pipeline
from musickit.families.hierarchical_transformer.config import HierarchicalConfig
from musickit.layers.snippet_encoder import ENCODER_PRESETS
from musickit.models.decoder_base import DECODER_PRESETS
from musickit.training.staging import StagedTrainer, expand_stages, save_weights_atomically
from musickit.tuning.tuners import trial_folder

TRAININGS = {"staged": "A,B,C", "end_to_end": "E"}
SNIPPET_LENGTHS = (8, 16, 32, 64, 128, 256, 512, 1024)
RECIPE = HierarchicalConfig.preset("cpu")  # the hierarchical recipe's settings, the defaults here


class HierarchicalTransformerHyperModel(keras_tuner.HyperModel):
    """Search space and training pipeline of :class:`~musickit.models.hierarchical.HierarchicalTransformer`.

    Hyperparameters (defaults: ``preset`` and ``encoder_preset``, and the
    hierarchical recipe's settings): ``num_layers``, ``num_heads``,
    ``hidden_dim``, ``intermediate_dim`` (decoder); ``encoder_layers``,
    ``encoder_heads``, ``encoder_dim``, ``encoder_intermediate_dim``;
    ``snippet_length``, ``num_memory_vectors``, ``adapter_dim``, ``dropout``;
    ``training`` (``staged`` or ``end_to_end``); ``contrastive_pretraining``
    and, with it, ``temperature``; ``learning_rate``.

    Args:
        tokenizer: the :class:`~musickit.representations.remi.REMITokenizer`
            the splits were encoded with (vocabulary, special ids, and the
            token families the contrastive views transpose).
        styles: the style classes (``FormCorpus.styles``), for conditioning.
        preset: decoder size (``tiny``, ``small``, ``base``, ``paper``).
        encoder_preset: snippet-encoder size; default ``preset``.
        sequence_length: decoder window in tokens.
        batch_size: batch size of every stage.
        contrastive_epochs, contrastive_copies: NT-Xent pre-training epochs and
            augmented pairs per snippet and epoch.
        language_model_epochs: decoder pre-training epochs (0: none).
        steps_per_epoch: optional cap on training batches per epoch (every stage).
        validation_steps: optional cap on validation batches.
        jit_compile: ``"auto"``, ``True`` or ``False`` (XLA).
        seed: data order and augmentation seed.
        config: a :class:`~musickit.families.hierarchical_transformer.config.HierarchicalConfig`
            whose data, pre-training and training settings the trials use (default: the recipe's
            ``cpu`` preset); the arguments above that are given replace its values.
        defaults: optional ``{hyperparameter: value}`` replacing the preset's
            and recipe's defaults, e.g. tiny sizes for a smoke run.

    ``fit(hp, model, train_split, validation_data=valid_split, epochs=...)``
    takes the :class:`~musickit.data.dataset.EncodedSplit` s of
    :func:`musickit.data.form_corpus.build_form_corpus`; ``epochs`` is per
    stage. Under a tuner of :mod:`musickit.tuning.tuners`, the stages'
    checkpoints live in the execution folder, so a killed trial continues
    from its last finished stage.
    """

    def __init__(
        self,
        tokenizer,
        styles,
        preset=None,
        encoder_preset=None,
        sequence_length=None,
        batch_size=None,
        contrastive_epochs=None,
        contrastive_copies=None,
        language_model_epochs=None,
        steps_per_epoch=None,
        validation_steps=None,
        jit_compile=None,
        seed=None,
        defaults=None,
        config=None,
        name="hierarchical_transformer",
    ):
        super().__init__(name=name)
        config = (config or RECIPE).replace(
            **{
                key: value
                for key, value in {
                    "model_preset": preset,
                    "sequence_length": sequence_length,
                    "batch_size": batch_size,
                    "contrastive_epochs": contrastive_epochs,
                    "contrastive_copies": contrastive_copies,
                    "language_model_epochs": language_model_epochs,
                    "steps_per_epoch": steps_per_epoch,
                    "language_model_steps": steps_per_epoch,
                    "jit_compile": jit_compile,
                    "seed": seed,
                }.items()
                if value is not None
            }
        )
        preset = config.model_preset
        encoder_preset = encoder_preset or preset
        if encoder_preset not in ENCODER_PRESETS:
            raise UsageError(f"unknown preset {preset!r}/{encoder_preset!r}; choose one of {sorted(DECODER_PRESETS)}")
        if config.sequence_length > DECODER_PRESETS[preset]["max_sequence_length"]:
            raise UsageError(
                f"sequence_length {config.sequence_length} is longer than the {preset} decoder's "
                f"{DECODER_PRESETS[preset]['max_sequence_length']} positions; use a larger preset"
            )
        self.config = config
        self.tokenizer = tokenizer
        self.styles = list(styles)
        self.preset = preset
        self.encoder_preset = encoder_preset
        self.validation_steps = validation_steps
        self.defaults = dict(defaults or {})

    def _default(self, name, value):
        return self.defaults.get(name, value)

    def build(self, hp):
        decoder = {**DECODER_PRESETS[self.preset], **self.defaults}
        encoder = ENCODER_PRESETS[self.encoder_preset]
        default = self._default
        recipe = self.config
        num_heads = hp.Choice(
            "num_heads", sorted({1, 2, 4, 8, 16, 24, decoder["num_heads"]}), default=decoder["num_heads"]
        )
        hidden_dim = hp.Int("hidden_dim", 32, 2048, step=32, default=decoder["hidden_dim"])
        encoder_heads = hp.Choice(
            "encoder_heads",
            sorted({1, 2, 4, 8, 16, default("encoder_heads", encoder["num_heads"])}),
            default=default("encoder_heads", encoder["num_heads"]),
        )
        encoder_dim = hp.Int("encoder_dim", 32, 2048, step=32, default=default("encoder_dim", encoder["hidden_dim"]))
        snippet_length = hp.Choice(
            "snippet_length",
            sorted({*SNIPPET_LENGTHS, default("snippet_length", recipe.snippet_length)}),
            default=default("snippet_length", recipe.snippet_length),
        )
        num_memory_vectors = hp.Int(
            "num_memory_vectors", 1, 16, default=default("num_memory_vectors", recipe.num_memory_vectors)
        )
        dropout = hp.Float("dropout", 0.0, 0.3, step=0.05, default=default("dropout", 0.1))
        encoder_sizes = {
            "num_layers": hp.Int("encoder_layers", 1, 12, default=default("encoder_layers", encoder["num_layers"])),
            "num_heads": encoder_heads,
            # Heads split the width: round it to a multiple of the head count.
            "hidden_dim": max(encoder_heads, encoder_dim // encoder_heads * encoder_heads),
            "intermediate_dim": hp.Int(
                "encoder_intermediate_dim",
                64,
                8192,
                step=64,
                default=default("encoder_intermediate_dim", encoder["intermediate_dim"]),
            ),
        }
        decoder_sizes = {
            "num_layers": hp.Int("num_layers", 1, 24, default=decoder["num_layers"]),
            "num_heads": num_heads,
            "hidden_dim": max(num_heads, hidden_dim // num_heads * num_heads),
            "intermediate_dim": hp.Int("intermediate_dim", 64, 8192, step=64, default=decoder["intermediate_dim"]),
        }
        adapter_dim = hp.Int("adapter_dim", 4, 256, step=4, default=default("adapter_dim", recipe.adapter_dim))
        config = recipe.replace(
            snippet_length=snippet_length,
            num_memory_vectors=num_memory_vectors,
            adapter_dim=adapter_dim,
            num_layers=None,
        )
        # The recipe's conditions: every batch of section_snippet_pairs carries all three labels.
        model = pipeline.build_model(
            config, self.tokenizer, self.styles, decoder=decoder_sizes, encoder=encoder_sizes, dropout=dropout
        )
        # The pipeline's switches, declared here so that the space is complete after build().
        hp.Choice("training", tuple(TRAININGS), default=default("training", "staged"))
        hp.Float("learning_rate", 1e-5, 1e-2, sampling="log", default=default("learning_rate", recipe.learning_rate))
        hp.Boolean("contrastive_pretraining", default=default("contrastive_pretraining", True))
        with hp.conditional_scope("contrastive_pretraining", [True]):
            hp.Float(
                "temperature", 0.02, 1.0, sampling="log", default=default("temperature", recipe.contrastive_temperature)
            )
        return model

    def trial_config(self, hp, model):
        """The recipe's settings with this trial's hyperparameters (snippet length, learning rate, stages, ...)."""
        changes = {
            "snippet_length": hp.get("snippet_length"),
            "learning_rate": hp.get("learning_rate"),
            "stages": TRAININGS[hp.get("training")],
            "num_layers": model.num_layers,
        }
        if hp.get("contrastive_pretraining"):
            changes["contrastive_temperature"] = hp.get("temperature")
        else:
            changes["contrastive_epochs"] = 0
        return self.config.replace(**changes)

    def fit(self, hp, model, train_split, validation_data=None, epochs=1, callbacks=(), verbose="auto", **unused):
        """Pre-train, then train in stages; returns a ``History`` over the stages' epochs, numbered on."""
        if validation_data is None or not len(validation_data):
            raise UsageError("the hierarchical hypermodel needs validation_data: held-out pieces for val_loss")
        config = self.trial_config(hp, model)
        # End to end gets as many epochs as the staged schedule has steps: both arms train equally long.
        stage_epochs = epochs * (
            len(expand_stages(TRAININGS["staged"], model.num_layers)) if config.stages == "E" else 1
        )
        callbacks = list(callbacks or [])
        folder, temporary = trial_folder(callbacks, "hierarchical")
        try:
            finished = StagedTrainer(model, os.path.join(folder, "stages")).finished()
            # A trial killed after its last stage (before the tuner marked it finished) has nothing left to
            # train and so nothing to report: it starts over.
            resume = bool(finished) and finished != expand_stages(config.stages, model.num_layers)
            pretrained = os.path.join(folder, "pretrained.weights.h5")
            if not model.built:
                model.build()  # weights to restore a finished stage or the pre-training into
            if not resume:
                if os.path.isfile(pretrained):
                    model.load_weights(pretrained)
                else:
                    self._pretrain(model, train_split, config, verbose)
                    save_weights_atomically(model, pretrained)  # the stages' own checkpoints take over from here
            # A BackupAndRestore backup belongs to one fit: restored into the next stage (another compile,
            # other trainable weights) it would skip that stage's epochs. The stage checkpoints replace it.
            # A resumed trial numbers its epochs from where the schedule stands (the finished stages' epochs).
            continued = ContinuedEpochs(
                [callback for callback in callbacks if not isinstance(callback, keras.callbacks.BackupAndRestore)],
                first_epoch=len(finished) * stage_epochs if resume else 0,
            )
            pipeline.train_stages(
                model,
                train_split,
                config,
                self.tokenizer,
                os.path.join(folder, "stages"),
                self.styles,
                valid_split=validation_data,
                epochs=stage_epochs,
                resume=resume,
                callbacks=[continued],
                validation_steps=self.validation_steps,
                verbose=verbose,
            )
        finally:
            if temporary:
                shutil.rmtree(folder, ignore_errors=True)
        # Finished: the tuner keeps the best epoch's weights and the epoch log; the stage checkpoints can go.
        shutil.rmtree(folder, ignore_errors=True)
        return continued.history

    def _pretrain(self, model, train_split, config, verbose):
        """The recipe's pre-training; a loss that is not finite fails the trial (the study goes on)."""
        metrics = pipeline.pretrain(model, train_split, config, self.tokenizer, verbose=verbose)
        if not np.isfinite(metrics.get("contrastive_loss", 0.0)):
            raise FailedTrialError(
                f"contrastive loss became {metrics['contrastive_loss']}; "
                "try a lower learning rate or a higher temperature"
            )
        if not np.isfinite(metrics.get("language_model_loss", 0.0)):
            raise FailedTrialError(
                f"language-model pre-training loss became {metrics['language_model_loss']}; try a lower learning rate"
            )


class ContinuedEpochs(keras.callbacks.Callback):
    """Several consecutive ``fit`` calls seen by ``callbacks`` as one training run, epochs numbered on.

    The staged trainer fits once per stage, each fit counting epochs from 0.
    The tuner's callbacks (epoch log, best-epoch checkpoint, trial reports)
    key their records by epoch, so this callback hands them epoch
    ``offset + epoch`` and keeps the whole run's logs in :attr:`history`.
    ``first_epoch`` is where a resumed run starts counting.

    Example:

    >>> continued = ContinuedEpochs([])
    >>> for stage in range(2):
    ...     continued.on_train_begin()
    ...     continued.on_epoch_end(0, {"val_loss": 2.0 - stage})
    >>> continued.history.epoch, continued.history.history
    ([0, 1], {'val_loss': [2.0, 1.0]})
    """

    def __init__(self, callbacks, first_epoch=0):
        super().__init__()
        self.callbacks = list(callbacks)
        self.offset = self.next_epoch = int(first_epoch)
        self.history = keras.callbacks.History()
        self.history.history, self.history.epoch = {}, []

    def set_model(self, model):
        super().set_model(model)
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def _forward(self, name, *args):
        for callback in self.callbacks:
            getattr(callback, name)(*args)

    def on_train_begin(self, logs=None):
        self.offset = self.next_epoch
        self._forward("on_train_begin", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._forward("on_epoch_begin", self.offset + epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        epoch = self.offset + epoch
        logs = dict(logs or {})
        self.history.epoch.append(epoch)
        for name, value in logs.items():
            self.history.history.setdefault(name, []).append(value)
        self._forward("on_epoch_end", epoch, logs)
        self.next_epoch = epoch + 1

    def on_train_end(self, logs=None):
        self._forward("on_train_end", logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._forward("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._forward("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs=None):
        self._forward("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._forward("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._forward("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._forward("on_test_batch_end", batch, logs)
