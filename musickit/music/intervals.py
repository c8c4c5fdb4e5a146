"""Intervals that the evaluator and the samplers treat alike.

A **semitone clash** is two keys sounding a minor second (1 semitone) or a
minor ninth (13 semitones) apart: the harshest dissonances, rare in the
chorales (about 4% of their sounding time), common in random notes (40%).
Wider dissonances (major sevenths, tritones) are part of ordinary
counterpoint and are not counted. :mod:`musickit.metrics.features` measures
clashes with these intervals and the samplers' ``clash_penalty`` avoids
them, so what is penalised is what is measured.

>>> from musickit.music.intervals import CLASH_INTERVALS
>>> abs(60 - 73) in CLASH_INTERVALS, abs(60 - 64) in CLASH_INTERVALS  # C and the C# above: clash; C-E: none
(True, False)
"""

CLASH_INTERVALS = (1, 13)
