"""``recipes/dpo_alignment.py --smoke`` end to end (its own tiny source run), and its one-line refusals."""

import importlib.util
import json
import os

import pytest

from musickit.cli import main as musickit_main
from musickit.errors import UsageError

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "dpo_alignment.py")


def _recipe():
    spec = importlib.util.spec_from_file_location("dpo_alignment_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_run_aligns_its_own_tiny_run_and_writes_before_and_after(tmp_path):
    run_dir = tmp_path / "aligned"
    metrics = _recipe().main(["--smoke", "--output-dir", str(run_dir)])
    assert (tmp_path / "aligned-source" / "model.keras").is_file()  # the tiny run it made to align
    for name in ("model.keras", "representation.json", "run.json", "sampling.json", "pairs.json", "metrics.json"):
        assert (run_dir / name).is_file(), name
    names = {path.name for path in (run_dir / "samples").iterdir()}
    assert {"before_1.mid", "after_1.mid", "before_1.png", "after_1.png", "before_1.wav", "after_1.wav"} <= names
    info = json.loads((run_dir / "run.json").read_text())
    assert info["model"] == "music_transformer" and info["alignment"]["beta"] == 0.1
    assert metrics["pairs"]["pairs"] == 1 and metrics["history"]["loss"][0] == pytest.approx(0.6931, abs=1e-3)
    assert set(metrics["samples"]["after"]) >= {"total", "in_scale", "clashes", "grammar"}
    assert 0 <= metrics["samples"]["win_rate"] <= 1
    labelled = json.loads((run_dir / "pairs.json").read_text())
    assert labelled["format"] == "musickit-preference-pairs" and labelled["pairs"][0]["preferred"] in ("a", "b")
    with pytest.raises(UsageError, match="--overwrite"):  # a finished run is kept
        _recipe().main(["--smoke", "--output-dir", str(run_dir)])

    # `musickit pairs` on the tiny source run: both continuations of each pair to listen to, a JSON to label.
    source, out = str(tmp_path / "aligned-source"), tmp_path / "pairs"
    flags = ["--num-prompts", "1", "--num-candidates", "2", "--new-tokens", "8"]
    assert musickit_main(["pairs", "--run", source, "-o", str(out), *flags]) == 0
    stub = json.loads((out / "pairs.json").read_text())
    assert stub["pairs"][0]["preferred"] is None and stub["pairs"][0]["a_midi"] == "pair_1_a_1.mid"
    assert {"pair_1_a_1.mid", "pair_1_b_1.wav", "pair_1_b_1.png"} <= {path.name for path in out.iterdir()}
    assert musickit_main(["pairs", "--run", source, "-o", str(out)]) == 2  # not an empty folder: one line


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--source-run", "nowhere"], "train one first with: python recipes/music_transformer.py"),
        (["--smoke", "--beta", "0"], "--beta"),
        (["--smoke", "--num-candidates", "1"], "--num-candidates"),
        (["--smoke", "--pairs", "missing.json"], "--pairs"),
        (["--smoke", "--data", "essen"], "--data"),
    ],
)
def test_bad_flags_and_a_missing_run_are_one_line(tmp_path, flags, message):
    with pytest.raises(UsageError, match=message):
        _recipe().main(["--output-dir", str(tmp_path / "run"), *flags])
    assert not (tmp_path / "run").exists()
