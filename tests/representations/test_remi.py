import itertools

import numpy as np
import pytest
from bach_corpus import bach_scores
from conftest import make_notes, make_score

from musickit.errors import UsageError
from musickit.music import Marker, Score, TempoChange, TimeSignature, quantize
from musickit.representations.loading import load_representation
from musickit.representations.remi import REMITokenizer

# At 120 qpm and 4 steps per quarter one step is 0.125 s; velocity 90 is the middle of bin 22.
STEP = 0.125


def tokens(tokenizer, ids):
    return [tokenizer.id_to_token(index) for index in ids]


def notes_of(score, digits=9):
    return sorted(
        (n.pitch, n.velocity, round(n.start, digits), round(n.end, digits), n.program, n.is_drum) for n in score.notes
    )


def test_hand_computed_tokens_for_one_bar():
    score = make_score([(60, 90, 0.0, 4 * STEP), (64, 90, 0.0, 2 * STEP), (67, 127, 6 * STEP, 7 * STEP)])
    tokenizer = REMITokenizer()
    ids = tokenizer.encode(score)
    assert ids.dtype == np.int32
    assert tokens(tokenizer, ids) == [
        "Bar",
        "TimeSignature_4/4",
        "Position_0",
        "Tempo_120",
        "Program_0",
        "Pitch_60",
        "Velocity_22",
        "Duration_4",
        "Pitch_64",
        "Velocity_22",
        "Duration_2",
        "Position_6",
        "Program_0",
        "Pitch_67",
        "Velocity_31",
        "Duration_1",
    ]
    decoded = tokenizer.decode(ids)
    assert notes_of(decoded) == [
        (60, 90, 0.0, 0.5, 0, False),
        (64, 90, 0.0, 0.25, 0, False),
        (67, 126, 0.75, 0.875, 0, False),
    ]


def test_three_four_time_with_tempo_change_and_empty_bar_round_trips_exactly():
    # 3/4 at 120 qpm; from bar 3 (quarter 6 = 3.0 s) the tempo drops to 60 qpm (a quarter per second).
    score = make_score([(60, 90, 0.0, 1.5), (62, 90, 1.0, 1.5), (64, 90, 3.0, 4.0), (65, 90, 4.5, 5.0)], numerator=3)
    score.tempos.append(TempoChange(3.0, 60.0))
    tokenizer = REMITokenizer()
    assert tokens(tokenizer, tokenizer.encode(score)) == [
        "Bar",
        "TimeSignature_3/4",
        "Position_0",
        "Tempo_120",
        "Program_0",
        "Pitch_60",
        "Velocity_22",
        "Duration_12",
        "Position_8",
        "Program_0",
        "Pitch_62",
        "Velocity_22",
        "Duration_4",
        "Bar",  # empty
        "Bar",
        "Position_0",
        "Tempo_60",
        "Program_0",
        "Pitch_64",
        "Velocity_22",
        "Duration_4",
        "Position_6",
        "Program_0",
        "Pitch_65",
        "Velocity_22",
        "Duration_2",
    ]
    decoded = tokenizer.decode(tokenizer.encode(score))
    assert notes_of(decoded) == notes_of(score)
    assert decoded.tempos == [TempoChange(0.0, 120.0), TempoChange(3.0, 60.0)]
    assert decoded.time_signatures == [TimeSignature(0.0, 3, 4)]


def test_time_signature_change_and_tempo_between_notes():
    # From 2.5 s a quarter lasts 0.6 s, so the second note lasts 1 + 2 quarters.
    score = make_score([(60, 90, 0.0, 2.0), (62, 90, 2.0, 3.7)])
    score.time_signatures.append(TimeSignature(2.0, 3, 4))  # bar 2 is in 3/4
    score.tempos.append(TempoChange(2.5, 100.0))  # mid-bar, with no note starting there
    tokenizer = REMITokenizer()
    ids = tokenizer.encode(score)
    assert tokens(tokenizer, ids)[8:] == [
        "Bar",
        "TimeSignature_3/4",
        "Position_0",
        "Program_0",
        "Pitch_62",
        "Velocity_22",
        "Duration_12",
        "Position_4",
        "Tempo_100",
    ]
    decoded = tokenizer.decode(ids)
    assert notes_of(decoded) == notes_of(score)
    assert decoded.tempos == [TempoChange(0.0, 120.0), TempoChange(2.5, 100.0)]
    assert decoded.time_signatures == [TimeSignature(0.0, 4, 4), TimeSignature(2.0, 3, 4)]


def test_bar_cut_short_by_a_signature_change_is_renamed_to_its_length():
    # Bar 2 (from 2 s) is cut after two quarters by a change to 3/4 at 3 s.
    score = make_score([(60, 90, 0.0, 0.5), (62, 90, 2.0, 2.5), (64, 90, 3.0, 3.5), (65, 90, 4.5, 5.0)])
    score.time_signatures.append(TimeSignature(3.0, 3, 4))
    tokenizer = REMITokenizer()
    ids, counts = tokenizer.encode_with_counts(score)
    names = tokens(tokenizer, ids)
    assert [name for name in names if name == "Bar" or name.startswith("TimeSignature")] == [
        "Bar",
        "TimeSignature_4/4",
        "Bar",
        "TimeSignature_2/4",
        "Bar",
        "TimeSignature_3/4",
        "Bar",
    ]
    assert counts["short_bars_renamed"] == 1
    decoded = tokenizer.decode(ids)
    assert notes_of(decoded) == notes_of(score)
    assert [(s.time, s.numerator) for s in decoded.time_signatures] == [(0.0, 4), (2.0, 2), (3.0, 3)]


def test_programs_and_drums_at_one_position():
    score = Score(
        notes=make_notes([(48, 90, 0.0, 0.5)], program=32, instrument=1)
        + make_notes([(60, 90, 0.0, 0.5), (64, 90, 0.0, 0.5)], program=0)
        + make_notes([(36, 90, 0.0, 0.125)], is_drum=True, instrument=2),
        tempos=[TempoChange(0.0, 120.0)],
    )
    tokenizer = REMITokenizer()
    assert tokens(tokenizer, tokenizer.encode(score))[4:] == [
        "Program_0",
        "Pitch_60",
        "Velocity_22",
        "Duration_4",
        "Pitch_64",
        "Velocity_22",
        "Duration_4",
        "Program_32",
        "Pitch_48",
        "Velocity_22",
        "Duration_4",
        "Program_drums",
        "Pitch_36",
        "Velocity_22",
        "Duration_1",
    ]
    assert notes_of(tokenizer.decode(tokenizer.encode(score))) == notes_of(score)

    without_programs = REMITokenizer(use_programs=False)
    ids, counts = without_programs.encode_with_counts(score)
    assert "Program" not in without_programs.token_ranges
    assert counts["drum_notes_excluded"] == 1
    assert [(n.pitch, n.program) for n in without_programs.decode(ids).notes] == [(48, 0), (60, 0), (64, 0)]


def test_sections_style_and_emotion_round_trip():
    score = make_score([(60, 90, 0.0, 2.0), (62, 90, 2.0, 4.0), (64, 90, 4.0, 6.0)], style="bach", emotion="calm")
    score.markers = [Marker(0.0, "A"), Marker(2.5, "B"), Marker(4.0, "A"), Marker(4.0, "verse")]
    tokenizer = REMITokenizer()
    ids, counts = tokenizer.encode_with_counts(score)
    names = tokens(tokenizer, ids)
    assert names[:4] == ["STYLE_bach", "EMOTION_calm", "SECTION_A", "Bar"]
    assert names[11:16] == ["SECTION_B", "Bar", "Position_0", "Program_0", "Pitch_62"]  # just before bar 2
    assert counts["markers_ignored"] == 1
    decoded = tokenizer.decode(ids)
    # A marker inside a bar comes back at the start of its bar.
    assert [(marker.time, marker.text) for marker in decoded.markers] == [(0.0, "A"), (2.0, "B"), (4.0, "A")]
    assert decoded.metadata == {"style": "bach", "emotion": "calm"}


def test_pickup_fills_the_end_of_a_full_first_bar():
    score = make_score([(67, 90, 0.0, 0.5), (72, 90, 0.5, 2.5)], pickup_quarters=1.0)
    tokenizer = REMITokenizer()
    assert tokens(tokenizer, tokenizer.encode(score)) == [
        "Bar",
        "TimeSignature_4/4",
        "Position_0",
        "Tempo_120",
        "Position_12",
        "Program_0",
        "Pitch_67",
        "Velocity_22",
        "Duration_4",
        "Bar",
        "Position_0",
        "Program_0",
        "Pitch_72",
        "Velocity_22",
        "Duration_16",
    ]
    decoded = tokenizer.decode(tokenizer.encode(score))
    assert [(n.pitch, n.start, n.end) for n in decoded.notes] == [(67, 1.5, 2.0), (72, 2.0, 4.0)]


def test_counts_and_limits():
    score = make_score([(10, 90, 0.0, 0.5), (60, 90, 0.0, 10.0), (62, 90, 0.5, 0.5)])
    tokenizer = REMITokenizer(max_duration_quarters=4)
    ids, counts = tokenizer.encode_with_counts(score)
    assert counts == {
        "notes": 3,
        "drum_notes_excluded": 0,
        "out_of_range_notes_dropped": 1,
        "lengthened_zero_length_notes": 1,
        "long_notes_shortened": 1,
        "markers_ignored": 0,
        "short_bars_renamed": 0,
        "short_bars_unmatched": 0,
    }
    assert [(n.pitch, n.end - n.start) for n in tokenizer.decode(ids).notes] == [(60, 2.0), (62, 0.125)]


def test_unisons_merge_into_the_longer_note_per_instrument():
    # Two voices on A3 at beat 0 (a quarter and a half), C4 with them, A3 again at beat 2.
    score = make_score([(57, 90, 0.0, 0.5), (57, 90, 0.0, 1.0), (60, 90, 0.0, 0.5), (57, 90, 1.0, 1.5)])
    merging = REMITokenizer(num_velocity_bins=0, use_programs=False, merge_unisons=True)
    ids, counts = merging.encode_with_counts(score)
    assert counts["unisons_merged"] == 1
    notes = sorted((n.pitch, n.start, n.end) for n in merging.decode(ids).notes)
    assert notes == [(57, 0.0, 1.0), (57, 1.0, 1.5), (60, 0.0, 0.5)]
    assert REMITokenizer.from_config(merging.get_config()).merge_unisons
    kept = REMITokenizer(num_velocity_bins=0, use_programs=False)  # the default writes both voices
    assert sum(n.pitch == 57 for n in kept.decode(kept.encode(score)).notes) == 3


def test_vocabulary_accessors():
    tokenizer = REMITokenizer()
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.mask_id) == (0, 1, 2, 3)
    assert (tokenizer.prompt_start_id, tokenizer.prompt_end_id) == (4, 5)
    assert [tokenizer.id_to_token(tokenizer.section_token_id(name)) for name in "ABCD"] == [
        "SECTION_A",
        "SECTION_B",
        "SECTION_C",
        "SECTION_D",
    ]
    assert {"STYLE_bach", "STYLE_essen", "STYLE_ryans", "STYLE_palestrina"} <= set(tokenizer._ids)
    assert tokenizer.token_type(tokenizer.style_token_id("bach")) == "STYLE"
    assert tokenizer.token_type(tokenizer.emotion_token_id("sad")) == "EMOTION"
    assert tokenizer.token_type(tokenizer.pad_id) == "PAD"
    assert tokenizer.token_type(tokenizer.bar_id) == "Bar"
    pitches = tokenizer.pitch_token_ids()
    assert len(pitches) == 88 and pitches[tokenizer.token_to_id("Pitch_60")] == 60
    table = tokenizer.token_pitches()
    assert table.shape == (tokenizer.vocabulary_size,) and (table >= 0).sum() == 88
    assert table[tokenizer.token_to_id("Pitch_108")] == 108 and table[tokenizer.bar_id] == -1
    assert len(tokenizer.token_ids("Position")) == 32  # 8/4 and 4/2 bars: 8 quarters
    assert len(tokenizer.token_ids("Duration")) == 64  # up to 16 quarters
    assert tokenizer.id_to_token(tokenizer.tempo_token_id(97.0)) == "Tempo_96"
    assert tokenizer.id_to_token(tokenizer.time_signature_token_id(6, 8)) == "TimeSignature_6/8"
    families = ["Bar", "Position", "Pitch", "Velocity", "Duration", "Tempo", "TimeSignature", "Program"]
    assert list(tokenizer.token_ranges) == families
    ranges = list(tokenizer.token_ranges.values())
    assert ranges[-1][1] == tokenizer.vocabulary_size
    assert all(previous[1] == following[0] for previous, following in itertools.pairwise(ranges))
    with pytest.raises(UsageError, match="unknown REMI token"):
        tokenizer.style_token_id("jazz")


def test_decode_tolerates_model_mistakes():
    tokenizer = REMITokenizer()
    t = tokenizer.token_to_id
    ids = [
        tokenizer.bos_id,
        t("Position_2"),
        t("Pitch_60"),  # no Bar yet, no Velocity, no Duration
        tokenizer.pad_id,
        t("Bar"),
        t("Position_4"),
        t("Pitch_62"),
        t("Duration_2"),
        t("Velocity_5"),  # a Velocity with no note waiting is ignored
        tokenizer.eos_id,
        t("Pitch_64"),
        t("Duration_1"),
    ]
    decoded = tokenizer.decode(ids, velocity=70)
    expected = [(60, 70, 0.25, 0.375), (62, 70, 0.5, 0.75)]
    assert [(n.pitch, n.velocity, n.start, n.end) for n in decoded.notes] == expected
    with pytest.raises(UsageError, match="outside this vocabulary"):
        tokenizer.decode([tokenizer.vocabulary_size])


def test_bad_input_raises_usage_errors():
    score = make_score([(60, 90, 0.0, 0.5)], numerator=7, denominator=16)
    with pytest.raises(UsageError, match="time signature 7/16"):
        REMITokenizer().encode(score)
    sixteenths = REMITokenizer(time_signatures=["7/16"])
    assert "TimeSignature_7/16" in tokens(sixteenths, sixteenths.encode(score))
    with pytest.raises(UsageError, match="should look like"):
        REMITokenizer(time_signatures=["four"])
    with pytest.raises(UsageError, match="steps per quarter"):
        REMITokenizer().encode(quantize(score, 8))
    with pytest.raises(UsageError, match="musickit Score"):
        REMITokenizer().encode("song.mid")


def test_config_and_json_round_trip(tmp_path):
    tokenizer = REMITokenizer(steps_per_quarter=8, styles=["mozart"], emotions=[], time_signatures=["4/4", "3/4"])
    assert REMITokenizer.from_config(tokenizer.get_config()) == tokenizer
    tokenizer.save(tmp_path / "tokenizer.json")
    loaded = load_representation(tmp_path / "tokenizer.json")
    assert loaded == tokenizer and loaded.vocabulary_size == tokenizer.vocabulary_size
    assert loaded.style_token_id("mozart") == tokenizer.style_token_id("mozart")


@pytest.mark.slow
def test_bach_corpus_round_trip():
    tokenizer = REMITokenizer()
    for name, score in bach_scores():
        grid_aligned = quantize(score, tokenizer.steps_per_quarter)
        ids = tokenizer.encode(grid_aligned)
        decoded = tokenizer.decode_quantized(ids)
        # Decoding starts a pickup piece with the rest that fills its first bar.
        pickup_steps = round(score.metadata.get("pickup_quarters", 0) * tokenizer.steps_per_quarter)
        offset = grid_aligned.steps_per_bar_at(0) - pickup_steps if pickup_steps else 0
        expected = [(n.pitch, n.velocity, n.start_step + offset, n.end_step + offset) for n in grid_aligned.notes]
        got = [(n.pitch, n.velocity, n.start_step, n.end_step) for n in decoded.notes]
        assert sorted(got) == sorted(expected), name
        np.testing.assert_array_equal(tokenizer.encode(tokenizer.decode(ids)), ids, err_msg=name)


def test_without_velocity_tokens_a_note_is_pitch_and_duration():
    # Two bars of 4/4 at 120 qpm: a C major chord whose C is held over the bar line, then a unison D.
    score = make_score(
        [
            (60, 90, 0.0, 24 * STEP),
            (64, 90, 0.0, 4 * STEP),
            (67, 90, 0.0, 4 * STEP),
            (62, 90, 18 * STEP, 20 * STEP),
            (62, 90, 18 * STEP, 22 * STEP),
        ]
    )
    tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
    assert tokenizer.note_order == ("pitch", "duration") and len(tokenizer.token_ids("Velocity")) == 0
    ids = tokenizer.encode(score)
    assert tokens(tokenizer, ids) == [
        "Bar",
        "TimeSignature_4/4",
        "Position_0",
        "Tempo_120",
        "Pitch_60",
        "Duration_24",
        "Pitch_64",
        "Duration_4",
        "Pitch_67",
        "Duration_4",
        "Bar",
        "Position_2",
        "Pitch_62",
        "Duration_2",
        "Pitch_62",
        "Duration_4",
    ]
    # Every note comes back, the held C and the unison pair included (duplicates are the score's, not the decoder's).
    assert notes_of(tokenizer.decode(ids)) == notes_of(score)
    assert notes_of(tokenizer.decode(ids, velocity=70))[0][1] == 70
    with pytest.raises(UsageError, match="num_velocity_bins"):
        REMITokenizer(num_velocity_bins=-1)


def test_hand_built_stream_decodes_to_the_notes_it_states():
    # What a model may write: 3/4 bars, a note held over two bar lines, an empty bar, a Pitch missing its Duration.
    tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
    names = [
        "STYLE_bach",
        "Bar",
        "TimeSignature_3/4",
        "Position_0",
        "Pitch_48",
        "Duration_30",
        "Pitch_67",
        "Duration_4",
        "Position_4",
        "Pitch_65",
        "Duration_8",
        "Bar",
        "Position_0",
        "Pitch_64",
        "Duration_12",
        "Bar",  # empty apart from the held C3
        "Bar",
        "Position_6",
        "Pitch_60",
        "Position_8",
        "Pitch_62",
        "Duration_2",
    ]
    quantized = tokenizer.decode_quantized([tokenizer.token_to_id(name) for name in names])
    # (pitch, start step, end step): bars start at steps 0, 12, 24, 36 (3/4 is 12 sixteenths).
    assert [(n.pitch, n.start_step, n.end_step) for n in quantized.notes] == [
        (48, 0, 30),
        (67, 0, 4),
        (65, 4, 12),
        (64, 12, 24),
        (60, 42, 43),
        (62, 44, 46),
    ]
    assert quantized.time_signatures == [(0, 3, 4)] and quantized.metadata == {"style": "bach"}


def test_notes_end_where_the_next_section_begins():
    from musickit.representations.remi_decoding import end_notes_at_sections

    tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
    # A: a whole note and a note held for 2 bars from beat 3; B (from bar 2): one quarter note; the end.
    names = ["SECTION_A", "Bar", "Position_0", "Pitch_60", "Duration_16", "Position_8", "Pitch_64", "Duration_32"]
    names += ["SECTION_B", "Bar", "Position_0", "Pitch_67", "Duration_4", "EOS"]
    ids = [tokenizer.token_to_id(name) for name in names]
    ended = end_notes_at_sections(tokenizer, ids)
    changed = [(names[i], tokenizer.id_to_token(ended[i])) for i in range(len(ids)) if ended[i] != ids[i]]
    assert changed == [("Duration_32", "Duration_8")]  # only the note crossing into B: beat 3 to the bar line
    score = tokenizer.decode_quantized(ended)
    assert [(n.pitch, n.start_step, n.end_step) for n in score.notes] == [(60, 0, 16), (64, 8, 16), (67, 16, 20)]
    assert end_notes_at_sections(tokenizer, ids[:8]) == ids[:8]  # no later section: nothing to end
