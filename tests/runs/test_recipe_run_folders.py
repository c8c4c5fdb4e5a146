"""A recipe's run folder end to end (the piano-roll recipe, --smoke): a kill while writing samples, then
--resume, then the reruns a student tries by mistake."""

import importlib.util
import os

import pytest

from musickit.runs.entry import run_main

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "piano_roll_lstm.py")


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("piano_roll_lstm_recipe_for_runs", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.long
def test_killed_during_sample_writing_then_resumed_then_protected(recipe, tmp_path, capsys, monkeypatch):
    output = tmp_path / "run"
    argv = ["--smoke", "--output-dir", str(output), "--num-samples", "1"]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    from musickit.families.piano_roll_lstm import pipeline  # the family step the recipe calls to write samples

    monkeypatch.setattr(pipeline, "write_samples", killed)
    assert run_main(recipe.main, argv) == 130
    monkeypatch.undo()
    history = (output / "history.csv").read_text()
    assert history.count("\n") == 3  # a header and the smoke run's two epochs
    capsys.readouterr()

    assert run_main(recipe.main, [*argv, "--resume"]) == 0
    assert "no epoch redone" in capsys.readouterr().out
    assert (output / "history.csv").read_text() == history  # no epoch trained again
    assert (output / "samples" / "sample_1.mid").is_file()
    model_bytes = (output / "model.keras").read_bytes()

    for extra, message in (
        (["--resume"], "nothing to resume"),
        ([], "already holds a finished run"),
        (["--resume", "--epochs", "1"], "--smoke sets --epochs"),
    ):
        assert run_main(recipe.main, [*argv, *extra]) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and message in error, error
    assert (output / "model.keras").read_bytes() == model_bytes
