"""The one sample-file writer: MIDI, PNG and WAV per piece, names in order, a family's extra fields kept."""

import os

import numpy as np
from conftest import make_score

from musickit.music.midi_io import read_midi
from musickit.representations.remi import REMITokenizer
from musickit.runs.samples import Sample, token_samples, write_samples


def test_each_sample_becomes_a_midi_a_picture_and_a_wav(tmp_path):
    scores = [make_score([(60, 90, 0.0, 0.5)]), make_score([(64, 90, 0.0, 0.5), (67, 90, 0.5, 1.0)])]
    samples = [Sample.from_score(score, steps_per_quarter=2, extra={"number": i}) for i, score in enumerate(scores)]
    written = write_samples(samples, str(tmp_path / "out"), prefix="piece")
    assert [sample["name"] for sample in written] == ["piece_1", "piece_2"]
    assert [sample["number"] for sample in written] == [0, 1]
    for sample, score in zip(written, scores):
        assert all(os.path.getsize(sample[kind]) > 0 for kind in ("midi", "png", "wav"))
        assert sample["audio"] in ("fluidsynth", "synth")
        assert [note.pitch for note in read_midi(sample["midi"]).notes] == [note.pitch for note in score.notes]


def test_a_score_sample_draws_its_notes_on_the_piano_keys():
    sample = Sample.from_score(make_score([(60, 90, 0.0, 0.5)]), steps_per_quarter=4)
    # half a second at 120 qpm is one quarter: 4 steps of C4, key 60 - 21, struck at the first (onset channel)
    assert sample.roll.shape == (4, 88, 2) and np.flatnonzero(sample.roll[..., 0].max(axis=0)).tolist() == [60 - 21]
    assert np.argwhere(sample.roll[..., 1]).tolist() == [[0, 60 - 21]]
    assert sample.caption == "1 notes" and sample.bar_starts[0] == 0


def test_token_samples_decode_each_piece_and_count_its_tokens():
    tokenizer = REMITokenizer()
    ids = tokenizer.encode(make_score([(62, 90, 0.0, 1.0)]))
    (sample,) = token_samples([ids], tokenizer)
    assert [note.pitch for note in sample.score.notes] == [62]
    assert sample.extra == {"tokens": len(ids)}
