"""A grid study killed inside any trial, its first included, finishes every grid point on rerun."""

import keras
import keras_tuner
import numpy as np
import pytest

from musickit.tuning.tuners import make_tuner


class Killed(BaseException):
    """Stands for SIGKILL / Ctrl-C: not an ``Exception``, so Keras Tuner does not record it as a failed trial."""


class KilledOnceHyperModel(keras_tuner.HyperModel):
    """A one-weight regression that is "killed" inside the fit of trial number ``kill_at`` (then never again)."""

    def __init__(self, kill_at):
        super().__init__()
        self.kill_at = kill_at
        self.fits = []

    def build(self, hp):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.get("units"))])
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        return model

    def fit(self, hp, model, x, y, **kwargs):
        self.fits.append(hp.get("units"))
        if self.kill_at is not None and len(self.fits) == self.kill_at + 1:
            self.kill_at = None
            raise Killed()
        targets = np.repeat(y, hp.get("units"), axis=1)
        return model.fit(x, targets, validation_data=(x, targets), batch_size=4, **kwargs)


@pytest.mark.usefixtures("eager_fits")
@pytest.mark.parametrize("kill_at", [0, 1])
@pytest.mark.long
def test_a_study_killed_in_a_trial_finishes_on_rerun(tmp_path, kill_at):
    space = keras_tuner.HyperParameters()
    space.Choice("units", [1, 2, 3])
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    hypermodel = KilledOnceHyperModel(kill_at)

    def tuner():
        return make_tuner(
            "grid",
            hypermodel,
            keras_tuner.Objective("val_loss", "min"),
            directory=str(tmp_path),
            project_name="grid",
            max_trials=3,
            hyperparameters=space,
        )

    with pytest.raises(Killed):
        tuner().search(x, y, epochs=1, verbose=0)
    rerun = tuner()
    rerun.search(x, y, epochs=1, verbose=0)
    trials = rerun.oracle.trials.values()
    assert sorted(trial.hyperparameters.get("units") for trial in trials) == [1, 2, 3]
    assert {trial.status for trial in trials} == {"COMPLETED"}
    # The killed trial ran again; the trials that had finished did not.
    assert sorted(hypermodel.fits) == sorted([1, 2, 3] + [hypermodel.fits[kill_at]])
