"""Survivable tuners: failures recorded with their reason, epoch logs, backups kept to their hyperparameters."""

import json
import math

import keras
import keras_tuner
import numpy as np
import pytest
from keras_tuner.errors import FailedTrialError

from musickit.errors import UsageError
from musickit.tuning.results import write_results
from musickit.tuning.tuners import EpochLog, FailOnNaN, SurvivableTrialsMixin, make_tuner, read_epoch_log


class ScaleHyperModel(keras_tuner.HyperModel):
    """A one-weight regression whose targets are scaled by ``case``: NaN fails, "oom" pretends to run out of memory."""

    def build(self, hp):
        hp.Choice("case", ["small", "nan", "oom", "large"])
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        return model

    def fit(self, hp, model, x, y, **kwargs):
        case = hp.get("case")
        if case == "oom":
            raise RuntimeError("RESOURCE_EXHAUSTED: OOM when allocating tensor with shape [4096, 4096]")
        scale = {"small": 1.0, "large": 10.0, "nan": math.nan}[case]
        return model.fit(x, y * scale, validation_data=(x, y * scale), batch_size=4, **kwargs)


@pytest.mark.usefixtures("eager_fits")
def test_failed_trials_are_recorded_with_their_reason_and_the_study_goes_on(tmp_path):
    x = np.ones((8, 2), "float32")
    tuner = make_tuner(
        "grid",
        ScaleHyperModel(),
        keras_tuner.Objective("val_loss", "min"),
        directory=str(tmp_path),
        project_name="grid",
        max_trials=4,
    )
    tuner.search(x, np.ones((8, 1), "float32"), epochs=2, verbose=0)
    rows, paths = write_results(tuner.oracle, str(tmp_path), tuned=["case"])
    by_case = {row["case"]: row for row in rows}
    assert by_case["small"]["status"] == by_case["large"]["status"] == "COMPLETED"
    assert [row["case"] for row in rows[:2]] == ["small", "large"]  # completed trials first, best first
    assert by_case["nan"]["status"] == "FAILED" and "loss became nan" in by_case["nan"]["reason"]
    assert by_case["oom"]["status"] == "FAILED" and "out of memory" in by_case["oom"]["reason"]
    assert "FAILED: FailedTrialError: loss became nan" in open(paths["markdown"]).read()


def test_epoch_log_round_trip_keeps_the_last_line_of_a_repeated_epoch(tmp_path):
    path = str(tmp_path / "epochs.jsonl")
    log = EpochLog(path)
    log.on_epoch_end(0, {"val_nll": 3.0})
    log.on_epoch_end(1, {"val_nll": 2.0})
    log.on_epoch_end(1, {"val_nll": 1.5})  # epoch 1 again after a kill before its backup
    with open(path, "a") as handle:
        handle.write('{"epoch": 2, "val_')  # cut short by a kill
    history = read_epoch_log(path)
    assert history.epoch == [0, 1] and history.history == {"val_nll": [3.0, 1.5]}


def test_fail_on_nan_raises_a_failed_trial():
    with pytest.raises(FailedTrialError, match="loss became nan at batch 3"):
        FailOnNaN().on_train_batch_end(3, {"loss": float("nan")})
    FailOnNaN().on_train_batch_end(0, {"loss": 1.0})


def test_a_backup_of_other_hyperparameters_is_discarded(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "epochs.jsonl").write_text('{"epoch": 0}\n')
    SurvivableTrialsMixin._forget_other_hyperparameters(str(tmp_path), {"lstm_units": 8})
    assert (tmp_path / "backup").is_dir()  # first time: recorded, kept
    SurvivableTrialsMixin._forget_other_hyperparameters(str(tmp_path), {"lstm_units": 8})
    assert (tmp_path / "backup").is_dir()
    SurvivableTrialsMixin._forget_other_hyperparameters(str(tmp_path), {"lstm_units": 16})
    assert not (tmp_path / "backup").exists() and not (tmp_path / "epochs.jsonl").exists()
    assert json.loads((tmp_path / "hyperparameters.json").read_text()) == {"lstm_units": 16}


def test_unknown_tuner_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown tuner 'annealing'"):
        make_tuner("annealing", ScaleHyperModel(), "val_loss", directory=".", project_name="x")
