"""Section slicing and labelling: pure functions over scores (musickit.music.sections)."""

from conftest import make_score

from musickit.music.score import Marker, TempoChange
from musickit.music.sections import label_sections, section_scores, slice_score


def test_section_scores_come_from_markers():
    score = make_score([(60, 90, 0.0, 1.0), (62, 90, 1.0, 2.0), (64, 90, 2.0, 3.0)])
    score.markers = [Marker(0.0, "A"), Marker(1.0, "Section B"), Marker(2.0, "verse"), Marker(2.0, "SECTION_A")]
    parts = section_scores(score)
    assert [label for label, _ in parts] == ["A", "B", "A"]
    assert [[(n.pitch, n.start, n.end) for n in part.notes] for _, part in parts] == [
        [(60, 0.0, 1.0)],
        [(62, 0.0, 1.0)],
        [(64, 0.0, 1.0)],
    ]
    assert section_scores(make_score([(60, 90, 0.0, 1.0)])) == []


def test_section_scores_fall_back_to_metadata_and_skip_other_labels():
    score = make_score([(60, 90, 0.0, 1.0), (62, 90, 1.0, 2.0)], sections=[("b", 1.0), ("A", 0.0), ("verse", 0.5)])
    parts = section_scores(score)
    assert [(label, [note.pitch for note in part.notes]) for label, part in parts] == [("A", [60]), ("B", [62])]


def test_a_slice_starts_at_zero_with_the_tempo_in_force_and_cuts_notes_at_its_end():
    score = make_score([(60, 90, 0.0, 1.5), (62, 90, 1.0, 3.0), (64, 90, 2.5, 3.0)])
    score.tempos = [TempoChange(0.0, 120.0), TempoChange(0.5, 60.0), TempoChange(2.0, 90.0)]
    score.markers = [Marker(1.0, "B")]
    part = slice_score(score, 1.0, 2.5)
    assert [(note.pitch, note.start, note.end) for note in part.notes] == [(62, 0.0, 1.5)]
    assert [(tempo.time, tempo.qpm) for tempo in part.tempos] == [(0.0, 60.0), (1.0, 90.0)]
    assert part.markers == [] and score.markers == [Marker(1.0, "B")]  # the original is untouched


def test_label_sections_marks_a_repeated_phrase_a_twice_and_section_scores_cuts_there():
    phrase = [(60 + i, 90, i * 0.5, i * 0.5 + 0.5) for i in range(8)]  # two bars at 120 qpm
    other = [(70 - i, 90, 4.0 + i * 0.5, 4.5 + i * 0.5) for i in range(4)]  # one bar
    again = [(pitch, velocity, start + 6.0, end + 6.0) for pitch, velocity, start, end in phrase]
    labelled = label_sections(make_score(phrase + other + again))
    assert labelled.metadata["section_method"] == "repeats"
    parts = section_scores(labelled)
    assert [label for label, _ in parts] == ["A", "B", "A"]
    assert [note.pitch for note in parts[0][1].notes] == [note.pitch for note in parts[2][1].notes]


def test_the_old_import_paths_give_the_same_functions():
    from musickit.data import dataset, sections

    assert dataset.section_scores is section_scores
    assert sections.label_sections is label_sections
