"""Keras Tuner hypermodel of the Transformer-VAE-GAN: latent sizes, free bits, KL schedule, adversarial weight.

``build(hp)`` declares the search space inline, each default the family's
``cpu`` preset (the recipe's): ``global_latent_dim``, ``bar_latent_dim``,
``free_bits``, ``kl_schedule``, ``kl_max_weight``, ``adversarial_weight`` and
``learning_rate``, and builds the
:class:`~musickit.models.music_vae.MusicVAE` the family's pipeline would.
``fit(hp, model, data)`` then runs the family's three gated stages
(:func:`musickit.families.vae_gan.pipeline.train_stages`: language model, VAE,
adversarial steps; gates printed, not enforced, so a collapsed trial is scored
rather than stopped) and reports, as one epoch, what the validation segments
say of the trained model:

- ``val_nll``: teacher-forced NLL from the posterior means (the objective);
- ``val_teacher_forced_accuracy``, ``val_shuffle_accuracy_drop``,
  ``val_active_units_fraction``, ``val_kl_per_dimension``;
- ``val_max_token_run``: the longest run of one token in greedy prior samples.

The trial's stages live in a run folder beside the tuner's backup, so a trial
killed between stages continues with the next stage.

Example:

>>> import keras_tuner
>>> hypermodel = VaeGanHyperModel()
>>> model = hypermodel.build(keras_tuner.HyperParameters())  # the recipe's defaults
>>> model.bar_latent_dim, model.kl_schedule
(64, 'cyclical')
"""

import os
import shutil

import keras
import keras_tuner

from musickit.errors import UsageError
from musickit.families.vae_gan import pipeline
from musickit.families.vae_gan.config import KL_SCHEDULES, VaeGanConfig
from musickit.families.vae_gan.gates import collapse_measures, greedy_samples
from musickit.families.vae_gan.measures import held_out_nll, posterior_measures
from musickit.runs import RunFolder
from musickit.tuning.tuners import trial_folder

#: What a trial reports (besides ``val_nll``): :func:`~musickit.families.vae_gan.measures.posterior_measures`.
REPORTED = ("teacher_forced_accuracy", "shuffle_accuracy_drop", "active_units_fraction", "kl_per_dimension")


class VaeGanHyperModel(keras_tuner.HyperModel):
    """Search space and staged training of the Transformer-VAE-GAN family.

    Args:
        config: the :class:`~musickit.families.vae_gan.config.VaeGanConfig` a
            trial starts from (default: the ``cpu`` preset). Its stage epochs
            are a trial's length: the KL schedule is built into the model with
            them, so the tuner's ``epochs`` argument is not used.
        train_segments: training segments (for the KL schedule's length); a
            tuner that only hands out trials builds models without data.
        defaults: optional ``{hyperparameter: value}`` replacing ``config``'s
            values as this search's defaults.

    ``fit(hp, model, data, epochs=..., callbacks=...)`` takes the
    :class:`~musickit.families.vae_gan.pipeline.SegmentData` of
    :func:`~musickit.families.vae_gan.pipeline.load_data`.
    """

    def __init__(self, config=None, train_segments=None, defaults=None, name="vae_gan"):
        super().__init__(name=name)
        self.config = (config or VaeGanConfig.preset("cpu")).replace(enforce_gates=False)
        self.tokenizer = pipeline.make_tokenizer(self.config)
        self.train_segments = train_segments
        self.defaults = dict(defaults or {})

    def _default(self, name):
        return self.defaults.get(name, getattr(self.config, name))

    def trial_config(self, hp):
        """``config`` with this trial's hyperparameters (declared here, defaults from ``config``)."""
        changes = {
            "global_latent_dim": hp.Int("global_latent_dim", 1, 512, default=self._default("global_latent_dim")),
            "bar_latent_dim": hp.Int("bar_latent_dim", 1, 512, default=self._default("bar_latent_dim")),
            "free_bits": hp.Float("free_bits", 0.0, 8.0, default=self._default("free_bits")),
            "kl_schedule": hp.Choice("kl_schedule", KL_SCHEDULES, default=self._default("kl_schedule")),
            "kl_max_weight": hp.Float("kl_max_weight", 0.0, 1.0, default=self._default("kl_max_weight")),
            "adversarial_weight": hp.Float("adversarial_weight", 0.0, 1.0, default=self._default("adversarial_weight")),
            "learning_rate": hp.Float(
                "learning_rate", 1e-5, 1e-2, sampling="log", default=self._default("learning_rate")
            ),
        }
        return self.config.replace(**changes).validate()

    def _steps_per_epoch(self, config):
        if config.steps_per_epoch:
            return config.steps_per_epoch
        return max((self.train_segments or config.batch_size) // config.batch_size, 1)

    def build(self, hp):
        config = self.trial_config(hp)
        return pipeline.build_model_for(config, self.tokenizer, self._steps_per_epoch(config))

    def fit(self, hp, model, data, callbacks=(), verbose="auto", **unused):
        """Train the three stages, then report the validation measures as one epoch."""
        if not len(data.segments["valid"]):
            raise UsageError("the VAE-GAN hypermodel needs validation segments for val_nll")
        config = self.trial_config(hp)
        callbacks = list(callbacks or [])
        folder, temporary = trial_folder(callbacks, "vae_gan")
        try:
            run = RunFolder(folder)
            resuming = os.path.isfile(run.file("stages.json"))
            pipeline.start_run(run, model, data, config, seed=0, resume=resuming, overwrite=not resuming)
            model = pipeline.train_stages(model, data, config, run, resuming=resuming, verbose=verbose)
            logs = self.validation_logs(model, data, config)
        finally:
            if temporary:
                shutil.rmtree(folder, ignore_errors=True)
        # The stages are one training run to the tuner: its callbacks (epoch log, best-epoch checkpoint) see
        # one epoch with the validation measures. A BackupAndRestore backup of a fit does not apply here.
        history = keras.callbacks.History()
        reported = keras.callbacks.CallbackList(
            [callback for callback in callbacks if not isinstance(callback, keras.callbacks.BackupAndRestore)]
            + [history],
            model=model,
        )
        reported.on_train_begin()
        reported.on_epoch_end(0, logs)
        reported.on_train_end(logs)
        shutil.rmtree(folder, ignore_errors=True)  # finished: the tuner keeps the epoch log and the best weights
        return history

    @staticmethod
    def validation_logs(model, data, config):
        """The trial's score on the validation segments (never the test split the benchmark reports)."""
        segments = data.segments["valid"][: config.evaluation_segments]
        measures = posterior_measures(model, segments, config.batch_size)
        greedy = greedy_samples(
            model, model.sample_prior(4, config.prior_temperature, seed=0), config.max_segment_tokens + 1
        )
        logs = {"val_nll": held_out_nll(model, segments, config.batch_size)}
        logs.update({f"val_{name}": float(measures[name]) for name in REPORTED})
        logs["val_max_token_run"] = float(collapse_measures(greedy)["max_token_run"])
        return logs
