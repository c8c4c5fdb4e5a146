"""``musickit render FILE.mid --run RUN -o out.wav``: window by window through a tiny untrained mel run; errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.io.wavfile
from conftest import make_score
from tiny_runs import write_mel_run

from musickit.cli import main
from musickit.music.midi_io import write_midi

pytestmark = pytest.mark.xdist_group("render_command")  # one written mel run for the module, on one worker


@pytest.fixture(scope="module")
def mel_run(tmp_path_factory):
    return write_mel_run(tmp_path_factory.mktemp("runs") / "mel_unet")


@pytest.fixture
def piece(tmp_path):
    path = tmp_path / "piece.mid"
    write_midi(make_score([(60, 90, 0.0, 1.0), (64, 90, 0.5, 1.5), (67, 90, 1.0, 1.5)]), path)
    return str(path)


def test_a_long_piece_is_rendered_window_by_window_with_a_progress_bar(mel_run, piece, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSICKIT_PROGRESS", "1")
    output = tmp_path / "out" / "piece.wav"
    arguments = ["render", piece, "--run", mel_run, "-o", str(output), "--ddim-steps", "2", "--guidance", "1"]
    assert main(arguments + ["--windows-per-batch", "2", "--griffin-lim-iterations", "2"]) == 0
    captured = capsys.readouterr()
    # 1.5 s at 62.5 frames a second: 95 frames; windows of 32 frames at 0, 24, 48 and 63 (the last one flush): 4
    # windows, sampled in 2 batches of 2, 2 DDIM steps each.
    assert captured.out.strip() == f"{output}  (1.5 s of audio, 4 windows, neural)"
    assert "rendering 4 windows" in captured.err and "/4 [" in captured.err
    rate, audio = scipy.io.wavfile.read(output)
    assert rate == 16000 and len(audio) == (95 - 1) * 256 and np.abs(audio).max() > 0


def test_skip_neural_render_needs_no_run(piece, tmp_path, capsys):
    output = tmp_path / "plain.wav"
    assert main(["render", piece, "--skip-neural-render", "-o", str(output)]) == 0
    method = capsys.readouterr().out.strip().rsplit(", ", 1)[1]
    assert method in ("fluidsynth)", "synth)")
    assert scipy.io.wavfile.read(output)[0] == 16000


def write_run(folder, model):
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"model": model}))
    return str(folder)


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no_such.mid is not a file; give a MIDI file to render"),
        ("other_family", "is a piano_roll_lstm run, not a mel_diffusion run; render with a recipes/mel_unet.py run"),
        ("not_wav", "the output is a WAV file; name it OUT.wav"),
        ("no_run", "--run RUN names the mel_diffusion run that renders (or pass --skip-neural-render)"),
        ("no_folder", "does not exist; pass the --output-dir of a finished training run"),
    ],
)
def test_bad_input_is_one_line(case, message, piece, tmp_path, capsys):
    midi, run, output = piece, write_run(tmp_path / "lstm", "piano_roll_lstm"), str(tmp_path / "out.wav")
    arguments = {
        "missing": [str(tmp_path / "no_such.mid"), "--run", run, "-o", output],
        "other_family": [midi, "--run", run, "-o", output],
        "not_wav": [midi, "--skip-neural-render", "-o", str(tmp_path / "out.mp3")],
        "no_run": [midi, "-o", output],
        "no_folder": [midi, "--run", str(tmp_path / "nowhere"), "-o", output],
    }[case]
    assert main(["render", *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("musickit render: error: ") and message in error
    assert not os.path.exists(output)


def test_help_imports_nothing_heavy():
    code = (
        "import sys; from musickit.cli import build_parser; build_parser(); "
        "print(sorted({'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)))"
    )
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert output.stdout.strip() == "[]"
