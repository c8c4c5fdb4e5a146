"""The mel-diffusion family's configuration and its window-by-window rendering helpers."""

import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.families import get_family
from musickit.families.mel_diffusion.config import MelDiffusionConfig
from musickit.families.mel_diffusion.generation import file_stem, overlap_add, window_starts


def test_presets_and_one_line_errors():
    assert get_family("mel_diffusion").MODEL_NAME == "mel_diffusion"
    smoke = MelDiffusionConfig.preset("smoke")
    assert smoke.model_preset == "tiny" and smoke.tokens == 128 // 1 + 2 * 8  # a token a frame, 8 each side
    assert MelDiffusionConfig.from_dict(smoke.to_dict()) == smoke
    bad = {"--sampler": {"sampler": "euler"}, "--ddim-steps": {"ddim_steps": 2000}, "--guidance": {"guidance": -1.0}}
    for flag, changes in {**bad, "--epochs": {"epochs": 0}}.items():
        with pytest.raises(UsageError, match=flag):
            MelDiffusionConfig.preset("cpu", **changes)


def test_windows_cover_a_piece_and_overlaps_cross_fade():
    assert window_starts(100, 128) == [0] and window_starts(128, 128) == [0]
    starts = window_starts(300, 128)
    assert starts[0] == 0 and starts[-1] + 128 == 300 and all(b - a <= 96 for a, b in zip(starts, starts[1:]))
    windows = np.stack([np.full((2, 128), value) for value in (0.2, 0.6, 1.0)])
    mel = overlap_add(windows, starts, 300)
    assert mel.shape == (2, 300)
    assert mel[0, 10] == pytest.approx(0.2) and mel[0, 290] == pytest.approx(1.0)
    middle = mel[0, starts[1] : starts[0] + 128]  # the overlap of the first two windows: a fade from 0.2 to 0.6
    assert np.all(np.diff(middle) >= -1e-6) and 0.2 <= middle.min() and middle.max() <= 0.6
    assert file_stem("folder/piece.mid") == "folder_piece" and file_stem("bwv1.6") == "bwv1.6"
