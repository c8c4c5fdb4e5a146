"""``REMITokenizer.encode_with_counts`` gives the same ids and counts as before it was split into steps.

The expected digests were recorded from the single-function implementation
(commit b698a05) on the pieces below; any change to the tokens a piece is
written as changes a digest. Regenerate them only for an intended format change.
"""

import hashlib

import numpy as np
import pytest

from musickit.music import Marker, Score, TempoChange, TimeSignature
from musickit.music.score import Note
from musickit.representations.remi import REMITokenizer


def _piece(seed):
    """A random piece touching every encoding rule: drums, out-of-range and long notes, tempo and metre
    changes (one inside a bar), section and other markers, a pickup, style and emotion."""
    generator = np.random.default_rng(seed)
    notes = []
    for _ in range(60):
        start = float(generator.integers(0, 160)) / 8 + float(generator.choice([0.0, 0.01]))
        length = float(generator.choice([0.0, 0.125, 0.25, 0.5, 1.0, 3.0, 12.0]))
        notes.append(
            Note(
                int(generator.integers(10, 120)),
                int(generator.integers(1, 128)),
                start,
                start + length,
                program=int(generator.choice([0, 0, 32, 40])),
                is_drum=bool(generator.random() < 0.1),
                instrument=int(generator.integers(0, 3)),
            )
        )
    tempos = [TempoChange(0.0, float(generator.choice([60.0, 97.0, 120.0])))]
    tempos += [TempoChange(float(t), float(generator.integers(50, 200))) for t in generator.integers(1, 18, size=3)]
    signatures = [
        TimeSignature(0.0, 4, 4),
        TimeSignature(5.0, 3, 4),
        TimeSignature(7.25, 6, 8),
        TimeSignature(7.25, 6, 8),
        TimeSignature(12.0, 4, 4),
    ]
    markers = [Marker(0.0, "A"), Marker(4.0, "B"), Marker(6.1, "verse"), Marker(11.0, "A"), Marker(15.0, "D")]
    metadata = {"style": ["bach", "essen", "jazz"][seed % 3], "emotion": ["happy", "sad", "calm"][seed % 3]}
    if seed % 2:
        metadata["pickup_quarters"] = 1.0
    return Score(notes=notes, tempos=tempos, time_signatures=signatures, markers=markers, metadata=metadata)


TOKENIZERS = {
    "default": REMITokenizer(),
    "compact": REMITokenizer(num_velocity_bins=0, use_programs=False),
    "coarse": REMITokenizer(
        steps_per_quarter=2,
        lowest_pitch=36,
        highest_pitch=96,
        max_duration_quarters=2,
        num_tempo_bins=11,
        num_velocity_bins=8,
    ),
}

# (tokenizer, seed) -> (number of ids, sha256 of the int32 ids, counts), recorded before the refactor.
EXPECTED = {
    ("default", 0): (
        270,
        "158bb7bbe84cd2ed",
        {
            "notes": 60,
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 8,
            "lengthened_zero_length_notes": 10,
            "long_notes_shortened": 8,
            "markers_ignored": 1,
            "short_bars_renamed": 1,
            "short_bars_unmatched": 1,
        },
    ),
    ("default", 1): (
        274,
        "d2d0d44544339220",
        {
            "notes": 60,
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 9,
            "lengthened_zero_length_notes": 11,
            "long_notes_shortened": 7,
            "markers_ignored": 1,
            "short_bars_renamed": 2,
            "short_bars_unmatched": 1,
        },
    ),
    ("default", 2): (
        244,
        "a4eff3c72f2845fc",
        {
            "notes": 60,
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 16,
            "lengthened_zero_length_notes": 8,
            "long_notes_shortened": 6,
            "markers_ignored": 1,
            "short_bars_renamed": 1,
            "short_bars_unmatched": 2,
        },
    ),
    ("default", 3): (
        283,
        "f31a0be5f48f5e48",
        {
            "notes": 60,
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 6,
            "lengthened_zero_length_notes": 11,
            "long_notes_shortened": 1,
            "markers_ignored": 1,
            "short_bars_renamed": 1,
            "short_bars_unmatched": 2,
        },
    ),
    ("compact", 0): (
        153,
        "5a6343f0311e0775",
        {
            "notes": 60,
            "drum_notes_excluded": 7,
            "out_of_range_notes_dropped": 8,
            "lengthened_zero_length_notes": 10,
            "long_notes_shortened": 8,
            "markers_ignored": 1,
            "short_bars_renamed": 1,
            "short_bars_unmatched": 1,
        },
    ),
    ("compact", 1): (
        157,
        "fdef01e27245bb57",
        {
            "notes": 60,
            "drum_notes_excluded": 8,
            "out_of_range_notes_dropped": 8,
            "lengthened_zero_length_notes": 11,
            "long_notes_shortened": 6,
            "markers_ignored": 1,
            "short_bars_renamed": 2,
            "short_bars_unmatched": 1,
        },
    ),
    ("compact", 2): (
        146,
        "7c3a769a2107c319",
        {
            "notes": 60,
            "drum_notes_excluded": 8,
            "out_of_range_notes_dropped": 12,
            "lengthened_zero_length_notes": 8,
            "long_notes_shortened": 6,
            "markers_ignored": 1,
            "short_bars_renamed": 1,
            "short_bars_unmatched": 2,
        },
    ),
    ("compact", 3): (
        173,
        "3a21aee2f2e42d6d",
        {
            "notes": 60,
            "drum_notes_excluded": 2,
            "out_of_range_notes_dropped": 6,
            "lengthened_zero_length_notes": 11,
            "long_notes_shortened": 1,
            "markers_ignored": 1,
            "short_bars_renamed": 1,
            "short_bars_unmatched": 2,
        },
    ),
    ("coarse", 0): (
        197,
        "77d016e3cc2430f1",
        {
            "notes": 60,
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 23,
            "lengthened_zero_length_notes": 12,
            "long_notes_shortened": 12,
            "markers_ignored": 1,
            "short_bars_renamed": 1,
            "short_bars_unmatched": 0,
        },
    ),
    ("coarse", 1): (
        191,
        "c6edf3867e5c8859",
        {
            "notes": 60,
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 26,
            "lengthened_zero_length_notes": 10,
            "long_notes_shortened": 13,
            "markers_ignored": 1,
            "short_bars_renamed": 3,
            "short_bars_unmatched": 0,
        },
    ),
    ("coarse", 2): (
        190,
        "8f65699ea0629b64",
        {
            "notes": 60,
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 27,
            "lengthened_zero_length_notes": 11,
            "long_notes_shortened": 17,
            "markers_ignored": 1,
            "short_bars_renamed": 2,
            "short_bars_unmatched": 0,
        },
    ),
    ("coarse", 3): (
        209,
        "f1c70a39045ba209",
        {
            "notes": 60,
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 19,
            "lengthened_zero_length_notes": 12,
            "long_notes_shortened": 11,
            "markers_ignored": 1,
            "short_bars_renamed": 3,
            "short_bars_unmatched": 0,
        },
    ),
}

# (tokenizer, seed) -> sha256 of what decode_quantized gives back for the ids above.
EXPECTED_DECODED = {
    ("default", 0): "c0cb9ea93ebebd41",
    ("default", 1): "84e80c2c727503ad",
    ("default", 2): "777c0e696d282992",
    ("default", 3): "dc80975d9822ce4b",
    ("compact", 0): "47b8910be168a621",
    ("compact", 1): "4d6129c1ce087e45",
    ("compact", 2): "12ba78a1f966333a",
    ("compact", 3): "b61e9f545d0b7e43",
    ("coarse", 0): "4e84d79ff2f93199",
    ("coarse", 1): "0d550b440c8996d6",
    ("coarse", 2): "76bbd2911e91a6bb",
    ("coarse", 3): "ff4488ff21e075ef",
}


def _digest(ids):
    return hashlib.sha256(np.asarray(ids, np.int32).tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("name, seed", sorted(EXPECTED))
def test_encoding_matches_the_recorded_output(name, seed):
    ids, counts = TOKENIZERS[name].encode_with_counts(_piece(seed))
    length, digest, expected_counts = EXPECTED[name, seed]
    assert (len(ids), _digest(ids), counts) == (length, digest, expected_counts)


def test_the_pieces_exercise_every_rule():
    totals = {}
    for seed in range(4):
        for tokenizer in TOKENIZERS.values():
            for key, value in tokenizer.encode_with_counts(_piece(seed))[1].items():
                totals[key] = totals.get(key, 0) + value
    assert all(totals[key] > 0 for key in totals if key != "short_bars_unmatched"), totals


@pytest.mark.parametrize("name, seed", sorted(EXPECTED_DECODED))
def test_decoding_matches_the_recorded_output(name, seed):
    tokenizer = TOKENIZERS[name]
    quantized = tokenizer.decode_quantized(tokenizer.encode(_piece(seed)))
    text = repr(
        (
            quantized.notes,
            quantized.tempos,
            quantized.time_signatures,
            quantized.markers,
            quantized.metadata,
            quantized.total_steps,
        )
    )
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == EXPECTED_DECODED[name, seed]
