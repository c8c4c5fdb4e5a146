"""--help and a bad flag are answered before Keras or TensorFlow load (every recipe and the ``musickit``
command), in one line on stderr with exit code 2."""

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROBE = """
import runpy, sys
sys.argv = [sys.argv[1], *sys.argv[2:]]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exit:
    code = exit.code
heavy = sorted(name for name in ("keras", "tensorflow", "jax", "torch") if name in sys.modules)
print("HEAVY", ",".join(heavy) or "none", "EXIT", code)
"""


def probe(script, *argv):
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, os.path.join(ROOT, script), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    return completed.stdout.strip().splitlines()[-1], completed.stderr.strip()


@pytest.mark.parametrize(
    "script",
    [
        "recipes/hierarchical_transformer.py",
        "recipes/ablation_search.py",
        "recipes/piano_roll_lstm.py",
        "recipes/music_transformer.py",
        "musickit/cli.py",
    ],
)
def test_help_loads_no_backend(script):
    last, _ = probe(script, "--help")
    assert last == "HEAVY none EXIT 0"


@pytest.mark.parametrize(
    "script, argv, message",
    [
        ("recipes/hierarchical_transformer.py", ["--seed", "-1"], "--seed -1"),
        ("recipes/hierarchical_transformer.py", ["--snippet", "A=missing.mid"], "no such file"),
        ("recipes/hierarchical_transformer.py", ["--smoke", "--max-files", "3"], "--smoke sets --max-files"),
        ("recipes/ablation_search.py", ["--study", "loss", "--top-k", "-2"], "--top-k must be"),
        ("recipes/ablation_search.py", ["--study", "loss", "--learning-rate", "1"], "unrecognized arguments"),
        ("recipes/piano_roll_lstm.py", ["--temperature", "-1"], "--temperature must be > 0, got -1"),
        ("recipes/piano_roll_lstm.py", ["--head", "nade"], "invalid choice"),
        ("recipes/music_transformer.py", ["--form", "XY"], "--form 'XY'"),
        ("recipes/music_transformer.py", ["--preset", "huge"], "invalid choice"),
    ],
)
def test_a_bad_flag_is_one_line_before_any_import(script, argv, message):
    last, error = probe(script, *argv)
    assert last == "HEAVY none EXIT 2"
    assert len(error.splitlines()) == 1 and message in error, error


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_names_spelled_for_a_fast_help_match_the_library():
    from musickit.data.form_synthesis import FORMS
    from musickit.families.hierarchical_transformer import config as hierarchical
    from musickit.models.decoder_base import DECODER_PRESETS
    from musickit.models.music_transformer import PRESETS
    from musickit.models.piano_roll_lstm import FRAME_HEADS
    from musickit.training.optimizers import SCHEDULES
    from musickit.training.staging import STAGES
    from musickit.tuning import distributed
    from musickit.tuning.tuners import TUNERS

    ablation = _load("recipes/ablation_search.py", "ablation_for_names")
    # The hierarchical family's light settings module, which its recipe reads before Keras loads.
    assert tuple(sorted(DECODER_PRESETS)) == hierarchical.MODEL_PRESETS
    assert tuple(STAGES) == hierarchical.STAGE_NAMES and tuple(SCHEDULES) == hierarchical.SCHEDULES
    assert tuple(FORMS) == hierarchical.FORMS
    assert tuple(sorted(TUNERS)) == ablation.TUNER_NAMES
    assert tuple(distributed.ROLES) == ablation.ROLES
    # The families' configurations spell them for the recipes (no Keras before the flags are parsed).
    from musickit.families.music_transformer.config import MODEL_PRESETS
    from musickit.families.piano_roll_lstm.config import FRAME_HEADS as CONFIG_FRAME_HEADS

    assert tuple(FRAME_HEADS) == CONFIG_FRAME_HEADS
    assert tuple(sorted(PRESETS)) == MODEL_PRESETS


@pytest.mark.parametrize("argv", [["generate", "--no-such-flag"], ["info"], ["nonsense"]])
def test_musickit_flag_errors_are_one_line(argv):
    last, error = probe("musickit/cli.py", *argv)
    assert last.endswith("EXIT 2")
    assert len(error.splitlines()) == 1 and "error:" in error, error


@pytest.mark.parametrize(
    "script, says",
    [
        ("recipes/piano_roll_lstm.py", ["--lstm-units LSTM_UNITS", "default: 256", "default: autoregressive"]),
        ("recipes/vae_gan.py", ["--global-latent-dim GLOBAL_LATENT_DIM", "default: 32"]),
        ("recipes/mel_unet.py", ["--ddim-steps DDIM_STEPS", "default: 50"]),
    ],
)
def test_help_says_every_default(script, says, capsys):
    recipe = _load(script, os.path.basename(script).removesuffix(".py") + "_for_help")
    with pytest.raises(SystemExit):
        recipe.parse_arguments(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for phrase in says:
        assert phrase in text, phrase
