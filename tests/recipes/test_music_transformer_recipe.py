"""``recipes/music_transformer.py --smoke`` end to end, then ``musickit generate --run`` on its folder."""

import importlib.util
import json
import os

import pytest

from musickit.cli import main as musickit_main
from musickit.errors import UsageError

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "music_transformer.py")


def _recipe():
    spec = importlib.util.spec_from_file_location("music_transformer_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.long
def test_smoke_run_writes_the_run_folder_and_generates_again(tmp_path):
    run_dir = tmp_path / "run"
    metrics = _recipe().main(["--smoke", "--output-dir", str(run_dir), "--key", "C"])
    for name in ("model.keras", "representation.json", "run.json", "metrics.json", "history.csv"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "logs").is_dir()
    assert {path.suffix for path in (run_dir / "samples").iterdir()} >= {".mid", ".png", ".wav"}
    info = json.loads((run_dir / "run.json").read_text())
    assert info["model"] == "music_transformer" and info["styles"] == ["bach"]
    assert metrics["valid_nll"] > 0 and metrics["generation"]["prompt_tokens"] == len(info["default_prompt"])

    out = tmp_path / "more"
    code = musickit_main(
        [
            "generate",
            "--run",
            str(run_dir),
            "--output-dir",
            str(out),
            "--max-length",
            "12",
            "--num-samples",
            "2",
            "--top-k",
            "5",
        ]
    )
    assert code == 0
    assert sorted(path.name for path in out.glob("*.mid")) == ["sample_1.mid", "sample_2.mid"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--top-p", "0"], "--top-p"),
        (["--style", "mozart"], "--style"),
        (["--form", "XY"], "--form"),
        (["--key", "H"], "key"),
    ],
)
def test_bad_flags_fail_before_training(tmp_path, flags, message):
    with pytest.raises(UsageError, match=message):
        _recipe().main(["--smoke", "--output-dir", str(tmp_path / "run"), *flags])
    assert not (tmp_path / "run" / "model.keras").exists()
