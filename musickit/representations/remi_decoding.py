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
