"""The ablation recipe end to end: smoke studies on both model families, the study list, bad input,
a study killed mid-trial and restarted, and one chief with two workers over loopback."""

import csv
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import pytest

from musickit.runs.entry import run_main

RECIPE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "ablation_search.py"))
SUBPROCESS_TIMEOUT = 300  # seconds; a hung chief or worker fails the test instead of hanging CI


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("ablation_search_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_results(folder):
    with open(folder / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def epoch_lines(folder, trial):
    path = folder / "grid" / f"trial_{trial}" / "execution_0" / "epochs.jsonl"
    return [json.loads(line)["epoch"] for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.long
def test_loss_smoke_study_writes_results_sorted_by_objective(recipe, tmp_path):
    # The lstm_size smoke study runs in the kill-and-resume test below (the same command, killed and restarted).
    folder = tmp_path / "loss"
    rows = recipe.main(["--study", "loss", "--smoke", "--output-dir", str(folder)])
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    objectives = [row["objective"] for row in rows]
    assert objectives == sorted(objectives)
    assert {row["loss"] for row in read_results(folder)} == {"cross_entropy", "focal"}
    assert (folder / "results.md").read_text().count("| COMPLETED |") == 2
    assert (folder / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The same command again finds every trial finished and trains nothing.
    again = recipe.main(["--study", "loss", "--smoke", "--output-dir", str(folder)])
    assert [row["objective"] for row in again] == objectives
    assert all(epoch_lines(folder, trial) == [0] for trial in ("0", "1"))


def test_list_shows_every_study_with_its_status(recipe, capsys):
    assert run_main(recipe.main, ["--list"]) == 0
    listing = capsys.readouterr().out
    for name in (
        "lstm_size",
        "frame_head",
        "loss",
        "lr_schedule",
        "encoder_size",
        "snippet_length",
        "staging",
        "contrastive",
        "vae_latents",
        "vae_regularisers",
    ):
        assert f"`{name}`" in listing
    assert listing.count("| available |") == 10


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--study", "staging", "--tuner", "hyperband"], "use --tuner grid, random or bayesian"),
        (["--study", "nope"], "unknown study 'nope'"),
        ([], "pass --study NAME"),
        (["--study", "loss", "--max-trials", "0"], "--max-trials must be at least 1"),
        (["--study", "lstm_size", "--objective", "note_density"], "has no better direction"),
        (["--study", "lstm_size", "--distributed", "worker", "--oracle-address", "nohost"], "use HOST:PORT"),
    ],
)
def test_bad_input_is_one_line(recipe, capsys, argv, message, tmp_path):
    assert run_main(recipe.main, [*argv, "--output-dir", str(tmp_path / "study")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error


def test_other_settings_in_the_same_folder_are_refused(recipe, tmp_path, capsys):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "study.json").write_text(json.dumps({"study": "lstm_size", "tuner": "random"}))
    assert run_main(recipe.main, ["--study", "lstm_size", "--smoke", "--output-dir", str(folder)]) == 2
    assert "holds a study run with other" in capsys.readouterr().err


def _command(folder, *extra):
    return [sys.executable, RECIPE, "--study", "lstm_size", "--smoke", "--output-dir", str(folder), *extra]


def _environment():
    # Subprocesses keep the backend and the session cache; Keras Tuner's variables come from the flags only.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("KERASTUNER_")}
    environment.update(CI="1", TF_CPP_MIN_LOG_LEVEL="2")
    return environment


def _wait_for(condition, process, what, interval=0.2):
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the study exited (code {process.returncode}) before {what}:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


def _complete_json(path):
    """True once ``path`` holds a whole JSON document (Keras opens the file before writing it)."""
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


@pytest.mark.long
def test_killed_study_continues_where_it_stopped(tmp_path):
    """``--study lstm_size --smoke`` killed during its second trial, then the same command again."""
    folder = tmp_path / "study"
    command = _command(folder, "--epochs", "2")
    first = subprocess.Popen(command, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Kill during the second trial, right after its first epoch was backed up.
        backup = folder / "grid" / "trial_1" / "execution_0" / "backup" / "training_metadata.json"
        _wait_for(lambda: _complete_json(backup), first, "trial 1 backed up its first epoch", interval=0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    finished_log = (folder / "grid" / "trial_0" / "execution_0" / "epochs.jsonl").read_text()
    assert epoch_lines(folder, "0") == [0, 1]
    assert epoch_lines(folder, "1")[:1] == [0]
    assert not (folder / "results.csv").exists()

    second = subprocess.run(command, env=_environment(), capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert second.returncode == 0, second.stdout + second.stderr
    # The finished trial was not trained again; the interrupted one went on from epoch 1, not from 0
    # (a kill between an epoch's log line and its backup would repeat only that epoch; epoch 0 was backed up).
    assert (folder / "grid" / "trial_0" / "execution_0" / "epochs.jsonl").read_text() == finished_log
    assert epoch_lines(folder, "1").count(0) == 1, second.stdout
    assert sorted(set(epoch_lines(folder, "1"))) == [0, 1]
    rows = read_results(folder)
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    assert float(rows[0]["objective"]) <= float(rows[1]["objective"])
    assert {row["lstm_units"] for row in rows} == {"4", "8"}
    assert (folder / "results.md").read_text().count("| COMPLETED |") == 2
    assert (folder / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the chief/worker protocol (Keras Tuner's gRPC oracle) does not depend on the backend, and training inside "
    "a trial is covered on every backend by the smoke and kill-and-resume tests; three processes each compiling "
    "the model on JAX or PyTorch would take more than this suite's per-backend budget on a 2-core CI machine",
)
def test_chief_and_two_workers_share_a_study_over_loopback(tmp_path):
    folder = tmp_path / "study"
    address = f"127.0.0.1:{_free_port()}"
    roles = [("chief",), ("worker", "--worker-id", "a"), ("worker", "--worker-id", "b")]
    processes = [
        subprocess.Popen(
            _command(folder, "--distributed", *role, "--oracle-address", address),
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for role in roles
    ]
    try:
        outputs = [process.communicate(timeout=SUBPROCESS_TIMEOUT)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output
    rows = read_results(folder)
    assert sorted(row["lstm_units"] for row in rows) == ["4", "8"]
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    # Each trial trained exactly once: one epoch line each, although three processes shared the folder.
    assert epoch_lines(folder, "0") == [0] and epoch_lines(folder, "1") == [0]
    assert "the chief writes the results" in outputs[1] and "the chief writes the results" in outputs[2]


def test_a_musickit_metric_of_samples_can_be_the_objective(recipe, tmp_path):
    # Every trial samples pieces after each epoch to score them.
    rows = recipe.main(
        [
            "--study",
            "frame_head",
            "--smoke",
            "--objective",
            "pitch_class_histogram_distance",
            "--output-dir",
            str(tmp_path / "study"),
        ]
    )
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    assert all(0.0 <= row["objective"] <= 2.0 for row in rows)
    assert "val_pitch_class_histogram_distance" in (tmp_path / "study" / "results.md").read_text()


def test_overwrite_never_touches_a_folder_that_is_not_a_study(recipe, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert run_main(recipe.main, ["--study", "loss", "--smoke", "--overwrite", "--output-dir", str(folder)]) == 2
    error = capsys.readouterr().err.strip()
    assert "holds no study" in error and "\n" not in error
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_study_folder_in_use_by_another_process_is_refused(recipe, tmp_path, capsys):
    folder = tmp_path / "study"
    folder.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (folder / ".musickit.lock").write_text(json.dumps({"pid": other.pid, "host": os.uname().nodename}))
        assert run_main(recipe.main, ["--study", "loss", "--smoke", "--output-dir", str(folder)]) == 2
        error = capsys.readouterr().err.strip()
        assert f"being written by process {other.pid}" in error and "\n" not in error
    finally:
        other.kill()
        other.wait()
