"""Keras integration: score generated samples during training, and use the scores as tuner objectives.

:class:`MusicMetricsCallback` asks a user function for a few generated pieces
every few epochs and writes the mean of chosen metrics into the epoch's
``logs`` as ``val_<metric>``. Everything downstream that reads ``logs`` sees
them: the ``History`` returned by ``fit``, ``keras.callbacks.TensorBoard``,
``CSVLogger``, ``EarlyStopping``/``ModelCheckpoint`` monitors, and Keras
Tuner, whose objective can then be a musical one:

>>> objective = tuner_objective("pitch_class_histogram_distance")  # doctest: +SKIP
>>> objective.name, objective.direction  # doctest: +SKIP
('val_pitch_class_histogram_distance', 'min')
"""

import inspect
import math

import keras
import numpy as np

from musickit.metrics.evaluation import DIRECTIONS, METRIC_NAMES, SetFeatures, compute_metrics_batch

DEFAULT_METRICS = ("pitch_class_histogram_distance", "in_scale_ratio", "note_density", "polyphony")


class MusicMetricsCallback(keras.callbacks.Callback):
    """Generate samples every ``every_n_epochs`` epochs and log their mean metric values.

    Place it *before* ``TensorBoard``/``CSVLogger``/checkpoint callbacks in
    the ``callbacks`` list: Keras calls callbacks in order and they share one
    ``logs`` dict. Generation is slow, so it runs on the first epoch, every
    ``every_n_epochs``-th epoch and the last one; in between the latest
    values are repeated, because ``History`` and Keras Tuner expect every
    logged key on every epoch (a tuner would fail on a missing objective).

    With ``reference_scores`` (e.g. a few hundred training pieces) the
    callback can compute ``pitch_class_histogram_distance`` and also logs
    ``val_<metric>_gap``: the distance of the samples' mean from the
    reference mean in reference standard deviations, a direction-free
    objective ("sound like the data") for any metric.

    Args:
        generate_fn: returns a list of :class:`~musickit.music.Score`. It
            takes no arguments, or one: the model being trained. Use the
            one-argument form with Keras Tuner, which builds a new model per
            trial and deep-copies the callbacks, so a closure over one model
            would score the wrong one.
        metrics: metric names from :data:`musickit.metrics.METRIC_NAMES`.
        every_n_epochs: how often to generate.
        reference_scores: optional reference pieces (see above), or their
            :class:`~musickit.metrics.evaluation.SetFeatures`, e.g. the cached
            ``musickit.metrics.reference.reference_features("bach")``.
        prefix: prepended to every logged name; ``"val_"`` makes TensorBoard
            file them under validation.
        verbose: print one line with the values when they are computed.

    Example:

    >>> callback = MusicMetricsCallback(lambda: [sample_piece()], every_n_epochs=5,
    ...                                 reference_scores=training_pieces)  # doctest: +SKIP
    >>> model.fit(dataset, epochs=20, callbacks=[callback, keras.callbacks.TensorBoard("logs")])  # doctest: +SKIP
    """

    def __init__(
        self,
        generate_fn,
        metrics=DEFAULT_METRICS,
        every_n_epochs=5,
        reference_scores=None,
        prefix="val_",
        verbose=0,
    ):
        super().__init__()
        unknown = [name for name in metrics if name not in METRIC_NAMES]
        if unknown:
            raise ValueError(f"unknown metric {', '.join(map(repr, unknown))}; choose from {', '.join(METRIC_NAMES)}")
        if int(every_n_epochs) < 1:
            raise ValueError(f"every_n_epochs must be at least 1, got {every_n_epochs}")
        self.generate_fn = generate_fn
        self._wants_model = _takes_an_argument(generate_fn)
        self.metrics = tuple(metrics)
        self.every_n_epochs = int(every_n_epochs)
        self.prefix = prefix
        self.verbose = verbose
        self.reference_histogram = None
        self.reference_statistics = {}
        if reference_scores is not None:
            reference = reference_scores
            if not isinstance(reference, SetFeatures):
                reference = SetFeatures.from_scores(reference_scores, self.metrics)
            self.reference_histogram = reference.histogram
            for name in self.metrics:
                array = reference.values.get(name, np.zeros(0))
                finite = array[~np.isnan(array)]
                if len(finite):
                    self.reference_statistics[name] = (float(finite.mean()), float(finite.std()))
        elif "pitch_class_histogram_distance" in self.metrics:
            raise ValueError("pitch_class_histogram_distance needs reference_scores to measure the distance to")
        self.latest = {}
        self.computed = []  # (epoch, values) for every epoch that generated

    def _due(self, epoch):
        last = (self.params or {}).get("epochs")
        return epoch == 0 or (epoch + 1) % self.every_n_epochs == 0 or (last is not None and epoch + 1 == last)

    def evaluate_samples(self):
        """Generate once and return ``{logged name: value}`` (NaN when nothing usable was generated)."""
        scores = list((self.generate_fn(self.model) if self._wants_model else self.generate_fn()) or [])
        values, _ = compute_metrics_batch(scores, self.metrics, self.reference_histogram)
        logged = {}
        for name in self.metrics:
            array = values.get(name, np.zeros(0))
            finite = array[~np.isnan(array)]
            mean = float(finite.mean()) if len(finite) else math.nan
            logged[self.prefix + name] = mean
            if name in self.reference_statistics:
                reference_mean, reference_std = self.reference_statistics[name]
                logged[f"{self.prefix}{name}_gap"] = abs(mean - reference_mean) / (reference_std or 1.0)
        return logged

    def on_epoch_end(self, epoch, logs=None):
        if self._due(epoch):
            self.latest = self.evaluate_samples()
            self.computed.append((epoch, dict(self.latest)))
            if self.verbose:
                shown = ", ".join(f"{name}={value:.4g}" for name, value in self.latest.items())
                print(f"Epoch {epoch + 1}: sample metrics {shown}")
        if logs is not None:
            logs.update(self.latest)


def _takes_an_argument(function):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature; call them without arguments
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(parameter.kind in positional and parameter.default is parameter.empty for parameter in parameters)


def tuner_objective(metric, prefix="val_"):
    """A ``keras_tuner.Objective`` on a logged sample metric, with the right direction.

    ``metric`` is a metric name (``"pitch_class_histogram_distance"``) or its
    gap (``"polyphony_gap"``, always minimised). Metrics without a clear
    better direction must be used through their gap.
    """
    import keras_tuner

    if metric.endswith("_gap"):
        direction = "min"
    elif metric in DIRECTIONS:
        direction = DIRECTIONS[metric]
    else:
        raise ValueError(
            f"{metric!r} has no better direction; use {metric}_gap (distance from the reference mean) "
            f"or one of {', '.join(DIRECTIONS)}"
        )
    return keras_tuner.Objective(prefix + metric, direction)
