"""``musickit song``: a tiny untrained hierarchical run writes the song's files; the conditions' sources; errors."""

import contextlib
import json

import pytest
import scipy.io.wavfile
from conftest import make_score
from tiny_runs import write_hierarchical_run, write_mel_run

from musickit.cli import build_parser, main
from musickit.commands.song import plan_song, run_styles, write_song
from musickit.families.hierarchical_transformer.config import FAMILY_SAMPLING
from musickit.music.midi_io import read_midi
from musickit.representations.prompt import read_prompt
from musickit.runs.folder import RunFolder

pytestmark = pytest.mark.xdist_group("song_command")  # one run and one written song for the module, on one worker


@pytest.fixture(scope="module")
def hierarchical_run(tmp_path_factory):
    """The tiny run with the family's sampling (no section ends early, so none is empty) and its returning
    sections copied (``reprise`` copy): the model writes each letter once."""
    run = write_hierarchical_run(tmp_path_factory.mktemp("runs") / "hierarchical")
    FAMILY_SAMPLING.save(RunFolder(run))
    info = json.loads(open(f"{run}/run.json").read())
    info["flags"]["reprise"] = "copy"
    open(f"{run}/run.json", "w").write(json.dumps(info))
    return run


def plan(run, prompt, *flags):
    args = build_parser().parse_args(["song", "--prompt", prompt, "--run", run, "-o", "x", *flags])
    info = json.loads(open(f"{run}/run.json").read())
    return plan_song(args, read_prompt(prompt), info, *run_styles(run, info))


def test_flags_win_over_prompt_words_and_the_plan_says_where_each_came_from(hierarchical_run):
    chosen = plan(hierarchical_run, "sad chorale in G major, 140 bpm, AABA", "--emotion", "calm", "--tempo", "slow")
    assert chosen["emotion"] == {"value": "calm", "from": "flag --emotion", "prompt_said": "sad (sad)"}
    assert chosen["tempo"] == {"value": "slow", "from": "flag --tempo", "prompt_said": "fast (140 bpm)"}
    assert chosen["qpm"]["value"] is None and chosen["qpm"]["prompt_said"] == "140 (140 bpm)"
    assert chosen["style"] == {"value": "bach", "from": "prompt word 'chorale'"}
    assert chosen["key"] == {"value": "G major", "from": "prompt word 'G major'"}
    assert chosen["form"] == {"value": "AABA", "from": "prompt word 'AABA'"}
    # The tiny run's defaults: its form AB, the family's 4 bars a section, no instrument.
    defaults = plan(hierarchical_run, "something")
    assert defaults["form"] == {"value": "AB", "from": "default: the run's form"}
    assert defaults["bars_per_section"] == {"value": 4, "from": "default: the family's"}  # the run saved none
    assert defaults["instrument"]["value"] is None
    assert plan(hierarchical_run, "x", "--tempo", "90")["tempo"]["value"] == "moderate"  # 76 <= 90 <= 120


@pytest.fixture(scope="module")
def song(hierarchical_run, tmp_path_factory):
    """One song from the tiny run in the form AA: one section decoded (each one compiles: the cost), one copied."""
    stem = tmp_path_factory.mktemp("songs") / "first"
    arguments = ["song", "--prompt", "calm chorale in G major with sparkles", "--style", "bach", "--tempo", "90"]
    arguments += ["--form", "AA", "--bars-per-section", "1", "--run", hierarchical_run, "-o", str(stem)]
    with open(stem.parent / "stderr.txt", "w") as errors, contextlib.redirect_stderr(errors):
        code = main(arguments + ["--skip-neural-render", "--temperature", "0.9"])
    return stem, code


def test_a_song_is_written_as_midi_with_its_sections_png_and_wav(song):
    stem, code = song
    assert code == 0
    score = read_midi(f"{stem}.mid")
    assert [marker.text for marker in score.markers] == ["A", "A"]
    assert [tempo.qpm for tempo in score.tempos] == pytest.approx([90.0], abs=1e-3)  # MIDI keeps microseconds
    assert open(f"{stem}.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    rate, audio = scipy.io.wavfile.read(f"{stem}.wav")
    assert rate == 16000 and len(audio) > 0


def test_the_json_says_what_was_asked_and_what_was_used(song):
    stem, _ = song
    record = json.loads(open(f"{stem}.json").read())
    assert record["asked"]["prompt"] == "calm chorale in G major with sparkles"
    assert record["asked"]["flags"] == {
        "style": "bach",
        "tempo": "90",
        "form": "AA",
        "bars_per_section": 1,
        "temperature": 0.9,
    }
    used = record["used"]
    assert used["emotion"] == {"value": "calm", "from": "prompt word 'calm'"}
    assert used["style"] == {"value": "bach", "from": "flag --style"}  # the prompt said bach too: no conflict
    assert used["key"] == {"value": "G major", "from": "prompt word 'G major'"}
    assert used["tempo"] == {"value": "moderate", "from": "flag --tempo"}
    assert used["qpm"] == {"value": 90.0, "from": "flag --tempo"}
    assert record["sampling_changes"] == {"temperature": 0.9, "key": "G major"}
    assert record["sampling"]["temperature"] == 0.9 and record["sampling"]["key"] == "G major"
    assert record["prompt"]["unknown"] == ["sparkles"] and record["sections"] == ["A", "A"]
    assert record["audio"] in ("fluidsynth", "synth") and record["midi_qpm"] == 90.0


def test_unknown_prompt_words_are_listed_in_one_line_and_what_is_used_in_another(song):
    stem, _ = song
    lines = (stem.parent / "stderr.txt").read_text().splitlines()
    assert lines[0] == "musickit song: prompt words not known (not used): sparkles"
    assert lines[1].startswith("musickit song: style bach (flag --style), emotion calm (prompt word 'calm'), ")


def test_the_neural_render_goes_through_the_mel_run(tmp_path):
    mel_run = write_mel_run(tmp_path / "mel")
    arguments = ["song", "--prompt", "x", "--render-run", mel_run, "--ddim-steps", "1", "--griffin-lim-iterations", "1"]
    args = build_parser().parse_args(arguments + ["-o", "x"])
    chosen = {"qpm": {"value": 240.0}, "instrument": {"value": "organ"}, "form": {"value": "A"}}
    chosen["style"] = {"value": "bach"}
    files = write_song(args, make_score([(60, 90, 0.0, 0.5), (64, 90, 0.5, 1.0)]), chosen, str(tmp_path / "n"))
    assert files["audio"] == "neural" and files["audio_seconds"] == pytest.approx(0.5, abs=0.1)  # 2 beats at 240
    score = read_midi(files["midi"])
    assert {note.program for note in score.notes} == {19} and score.tempos[0].qpm == pytest.approx(240.0, abs=1e-2)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--prompt", " "], "--prompt is empty"),
        (["--prompt", "calm", "--style", "jazz"], "style 'jazz' (flag --style) is not among the run's styles: bach"),
        (["--prompt", "a folk tune"], "style 'folk' (prompt word 'folk') is not among the run's styles: bach"),
        (["--prompt", "calm", "--tempo", "quick"], "--tempo quick: give quarter notes per minute from 20 to 400"),
        (["--prompt", "calm", "--form", "BA"], "must introduce its sections in order"),
        (["--prompt", "calm", "--run", "RUN/missing"], "train one with `python recipes/hierarchical_transformer.py`"),
        (["--prompt", "calm", "--primer", "RUN/run.json"], "--primer: hierarchical_transformer runs take no primer"),
        (["--prompt", "rondo", "--bars-per-section", "300"], "1500 bars in all is more than 1,000"),
        (["--prompt", "calm", "--run", "RUN/bare"], "has no snippets.json (it predates it)"),
    ],
)
def test_bad_requests_end_in_one_line_before_the_model_loads(hierarchical_run, tmp_path, capsys, flags, message):
    arguments = ["song", "--run", hierarchical_run, "--skip-neural-render", "-o", str(tmp_path / "song"), *flags]
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "run.json").write_text(json.dumps({"model": "hierarchical_transformer"}))
    places = {"RUN/missing": str(tmp_path / "missing"), "RUN/run.json": f"{hierarchical_run}/run.json"}
    places["RUN/bare"] = str(tmp_path / "bare")
    arguments = [places.get(item, item) for item in arguments]
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and not (tmp_path / "song.mid").exists()


def test_a_missing_render_run_names_both_remedies(hierarchical_run, tmp_path, capsys):
    missing = str(tmp_path / "no_mel")
    assert main(["song", "--prompt", "calm", "--run", hierarchical_run, "--render-run", missing, "-o", "x"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "recipes/mel_unet.py" in error and "--skip-neural-render" in error
