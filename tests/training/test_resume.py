"""An interrupted fit continues from its last epoch with the standard callbacks (BackupAndRestore)."""

import csv

import keras
import numpy as np
import pytest

from musickit.families.piano_roll_lstm.training import compile_model, sequence_negative_log_likelihood
from musickit.models import PianoRollLSTM
from musickit.runs.folder import RunFolder
from musickit.training.callbacks import standard_callbacks


class InterruptAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt


def data():
    frames = (np.random.default_rng(0).random((8, 9, 88)) < 0.05).astype("float32")
    return frames[:, :-1], frames[:, 1:]


def fresh_model():
    keras.utils.set_random_seed(0)
    return compile_model(PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0))


@pytest.mark.usefixtures("eager_fits")
def test_interrupted_training_resumes_at_the_next_epoch(tmp_path):
    inputs, targets = data()
    run = RunFolder(tmp_path / "run")
    run.start({"model": "test"})
    with pytest.raises(KeyboardInterrupt):
        fresh_model().fit(
            inputs,
            targets,
            validation_data=(inputs, targets),
            epochs=4,
            verbose=0,
            callbacks=standard_callbacks(run, extra=[InterruptAfter(2)]),
        )
    assert run.start({"model": "test"}, resume=True)
    history = fresh_model().fit(
        inputs,
        targets,
        validation_data=(inputs, targets),
        epochs=4,
        verbose=0,
        callbacks=standard_callbacks(run, resume=True),
    )
    assert len(history.history["loss"]) == 2  # epochs 3 and 4 only
    with open(run.history_path) as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1", "2", "3"]


def test_sequence_nll_matches_the_uniform_baseline_by_hand():
    model = PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0)
    model(np.zeros((1, 1, 88), "float32"))
    for weight in model.frame_head.weights:
        weight.assign(np.zeros(weight.shape, "float32"))  # every key at p = 0.5
    rolls = [np.zeros((5, 88), "float32"), np.ones((3, 88), "float32")]
    assert sequence_negative_log_likelihood(model, rolls) == pytest.approx(88 * np.log(2), rel=1e-5)
