"""``recipes/vae_gan.py --smoke`` end to end (all three stages), then ``musickit generate --run`` on its folder."""

import importlib.util
import json
import os

import pytest

from musickit.cli import main as musickit_main
from musickit.errors import UsageError

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "vae_gan.py")


def _recipe():
    spec = importlib.util.spec_from_file_location("vae_gan_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.long
def test_smoke_run_trains_every_stage_writes_samples_and_generates_again(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    metrics = _recipe().main(["--smoke", "--output-dir", str(run_dir)])
    for name in ("model.keras", "representation.json", "run.json", "sampling.json", "metrics.json", "history.csv"):
        assert (run_dir / name).is_file(), name
    stages = json.loads((run_dir / "stages.json").read_text())
    assert list(stages) == ["transformer", "vae", "vae_gan"]
    assert "nll_increase" in stages["vae_gan"]["gate"]
    names = {path.name for path in (run_dir / "samples").iterdir()}
    for prefix in ("original_1", "reconstruction_1", "sample_1", "interpolation_1", "interpolation_2"):
        assert {f"{prefix}.mid", f"{prefix}.png", f"{prefix}.wav"} <= names, prefix
    assert "interpolation_strip.png" in names
    accuracies = ("teacher_forced_accuracy", "sampled_accuracy", "sampled_accuracy_by_bar", "sampled_accuracy_in_order")
    for key in (*accuracies, "active_units_fraction"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert -1.0 <= metrics["shuffle_accuracy_drop"] <= 1.0
    assert metrics["max_token_run"] >= 1 and metrics["held_out_nll"] > 0

    out = tmp_path / "more"
    code = musickit_main(
        ["generate", "--run", str(run_dir), "--output-dir", str(out), "--max-length", "8", "--num-samples", "2"]
    )
    assert code == 0
    assert sorted(path.name for path in out.glob("*.mid")) == ["sample_1.mid", "sample_2.mid"]

    # Without --bars a piece is one training segment long (2 bars at --smoke): past it the decoder would read
    # the last bar's latent again.
    from musickit.families.vae_gan import generation

    asked = []
    monkeypatch.setattr(generation, "prior_pieces", lambda *args, **options: asked.append(options["bars"]) or [])
    assert musickit_main(["generate", "--run", str(run_dir), "--output-dir", str(tmp_path / "again")]) == 0
    assert asked == [2]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--stage", "gan"], "--stage"),
        (["--kl-schedule", "sine"], "--kl-schedule"),
        (["--top-p", "0"], "--top-p"),
        (["--learning-rate-decay", "1.5"], "--learning-rate-decay"),
        (["--transpose", "-2"], "--transpose"),
        (["--prior-components", "-1"], "--prior-components"),
    ],
)
def test_bad_flags_are_one_line_errors_before_any_work(flags, message):
    with pytest.raises((UsageError, SystemExit)) as error:
        _recipe().main(["--smoke", *flags])
    assert message in str(error.value) or isinstance(error.value, SystemExit)
