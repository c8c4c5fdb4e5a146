"""Form-aware synthetic pieces: real phrases of one style assembled into a requested form.

Real corpora rarely say which bars form section A and which B, and even when
they do the forms are few. To teach a model to follow a form, musickit
assembles pieces whose form it knows exactly: it cuts real pieces into
bar-aligned phrases (:func:`extract_phrases`), and lays phrases end to end
in the order a form asks for (:func:`synthesize_piece`): ``ABA`` plays
phrase 1, phrase 2, phrase 1 again.

Timing is exact by construction. Everything is placed on the integer step
grid first (every section starts on a bar line: the sum of whole bars before
it) and converted to seconds once, with one tempo for the whole piece, so
there is no drift at the joins and the tempo map is continuous. Each section
start gets a marker ``"A"``, ``"B"``... that :func:`musickit.write_midi`
writes as a MIDI marker event; ``metadata["style"]`` and
``metadata["form"]`` travel with the score.

The phrases of one synthetic piece all come from one source piece, so they
share key, metre, tempo and voicing and the piece sounds like one piece.
:func:`synthesize_corpus` balances forms (the same number of pieces of each)
and can order them as a curriculum (simple forms first).

Example:

>>> from musickit.music.score import Note, Score
>>> notes = [Note(60 + bar, 90, bar * 2.0, bar * 2.0 + 2.0) for bar in range(6)]  # one note per 4/4 bar
>>> phrases = extract_phrases(Score(notes=notes), bars_per_phrase=2)
>>> len(phrases), phrases[0].steps
(3, 32)
>>> piece = synthesize_piece(phrases[:2], "ABA", qpm=120.0, style="bach")
>>> [(marker.time, marker.text) for marker in piece.markers]
[(0.0, 'A'), (4.0, 'B'), (8.0, 'A')]
>>> [note.pitch for note in piece.notes]
[60, 61, 62, 63, 60, 61]
"""

import dataclasses

import numpy as np

from musickit.errors import UsageError
from musickit.music.quantization import QuantizedNote, QuantizedScore, quantize, unquantize
from musickit.music.score import SECTION_LETTERS, Marker

FORMS = ("AB", "ABA", "ABAB", "ABC", "AABA", "ABCD")
STEPS_PER_QUARTER = 4


@dataclasses.dataclass
class Phrase:
    """A bar-aligned excerpt on the step grid: notes start at step 0, the phrase lasts ``steps``."""

    notes: list[QuantizedNote]
    steps: int
    time_signature: tuple  # (numerator, denominator)
    qpm: float
    source: str = ""
    key: str | None = None

    @property
    def steps_per_bar(self):
        numerator, denominator = self.time_signature
        return round(numerator * 4 / denominator * STEPS_PER_QUARTER)


def form_letters(form):
    """The distinct section letters of ``form`` in order of first appearance; checks the form.

    >>> form_letters("AABA")
    ['A', 'B']
    """
    form = str(form).strip().upper()
    if not form or any(letter not in SECTION_LETTERS for letter in form):
        raise UsageError(f"form {form!r} must be made of the section letters A, B, C, D, e.g. ABA or AABA")
    letters = []
    for letter in form:
        if letter not in letters:
            letters.append(letter)
    if letters != list(SECTION_LETTERS[: len(letters)]):
        raise UsageError(f"form {form!r} must introduce its sections in order (A first, then B, ...)")
    return letters


def form_complexity(form):
    """A sort key for forms: the number of distinct sections, then the number of sections.

    Forms with equal keys (``ABAB`` and ``AABA``) are one complexity level;
    :mod:`musickit.data.curriculum` trains level by level.

    >>> forms = ["ABCD", "AABA", "AB", "ABC", "ABA", "ABAB"]
    >>> sorted(forms, key=form_complexity)
    ['AB', 'ABA', 'AABA', 'ABAB', 'ABC', 'ABCD']
    >>> form_complexity("ABAB") == form_complexity("AABA")
    True
    """
    return len(form_letters(form)), len(str(form).strip())


def extract_phrases(score, bars_per_phrase=4, name=""):
    """Cut ``score`` into consecutive phrases of ``bars_per_phrase`` whole bars.

    A pickup bar is skipped (phrases start on downbeats), and so is anything
    after the first time-signature change and a last, incomplete phrase.
    Notes belong to the phrase they start in and are cut at its end; phrases
    without notes are left out.
    """
    if bars_per_phrase < 1:
        raise UsageError(f"bars_per_phrase must be at least 1, got {bars_per_phrase}")
    quantized = quantize(score, STEPS_PER_QUARTER)
    signatures = sorted(quantized.time_signatures) or [(0, 4, 4)]
    time_signature = signatures[0][1:]
    change = next((step for step, *signature in signatures[1:] if tuple(signature) != time_signature), None)
    starts = quantized.bar_starts()
    if quantized.metadata.get("pickup_quarters") and len(starts) > 1:
        starts = starts[1:]
    steps_per_bar = quantized.steps_per_bar_at(starts[0] if starts else 0)
    key = quantized.key_signatures[0][1] if quantized.key_signatures else None
    phrases = []
    for first in range(0, len(starts) - bars_per_phrase + 1, bars_per_phrase):
        begin = starts[first]
        end = begin + bars_per_phrase * steps_per_bar
        if end > quantized.total_steps or (change is not None and end > change):
            break
        notes = [
            dataclasses.replace(note, start_step=note.start_step - begin, end_step=min(note.end_step, end) - begin)
            for note in quantized.notes
            if begin <= note.start_step < end
        ]
        if notes:
            phrases.append(Phrase(notes, end - begin, tuple(time_signature), score.initial_qpm, name, key))
    return phrases


def synthesize_piece(phrases, form, qpm=None, style=None, name=None):
    """A :class:`~musickit.music.score.Score` playing ``phrases`` in the order of ``form``.

    Args:
        phrases: one :class:`Phrase` per distinct letter of ``form``, in
            letter order (``phrases[0]`` is A). They must share a metre.
        form: e.g. ``"ABA"``, ``"AABA"``, ``"ABCD"``.
        qpm: tempo of the whole piece (default: the first phrase's).
        style: kept as ``metadata["style"]``.
        name: kept as ``metadata["name"]``.

    Every section starts exactly on a bar line; the markers sit on those
    starts. ``metadata["sections"]`` lists ``(label, start_seconds)``.
    """
    letters = form_letters(form)
    form = str(form).strip().upper()
    if len(phrases) != len(letters):
        raise UsageError(f"form {form} has {len(letters)} distinct sections but {len(phrases)} phrases were given")
    metres = {phrase.time_signature for phrase in phrases}
    if len(metres) != 1:
        raise UsageError(f"phrases of one piece must share a time signature, got {sorted(metres)}")
    by_letter = dict(zip(letters, phrases))
    notes, markers, cursor = [], [], 0
    for letter in form:
        phrase = by_letter[letter]
        markers.append((cursor, letter))
        notes += [
            dataclasses.replace(n, start_step=n.start_step + cursor, end_step=n.end_step + cursor) for n in phrase.notes
        ]
        cursor += phrase.steps  # whole bars, so the next section starts on a bar line
    qpm = float(qpm or phrases[0].qpm)
    numerator, denominator = phrases[0].time_signature
    metadata = {"form": form, "sources": sorted({phrase.source for phrase in phrases if phrase.source})}
    if style is not None:
        metadata["style"] = style
    if name is not None:
        metadata["name"] = name
    key = phrases[0].key
    quantized = QuantizedScore(
        notes=sorted(notes, key=lambda note: (note.start_step, note.pitch)),
        steps_per_quarter=STEPS_PER_QUARTER,
        total_steps=cursor,
        tempos=[(0, qpm)],
        time_signatures=[(0, numerator, denominator)],
        key_signatures=[(0, key)] if key else [],
        markers=markers,
        metadata=metadata,
    )
    score = unquantize(quantized)  # one tempo: seconds = step * 60 / (qpm * steps_per_quarter), no drift
    score.markers = [Marker(marker.time, marker.text) for marker in score.markers]
    score.metadata["sections"] = [(marker.text, marker.time) for marker in score.markers]
    return score


def synthesize_corpus(scores, forms=FORMS, pieces_per_form=4, bars_per_section=4, style=None, seed=0, curriculum=False):
    """Balanced synthetic pieces: ``pieces_per_form`` of each form, from phrases of ``scores``.

    Args:
        scores: real scores of one style (e.g. the Bach chorales).
        forms: the forms to build.
        pieces_per_form: pieces of each form.
        bars_per_section: bars in every section.
        style: style label; default the first score's ``metadata["style"]``.
        seed: picks source pieces and phrases reproducibly.
        curriculum: order the pieces by :func:`form_complexity` (AB first,
            ABCD last) instead of interleaving the forms.

    Each piece draws its sections from one source piece that has enough
    distinct phrases; a piece never reuses a phrase for two letters.
    """
    if pieces_per_form < 1:
        raise UsageError(f"pieces_per_form must be at least 1, got {pieces_per_form}")
    forms = [str(form).strip().upper() for form in forms]
    for form in forms:
        form_letters(form)
    rng = np.random.default_rng(seed)
    pool = []
    for index, score in enumerate(scores):
        name = score.metadata.get("name") or f"piece{index}"
        phrases = extract_phrases(score, bars_per_section, name=name)
        if phrases:
            pool.append((score, phrases))
    if style is None and pool:
        style = pool[0][0].metadata.get("style")
    order = sorted(forms, key=form_complexity) if curriculum else forms
    schedule = (
        [form for form in order for _ in range(pieces_per_form)]
        if curriculum
        else [form for _ in range(pieces_per_form) for form in order]
    )
    pieces = []
    for number, form in enumerate(schedule):
        needed = len(form_letters(form))
        candidates = [entry for entry in pool if len(entry[1]) >= needed]
        if not candidates:
            longest = max((len(entry[1]) for entry in pool), default=0)
            raise UsageError(
                f"no source piece has {needed} phrases of {bars_per_section} bars for form {form} (at most "
                f"{longest}); read more pieces or lower bars_per_section"
            )
        _, phrases = candidates[rng.integers(len(candidates))]
        chosen = [phrases[i] for i in sorted(rng.choice(len(phrases), size=needed, replace=False))]
        pieces.append(synthesize_piece(chosen, form, style=style, name=f"synthetic{number:04d}_{form}"))
    return pieces
