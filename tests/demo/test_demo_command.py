"""`musickit demo`'s argument handling: the streamlit command line it would start, without starting it."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from musickit import cli
from musickit.commands import demo


def write_run(folder, model="piano_roll_lstm"):
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"model": model}))
    return str(folder)


@pytest.fixture
def started(monkeypatch):
    """The command lines and environments `musickit demo` would start (subprocess.call replaced)."""
    calls = []

    def call(command, env):
        calls.append((command, env))
        return 0

    monkeypatch.setattr(demo.subprocess, "call", call)
    monkeypatch.setattr(demo.importlib.util, "find_spec", lambda name: object())  # streamlit "installed"
    return calls


def option(command, name):
    return command[command.index(name) + 1]


def test_defaults_bind_to_this_machine_with_usage_statistics_off(started, tmp_path, capsys):
    run = write_run(tmp_path / "lstm")
    assert cli.main(["demo", "--run", run]) == 0
    ((command, environment),) = started
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", demo.APP]
    assert os.path.isfile(demo.APP)
    assert option(command, "--server.address") == "127.0.0.1"
    assert option(command, "--server.port") == "8501"
    assert option(command, "--server.headless") == "true"
    assert option(command, "--browser.gatherUsageStats") == "false"
    assert environment[demo.RUNS_VARIABLE] == os.path.abspath(run)
    assert capsys.readouterr().out.strip() == "musickit demo: http://127.0.0.1:8501  (Ctrl+C stops it)"


def test_host_port_and_several_runs_are_passed_on(started, tmp_path):
    first, second = write_run(tmp_path / "a"), write_run(tmp_path / "b", "music_transformer")
    assert cli.main(["demo", "--run", first, "--run", second, "--host", "0.0.0.0", "--port", "9000"]) == 0
    ((command, environment),) = started
    assert (option(command, "--server.address"), option(command, "--server.port")) == ("0.0.0.0", "9000")
    assert environment[demo.RUNS_VARIABLE].split(os.pathsep) == [os.path.abspath(first), os.path.abspath(second)]


def test_without_runs_it_offers_those_under_runs(started, tmp_path, monkeypatch):
    write_run(tmp_path / "runs" / "lstm")
    write_run(tmp_path / "runs" / "study" / "best")
    write_run(tmp_path / "runs" / "lstm" / "samples" / "not_a_run")  # inside a run: not offered
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo"]) == 0
    offered = started[0][1][demo.RUNS_VARIABLE].split(os.pathsep)
    assert offered == [str(tmp_path / "runs" / "lstm"), str(tmp_path / "runs" / "study" / "best")]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "no run folders under runs/; pass --run RUN"),
        (["--run", "missing"], "--run missing is not a run folder (no run.json)"),
        (["--run", "RUN", "--port", "0"], "--port must be between 1 and 65535, got 0"),
    ],
)
def test_bad_arguments_are_one_line(started, tmp_path, monkeypatch, capsys, arguments, message):
    write_run(tmp_path / "RUN")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error
    assert not started


def test_without_streamlit_it_says_which_extra_to_install(tmp_path, monkeypatch, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        demo.importlib.util, "find_spec", lambda name: None if name == "streamlit" else real_find_spec(name)
    )
    assert cli.main(["demo", "--run", write_run(tmp_path / "lstm")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "pip install musickit[demo]" in error


def test_the_command_module_imports_nothing_heavy():
    code = "import sys, musickit.commands.demo; print(sorted({'streamlit', 'keras', 'tensorflow'} & set(sys.modules)))"
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert output.stdout.strip() == "[]"
