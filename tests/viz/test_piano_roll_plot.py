"""Piano-roll pictures: a real PNG with primer and continuation colours."""

import matplotlib.image
import numpy as np

from musickit.viz.piano_roll import CONTINUATION_COLOUR, PRIMER_COLOUR, plot_history, plot_piano_roll


def _has_colour(image, hex_colour):
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool((np.abs(image[..., :3] - rgb).max(axis=-1) < 0.02).any())


def test_primer_and_continuation_are_drawn_in_two_colours(tmp_path):
    roll = np.zeros((32, 88))
    roll[:8, 39] = 1
    roll[8:, 43] = 1
    plot_piano_roll(roll, tmp_path / "roll.png", highlight_from_step=8, title="demo")
    image = matplotlib.image.imread(tmp_path / "roll.png")
    assert _has_colour(image, PRIMER_COLOUR) and _has_colour(image, CONTINUATION_COLOUR)


def test_history_plot(tmp_path):
    plot_history({"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2.0], "nll": [3, 2, 1]}, tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000
