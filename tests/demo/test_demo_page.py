"""The demo page driven in-process with Streamlit's AppTest: generate from tiny runs, every bad input.

The run folders are tiny untrained models written by fixtures (tests/tiny_runs.py) in a second or two,
not trained by a recipe; the page generates one piece from the piano-roll run, and that piece must equal
`musickit generate`'s with the same flags.
"""

import json
import os
import tempfile

import mido
import pytest

pytest.importorskip("streamlit")
from conftest import make_score  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from tiny_runs import HELD_OUT, write_mel_run, write_piano_roll_run, write_transformer_run  # noqa: E402

from musickit import cli  # noqa: E402
from musickit.demo.runs import RUNS_VARIABLE  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
APP = os.path.abspath(os.path.join(ROOT, "musickit", "demo", "app.py"))
TIMEOUT = 300  # seconds for one page run; the first Generate loads Keras and the model


@pytest.fixture(scope="module")
def piano_roll_run(tmp_path_factory):
    return write_piano_roll_run(tmp_path_factory.mktemp("runs") / "piano_roll_lstm")


@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory):
    return write_transformer_run(tmp_path_factory.mktemp("runs") / "music_transformer")


def write_run(folder, model):
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"model": model}))
    return str(folder)


def page(monkeypatch, tmp_path, *runs):
    monkeypatch.setenv(RUNS_VARIABLE, os.pathsep.join(runs))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the page's pieces go to the test's folder
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception
    return app


def midi_messages(path):
    return [str(message) for track in mido.MidiFile(path).tracks for message in track]


def test_generate_shows_audio_picture_metrics_and_downloads(piano_roll_run, monkeypatch, tmp_path):
    app = page(monkeypatch, tmp_path, piano_roll_run)
    assert [button.label for button in app.button] == ["Generate"]
    assert "Length in bars" in [number.label for number in app.number_input]
    app.selectbox(key=f"preset@{piano_roll_run}").set_value("calm in C major").run()
    assert app.slider(key=f"temperature@{piano_roll_run}").value == 0.8  # the preset set the controls
    assert app.text_input(key=f"key@{piano_roll_run}").value == "C"
    assert app.selectbox(key=f"scale@{piano_roll_run}").value == "major"
    app.number_input(key=f"bars@{piano_roll_run}").set_value(1)
    app.number_input(key=f"seed@{piano_roll_run}").set_value(5)
    app.button[0].click().run()

    assert not app.exception and not app.error
    assert len(app.get("audio")) == 1 and len(app.image) == 1
    assert [button.label for button in app.get("download_button")] == ["Download MIDI", "Download WAV"]
    rows = app.table[0].value
    assert rows.set_index("metric").loc["note_density", "corpus (held-out mean)"] == HELD_OUT["note_density"]
    piece = app.session_state["pieces"][0]
    assert piece["wav"].endswith(".wav") and os.path.getsize(piece["wav"]) > 44

    # The page's piece is `musickit generate`'s with the same settings: the same family code, the same flags.
    arguments = [
        "generate",
        "--run",
        piano_roll_run,
        "--output-dir",
        str(tmp_path),
        "--num-samples",
        "1",
        "--seed",
        "5",
        "--bars",
        "1",
        "--temperature",
        "0.8",
        "--key",
        "C",
        "--scale",
        "major",
        "--max-polyphony",
        "3",
    ]
    assert cli.main(arguments) == 0
    assert midi_messages(piece["midi"]) == midi_messages(tmp_path / "sample_1.mid")

    app.button[0].click().run()  # a second piece: the first stays listed
    assert not app.error
    assert [item.value for item in app.subheader] == ["Piece #2 from piano_roll_lstm", "Earlier pieces"]


def test_a_corrupt_primer_upload_is_one_message_and_the_page_keeps_running(piano_roll_run, monkeypatch, tmp_path):
    app = page(monkeypatch, tmp_path, piano_roll_run)
    if not hasattr(app, "file_uploader"):
        pytest.skip("this Streamlit's AppTest cannot upload files")
    app.file_uploader(key=f"primer@{piano_roll_run}").set_value(("broken.mid", b"not a midi file", "audio/midi"))
    app.button[0].click().run()
    assert not app.exception
    assert [error.value for error in app.error] == [
        "Primer 'broken.mid' is not a usable MIDI file: not a MIDI file (no MThd header)"
    ]
    assert not app.get("audio")
    app.file_uploader(key=f"primer@{piano_roll_run}").set_value(None)
    app.text_input(key=f"key@{piano_roll_run}").set_value("H minor")  # an impossible key
    app.button[0].click().run()
    assert len(app.error) == 1 and app.error[0].value.startswith("Key 'H minor':")
    assert [button.label for button in app.button] == ["Generate"]


def test_an_unknown_family_shows_the_message_and_other_runs_still_work(piano_roll_run, monkeypatch, tmp_path):
    other = write_run(tmp_path / "other", "something_else")
    app = page(monkeypatch, tmp_path, other, piano_roll_run)
    assert [error.value for error in app.error] == [
        "this run was made by 'something_else', which the demo does not know "
        "(it knows hierarchical_transformer, mel_diffusion, music_transformer, piano_roll_lstm, vae_gan)"
    ]
    assert not app.button  # no Generate for a run the demo cannot drive
    app.selectbox(key="run").set_value(piano_roll_run).run()
    assert not app.error and [button.label for button in app.button] == ["Generate"]


def control_labels(app):
    return {item.label for kind in ("slider", "number_input", "text_input", "selectbox") for item in getattr(app, kind)}


def test_each_family_shows_only_its_controls(monkeypatch, tmp_path):
    hierarchical = write_run(tmp_path / "hierarchical", "hierarchical_transformer")
    app = page(monkeypatch, tmp_path, hierarchical)
    labels = control_labels(app)
    assert {"Form", "Emotion", "Tempo class", "Length in bars", "Length in tokens", "Temperature"} <= labels
    assert {"Key", "Scale", "Repetition penalty", "Most keys at once"} <= labels  # its token sampling's controls
    assert not [caption for caption in app.caption if "No snippet upload" in caption.value]
    assert "Style" not in labels  # this run has no styles
    if hasattr(app, "file_uploader"):
        assert [upload.label for upload in app.file_uploader] == [
            "Snippet for section A (optional)",
            "Snippet for section B (optional)",
        ]
    app.button[0].click().run()  # this made-up run folder has no model: one line says so, the page keeps running
    assert len(app.error) == 1 and not app.exception


def test_a_transformer_run_starts_from_its_saved_sampling_and_offers_its_styles(monkeypatch, tmp_path):
    run = tmp_path / "transformer"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": "music_transformer", "styles": ["bach", "folk"]}))
    (run / "sampling.json").write_text(json.dumps({"temperature": 0.95, "top_p": 0.9, "new_tokens": 256}))
    app = page(monkeypatch, tmp_path, str(run))
    assert app.slider(key=f"temperature@{run}").value == 0.95
    assert app.slider(key=f"top_p@{run}").value == 0.9
    assert app.number_input(key=f"max_length@{run}").value == 256
    assert app.selectbox(key=f"style@{run}").options == ["(the run's own)", "bach", "folk"]
    assert "Length in bars" in [number.label for number in app.number_input]


def test_a_vae_run_offers_its_segment_bars_and_says_it_takes_no_snippets(monkeypatch, tmp_path):
    run = tmp_path / "vae"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": "vae_gan", "config": {"bars_per_segment": 2}}))
    app = page(monkeypatch, tmp_path, str(run))
    assert app.number_input(key=f"bars@{run}").value == 2  # a latent is one training segment of two bars
    assert {"Temperature", "Seed"} <= control_labels(app) and "Length in tokens" not in control_labels(app)
    assert not getattr(app, "file_uploader", [])
    assert [caption.value for caption in app.caption if "snippet" in caption.value] == [
        "No snippet upload: vae_gan runs take no section snippets; only hierarchical_transformer runs write a "
        "form from them."
    ]
    app.number_input(key=f"bars@{run}").set_value(3)
    app.button[0].click().run()  # more bars than a segment: one line before any model is loaded
    assert [error.value for error in app.error] == [
        "--bars 3: this VAE writes pieces of at most 2 bars (its training segments)"
    ]


def test_a_transformer_piece_ends_after_the_bars_asked_for(transformer_run, monkeypatch, tmp_path):
    app = page(monkeypatch, tmp_path, transformer_run)
    app.number_input(key=f"bars@{transformer_run}").set_value(2)
    app.number_input(key=f"seed@{transformer_run}").set_value(1)
    app.button[0].click().run()
    assert not app.exception and not app.error
    piece = app.session_state["pieces"][0]
    assert 1 <= piece["bars"] <= 2
    assert any(caption.value.startswith(f"{piece['bars']} bars with notes") for caption in app.caption)


def test_a_mel_diffusion_run_renders_its_held_out_piece_and_measures_it(monkeypatch, tmp_path):
    held_out = make_score([(60, 90, 0.0, 0.5), (64, 90, 0.5, 1.0)])
    run = write_mel_run(tmp_path / "runs" / "mel_unet", held_out=held_out)
    app = page(monkeypatch, tmp_path, run)
    assert control_labels(app) == {"Run", "Preset", "Seed"}  # a renderer: the MIDI to render and the noise
    if hasattr(app, "file_uploader"):
        labels = [upload.label for upload in app.file_uploader]
        assert labels == ["MIDI to render (optional; default: a held-out piece)"]
    app.button[0].click().run()
    assert not app.exception and not app.error
    assert len(app.get("audio")) == 1 and len(app.image) == 1
    assert [button.label for button in app.get("download_button")] == ["Download MIDI", "Download WAV"]
    captions = [caption.value for caption in app.caption]
    assert any("Audio rendered with the model (mel diffusion, then Griffin-Lim)" in caption for caption in captions)
    assert any(caption.startswith("Against the reference rendering: mel_l1 ") for caption in captions)
