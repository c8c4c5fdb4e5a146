"""compute_metrics / compare_sets on ordinary and bad input: defined values or NaN with a reason, never a crash."""

import json
import math

import pytest
from conftest import make_notes, make_score

from musickit.metrics.evaluation import (
    METRIC_NAMES,
    MUSPY_METRICS,
    compare_sets,
    compute_metrics,
    compute_metrics_batch,
    json_safe,
    write_metrics_json,
)
from musickit.metrics.pitch import mean_pitch_class_histogram
from musickit.music.score import Note, Score


def scale_piece(tonic=60, bars=4):
    steps = [0, 2, 4, 5, 7, 9, 11, 12]
    return make_score(
        [(tonic + steps[i % 8], 90, i * 0.25, i * 0.25 + 0.25) for i in range(bars * 8)]
        + [(tonic - 12, 70, bar * 2.0, bar * 2.0 + 2.0) for bar in range(bars)]
    )


BAD_PIECES = {
    "empty": Score(),
    "drums only": Score(notes=make_notes([(36, 100, 0.0, 0.1), (42, 100, 0.25, 0.3)], is_drum=True)),
    "single note": Score(notes=[Note(60, 90, 0.0, 0.5)]),
    "no time signature": Score(notes=make_notes([(60, 90, i * 0.5, i * 0.5 + 0.5) for i in range(20)])),
    "zero-length notes": Score(notes=make_notes([(60, 90, 0.0, 0.0), (64, 90, 0.0, 0.0)])),
}


@pytest.mark.parametrize("name", list(BAD_PIECES))
def test_bad_pieces_get_every_metric_and_a_one_line_note(name):
    reference = mean_pitch_class_histogram([scale_piece()])
    result = compute_metrics(BAD_PIECES[name], reference_histogram=reference)
    assert set(result.values) == set(METRIC_NAMES)
    assert "\n" not in result.note and result.note
    for metric, value in result.values.items():
        assert isinstance(value, (int, float))
        if isinstance(value, float) and math.isnan(value):
            assert result.reasons[metric]  # every NaN says why


def test_expected_notes_for_bad_pieces():
    assert compute_metrics(BAD_PIECES["empty"]).note.startswith("empty piece")
    drums = compute_metrics(BAD_PIECES["drums only"])
    assert drums.values["pitch_range"] == 0 and "drums only" in drums.note
    assert "pitch_entropy" in drums.note and "(no pitched notes)" in drums.note
    assert "4/4 assumed" in compute_metrics(BAD_PIECES["no time signature"]).note
    ordinary = compute_metrics(scale_piece())
    assert ordinary.note == ""  # no drums and no markers are not worth a note
    assert ordinary.reasons == {"drum_pattern_consistency": "no drum notes", "section_contrast": "no section markers"}


def test_unknown_metric_names_are_refused():
    with pytest.raises(ValueError, match="unknown metric 'loudness'"):
        compute_metrics(scale_piece(), names=["loudness"])


def test_batch_and_muspy_subset():
    arrays, pieces = compute_metrics_batch([scale_piece(60), scale_piece(62)], names=list(MUSPY_METRICS))
    assert list(arrays) == list(MUSPY_METRICS)
    assert arrays["pitch_range"].tolist() == [24.0, 24.0]
    assert len(pieces) == 2


def test_compare_sets_is_json_ready(tmp_path):
    generated = [scale_piece(60), scale_piece(60), BAD_PIECES["drums only"]]
    reference = [scale_piece(tonic) for tonic in (55, 57, 60, 62, 64)]
    result = compare_sets(generated, reference)
    text = json.dumps(json_safe(result), allow_nan=False)  # NaN became null, arrays became lists
    loaded = json.loads(text)
    assert "_distributions" not in loaded
    assert loaded["generated"]["statistics"]["pitch_range"]["count"] == 3
    assert loaded["mode_collapse"]["near_duplicate_pairs"][0][:2] == [0, 1]  # the two identical scales
    assert set(loaded["yang_lerch"]) >= {"pitch_range", "pitch_class_profile", "pitch_class_histogram_distance"}
    assert 0 <= loaded["yang_lerch"]["pitch_class_profile"]["overlap_area"] <= 1
    assert loaded["pitch_class_profiles"]["total_variation_distance"] >= 0
    path = write_metrics_json(tmp_path / "metrics.json", result, {"valid_nll": 7.5})
    written = json.loads(path.read_text())
    assert written["valid_nll"] == 7.5 and written["metrics"] == loaded["metrics"]
