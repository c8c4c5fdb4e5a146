"""``recipes/mel_unet.py --smoke`` end to end (the plain synth: no FluidSynth needed), then ``musickit generate``."""

import importlib.util
import json
import os

import pytest

from musickit.cli import main as musickit_main
from musickit.errors import UsageError

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "mel_unet.py")


def _recipe():
    spec = importlib.util.spec_from_file_location("mel_unet_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.long
def test_smoke_run_renders_held_out_pieces_and_generates_again(tmp_path):
    run_dir = tmp_path / "run"
    metrics = _recipe().main(["--smoke", "--renderer", "synth", "--output-dir", str(run_dir)])
    for name in ("model.keras", "representation.json", "run.json", "metrics.json", "history.csv"):
        assert (run_dir / name).is_file(), name
    names = sorted(path.name for path in (run_dir / "samples").iterdir())
    stem = names[0].split(".mid")[0]
    assert names == sorted(f"{stem}{suffix}" for suffix in (".mid", ".neural.wav", ".png", ".synth.wav"))
    info = json.loads((run_dir / "run.json").read_text())
    assert info["model"] == "mel_diffusion" and info["mel_settings"]["sample_rate"] == 16000
    generation = metrics["generation"]
    assert 0 <= generation["mel_l1"] <= 1 and 0 <= generation["onset_f1"] <= 1 and generation["ddim_steps"] == 2

    out = tmp_path / "more"
    assert musickit_main(["generate", "--run", str(run_dir), "--output-dir", str(out), "--num-samples", "1"]) == 0
    assert len(list(out.glob("*.neural.wav"))) == 1 and (out / "render_metrics.json").is_file()


def test_bad_flags_are_one_line_errors():
    with pytest.raises(UsageError, match="--ddim-steps"):
        _recipe().main(["--ddim-steps", "0", "--output-dir", "/tmp/unused"])
    with pytest.raises(UsageError, match="--smoke sets"):
        _recipe().main(["--smoke", "--epochs", "3"])


def test_without_keras_backend_a_smoke_run_takes_pytorch_and_a_real_run_jax(monkeypatch):
    recipe = _recipe()
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert recipe.choose_backend(smoke=True)[0] == "torch" and os.environ["KERAS_BACKEND"] == "torch"
    monkeypatch.delenv("KERAS_BACKEND")
    assert recipe.choose_backend()[0] == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert recipe.choose_backend(smoke=True) == ("tensorflow", "KERAS_BACKEND")  # the user's choice wins
