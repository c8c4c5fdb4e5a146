"""Writing REMI+ ids bar by bar, from a piece's timed events (:mod:`~musickit.representations.remi_timeline`).

:meth:`REMITokenizer.encode_with_counts <musickit.representations.remi.REMITokenizer.encode_with_counts>`
turns notes, tempos, markers and signatures into ``(step, ids)`` events and
calls :func:`bar_tokens`; it is a function of its own, as
:func:`~musickit.representations.remi_decoding.read_remi` is, so that the
tokenizer module stays about the vocabulary and the events.

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
>>> notes = [(4, None, [tokenizer.token_to_id("Pitch_60"), tokenizer.token_to_id("Duration_2")])]
>>> ids = bar_tokens(tokenizer, [0], [(0, (4, 4))], [], notes, [], dict.fromkeys(("short_bars_renamed",), 0))
>>> [tokenizer.id_to_token(index) for index in ids]
['Bar', 'TimeSignature_4/4', 'Position_4', 'Pitch_60', 'Duration_2']
"""

import bisect

import numpy as np

from musickit.errors import UsageError


def bar_tokens(tokenizer, bars, signatures, markers, notes, tempos, counts):
    """Every bar: its sections, ``Bar``, a TimeSignature where the metre changes, then its positions."""
    ids, previous_signature = [], None
    signature_steps = [step for step, _ in signatures]  # bisect: a Python list search, bar by bar
    ends = bars[1:] + [float("inf")]
    marker_cuts = np.searchsorted([step for step, _ in markers], ends).tolist()
    note_cuts = np.searchsorted([step for step, _, _ in notes], ends).tolist()
    tempo_cuts = np.searchsorted([step for step, _ in tempos], ends).tolist()
    marker_from = note_from = tempo_from = 0
    for number, (bar_start, bar_end) in enumerate(zip(bars, ends)):
        ids += [token for _, token in markers[marker_from : marker_cuts[number]]]
        ids.append(tokenizer.bar_id)
        signature = bar_signature(tokenizer, bar_start, bar_end, signatures, signature_steps, counts)
        if signature != previous_signature:
            if signature not in tokenizer.time_signature_ids:
                raise UsageError(
                    f"time signature {signature[0]}/{signature[1]} (bar {number + 1}) is not in this "
                    f"tokenizer's vocabulary; add it with REMITokenizer(time_signatures=[...])"
                )
            ids.append(tokenizer.time_signature_ids[signature])
            previous_signature = signature
        ids += position_tokens(
            tokenizer, bar_start, notes[note_from : note_cuts[number]], tempos[tempo_from : tempo_cuts[number]]
        )
        marker_from, note_from, tempo_from = marker_cuts[number], note_cuts[number], tempo_cuts[number]
    return ids


def bar_signature(tokenizer, bar_start, bar_end, signatures, signature_steps, counts):
    """The signature a bar is written with: the one in force, or, for a bar a signature change cut short,
    one of its real length, so decoding keeps every later note in place."""
    index = bisect.bisect_right(signature_steps, bar_start) - 1
    signature = signatures[index][1] if index >= 0 else (4, 4)
    if bar_end - bar_start < tokenizer.bar_steps(*signature):
        renamed = tokenizer.signature_for_length.get(bar_end - bar_start)
        if renamed:
            counts["short_bars_renamed"] += 1
            return renamed
        counts["short_bars_unmatched"] += 1
    return signature


def position_tokens(tokenizer, bar_start, notes, tempos):
    """One bar's ``Position [Tempo] ([Program] note ids)*`` for every step with a tempo or note onsets;
    a Program token opens a position and marks each change of program there."""
    ids, tempo_at = [], dict(tempos)
    steps = sorted(tempo_at.keys() | {step for step, _, _ in notes})
    number = 0
    for step in steps:
        ids.append(tokenizer.position_offset + step - bar_start)
        if step in tempo_at:
            ids.append(tempo_at[step])
        program = None
        while number < len(notes) and notes[number][0] == step:
            _, note_program, note_ids = notes[number]
            if note_program is not None and note_program != program:
                program = note_program
                ids.append(program)
            ids += note_ids
            number += 1
    return ids
