"""Music Transformer run helpers: decoding generated ids to a score."""

from musickit.generation.transformer_run import decode_piece
from musickit.representations.remi import REMITokenizer


def test_a_piece_whose_first_tempo_comes_late_starts_at_time_zero():
    tokenizer = REMITokenizer()  # 4 steps per quarter
    names = ["Bar", "Position_0", "Pitch_60", "Velocity_22", "Duration_4",
             "Position_4", "Tempo_60", "Pitch_64", "Velocity_22", "Duration_4"]  # fmt: skip
    score = decode_piece(tokenizer, [tokenizer.token_to_id(name) for name in names])
    # The tempo set on beat 2 also holds for beat 1: one quarter at 60 qpm is one second.
    assert [(note.pitch, note.start, note.end) for note in score.notes] == [(60, 0.0, 1.0), (64, 1.0, 2.0)]
    assert (score.tempos[0].time, score.tempos[0].qpm) == (0.0, 60.0)
