"""``musickit generate`` refuses a bad value in one line (exit code 2) before it loads the run's model."""

import json

import pytest

from musickit import families
from musickit.cli import main


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--seed", "-1"], "--seed -1: use a whole number"),
        (["--top-k", "1000000000"], "is there a typo"),
        (["--num-samples", "0"], "--num-samples must be at least 1"),
        (["--bars", "100000000"], "is there a typo"),
        (["--max-length", "1000000000"], "--max-length 1000000000 is more than 100,000"),
        (["--key", ""], "--key is empty"),
        (["--temperature", "nan"], "use a finite number"),
        (["--output-dir", "{file}"], "is a file; pass a folder"),
        (["--primer", "{missing}"], "no such file"),
    ],
)
def test_a_bad_value_is_one_line_before_the_model_loads(tmp_path, capsys, monkeypatch, arguments, message):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": "piano_roll_lstm"}))
    (tmp_path / "file").write_text("not a folder")

    def no_family(name):
        raise AssertionError("the value should have been refused before the family was asked")

    monkeypatch.setattr(families, "get_family", no_family)
    monkeypatch.setattr("musickit.commands.generate.get_family", no_family)
    paths = {"file": tmp_path / "file", "missing": tmp_path / "missing.mid"}
    assert main(["generate", "--run", str(run), *[argument.format(**paths) for argument in arguments]]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error, error
