"""Piano-roll pictures: a real PNG with primer and continuation colours."""

import matplotlib.image
import numpy as np

from musickit.viz.piano_roll import CONTINUATION_COLOUR, PRIMER_COLOUR, plot_history, plot_piano_roll, restrikes


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


def _colour_mask(image, hex_colour):
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.abs(image[..., :3] - rgb).max(axis=-1) < 0.02


def test_a_note_struck_again_is_drawn_with_a_gap(tmp_path):
    # One key sounding for 16 steps: struck once (a whole held note) or four times (four quarters).
    held = np.zeros((16, 88, 2))
    held[:, 39, 0] = 1
    held[0, 39, 1] = 1
    repeated = held.copy()
    repeated[[4, 8, 12], 39, 1] = 1
    assert restrikes(held) == [] and restrikes(repeated) == [(4, 39), (8, 39), (12, 39)]
    plot_piano_roll(held, tmp_path / "held.png")
    plot_piano_roll(repeated, tmp_path / "repeated.png")
    held_note = _colour_mask(matplotlib.image.imread(tmp_path / "held.png"), PRIMER_COLOUR)
    repeated_note = _colour_mask(matplotlib.image.imread(tmp_path / "repeated.png"), PRIMER_COLOUR)
    middle = np.nonzero(held_note.any(axis=1))[0].mean().astype(int)  # the row through the middle of the note
    # the held note is one unbroken bar; the repeated one loses pixels to three gaps, and nothing else changes
    assert held_note[middle].sum() - repeated_note[middle].sum() >= 3
    assert (repeated_note & ~held_note).sum() == 0


def test_history_plot(tmp_path):
    plot_history({"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2.0], "nll": [3, 2, 1]}, tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000
