"""The piano-roll recipe end to end with --smoke, `musickit generate`, and every bad input."""

import importlib.util
import json
import os
import shutil

import mido
import pytest

from musickit import cli
from musickit.music import Note, Score, write_midi
from musickit.runs.entry import run_main

pytestmark = pytest.mark.xdist_group("piano_roll_lstm_recipe")  # one smoke run for the module, on one worker

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "piano_roll_lstm.py")


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("piano_roll_lstm_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def smoke_run(recipe, tmp_path_factory):
    output = tmp_path_factory.mktemp("runs") / "lstm"
    os.environ["MUSICKIT_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "musickit-cache")
    metrics = recipe.main(["--smoke", "--output-dir", str(output), "--num-samples", "2", "--seed", "3"])
    return output, metrics


@pytest.mark.long
def test_smoke_run_writes_the_whole_run_folder(smoke_run):
    output, metrics = smoke_run
    for name in (
        "model.keras",
        "representation.json",
        "run.json",
        "metrics.json",
        "history.csv",
        "history.png",
        "primer.mid",
    ):
        assert (output / name).is_file(), name
    assert any((output / "logs").iterdir())
    for index in (1, 2):
        for suffix in ("mid", "png", "wav"):
            assert (output / "samples" / f"sample_{index}.{suffix}").stat().st_size > 0
    assert (output / "training_samples" / "epoch_002.mid").is_file()  # the every-few-epochs sample callback
    assert sorted(path.suffix for path in (output / "samples").iterdir()) == [".mid"] * 2 + [".png"] * 2 + [".wav"] * 2
    saved = json.loads((output / "metrics.json").read_text())
    assert {"valid_nll", "test_nll", "markov_valid_nll"} <= set(saved)
    assert {
        "note_density",
        "polyphony",
        "in_scale_ratio",
        "rhythmic_regularity",
        "repeated_frame_ratio",
        "pitch_class_histogram_distance_to_training",
    } <= set(saved["samples"]["generated"])
    assert set(saved["samples"]) == {"generated", "held_out"}
    assert not [name for name in os.listdir(output) if ".partial" in name]
    # One sampling configuration: the family's, saved for `musickit generate --run`.
    from musickit.families.piano_roll_lstm import FAMILY_SAMPLING

    # Its voice range fitted to the training chorales (4 to 4), and saved as numbers, no longer to be fitted.
    assert json.loads((output / "sampling.json").read_text()) == FAMILY_SAMPLING.fitted_to_corpus(4, 4).to_dict()


def test_generate_command_reproduces_with_a_seed(smoke_run, tmp_path):
    output, _ = smoke_run
    for folder in ("first", "second"):
        arguments = [
            "generate",
            "--run",
            str(output),
            "--output-dir",
            str(tmp_path / folder),
            "--bars",
            "1",
            "--num-samples",
            "1",
            "--seed",
            "5",
            "--key",
            "C",
            "--scale",
            "major",
        ]
        assert cli.main(arguments) == 0
    first = mido.MidiFile(tmp_path / "first" / "sample_1.mid")
    second = mido.MidiFile(tmp_path / "second" / "sample_1.mid")
    assert [str(message) for track in first.tracks for message in track] == [
        str(message) for track in second.tracks for message in track
    ]


def test_resume_refuses_a_run_of_another_config(recipe, smoke_run, capsys, tmp_path):
    output, _ = smoke_run
    same = ["--smoke", "--output-dir", str(output), "--num-samples", "2", "--seed", "3", "--resume"]
    assert run_main(recipe.main, same) == 2  # a finished run: said before any data is read
    assert "nothing to resume" in capsys.readouterr().err
    # The same run as if killed before its end: --resume compares the saved flags and the model.
    interrupted = tmp_path / "interrupted"
    shutil.copytree(output, interrupted)
    manifest = json.loads((interrupted / "manifest.json").read_text())
    (interrupted / "manifest.json").write_text(json.dumps({**manifest, "finished": False}))
    same = ["--smoke", "--output-dir", str(interrupted), "--num-samples", "2", "--seed", "3", "--resume"]
    assert run_main(recipe.main, [*same, "--transpose", "1"]) == 2
    assert "--transpose 2, not 1" in capsys.readouterr().err  # the saved flags are compared, one line
    # A model flag given with --smoke now sizes the smoke model (it was ignored before): the model differs.
    assert run_main(recipe.main, [*same, "--lstm-units", "16"]) == 2
    assert "different model config" in capsys.readouterr().err


def _bad_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "broken.mid").write_bytes(b"not midi at all")
    short = tmp_path / "short"
    short.mkdir()
    for index in range(3):
        write_midi(Score(notes=[Note(60 + index, 80, 0.0, 0.5)]), short / f"tiny_{index}.mid")
    corrupt_primer = tmp_path / "primer.mid"
    corrupt_primer.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x40\x00\x90")
    return [
        (["--data", str(tmp_path / "missing")], "no such file or folder"),
        (["--data", str(empty)], str(empty)),
        (["--data", str(junk)], "could be read"),
        (["--data", "nonsense-corpus"], "nonsense-corpus"),
        (["--data", str(short)], "shorter than one"),
        (["--primer", str(corrupt_primer)], "primer.mid"),
        (["--key", "H"], "--key"),
        (["--top-p", "1.5"], "--top-p"),
    ]


def test_bad_inputs_end_in_one_line_and_write_nothing(recipe, tmp_path, capsys):
    for arguments, expected in _bad_inputs(tmp_path):
        output = tmp_path / "never"
        code = run_main(recipe.main, ["--smoke", "--output-dir", str(output), *arguments])
        error = capsys.readouterr().err.strip()
        assert code == 2, arguments
        assert len(error.splitlines()) == 1 and expected in error, (arguments, error)
        assert not output.exists(), arguments


def test_generate_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert cli.main(["generate", "--run", str(tmp_path)]) == 2
    assert "not a musickit run folder" in capsys.readouterr().err
