"""Writes the small ``dummy_data/`` folders the TFDS builder tests read.

Run from the repository root after changing a builder's input format:
``python datasets/make_dummy_data.py``. Pieces are a few notes from tuples,
each distinct (not transpositions of each other), so the content-based
split puts them in different groups.
"""

import csv
import os

import numpy as np
import scipy.io

from musickit.music.midi_io import write_midi
from musickit.music.score import Note, Score, TempoChange, TimeSignature

HERE = os.path.dirname(os.path.abspath(__file__))


def _piece(index):
    """Four quarter notes whose intervals depend on ``index``, so no two pieces are transpositions."""
    pitches = [60, 60 + index + 1, 60 + 2 * index + 3, 72 - index]
    notes = [Note(pitch, 80, beat * 0.5, beat * 0.5 + 0.5) for beat, pitch in enumerate(pitches)]
    return Score(notes=notes, tempos=[TempoChange(0.0, 120.0)], time_signatures=[TimeSignature(0.0, 4, 4)])


def bach_chorales():
    folder = os.path.join(HERE, "bach_chorales", "dummy_data")
    for index in range(6):
        write_midi(_piece(index), os.path.join(folder, f"chorale{index}.mid"))


def polyphonic_music():
    folder = os.path.join(HERE, "polyphonic_music", "dummy_data")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for file_name in ("JSB_Chorales.mat", "Nottingham.mat", "MuseData.mat", "Piano-midi.de.mat"):
        splits = {}
        for split, count in (("traindata", 3), ("validdata", 2), ("testdata", 1)):
            cells = np.empty((1, count), dtype=object)
            for item in range(count):
                cells[0, item] = (rng.random((5 + item, 88)) < 0.05).astype(np.uint8)
            splits[split] = cells
        scipy.io.savemat(os.path.join(folder, file_name), splits)


def maestro():
    folder = os.path.join(HERE, "maestro", "dummy_data")
    rows = [("train", 2004, 0), ("train", 2006, 1), ("validation", 2008, 2), ("test", 2009, 3)]
    os.makedirs(folder, exist_ok=True)
    records = []
    for split, year, index in rows:
        midi_filename = f"{year}/performance{index}.midi"
        write_midi(_piece(index), os.path.join(folder, midi_filename))
        records.append(["Composer", f"Piece {index}", split, year, midi_filename, midi_filename[:-5] + ".wav", 2.0])
    # A corrupt file listed in the CSV: the builder must skip it, not fail.
    with open(os.path.join(folder, "2009", "broken.midi"), "wb") as handle:
        handle.write(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x40\x00\x90")
    records.append(["Composer", "Broken", "train", 2009, "2009/broken.midi", "2009/broken.wav", 1.0])
    with open(os.path.join(folder, "maestro-v3.0.0.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["canonical_composer", "canonical_title", "split", "year", "midi_filename", "audio_filename", "duration"]
        )
        writer.writerows(records)


if __name__ == "__main__":
    bach_chorales()
    polyphonic_music()
    maestro()
