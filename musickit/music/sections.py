"""Sections of a score: cut a score into its marked sections, and find sections where none are marked.

Two pure functions over a :class:`~musickit.music.score.Score`:

- :func:`section_scores` slices a score at its section markers (``"A"`` ..
  ``"D"``, also spelled ``"Section B"`` or ``"SECTION_C"``) into sub-scores
  that each start at time zero;
- :func:`label_sections` adds those markers to a piece that has none.

Real pieces rarely carry section markers, so :func:`label_sections` finds them:

1. **Notated boundaries.** Double bars and repeat signs that
   :func:`musickit.music.music21_io.from_music21` found in the score
   (``metadata["notated_boundaries"]``, seconds) cut the piece where at
   least one of them falls on a bar line (or less than half a bar before
   one: the upbeat of the next section, which then starts at that bar
   line). Sections with identical bars share a letter, each new content
   takes the next one. This reads the Stollen repeat of a chorale and the
   strains of a reel from the page instead of guessing them.
2. **Repeated bar ranges.** Each bar is summarised by its notes (pitch, onset
   and length inside the bar); the longest run of at least
   ``min_repeat_bars`` bars that occurs twice without overlapping becomes
   section ``A`` at both places, and the bars between and after become
   ``B``, ``C``, ... This finds the Stollen of a bar-form chorale (AAB) and
   the literal repeats of folk tunes written out in MIDI.
3. **Phrase segmentation**, when nothing repeats: phrase ends are bars whose
   last onset is held at least ``cadence_quarters`` (a cadence in a chorale
   is a long note under a fermata), and the piece is cut at the ends that
   give sections closest to ``bars_per_section`` bars, labelled in order.

Sections always start on a bar line, so a section's tokens start with
``Bar`` and its markers land where REMI puts ``SECTION_<X>``. At most four
distinct labels are used (the tokenizer has ``SECTION_A`` .. ``SECTION_D``);
later material is folded into ``D``.

Example:

>>> from musickit.music.score import Note, Score
>>> phrase = [Note(60 + i, 90, i * 0.5, i * 0.5 + 0.5) for i in range(8)]  # two bars at 120 qpm
>>> other = [Note(70 - i, 90, 4.0 + i * 0.5, 4.5 + i * 0.5) for i in range(4)]  # one bar
>>> again = [Note(n.pitch, 90, n.start + 6.0, n.end + 6.0) for n in phrase]
>>> labelled = label_sections(Score(notes=phrase + other + again), min_repeat_bars=2)
>>> [(marker.time, marker.text) for marker in labelled.markers]
[(0.0, 'A'), (4.0, 'B'), (6.0, 'A')]
>>> labelled.metadata["section_method"]
'repeats'
"""

import dataclasses
import re

from musickit.music.quantization import quantize
from musickit.music.score import SECTION_LETTERS, Marker, TempoChange

STEPS_PER_QUARTER = 4
# "A", "Section B", "SECTION_C", "part d" ... : the letter is the section label.
SECTION_MARKER = re.compile(rf"^\s*(?:section|part)?[\s_:-]*([{''.join(SECTION_LETTERS)}])\s*$", re.IGNORECASE)

__all__ = [
    "SECTION_LETTERS",
    "SECTION_MARKER",
    "bar_signatures",
    "find_repeat",
    "label_sections",
    "section_scores",
    "slice_score",
]


def section_scores(score):
    """``[(label, sub_score), ...]`` for the sections a score marks, in time order.

    Sections come from markers whose text is a section label (``"A"``,
    ``"Section B"``, ``"SECTION_C"``), or else from
    ``score.metadata["sections"]`` as ``[(label, start_seconds), ...]``. A
    section runs to the next one or to the end. Each sub-score starts at time
    zero with the tempo that was in force, so it encodes like a piece of its own.
    A score without marked sections has none (the pair pipeline then treats
    the whole piece as section A).

    Example:

    >>> from musickit.music.score import Marker, Note, Score
    >>> score = Score(notes=[Note(60, 90, 0.0, 1.0), Note(62, 90, 1.0, 2.0)],
    ...               markers=[Marker(0.0, "A"), Marker(1.0, "B")])
    >>> [(label, [n.pitch for n in part.notes]) for label, part in section_scores(score)]
    [('A', [60]), ('B', [62])]
    """
    starts = []
    for marker in score.markers:
        match = SECTION_MARKER.match(marker.text or "")
        if match:
            starts.append((float(marker.time), match.group(1).upper()))
    if not starts:
        for label, time in score.metadata.get("sections", []) or []:
            if str(label).upper() in SECTION_LETTERS:
                starts.append((float(time), str(label).upper()))
    starts.sort()
    parts = []
    for index, (start, label) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else score.end_time
        if end > start:
            parts.append((label, slice_score(score, start, end)))
    return parts


def slice_score(score, start, end):
    """The notes of ``score`` that start in ``[start, end)``, moved to begin at zero and cut at ``end``.

    The tempo, time signature and key in force at ``start`` open the slice;
    markers and whole-piece metadata (pickup, notated boundaries) are dropped.

    >>> from musickit.music.score import Note, Score
    >>> part = slice_score(Score(notes=[Note(60, 90, 0.0, 1.0), Note(62, 90, 1.0, 3.0)]), 1.0, 2.0)
    >>> [(note.pitch, note.start, note.end) for note in part.notes]
    [(62, 0.0, 1.0)]
    """
    part = score.copy()
    part.notes = [
        dataclasses.replace(note, start=note.start - start, end=min(note.end, end) - start)
        for note in score.notes
        if start <= note.start < end
    ]
    # The quarter grid must not shift: keep the tempo in force at ``start`` and later changes.
    tempos = sorted(score.tempos, key=lambda tempo: tempo.time)
    current = [tempo for tempo in tempos if tempo.time <= start]
    part.tempos = [TempoChange(0.0, current[-1].qpm if current else score.initial_qpm)] + [
        TempoChange(tempo.time - start, tempo.qpm) for tempo in tempos if start < tempo.time < end
    ]
    part.time_signatures = _changes_from(score.time_signatures, start, end)
    part.key_signatures = _changes_from(score.key_signatures, start, end)
    part.markers = []
    part.metadata.pop("pickup_quarters", None)
    part.metadata.pop("notated_boundaries", None)  # times of the whole piece: stale inside a slice
    return part


def _changes_from(changes, start, end):
    """The change in force at ``start`` (moved to zero) and the changes inside ``(start, end)``."""
    changes = sorted(changes, key=lambda change: change.time)
    before = [change for change in changes if change.time <= start]
    inside = [dataclasses.replace(c, time=c.time - start) for c in changes if start < c.time < end]
    return ([dataclasses.replace(before[-1], time=0.0)] if before else []) + inside


def bar_signatures(quantized):
    """One hashable summary per bar: the sorted ``(pitch, onset in bar, length)`` of the notes starting there."""
    starts = quantized.bar_starts()
    bars = [[] for _ in starts]
    index = 0
    for note in sorted(quantized.notes, key=lambda note: note.start_step):
        while index + 1 < len(starts) and starts[index + 1] <= note.start_step:
            index += 1
        bars[index].append((note.pitch, note.start_step - starts[index], note.end_step - note.start_step))
    return [tuple(sorted(bar)) for bar in bars], starts


def find_repeat(signatures, min_repeat_bars=2):
    """``(first, second, length)`` of the longest non-overlapping repeated run of non-empty bars, or ``None``.

    Ties go to the earliest pair, so the opening of a piece wins.

    >>> find_repeat(["x", "y", "z", "x", "y", "w"])
    (0, 3, 2)
    >>> find_repeat(["x", "y", "z"]) is None
    True
    """
    count = len(signatures)
    best = None
    # Dynamic programming over pairs of bar indices: run[i][j] = bars matching from i and j on.
    run = [[0] * (count + 1) for _ in range(count + 1)]
    for first in range(count - 1, -1, -1):
        for second in range(count - 1, first, -1):
            if signatures[first] == signatures[second] and signatures[first]:
                run[first][second] = run[first + 1][second + 1] + 1
    for first in range(count):
        for second in range(first + 1, count):
            length = min(run[first][second], second - first)  # the two copies must not overlap
            if length >= min_repeat_bars and (best is None or length > best[2]):
                best = (first, second, length)
    return best


def _sections_from_repeat(repeat, bar_count):
    """Bar-index ``(start, label)`` pairs for a repeat: both copies are A, the rest B, C, ... in order."""
    first, second, length = repeat
    spans = [(first, "A"), (second, "A")]
    occupied = {first, second}
    others = []
    for start, end in ((0, first), (first + length, second), (second + length, bar_count)):
        if end > start and start not in occupied:
            others.append(start)
    letters = iter(SECTION_LETTERS[1:])
    for start in sorted(others):
        spans.append((start, next(letters, SECTION_LETTERS[-1])))
    return sorted(spans)


def _phrase_ends(quantized, starts, cadence_quarters):
    """Indices of bars that end a phrase: their last onset lasts at least ``cadence_quarters``."""
    cadence_steps = cadence_quarters * quantized.steps_per_quarter
    ends = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else quantized.total_steps
        inside = [note for note in quantized.notes if start <= note.start_step < end]
        if inside:
            last_onset = max(note.start_step for note in inside)
            held = max(note.end_step - note.start_step for note in inside if note.start_step == last_onset)
            if held >= cadence_steps:
                ends.append(index)
    return ends


def _sections_from_phrases(quantized, starts, bars_per_section, cadence_quarters):
    """Cut after phrase-ending bars so sections come close to ``bars_per_section`` bars."""
    bar_count = len(starts)
    candidates = [end + 1 for end in _phrase_ends(quantized, starts, cadence_quarters) if end + 1 < bar_count]
    boundaries, previous = [0], 0
    while True:
        target = previous + bars_per_section
        if target >= bar_count:
            break
        # The phrase end nearest the target, else a plain cut at the target.
        ahead = [candidate for candidate in candidates if candidate > previous]
        cut = min(ahead, key=lambda candidate: abs(candidate - target)) if ahead else target
        if abs(cut - target) > bars_per_section // 2:
            cut = target
        if bar_count - cut < max(1, bars_per_section // 2):
            break  # a stub at the end joins the last section
        boundaries.append(cut)
        previous = cut
    # Past the fourth section everything is D: one marker, not a run of D markers.
    return [(start, SECTION_LETTERS[index]) for index, start in enumerate(boundaries[: len(SECTION_LETTERS)])]


def _notated_bars(score, starts, first_bar):
    """Bar indices (after ``first_bar``) where the score's notated boundaries fall, empty when none does.

    A boundary counts on a bar line or less than half a bar before one (an
    upbeat); anything else is off the bar grid and ignored.
    """
    bars = set()
    for time in score.metadata.get("notated_boundaries") or ():
        step = round(score.seconds_to_quarters(time) * STEPS_PER_QUARTER)
        index = next((index for index, start in enumerate(starts) if start >= step), None)
        if index is None or index <= first_bar:
            continue
        # Bars before and after have the same length except at a meter change; either is a fair "half a bar".
        if 2 * (starts[index] - step) < starts[index] - starts[index - 1]:
            bars.add(index)
    return sorted(bars)


def _sections_from_notation(signatures, cuts, first_bar):
    """``(bar, label)`` per notated section: identical bars share a letter, new content takes the next one."""
    bounds = [first_bar] + list(cuts) + [len(signatures)]
    letters, spans = {}, []
    for start, end in zip(bounds, bounds[1:]):
        content = tuple(signatures[start:end])
        if content not in letters:
            letters[content] = SECTION_LETTERS[min(len(letters), len(SECTION_LETTERS) - 1)]
        label = letters[content]
        if label == SECTION_LETTERS[-1] and spans and spans[-1][1] == label:
            continue  # later material folded into D continues the D before it: one marker
        spans.append((start, label))
    return spans


def label_sections(score, min_repeat_bars=2, bars_per_section=4, cadence_quarters=2):
    """A copy of ``score`` with section markers at bar starts (markers it already has are kept).

    Args:
        score: a :class:`~musickit.music.score.Score`.
        min_repeat_bars: shortest repeated run that counts as a repeat.
        bars_per_section: section length phrase segmentation aims for.
        cadence_quarters: a bar whose last onset is held this long ends a phrase.

    Returns:
        The labelled copy; ``metadata["section_method"]`` says how
        (``"markers"``, ``"notation"``, ``"repeats"``, ``"phrases"``), ``metadata["sections"]``
        lists ``(label, start_seconds)``.
    """
    labelled = score.copy()
    existing = [marker for marker in score.markers if marker.text.strip().upper()[:1] in SECTION_LETTERS]
    if existing:
        labelled.metadata["section_method"] = "markers"
        labelled.metadata["sections"] = [(marker.text, marker.time) for marker in existing]
        return labelled
    quantized = quantize(score, STEPS_PER_QUARTER)
    if not quantized.notes:
        labelled.metadata["section_method"] = "none"
        labelled.metadata["sections"] = []
        return labelled
    signatures, starts = bar_signatures(quantized)
    # A pickup bar (shorter than a full bar) belongs to what follows; leave it out of the comparison.
    offset = 1 if quantized.metadata.get("pickup_quarters") and len(starts) > 1 else 0
    notated = _notated_bars(score, starts, offset)
    if notated:
        spans = _sections_from_notation(signatures, notated, offset)  # bar indices count the pickup already
        method = "notation"
    else:
        repeat = find_repeat(signatures[offset:], min_repeat_bars)
        if repeat is not None:
            spans = _sections_from_repeat(repeat, len(starts) - offset)
            method = "repeats"
        else:
            spans = _sections_from_phrases(quantized, starts[offset:], bars_per_section, cadence_quarters)
            method = "phrases"
        spans = [(bar + offset, label) for bar, label in spans]
    if offset:
        spans[0] = (0, spans[0][1])  # the pickup opens the first section
    to_seconds = score.quarters_to_seconds
    markers = [Marker(to_seconds(starts[bar] / STEPS_PER_QUARTER), label) for bar, label in spans]
    labelled.markers = sorted(list(score.markers) + markers, key=lambda marker: marker.time)
    labelled.metadata["section_method"] = method
    labelled.metadata["sections"] = [(marker.text, marker.time) for marker in markers]
    return labelled
