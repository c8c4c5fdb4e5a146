"""Reading REMI+ ids back into a quantized piece, from the tokenizer's grammar (kinds and values per id).

:meth:`REMITokenizer.decode_quantized <musickit.representations.remi.REMITokenizer.decode_quantized>`
calls :func:`read_remi`; it is a function of its own so that the tokenizer
module stays about the vocabulary and the encoding.

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
>>> names = ["Bar", "Position_4", "Pitch_60", "Duration_2"]
>>> [(n.pitch, n.start_step, n.end_step) for n in read_remi(tokenizer, [tokenizer.token_to_id(t) for t in names]).notes]
[(60, 4, 6)]
"""

import numpy as np

from musickit.errors import UsageError
from musickit.music.quantization import QuantizedNote, QuantizedScore
from musickit.music.score import SECTION_LETTERS
from musickit.representations.remi_timeline import DRUM_PROGRAM, last_per_step


def read_remi(tokenizer, ids, velocity=90):
    """The :class:`QuantizedScore` that the ids of ``tokenizer`` state.

    Model output need not be perfectly formed: a Pitch without a Velocity
    gets ``velocity``, one without a Duration lasts one step, a Position
    before any Bar counts from the start of the piece; ``PAD``, ``BOS``,
    ``MASK`` and the prompt brackets are skipped and ``EOS`` ends the piece.
    """
    ids = np.asarray(ids).reshape(-1).tolist()
    grammar = tokenizer.grammar
    kinds, values = grammar.kinds, grammar.values.tolist()
    size, eos_id = grammar.vocabulary_size, tokenizer.eos_id
    first_signature = grammar.ranges["time_signature"][0]
    bar_start, bar_steps, started = 0, tokenizer.bar_steps(4, 4), False
    step, program, is_drum = 0, 0, False
    notes, tempos, signatures, markers, metadata = [], [], [], [], {}
    pending = None  # [pitch, velocity, start, program, is_drum] of a note awaiting its Duration

    def finish(duration):
        pitch, note_velocity, start, note_program, note_is_drum = pending
        notes.append(QuantizedNote(pitch, note_velocity, start, start + duration, note_program, note_is_drum))

    for index in ids:
        if not 0 <= index < size:
            raise UsageError(f"token id {index} is outside this vocabulary of {size} ids")
        kind, value = kinds[index], values[index]
        if kind == "duration":
            if pending is not None:
                finish(value)
                pending = None
            continue
        if kind == "velocity":
            if pending is not None:
                pending[1] = tokenizer.velocity_bins.velocity_of(value)
            continue
        if pending is not None:
            finish(1)
            pending = None
        if kind == "pitch":
            pending = [value, int(velocity), step, program, is_drum]
        elif kind == "position":
            step = bar_start + value
        elif kind == "program":
            program, is_drum = (0, True) if value == DRUM_PROGRAM else (value, False)
        elif kind == "bar":
            if started:
                bar_start += bar_steps
            started, step = True, bar_start
        elif kind == "time_signature":
            numerator, denominator = tokenizer.time_signatures[index - first_signature]
            signatures.append((bar_start, numerator, denominator))
            bar_steps = value
        elif kind == "tempo":
            tempos.append((step, float(tokenizer.tempo_values[value])))
        elif kind == "section":
            # The section begins with the Bar that follows its token.
            markers.append((bar_start + bar_steps if started else 0, SECTION_LETTERS[value]))
        elif kind == "style":
            metadata["style"] = tokenizer.styles[value]
        elif kind == "emotion":
            metadata["emotion"] = tokenizer.emotions[value]
        elif index == eos_id:
            break
    if pending is not None:
        finish(1)
    notes.sort(key=lambda note: (note.start_step, note.pitch, note.end_step))
    return QuantizedScore(
        notes=notes,
        steps_per_quarter=tokenizer.steps_per_quarter,
        total_steps=max((note.end_step for note in notes), default=0),
        tempos=last_per_step(tempos),
        time_signatures=[(step, n, d) for step, (n, d) in last_per_step((s, (n, d)) for s, n, d in signatures)],
        markers=markers,
        metadata=metadata,
    )


def end_notes_at_sections(tokenizer, ids):
    """``ids`` with every note's ``Duration`` shortened so that the note ends where the next section begins.

    A model writing in a form is stopped at a bar line, but the Durations of a section's last notes may
    reach past it and sound under the next section's first notes (five to seven notes at once where the
    music has four). Only Duration tokens change; sections start where :func:`read_remi` puts their
    markers (the bar line after the section token).

    >>> from musickit.representations.remi import REMITokenizer
    >>> tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
    >>> names = ["SECTION_A", "Bar", "Position_0", "Pitch_60", "Duration_32", "SECTION_B", "Bar", "Position_0",
    ...          "Pitch_62", "Duration_4"]
    >>> ids = end_notes_at_sections(tokenizer, [tokenizer.token_to_id(name) for name in names])
    >>> [tokenizer.id_to_token(i) for i in ids][4]  # two 4/4 bars cut to the one before section B
    'Duration_16'
    """
    ids = [int(index) for index in np.asarray(ids).reshape(-1)]
    grammar = tokenizer.grammar
    kinds, values = grammar.kinds, grammar.values.tolist()
    duration_ids = {values[index]: index for index in range(*grammar.ranges["duration"])}
    bar_start, bar_steps, started, step = 0, tokenizer.bar_steps(4, 4), False, 0
    section_starts, note_starts = [], {}  # note_starts: position of a Pitch token -> its start step
    for position, index in enumerate(ids):
        if index == tokenizer.eos_id:
            break
        kind, value = kinds[index], values[index]
        if kind == "position":
            step = bar_start + value
        elif kind == "bar":
            if started:
                bar_start += bar_steps
            started, step = True, bar_start
        elif kind == "time_signature":
            bar_steps = value
        elif kind == "section":
            section_starts.append(bar_start + bar_steps if started else 0)
        elif kind == "pitch":
            note_starts[position] = step
    ended = list(ids)
    for position, start in note_starts.items():
        later = [section for section in section_starts if section > start]
        duration_at = next(
            (p for p in range(position + 1, min(position + 3, len(ids))) if kinds[ids[p]] == "duration"), None
        )
        if not later or duration_at is None or start + values[ids[duration_at]] <= min(later):
            continue
        room = min(later) - start
        ended[duration_at] = duration_ids[max(value for value in duration_ids if value <= room)]
    return ended
