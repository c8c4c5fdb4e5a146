"""musickit's MusPy-named metrics against MusPy itself, on whole corpora written to MIDI.

Every piece (the Bach chorales of music21's corpus by default, plus a varied
set of random multi-part pieces with drums, triplets, odd meters and tempo
changes) is written with ``musickit.write_midi`` and read back by both
``musickit.read_midi`` and ``muspy.read_midi``. For each metric the table
shows on how many files the two agree to 1e-6, the largest difference, both
means, and whether the definitions are meant to be the same or differ on
purpose (see ``musickit/metrics/pitch.py``, ``texture.py``, ``rhythm.py``):

* ``pitch_range``: MusPy gives -127 for a piece without pitched notes; musickit 0.
* ``empty_beat_rate``: MusPy counts the beat a note ends on as filled (and one
  extra beat when the piece ends on a beat); musickit uses half-open beats.
* ``groove_consistency``: MusPy compares tick-level onset patterns, called here
  the right way (bar length in ticks from the first time signature); musickit
  uses a sixteenth grid and the time signatures' bars, pickups left out. The
  extra row calls MusPy on a four-steps-per-quarter copy, which agrees
  wherever there is no pickup, meter change or final full bar.

The main columns give musickit the notes MusPy read (MusPy's ticks as
quarters), so they compare definitions only. "agree, own readers" lets each
library read the file itself: pretty_midi and MusPy pair the note-offs of
overlapping notes of one pitch in one track differently (a chorale part
with two voices on one key), which changes a few files' notes, not the
definitions.

``time_ratio`` is MusPy's time over musickit's for computing the
same-definition metrics on the same files, measured side by side.

Usage::

    python benchmarks/muspy_agreement.py                      # all chorales + 60 random pieces
    python benchmarks/muspy_agreement.py --max-files 50 --json
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

SAME_DEFINITION = (
    "pitch_range",
    "n_pitches_used",
    "n_pitch_classes_used",
    "pitch_entropy",
    "pitch_class_entropy",
    "scale_consistency",
    "polyphony",
    "polyphony_rate",
    "drum_pattern_consistency",
)
DIFFERENT_DEFINITION = ("empty_beat_rate", "groove_consistency")
TOLERANCE = 1e-6
DEFINITIONS = {"pitch_range": "same, except 0 (MusPy: -127) without pitched notes"}


def random_pieces(count, seed=0):
    """Multi-part random pieces: bass, melody, chords, drums on sixteenth and triplet grids, varied meters and tempi."""
    from musickit.music.score import Note, Score, TempoChange, TimeSignature

    rng = np.random.default_rng(seed)
    meters = [(4, 4), (3, 4), (6, 8), (5, 4), (2, 2)]
    pieces = []
    for index in range(count):
        drums_only = index % 10 == 9  # the case where MusPy's pitch_range goes wrong
        numerator, denominator = meters[rng.integers(len(meters))]
        bar_quarters = numerator * 4 / denominator
        total = bar_quarters * int(rng.integers(2, 9))
        qpm = float(rng.uniform(60, 180))
        seconds = 60.0 / qpm
        notes = []
        for part, (low, high, chord) in enumerate([(28, 52, 1), (60, 84, 1), (48, 72, 3)]):
            if drums_only or rng.uniform() < 0.15:
                continue  # a part may be missing
            grid = 1 / 3 if rng.uniform() < 0.3 else 1 / 4
            position = float(rng.integers(0, 8)) * grid
            while position < total:
                length = int(rng.integers(1, 12)) * grid
                if rng.uniform() < 0.75:
                    for pitch in rng.choice(np.arange(low, high), size=chord, replace=False):
                        notes.append(
                            Note(
                                int(pitch), 80, position * seconds, (position + length) * seconds, part * 8, False, part
                            )
                        )
                position += length
        if drums_only or rng.uniform() < 0.6:
            for tick in range(int(total * 24)):
                on_grid = tick % 6 == 0 or tick % 8 == 0
                if rng.uniform() < (0.25 if on_grid else 0.005):
                    start = tick / 24 * seconds
                    notes.append(Note(int(rng.choice([36, 38, 42, 46])), 100, start, start + 0.05, 0, True, 9))
        tempos = [TempoChange(0.0, qpm)]
        if rng.uniform() < 0.3:  # a tempo change halfway, keeping the notes' positions in quarters
            change_quarter = total / 2
            new_qpm = qpm * float(rng.uniform(0.6, 1.5))
            change_time = change_quarter * seconds
            for note in notes:
                for attribute in ("start", "end"):
                    time_value = getattr(note, attribute)
                    if time_value > change_time:
                        setattr(note, attribute, change_time + (time_value - change_time) * qpm / new_qpm)
            tempos.append(TempoChange(change_time, new_qpm))
        pieces.append(Score(notes=notes, tempos=tempos, time_signatures=[TimeSignature(0.0, numerator, denominator)]))
    return pieces


def muspy_value(muspy, name, music):
    if name == "groove_consistency":
        signatures = music.time_signatures
        numerator, denominator = (signatures[0].numerator, signatures[0].denominator) if signatures else (4, 4)
        return muspy.groove_consistency(music, int(round(numerator * 4 / denominator * music.resolution)))
    if name == "groove_consistency_on_grid":
        grid = muspy.adjust_resolution(music.deepcopy(), 4)  # adjust_resolution works in place
        signatures = grid.time_signatures
        numerator, denominator = (signatures[0].numerator, signatures[0].denominator) if signatures else (4, 4)
        return muspy.groove_consistency(grid, int(round(numerator * 4 / denominator * 4)))
    return getattr(muspy, name)(music)


def score_from_muspy(music):
    """The notes MusPy read, as a musickit Score at 120 qpm (so one quarter is half a second)."""
    from musickit.music.score import Note, Score, TempoChange, TimeSignature

    seconds = 0.5 / music.resolution
    notes = [
        Note(note.pitch, note.velocity, note.time * seconds, note.end * seconds, track.program, track.is_drum, index)
        for index, track in enumerate(music.tracks)
        for note in track.notes
    ]
    signatures = [TimeSignature(s.time * seconds, s.numerator, s.denominator) for s in music.time_signatures]
    return Score(notes=notes, tempos=[TempoChange(0.0, 120.0)], time_signatures=signatures)


def compare(pieces, folder):
    """Per metric, ``(label, musickit on MusPy's notes, musickit on its own reading, MusPy)`` for every piece."""
    import muspy

    from musickit.metrics.evaluation import MUSPY_METRICS
    from musickit.music.midi_io import read_midi, write_midi

    rows = {name: [] for name in SAME_DEFINITION + DIFFERENT_DEFINITION + ("groove_consistency_on_grid",)}
    ours_seconds = theirs_seconds = 0.0
    for index, (label, score) in enumerate(pieces):
        path = os.path.join(folder, f"{index:04d}.mid")
        write_midi(score, path)
        theirs = muspy.read_midi(path)
        own_reading, same_notes = read_midi(path), score_from_muspy(theirs)
        for name in rows:
            function = MUSPY_METRICS["groove_consistency" if name == "groove_consistency_on_grid" else name]
            start = time.perf_counter()
            mine = float(function(same_notes))
            ours_seconds += time.perf_counter() - start if name in SAME_DEFINITION else 0.0
            start = time.perf_counter()
            reference = float(muspy_value(muspy, name, theirs))
            theirs_seconds += time.perf_counter() - start if name in SAME_DEFINITION else 0.0
            rows[name].append((label, mine, float(function(own_reading)), reference))
    return rows, theirs_seconds / max(ours_seconds, 1e-12)


def _agrees(mine, reference):
    return (math.isnan(mine) and math.isnan(reference)) or abs(mine - reference) <= TOLERANCE


def summarise(rows):
    summary = {}
    for name, values in rows.items():
        differences = [0.0 if _agrees(mine, reference) else abs(mine - reference) for _, mine, _, reference in values]
        mine_values = [mine for _, mine, _, _ in values]
        their_values = [reference for _, _, _, reference in values]
        summary[name] = {
            "files": len(values),
            "agree": sum(_agrees(mine, reference) for _, mine, _, reference in values),
            "agree_own_readers": sum(_agrees(own, reference) for _, _, own, reference in values),
            "max_abs_difference": float(np.nanmax(differences)) if differences else 0.0,
            "musickit_mean": float(np.nanmean(mine_values)) if not np.all(np.isnan(mine_values)) else None,
            "muspy_mean": float(np.nanmean(their_values)) if not np.all(np.isnan(their_values)) else None,
            "definition": DEFINITIONS.get(name, "same" if name in SAME_DEFINITION else "documented difference"),
        }
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="bach", help="data source of real pieces (default: bach)")
    parser.add_argument("--max-files", type=int, default=None, help="at most this many real pieces (default: all)")
    parser.add_argument("--random-pieces", type=int, default=60, help="how many random varied pieces to add")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)

    try:
        import muspy
    except ImportError:
        print("MusPy is not installed: pip install muspy", file=sys.stderr)
        return 2
    from musickit.data.sources import read_scores

    collection = read_scores(args.source, max_files=args.max_files, show_progress=False)
    pieces = [(piece.name, piece.score) for piece in collection.pieces]
    pieces += [(f"random/{index}", score) for index, score in enumerate(random_pieces(args.random_pieces))]
    with tempfile.TemporaryDirectory() as folder:
        rows, time_ratio = compare(pieces, folder)
    summary = summarise(rows)

    real = len(collection.pieces)
    print(f"MusPy {muspy.__version__}: {real} pieces of {args.source} + {args.random_pieces} random pieces")
    print()
    print("| metric | definition | agree (1e-6) | max abs diff | agree, own readers | musickit mean | MusPy mean |")
    print("|---|---|---|---|---|---|---|")
    for name, row in summary.items():
        means = [f"{value:.4f}" if value is not None else "-" for value in (row["musickit_mean"], row["muspy_mean"])]
        print(
            f"| {name} | {row['definition']} | {row['agree']}/{row['files']} | {row['max_abs_difference']:.2e} "
            f"| {row['agree_own_readers']}/{row['files']} | {means[0]} | {means[1]} |"
        )
    print()
    print(f"time ratio (MusPy / musickit, same-definition metrics): {time_ratio:.2f}")
    range_differences = [(mine, reference) for _, mine, _, reference in rows["pitch_range"] if mine != reference]
    same_ok = all(summary[name]["agree"] == summary[name]["files"] for name in SAME_DEFINITION if name != "pitch_range")
    same_ok = same_ok and all(difference == (0.0, -127.0) for difference in range_differences)
    print(f"pitch_range differs on {len(range_differences)} files, each without pitched notes (0 vs -127)")
    if args.json:
        print(
            json.dumps(
                {
                    "source": args.source,
                    "real_pieces": len(collection.pieces),
                    "random_pieces": args.random_pieces,
                    "muspy_version": muspy.__version__,
                    "metrics": summary,
                    "same_definitions_agree": bool(same_ok),
                    "time_ratio": time_ratio,
                }
            )
        )
    return 0 if same_ok else 1


if __name__ == "__main__":
    sys.exit(main())
