"""Section boundaries read from the notation: double bars and repeat signs in music21 scores."""

import pytest
from music21 import bar, corpus, meter, note, stream, tempo

from musickit.data.sections import label_sections
from musickit.music.music21_io import from_music21
from tests.conftest import make_score


def _part(bars, qpm=90, pickup=None):
    """A 4/4 part at ``qpm`` with one measure per entry of ``bars`` (each a list of ``(pitch name, quarters)``).

    ``pickup`` is an optional opening measure of its own (an anacrusis).
    """
    part = stream.Part()
    contents = ([pickup] if pickup else []) + list(bars)
    for number, content in enumerate(contents, start=0 if pickup else 1):
        measure = stream.Measure(number=number)
        for name, quarters in content:
            measure.append(note.Note(name, quarterLength=quarters))
        part.append(measure)
    first = part.getElementsByClass("Measure").first()
    first.insert(0, meter.TimeSignature("4/4"))
    first.insert(0, tempo.MetronomeMark(number=qpm))
    if pickup:
        first.padAsAnacrusis()
    return part


def _measure(part, index):
    return part.getElementsByClass("Measure")[index]


WHOLE = [("C4", 4.0)]
RUN = [("D4", 1.0), ("E4", 1.0), ("F4", 1.0), ("G4", 1.0)]


def test_repeat_and_double_bar_become_boundaries_in_seconds():
    part = _part([WHOLE, RUN, WHOLE, RUN, WHOLE, RUN], qpm=90)
    _measure(part, 0).leftBarline = bar.Repeat(direction="start")  # at time 0: not a boundary
    _measure(part, 1).rightBarline = bar.Repeat(direction="end")  # after 8 quarters
    _measure(part, 3).rightBarline = bar.Barline("double")  # after 16 quarters
    _measure(part, 4).rightBarline = bar.Barline("regular")  # an ordinary bar line: ignored
    _measure(part, 5).rightBarline = bar.Barline("final")  # the end of the piece: not a boundary
    score = from_music21(part)
    # 90 quarters per minute: a quarter lasts 2/3 s.
    assert score.metadata["notated_boundaries"] == pytest.approx([8 * 60 / 90, 16 * 60 / 90])


def test_a_light_heavy_bar_inside_the_piece_counts_and_a_start_repeat_marks_its_measure_start():
    part = _part([WHOLE, RUN, WHOLE], qpm=60)
    _measure(part, 0).rightBarline = bar.Barline("final")  # light-heavy, but not the last one
    _measure(part, 2).leftBarline = bar.Repeat(direction="start")  # same place as the end of measure 2: once
    _measure(part, 1).rightBarline = bar.Barline("heavy-light")
    assert from_music21(part).metadata["notated_boundaries"] == pytest.approx([4.0, 8.0])


def test_pieces_without_section_barlines_have_no_boundaries():
    assert "notated_boundaries" not in from_music21(_part([WHOLE, RUN, WHOLE])).metadata


def test_pickup_and_an_upbeat_after_the_repeat_start_the_section_on_the_next_bar_line():
    # Chorale-style: a one-beat pickup, the repeat ends a three-beat measure, the next strain opens with an upbeat.
    part = _part([WHOLE, [("E4", 3.0)], [("F4", 1.0)], WHOLE, RUN], qpm=120, pickup=[("G3", 1.0)])
    _measure(part, 2).rightBarline = bar.Repeat(direction="end")
    score = from_music21(part)
    assert score.metadata["pickup_quarters"] == 1.0
    assert score.metadata["notated_boundaries"] == pytest.approx([4.0])  # 1 + 4 + 3 quarters at 0.5 s
    labelled = label_sections(score)
    assert labelled.metadata["section_method"] == "notation"
    # Bar lines of the score fall at 1, 5, 9 quarters: the upbeat at 8 goes with the first section.
    assert labelled.metadata["sections"] == [("A", 0.0), ("B", 4.5)]


def test_notated_sections_with_identical_bars_share_a_letter():
    part = _part([WHOLE, RUN, RUN, RUN, WHOLE, RUN], qpm=120)
    for index in (1, 3):
        _measure(part, index).rightBarline = bar.Barline("double")
    labelled = label_sections(from_music21(part))
    assert labelled.metadata["section_method"] == "notation"
    # Bars 0-1 and 4-5 are the same: A B A, with a bar lasting 2 s.
    assert [(marker.time, marker.text) for marker in labelled.markers] == [(0.0, "A"), (4.0, "B"), (8.0, "A")]


def test_more_than_four_notated_sections_fold_into_one_d():
    pitches = [60, 62, 64, 65, 67, 69]  # six different one-bar sections at 2 s a bar
    score = make_score(
        [(pitch, 80, 2.0 * index, 2.0 * index + 2.0) for index, pitch in enumerate(pitches)],
        notated_boundaries=[2.0, 4.0, 6.0, 8.0, 10.0],
    )
    labelled = label_sections(score)
    assert [marker.text for marker in labelled.markers] == ["A", "B", "C", "D"]
    assert labelled.markers[-1].time == 6.0


def test_boundaries_off_the_bar_grid_fall_back_to_repeats():
    # The same two bars twice; the only notated boundary sits mid-bar (3 s of a 2 s bar grid).
    pitches = [60, 62, 60, 62]
    score = make_score(
        [(pitch, 80, 2.0 * index, 2.0 * index + 2.0) for index, pitch in enumerate(pitches)], notated_boundaries=[3.0]
    )
    labelled = label_sections(score)
    assert labelled.metadata["section_method"] == "repeats"
    assert labelled.metadata["sections"] == [("A", 0.0), ("A", 4.0)]


def test_a_bach_chorale_with_a_repeat_sign_is_cut_there():
    # BWV 103.6: a one-beat pickup; the Stollen ends with an end-repeat after measure 4 (offset 13, three beats).
    score = from_music21(corpus.parse("bach/bwv103.6"))
    assert score.metadata["notated_boundaries"] == pytest.approx([8.0])  # 16 quarters at the default 120 qpm
    labelled = label_sections(score)
    assert labelled.metadata["section_method"] == "notation"
    assert labelled.metadata["sections"] == [("A", 0.0), ("B", 8.5)]  # the next bar line: 17 quarters
