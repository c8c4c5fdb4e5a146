"""Run folders never lose a user's work: own-file deletion, refusal to overwrite, the lock, strict --resume."""

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.music import Note, Score, write_midi
from musickit.runs import RunFolder, add_common_flags, add_sampling_flags, parse_flags
from musickit.runs.entry import run_main
from musickit.runs.folder import LOCK_NAME
from musickit.training.callbacks import standard_callbacks
from musickit.utils.atomic import atomic_path

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
INFO = {"model": "test", "model_config": {"units": 4}, "representation": {"steps": 4}}


def flags(*argv):
    parser = argparse.ArgumentParser()
    add_common_flags(parser, default_output_dir="runs/demo", default_epochs=8)
    add_sampling_flags(parser)
    return parse_flags(parser, list(argv))


def one_line(error):
    message = str(error.value)
    assert len(message.splitlines()) == 1, message
    return message


def finished_run(path, **start):
    run = RunFolder(path)
    run.start(INFO, **start)
    run.write_json(run.metrics_path, {"valid_nll": 1.0})
    write_midi(Score(notes=[Note(60, 80, 0.0, 1.0)]), run.file("samples", "sample_1.mid"))
    run.finish()
    return run


def test_a_smoke_run_has_its_own_default_folder():
    assert flags().output_dir == "runs/demo"
    assert flags("--smoke").output_dir == "runs/demo-smoke"
    assert flags("--smoke", "--output-dir", "elsewhere").output_dir == "elsewhere"


def test_a_finished_run_is_not_overwritten_without_overwrite(tmp_path):
    finished_run(tmp_path / "run")
    before = (tmp_path / "run" / "metrics.json").read_bytes()
    with pytest.raises(UsageError) as error:
        RunFolder(tmp_path / "run").start(INFO)
    assert "already holds a finished run; pass --overwrite" in one_line(error)
    assert (tmp_path / "run" / "metrics.json").read_bytes() == before


def test_overwrite_deletes_only_the_files_the_run_wrote(tmp_path):
    run = finished_run(tmp_path / "run")
    (tmp_path / "run" / "samples" / "my_song.mid").write_bytes(b"mine")  # the user's, added later
    (tmp_path / "run" / "logs").mkdir()
    (tmp_path / "run" / "logs" / "notes.txt").write_text("mine too")
    (tmp_path / "run" / "logs" / "events.out.tfevents.1.host").write_bytes(b"TensorBoard's")
    RunFolder(run.path).start(INFO, overwrite=True)
    assert not (tmp_path / "run" / "samples" / "sample_1.mid").exists()
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "run" / "logs" / "events.out.tfevents.1.host").exists()
    assert (tmp_path / "run" / "samples" / "my_song.mid").read_bytes() == b"mine"
    assert (tmp_path / "run" / "logs" / "notes.txt").read_text() == "mine too"


def test_a_folder_that_holds_no_run_is_never_written_or_cleared(tmp_path):
    folder = tmp_path / "mine"
    (folder / "samples").mkdir(parents=True)
    (folder / "samples" / "my_song.mid").write_bytes(b"mine")
    for options in ({}, {"overwrite": True}):
        with pytest.raises(UsageError) as error:
            RunFolder(folder).start(INFO, **options)
        assert "holds no musickit run" in one_line(error)
    assert sorted(os.listdir(folder)) == ["samples"] and os.listdir(folder / "samples") == ["my_song.mid"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        RunFolder(tmp_path / "file").start(INFO)


def test_a_second_process_is_refused_and_a_dead_ones_lock_is_taken_over(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.start(INFO)  # this process now holds the lock
    script = (
        "import sys; from musickit.runs import RunFolder; from musickit.runs.entry import run_main; "
        f"sys.exit(run_main(lambda argv: RunFolder({str(run.path)!r}).start({INFO!r}, resume=True)))"
    )
    second = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}
    )
    assert second.returncode == 2, second.stderr
    assert len(second.stderr.strip().splitlines()) == 1 and f"being written by process {os.getpid()}" in second.stderr
    run.unlock()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "run" / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename}))
    assert RunFolder(run.path).start(INFO, resume=True) is False  # taken over: no error
    assert json.loads((tmp_path / "run" / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_resume_refuses_other_flags_and_has_nothing_to_do_for_a_finished_run(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.start(INFO, flags=flags("--epochs", "8"))  # interrupted: never finished
    with pytest.raises(UsageError) as error:
        RunFolder(run.path).start(INFO, resume=True, flags=flags("--epochs", "3", "--resume"))
    assert "--epochs 8, not 3" in one_line(error)
    with pytest.raises(UsageError) as error:
        RunFolder(run.path).start({**INFO, "data": "essen"}, resume=True, flags=flags("--epochs", "8", "--resume"))
    assert "different data" in one_line(error)
    with pytest.raises(UsageError) as error:
        RunFolder(run.path).start({**INFO, "model_config": {"units": 8}}, resume=True)
    assert "different model config" in one_line(error)
    soundfont = tmp_path / "other.sf2"  # where the soundfont lies is not a setting of the run
    soundfont.write_bytes(b"RIFF\0\0\0\0sfbk")
    RunFolder(run.path).start(
        INFO, resume=True, flags=flags("--epochs", "8", "--resume", "--soundfont", str(soundfont))
    )
    RunFolder(run.path).finish()
    with pytest.raises(UsageError) as error:
        RunFolder(run.path).start(INFO, resume=True, flags=flags("--epochs", "8", "--resume"))
    assert one_line(error).startswith("nothing to resume")
    with pytest.raises(UsageError, match="nothing to resume"):
        RunFolder(tmp_path / "empty").start(INFO, resume=True)


def tiny_model():
    """The smallest model the standard callbacks accept (they monitor ``val_nll``)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", metrics=[keras.metrics.MeanSquaredError(name="nll")])
    return model


def tiny_data(seed=0):
    features = np.random.default_rng(seed).random((8, 4)).astype("float32")
    return features, features[:, :2] * 2.0


def test_resume_after_a_kill_during_sample_writing_redoes_no_epoch(tmp_path):
    inputs, targets = tiny_data()
    run = RunFolder(tmp_path / "run")
    run.start(INFO)
    model = tiny_model()
    model.fit(
        inputs, targets, validation_data=(inputs, targets), epochs=2, verbose=0, callbacks=standard_callbacks(run)
    )
    run.save_model(model, _Representation())
    with pytest.raises(KeyboardInterrupt), atomic_path(run.file("samples", "sample_1.mid")):
        raise KeyboardInterrupt  # killed while writing the first sample
    (tmp_path / "run" / "samples" / ".sample_2.x.partial.mid").write_bytes(b"half")  # as a hard kill leaves it
    trained = [weight.copy() for weight in model.get_weights()]

    resumed = RunFolder(run.path)
    assert resumed.start(INFO, resume=True) is True
    assert os.listdir(tmp_path / "run" / "samples") == []  # the leftover temporary file is gone
    again = tiny_model()  # a fresh model, as a new process builds it
    history = again.fit(
        inputs,
        targets,
        validation_data=(inputs, targets),
        epochs=2,
        verbose=0,
        callbacks=standard_callbacks(resumed, resume=True),
    )
    assert history.history.get("loss", []) == []  # no epoch redone
    for mine, saved in zip(again.get_weights(), trained):
        np.testing.assert_array_equal(mine, saved)
    with open(resumed.history_path) as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1"]


def test_a_kill_inside_the_backup_write_leaves_the_previous_backup(tmp_path, monkeypatch):
    inputs, targets = tiny_data(1)
    run = RunFolder(tmp_path / "run")
    run.start(INFO)
    model = tiny_model()
    callbacks = standard_callbacks(run)
    backup = callbacks[0]
    original = model.save_weights

    def killed_on_second_epoch(filepath, overwrite=True):
        if backup._current_epoch == 2:
            with open(filepath, "wb") as handle:
                handle.write(b"torn")
            raise KeyboardInterrupt
        return original(filepath, overwrite=overwrite)

    monkeypatch.setattr(model, "save_weights", killed_on_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        model.fit(inputs, targets, validation_data=(inputs, targets), epochs=3, verbose=0, callbacks=callbacks)
    monkeypatch.undo()
    assert json.loads((tmp_path / "run" / "backup" / "training_metadata.json").read_text())["epoch"] == 1
    assert RunFolder(run.path).start(INFO, resume=True)
    history = tiny_model().fit(
        inputs,
        targets,
        validation_data=(inputs, targets),
        epochs=3,
        verbose=0,
        callbacks=standard_callbacks(run, resume=True),
    )
    assert len(history.history["loss"]) == 2  # epochs 2 and 3; epoch 1 was kept


def test_json_is_valid_and_paths_from_run_json_stay_inside(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_json(run.metrics_path, {"nll": float("nan"), "values": [1.0, float("inf")], "count": np.int64(2)})
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == {
        "nll": None,
        "values": [1.0, None],
        "count": 2,
    }
    assert run.inside("primer.mid") == run.file("primer.mid")
    for outside in ("../secret.mid", "/etc/passwd"):
        with pytest.raises(UsageError, match="points outside its run folder"):
            run.inside(outside)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seed", "-1"], "--seed -1"),
        (["--top-k", "1000000000"], "--top-k"),
        (["--learning-rate", "nan"], "--learning-rate"),
        (["--learning-rate", "-0.1"], "--learning-rate"),
        (["--key", ""], "--key is empty"),
        (["--temperature", "0"], "--temperature"),
        (["--smoke", "--epochs", "3"], "--smoke sets --epochs"),
        (["--resume", "--overwrite"], "contradict"),
        (["--primer", "missing.mid"], "no such file"),
        (["--clash-penalty", "nan"], "--clash-penalty nan: use a finite number"),
        (["--batch-size", "10000000"], "typo"),
        (["--data", "nonsense-corpus"], "unknown data source 'nonsense-corpus'"),
        (["--data", "no/such/folder"], "no such file or folder"),
        (["--soundfont", __file__], "is not a SoundFont 2 (.sf2) file"),
    ],
)
def test_bad_values_are_one_line(argv, message, tmp_path):
    parser = argparse.ArgumentParser()
    add_common_flags(parser, default_output_dir=str(tmp_path / "run"), default_epochs=8)
    add_sampling_flags(parser)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    with pytest.raises(UsageError) as error:
        parse_flags(parser, argv)
    assert message in one_line(error)


def _load_recipe(name):
    spec = importlib.util.spec_from_file_location(
        f"{name}_for_folder_checks", os.path.join(ROOT, "recipes", f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_recipe_refuses_a_folder_it_may_not_write_before_reading_data(tmp_path, monkeypatch, capsys):
    from musickit.families.piano_roll_lstm import pipeline

    def no_data(*arguments, **keywords):
        raise AssertionError("the folder should have been refused before the data was read")

    monkeypatch.setattr(pipeline, "load_data", no_data)
    recipe = _load_recipe("piano_roll_lstm")
    finished = finished_run(tmp_path / "finished").path
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / LOCK_NAME).write_text(json.dumps({"pid": os.getppid(), "host": os.uname().nodename}))
    for argv, message in [
        (["--output-dir", finished], "already holds a finished run; pass --overwrite"),
        (["--output-dir", finished, "--resume"], "nothing to resume"),
        (["--output-dir", str(tmp_path / "never"), "--resume"], "holds no run"),
        (["--output-dir", str(tmp_path / "notes")], "holds no musickit run"),
        (["--output-dir", str(tmp_path / "busy")], f"is being written by process {os.getppid()}"),
    ]:
        assert run_main(recipe.main, ["--smoke", *argv]) == 2, argv
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and message in error, (argv, error)
    assert not (tmp_path / "never").exists()
    assert sorted(os.listdir(tmp_path / "notes")) == ["notes.txt"]


def test_an_output_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        flags("--output-dir", str(tmp_path / "file"))


class _Representation:
    def save(self, path):
        with atomic_path(path) as temporary, open(temporary, "w") as handle:
            handle.write("{}")


def test_an_unsafe_or_damaged_model_is_one_line(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_json(run.info_path, {"model": "test"})
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda values: values * 2)])
    model.save(run.model_path)  # a Lambda layer holds code: Keras' safe mode refuses it
    with pytest.raises(UsageError) as error:
        run.load("test")
    assert "could not be loaded" in one_line(error)
    with open(run.model_path, "wb") as handle:
        handle.write(b"PK\x03\x04 torn")
    with pytest.raises(UsageError) as error:
        run.load("test")
    assert "is damaged (not a .keras zip archive" in one_line(error)  # not Keras' "File not found"
