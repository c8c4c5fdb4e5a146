"""The one sample-file writer every family uses: MIDI, WAV and a piano-roll PNG per piece, with progress.

A family turns what it generated (piano-roll frames, token ids, spectrograms)
into :class:`Sample` records, a :class:`~musickit.music.score.Score` plus
what its picture shows, and :func:`write_samples` writes ``PREFIX_N.mid``,
``.png`` and ``.wav`` for each (atomically, with a progress bar) and returns
one dict per piece: ``name``, ``midi``, ``png``, ``wav``, ``audio`` (the
rendering method), ``score``, plus the sample's own ``extra`` fields.

Example:

>>> import tempfile
>>> from musickit.music.score import Note, Score
>>> sample = Sample.from_score(Score(notes=[Note(60, 90, 0.0, 1.0)]), steps_per_quarter=4, caption="one note")
>>> written = write_samples([sample], tempfile.mkdtemp(), prefix="demo")  # doctest: +SKIP
>>> written[0]["name"], sorted(written[0])  # doctest: +SKIP
('demo_1', ['audio', 'midi', 'name', 'png', 'score', 'wav'])
"""

import dataclasses
import os

import numpy as np

from musickit.audio.rendering import render
from musickit.music.midi_io import write_midi
from musickit.music.quantization import quantize, unquantize
from musickit.representations.piano_roll import PianoRoll
from musickit.utils.progress import progress
from musickit.viz.piano_roll import plot_piano_roll

SAMPLE_FILE_KINDS = ("mid", "png", "wav")


@dataclasses.dataclass
class Sample:
    """One generated piece to write: its score and the piano roll its picture shows.

    Args:
        score: the piece (:class:`~musickit.music.score.Score`), written as MIDI and rendered to WAV.
        roll: ``(steps, keys)`` frames drawn in the PNG.
        steps_per_quarter: the roll's grid.
        caption: the picture's title after ``"NAME: "``.
        lowest_pitch: MIDI pitch of the roll's key 0.
        highlight_from_step: frames from here on are drawn as the continuation (a primer before it).
        bar_starts: steps where bars begin (default: every 4/4 bar).
        extra: more fields for the returned dict (e.g. ``{"tokens": 412}``).
    """

    score: object
    roll: np.ndarray
    steps_per_quarter: int
    caption: str = ""
    lowest_pitch: int = 21
    highlight_from_step: int = None
    bar_starts: list = None
    extra: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_score(cls, score, steps_per_quarter, caption=None, extra=None):
        """A sample whose picture is ``score`` quantized to ``steps_per_quarter`` on the 88 piano keys.

        The caption defaults to the note count.

        >>> from musickit.music.score import Note, Score
        >>> sample = Sample.from_score(Score(notes=[Note(60, 90, 0.0, 0.5)]), steps_per_quarter=2)
        >>> sample.roll.shape, sample.caption
        ((2, 88, 2), '1 notes')
        """
        quantized = quantize(score, steps_per_quarter)
        roll = PianoRoll(steps_per_quarter=steps_per_quarter, onset_channel=True)  # re-struck notes show in the PNG
        return cls(
            score=score,
            roll=roll.encode(quantized),
            steps_per_quarter=steps_per_quarter,
            caption=f"{len(score.notes)} notes" if caption is None else caption,
            lowest_pitch=roll.lowest_pitch,
            bar_starts=quantized.bar_starts(),
            extra=dict(extra or {}),
        )


def decode_token_piece(tokenizer, ids):
    """The :class:`~musickit.music.score.Score` of generated token ids, the first tempo in force from step 0.

    A generated piece may set its first tempo after step 0 (at a later first
    position); :func:`~musickit.music.quantization.unquantize` holds that
    tempo from step 0, so nothing lands at a negative time.
    """
    return unquantize(tokenizer.decode_quantized(np.asarray(ids, "int64")))


def token_samples(pieces, tokenizer):
    """One :class:`Sample` per piece of token ids (REMI-style ``decode_quantized``), with its ``tokens`` count."""
    return [
        Sample.from_score(decode_token_piece(tokenizer, ids), tokenizer.steps_per_quarter, extra={"tokens": len(ids)})
        for ids in pieces
    ]


def write_samples(samples, samples_dir, prefix="sample", soundfont=None):
    """Write each :class:`Sample` as ``PREFIX_N.mid``, ``.png`` and ``.wav`` in ``samples_dir``; return the files.

    Returns:
        One dict per sample, in order: ``name``, ``midi``, ``png``, ``wav``,
        ``audio`` (``"fluidsynth"`` or ``"synth"``), ``score`` and the sample's ``extra`` fields.
    """
    samples = list(samples)
    os.makedirs(samples_dir, exist_ok=True)
    written = []
    for index, sample in enumerate(progress(samples, f"writing samples to {samples_dir}", total=len(samples))):
        name = f"{prefix}_{index + 1}"
        paths = {kind: os.path.join(samples_dir, f"{name}.{kind}") for kind in SAMPLE_FILE_KINDS}
        write_midi(sample.score, paths["mid"])
        plot_piano_roll(
            sample.roll,
            paths["png"],
            steps_per_quarter=sample.steps_per_quarter,
            bar_starts=sample.bar_starts,
            highlight_from_step=sample.highlight_from_step,
            lowest_pitch=sample.lowest_pitch,
            title=f"{name}: {sample.caption}" if sample.caption else name,
        )
        method = render(sample.score, paths["wav"], soundfont=soundfont)
        written.append(
            {
                "name": name,
                "midi": paths["mid"],
                "png": paths["png"],
                "wav": paths["wav"],
                "audio": method,
                "score": sample.score,
                **sample.extra,
            }
        )
    return written
