"""Reference features: a JSON round trip, and a disk cache that notices changed files."""

import json
import math
import os

import numpy as np
from conftest import make_notes, make_score

from musickit.metrics.evaluation import SetFeatures, compare_sets, json_safe
from musickit.metrics.reference import reference_features
from musickit.music.midi_io import write_midi
from musickit.music.score import Score


def pieces():
    return [
        make_score([(60 + i % 5, 90, i * 0.25, i * 0.25 + 0.25) for i in range(24)]),
        make_score([(67 - i % 3, 90, i * 0.5, i * 0.5 + 0.5) for i in range(12)]),
        Score(notes=make_notes([(36, 100, 0.0, 0.1)], is_drum=True)),
    ]


def test_set_features_survive_json():
    features = SetFeatures.from_scores(pieces())
    restored = SetFeatures.from_json(json.loads(json.dumps(features.to_json(), allow_nan=False)))
    for name, values in features.values.items():
        assert np.allclose(values, restored.values[name], equal_nan=True), name
    assert np.allclose(features.profiles, restored.profiles, equal_nan=True)
    assert math.isnan(restored.profiles[2, 0])  # the drum piece has no profile
    assert restored.tokens == features.tokens and isinstance(restored.tokens[0][0], tuple)
    assert restored.notes == features.notes and restored.undefined == features.undefined
    assert json_safe(compare_sets(pieces()[:2], restored)) == json_safe(compare_sets(pieces()[:2], features))


def test_reference_features_are_cached_per_folder_content(tmp_path):
    folder = tmp_path / "reference"
    for index, score in enumerate(pieces()[:2]):
        write_midi(score, folder / f"{index}.mid")
    first = reference_features(str(folder), names=["pitch_range", "polyphony"])
    cached = os.listdir(os.path.join(os.environ["MUSICKIT_CACHE_DIR"], "reference_metrics"))
    assert len(first) == 2 and len(cached) >= 1
    again = reference_features(str(folder), names=["pitch_range", "polyphony"])
    assert again.values["pitch_range"].tolist() == first.values["pitch_range"].tolist() == [4.0, 2.0]
    write_midi(make_score([(40, 90, 0.0, 1.0), (80, 90, 1.0, 2.0)]), folder / "2.mid")
    changed = reference_features(str(folder), names=["pitch_range", "polyphony"])
    assert changed.values["pitch_range"].tolist() == [4.0, 2.0, 40.0]
