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


def test_snippet_flags_reach_the_family_as_section_files(tmp_path, monkeypatch):
    from musickit.commands import generate

    run = write_run(tmp_path / "hierarchical", "hierarchical_transformer")
    opening = tmp_path / "opening.mid"
    opening.write_bytes(b"")  # only its existence is checked here; the family reads it
    requests = []

    class Family:
        @staticmethod
        def generate_from_run(run_dir, output_dir, request):
            requests.append(request)
            return []

    monkeypatch.setattr(generate, "get_family", lambda name: Family)
    assert main(["generate", "--run", run, "--snippet", f"a={opening}"]) == 0
    assert requests[0].snippets == {"A": str(opening)}


def test_a_bad_snippet_flag_is_one_line(tmp_path, capsys):
    run = write_run(tmp_path / "hierarchical", "hierarchical_transformer")
    assert main(["generate", "--run", run, "--snippet", "E=x.mid"]) == 2
    error = capsys.readouterr().err.strip()
    assert "write it as X=FILE.mid with X one of A, B, C, D" in error and len(error.splitlines()) == 1
