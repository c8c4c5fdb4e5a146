"""Rendered (notes, log-mel) pairs, note tokens and the noisy training windows."""

import numpy as np

from musickit.audio.mel import MelSettings
from musickit.data.mel_windows import (
    LOWEST_PITCH,
    NUM_KEYS,
    mel_piece,
    noisy_window_dataset,
    note_roll,
    note_tokens,
    truncate_score,
    unconditional_tokens,
    window_examples,
)
from musickit.data.noise_schedule import cosine_alpha_bar
from tests.conftest import make_score

SETTINGS = MelSettings(num_mels=16)


def test_roll_and_tokens_place_the_notes_relative_to_the_window():
    score = make_score([(60, 100, 0.0, 0.256), (72, 100, 0.512, 0.768)])  # 16 ms frames: frames 0-15 and 32-47
    roll = note_roll(score, SETTINGS, frames=64)
    assert roll[:, 60 - LOWEST_PITCH].nonzero()[0].tolist() == list(range(16))
    assert roll[:, 72 - LOWEST_PITCH].nonzero()[0].tolist() == list(range(32, 48))
    tokens = note_tokens(roll, start=32, frames=16, frames_per_token=8, context_tokens=1)
    assert tokens.shape == (4, 177)  # one token of context, two in the window, one after
    assert tokens[:, 60 - LOWEST_PITCH].tolist() == [0, 0, 0, 0]  # C4 ended 8 frames before the context token
    assert tokens[:, 72 - LOWEST_PITCH].tolist() == [0, 1, 1, 0] and not tokens[:, -1].any()
    assert tokens[:, NUM_KEYS + 72 - LOWEST_PITCH].tolist() == [0, 1, 0, 0]  # struck in the window's first token
    assert unconditional_tokens(3)[:, -1].tolist() == [1, 1, 1] and unconditional_tokens(3)[:, :-1].sum() == 0


def test_a_key_struck_again_while_it_sounds_is_a_second_onset():
    score = make_score([(60, 100, 0.0, 0.256), (60, 100, 0.256, 0.512)])  # two notes, one sounding key: frames 0-31
    roll = note_roll(score, SETTINGS, frames=40)
    assert roll[:, 60 - LOWEST_PITCH].nonzero()[0].tolist() == list(range(32))
    assert roll[:, NUM_KEYS + 60 - LOWEST_PITCH].nonzero()[0].tolist() == [0, 16]


def test_rendered_pieces_are_cached_and_windows_carry_their_tokens():
    score = make_score([(69, 100, 0.0, 1.0), (76, 100, 1.0, 2.0)])
    piece = mel_piece("two", score, SETTINGS, renderer="synth")
    assert piece.renderer == "synth" and piece.log_mel.shape[0] == 16 and piece.log_mel.shape[1] >= 126
    again = mel_piece("two", score, SETTINGS, renderer="synth")  # from the cache
    np.testing.assert_array_equal(again.log_mel, piece.log_mel)
    mels, tokens = window_examples([piece], frames=64, frames_per_token=8, context_tokens=0, hop=60)
    assert mels.shape == (2, 16, 64) and tokens.shape == (2, 8, 177)
    assert tokens[0, :, 69 - LOWEST_PITCH].all() and tokens[1, :, 76 - LOWEST_PITCH].all()
    assert len(truncate_score(score, 0.5).notes) == 1 and truncate_score(score, 0.5).end_time == 0.5


def test_noisy_windows_hold_the_clean_mel_and_the_v_target():
    piece = mel_piece("one", make_score([(69, 100, 0.0, 1.5)]), SETTINGS, renderer="synth")
    dataset = noisy_window_dataset([piece], frames=32, frames_per_token=8, context_tokens=1, batch_size=4)
    inputs, target = next(iter(dataset))
    noisy, level = inputs["noisy_mel"].numpy(), inputs["noise_level"].numpy()
    assert noisy.shape == (4, 16, 32, 1) and inputs["note_tokens"].shape == (4, 6, 177) and target.shape == noisy.shape
    alpha = cosine_alpha_bar(level.reshape(-1, 1, 1, 1))
    clean = np.sqrt(alpha) * noisy - np.sqrt(1 - alpha) * target.numpy()  # undoes the noising exactly
    assert clean.min() >= -1.001 and clean.max() <= 1.001
    assert np.all((level > 0) & (level <= 1))
