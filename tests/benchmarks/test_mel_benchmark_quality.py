"""``benchmarks/mel_diffusion.py --run`` on a tiny untrained run: every row, floors and ceiling."""

import importlib.util
import os

from conftest import make_score
from tiny_runs import write_mel_run

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "mel_diffusion.py")


def _benchmark():
    spec = importlib.util.spec_from_file_location("mel_diffusion_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quality_rows_hold_the_renders_floors_and_ceiling_and_an_untrained_render_is_worst(tmp_path):
    chords = [
        make_score([(60, 90, 0.0, 0.5), (64, 90, 0.0, 0.5), (67, 90, 0.5, 1.0), (72, 90, 0.5, 1.0)]),
        make_score([(57, 90, 0.0, 1.0), (65, 90, 0.25, 0.75), (69, 90, 0.5, 1.0)]),
    ]
    run = write_mel_run(tmp_path / "run", held_out=chords)
    table, timings, info = _benchmark().quality(run, seconds=1.0, count=2, skip_ddpm=True)
    assert info["held_out"] == ["piece_1", "piece_2"]
    expected = {"DDIM-50, guidance 1", "DDIM-50, guidance 2", "floor: mean log-mel frame"}
    expected |= {"floor: reference + noise 0.1", "floor: a different piece", "ceiling: reference -> Griffin-Lim"}
    assert set(table) == expected and set(timings) == {"DDIM-50, guidance 1", "DDIM-50, guidance 2"}
    # an untrained U-Net renders noise: worse than every floor and than the reference's own round trip
    render = table["DDIM-50, guidance 1"]["mel_l1"]
    assert all(render > values["mel_l1"] for label, values in table.items() if not label.startswith("DDIM"))
    assert table["ceiling: reference -> Griffin-Lim"]["chroma_cosine"] > 0.95  # the vocoder keeps the pitches
