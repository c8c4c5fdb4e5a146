"""The feature layout musickit's TFDS builders share, and conversion to and from scores.

A score example holds its notes in seconds (as :class:`~musickit.music.score.Note`
does), its tempo map and time signatures, so that a ``tfds:`` source gives back
the same :class:`~musickit.music.score.Score` that was stored. A
``piano_roll`` example (the polyphonic benchmarks) holds the published
``(T, 88)`` roll instead.

Example:

>>> from musickit.music.score import Note, Score
>>> example = score_to_example(Score(notes=[Note(60, 90, 0.0, 0.5)]), name="one", style="test")
>>> [note.pitch for note in example_to_score(example).notes]
[60]
"""

import numpy as np

from musickit.data.sources.benchmark_files import roll_to_score
from musickit.music.score import Note, Score, TempoChange, TimeSignature

_NOTE_FIELDS = {
    "pitch": np.int32,
    "velocity": np.int32,
    "start": np.float64,
    "end": np.float64,
    "program": np.int32,
    "is_drum": np.bool_,
    "instrument": np.int32,
}


def score_features(**extra):
    """A ``FeaturesDict`` with name, style, notes, tempos and time signatures (plus ``extra``)."""
    import tensorflow_datasets as tfds

    return tfds.features.FeaturesDict(
        {
            "name": tfds.features.Text(),
            "style": tfds.features.Text(),
            "notes": tfds.features.Sequence(dict(_NOTE_FIELDS)),
            "tempos": tfds.features.Sequence({"time": np.float64, "qpm": np.float64}),
            "time_signatures": tfds.features.Sequence(
                {"time": np.float64, "numerator": np.int32, "denominator": np.int32}
            ),
            **extra,
        }
    )


def score_to_example(score, name, style, **extra):
    """The feature dictionary of ``score`` for :func:`score_features`."""
    notes = score.notes
    return {
        "name": name,
        "style": style or "",
        "notes": {
            field: np.array([getattr(note, field) for note in notes], dtype=dtype)
            for field, dtype in _NOTE_FIELDS.items()
        },
        "tempos": {
            "time": np.array([t.time for t in score.tempos], np.float64),
            "qpm": np.array([t.qpm for t in score.tempos], np.float64),
        },
        "time_signatures": {
            "time": np.array([s.time for s in score.time_signatures], np.float64),
            "numerator": np.array([s.numerator for s in score.time_signatures], np.int32),
            "denominator": np.array([s.denominator for s in score.time_signatures], np.int32),
        },
        **extra,
    }


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def example_to_score(example):
    """A :class:`Score` from a NumPy example of any musickit builder (notes or piano roll)."""
    if "piano_roll" in example and "notes" not in example:
        score = roll_to_score(example["piano_roll"])
    else:
        notes = example["notes"]
        score = Score(
            notes=[
                Note(int(pitch), int(velocity), float(start), float(end), int(program), bool(drum), int(instrument))
                for pitch, velocity, start, end, program, drum, instrument in zip(
                    *(notes[field] for field in _NOTE_FIELDS)
                )
            ],
            tempos=[
                TempoChange(float(t), float(q)) for t, q in zip(example["tempos"]["time"], example["tempos"]["qpm"])
            ],
            time_signatures=[
                TimeSignature(float(t), int(n), int(d))
                for t, n, d in zip(*(example["time_signatures"][k] for k in ("time", "numerator", "denominator")))
            ],
        )
    score.metadata["name"] = _text(example.get("name", ""))
    style = _text(example.get("style", ""))
    if style:
        score.metadata["style"] = style
    return score
