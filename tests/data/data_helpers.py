"""Small MIDI folders and benchmark files for the data tests, built from note tuples."""

import os
import pickle

import numpy as np
import scipy.io
from conftest import make_score

from musickit.music.midi_io import write_midi

# Four short tunes; none is a transposition of another.
TUNES = {
    "one": [(60, 90, 0.0, 0.5), (64, 90, 0.5, 1.0), (67, 90, 1.0, 2.0)],
    "two": [(62, 90, 0.0, 1.0), (65, 90, 1.0, 1.5), (69, 90, 1.5, 2.0), (72, 90, 2.0, 3.0)],
    "three": [(48, 90, 0.0, 2.0), (55, 90, 0.0, 2.0), (64, 90, 0.0, 2.0)],
    "four": [(71, 90, 0.0, 0.25), (72, 90, 0.25, 0.5), (74, 90, 0.5, 1.0), (76, 90, 1.0, 4.0)],
}


def write_tunes(folder, names=TUNES, subfolder=""):
    """Write each tune as ``folder/subfolder/NAME.mid``; return the paths."""
    paths = []
    for name in names:
        path = os.path.join(folder, subfolder, f"{name}.mid")
        write_midi(make_score(TUNES[name]), path)
        paths.append(path)
    return paths


def write_corrupt(path, data=b"this is not a MIDI file"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def benchmark_rolls(seed=0):
    """``{split: [roll, ...]}`` of random sparse 0/1 rolls: 3 train, 2 valid, 2 test."""
    rng = np.random.default_rng(seed)
    return {
        split: [(rng.random((6 + index, 88)) < 0.08).astype(np.uint8) for index in range(count)]
        for split, count in (("train", 3), ("valid", 2), ("test", 2))
    }


def write_mat(path, rolls):
    cells = {}
    for split, items in rolls.items():
        cell = np.empty((1, len(items)), dtype=object)
        for index, roll in enumerate(items):
            cell[0, index] = roll
        cells[f"{split}data"] = cell
    scipy.io.savemat(path, cells)
    return path


def write_pickle(path, rolls):
    """The original .pkl layout: per split, sequences of frames, each a list of MIDI pitches."""
    payload = {
        split: [[[int(k) + 21 for k in np.nonzero(frame)[0]] for frame in roll] for roll in items]
        for split, items in rolls.items()
    }
    with open(path, "wb") as handle:
        pickle.dump(payload, handle)
    return path
