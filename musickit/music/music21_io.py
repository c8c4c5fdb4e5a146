"""Conversion from music21 streams (the offline corpora) to :class:`Score`."""

from musickit.music.keys import PITCH_CLASS_NAMES, parse_key
from musickit.music.score import DEFAULT_QPM, KeySignature, Note, Score, TempoChange, TimeSignature

DEFAULT_VELOCITY = 90
# music21 barline types that close a section ("double" is light-light, "final" light-heavy).
SECTION_BARLINE_TYPES = frozenset({"double", "final", "heavy-light", "heavy-heavy"})


def from_music21(stream, style=None, qpm=None):
    """Convert a music21 score or part into a :class:`Score`.

    Tied notes are merged (in ``stream`` itself, which saves a deep copy that
    would cost most of the conversion time: pass ``stream.coreCopyAsDerivation``
    or a re-parsed score if you need the ties kept), chords become one note per
    pitch, each part becomes one instrument. Metronome marks become tempo changes; without any, the
    piece is played at ``qpm`` (default 120).

    Section boundaries the notation marks inside the piece (double bars,
    repeat signs; see :func:`notated_boundaries`) go to
    ``metadata["notated_boundaries"]`` in seconds, where the first part has any.

    Example:

    >>> from music21 import corpus  # doctest: +SKIP
    >>> score = from_music21(corpus.parse("bach/bwv66.6"), style="bach")  # doctest: +SKIP
    >>> score.metadata["style"]  # doctest: +SKIP
    'bach'
    """
    from music21 import key as music21_key
    from music21 import meter, tempo

    flat = stream.flatten()
    # Each part repeats the same metronome marks; keep one per offset.
    marks = sorted(
        {
            float(mark.offset): float(mark.getQuarterBPM()) for mark in flat.getElementsByClass(tempo.MetronomeMark)
        }.items()
    )
    if qpm is not None or not marks:
        marks = [(0.0, float(qpm or DEFAULT_QPM))]
    elif marks[0][0] > 0:
        marks.insert(0, (0.0, marks[0][1]))
    # Notes, signatures and tempos are all placed with this quarter -> seconds map.
    tempos = [TempoChange(_quarters_to_seconds(marks, quarters), bpm) for quarters, bpm in marks]

    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    notes = []
    for index, part in enumerate(parts):
        program = 0
        instrument = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        if instrument is not None and instrument.midiProgram is not None:
            program = int(instrument.midiProgram)
        # In place: music21 would otherwise deep-copy the part, 85% of the conversion time.
        part.stripTies(inPlace=True)
        for element in part.flatten().notes:
            start = float(element.offset)
            end = start + float(element.quarterLength)
            velocity = element.volume.velocity if element.volume.velocity is not None else DEFAULT_VELOCITY
            for pitch in element.pitches:
                notes.append(
                    Note(
                        pitch=int(pitch.midi),
                        velocity=int(velocity),
                        start=_quarters_to_seconds(marks, start),
                        end=_quarters_to_seconds(marks, end),
                        program=program,
                        instrument=index,
                    )
                )
    notes.sort(key=lambda note: (note.start, note.pitch))

    time_signatures = []
    for signature in flat.getElementsByClass(meter.TimeSignature):
        time = _quarters_to_seconds(marks, float(signature.offset))
        if not time_signatures or time_signatures[-1].time != time:
            time_signatures.append(TimeSignature(time, int(signature.numerator), int(signature.denominator)))
    key_signatures = []
    for signature in flat.getElementsByClass(music21_key.KeySignature):
        key_object = signature if isinstance(signature, music21_key.Key) else signature.asKey("major")
        if key_object.mode not in ("major", "minor"):
            # Modal keys (E dorian, G mixolydian) keep their key signature: name it by its major key.
            key_object = music21_key.KeySignature(key_object.sharps).asKey("major")
        tonic = key_object.tonic.name.replace("-", "b")
        name = f"{tonic} {key_object.mode}"
        time = _quarters_to_seconds(marks, float(signature.offset))
        if not key_signatures or key_signatures[-1].time != time:
            key_signatures.append(KeySignature(time, _simplify_key(name)))

    metadata = {}
    if style:
        metadata["style"] = style
    if stream.metadata is not None and stream.metadata.title:
        metadata["title"] = str(stream.metadata.title)
    pickup = _pickup_quarters(parts[0]) if parts else 0.0
    if pickup:
        metadata["pickup_quarters"] = pickup
    boundaries = notated_boundaries(parts[0]) if parts else []
    if boundaries:
        metadata["notated_boundaries"] = [_quarters_to_seconds(marks, quarters) for quarters in boundaries]
    return Score(
        notes=notes,
        tempos=tempos,
        time_signatures=time_signatures,
        key_signatures=key_signatures,
        metadata=metadata,
    )


def notated_boundaries(part):
    """Offsets in quarters where ``part``'s notation marks a section boundary inside the piece.

    A boundary is a repeat sign (``bar.Repeat``, either direction) or a barline
    whose style separates sections: double (light-light), light-heavy,
    heavy-light or heavy-heavy. A right barline marks the end of its measure,
    a left one its start. The piece's own start and end are not boundaries
    (the final light-heavy barline closes every chorale), and one pass over
    the part's measures suffices because every part carries the same barlines.

    Example:

    >>> from music21 import bar, note, stream
    >>> part = stream.Part()
    >>> for number in range(1, 5):
    ...     measure = stream.Measure(number=number)
    ...     measure.append(note.Note("C4", quarterLength=4.0))
    ...     part.append(measure)
    >>> part.getElementsByClass("Measure")[1].rightBarline = bar.Repeat(direction="end")
    >>> part.getElementsByClass("Measure")[3].rightBarline = bar.Barline("final")
    >>> notated_boundaries(part)
    [8.0]
    """
    from music21 import bar

    measures = part.getElementsByClass("Measure")
    if not measures:
        return []
    end = float(measures.last().offset + measures.last().duration.quarterLength)
    found = set()
    for measure in measures:
        start = float(measure.offset)
        for barline, position in (
            (measure.leftBarline, start),
            (measure.rightBarline, start + float(measure.duration.quarterLength)),
        ):
            if barline is None:
                continue
            # A repeat sign is a boundary whatever its drawn style (music21 gives end repeats type "final").
            if isinstance(barline, bar.Repeat) or barline.type in SECTION_BARLINE_TYPES:
                if 0.0 < position < end:
                    found.add(position)
    return sorted(found)


def _quarters_to_seconds(marks, position):
    seconds, previous_quarters, previous_bpm = 0.0, 0.0, marks[0][1]
    for quarters, bpm in marks:
        if quarters > position:
            break
        seconds += (quarters - previous_quarters) * 60.0 / previous_bpm
        previous_quarters, previous_bpm = quarters, bpm
    return seconds + (position - previous_quarters) * 60.0 / previous_bpm


def _simplify_key(name):
    tonic, mode = parse_key(name)
    return f"{PITCH_CLASS_NAMES[tonic]} {mode}"


def _pickup_quarters(part):
    """Length of an anacrusis (a first bar shorter than its time signature), in quarters."""
    measures = list(part.getElementsByClass("Measure"))
    if not measures:
        return 0.0
    first = measures[0]
    bar = first.barDuration.quarterLength if first.barDuration is not None else 0.0
    filled = first.duration.quarterLength
    return float(filled) if 0 < filled < bar else 0.0
