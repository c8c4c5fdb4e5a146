"""``musickit generate`` on a run folder it cannot sample from says what to do, in one line."""

import json

from musickit.cli import main


def write_run(folder, model):
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"model": model}))
    return str(folder)


def test_a_hierarchical_run_without_saved_snippets_points_to_its_recipe(tmp_path, capsys):
    run = write_run(tmp_path / "hierarchical", "hierarchical_transformer")
    assert main(["generate", "--run", run]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert f"python recipes/hierarchical_transformer.py generate --output-dir {run}" in error


def test_an_unknown_family_is_named(tmp_path, capsys):
    run = write_run(tmp_path / "other", "something_else")
    assert main(["generate", "--run", run]) == 2
    error = capsys.readouterr().err
    assert "'something_else', which musickit generate does not know (it knows " in error
    assert "music_transformer" in error and "piano_roll_lstm" in error and len(error.strip().splitlines()) == 1
