"""MusicMetricsCallback in a real fit (History, TensorBoard) and as a Keras Tuner objective."""

import glob
import math

import keras
import numpy as np
import pytest
from conftest import make_score

from musickit.metrics.callbacks import MusicMetricsCallback, tuner_objective


def c_major_piece(length=8):
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    return make_score([(pitches[i % 8], 90, i * 0.25, i * 0.25 + 0.25) for i in range(length)])


def chromatic_piece():
    return make_score([(60 + i, 90, i * 0.25, i * 0.25 + 0.25) for i in range(12)])


class Alternating:
    """A stand-in generator: the n-th call returns C major on even calls, chromatic on odd ones."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return [c_major_piece()] if self.calls % 2 else [chromatic_piece()]


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_metrics_reach_history(tmp_path):
    generate = Alternating()
    callback = MusicMetricsCallback(
        generate,
        metrics=("pitch_class_histogram_distance", "in_scale_ratio"),
        every_n_epochs=3,
        reference_scores=[c_major_piece(16)],
    )
    csv_path = tmp_path / "history.csv"
    history = tiny_model().fit(
        np.zeros((4, 3)),
        np.zeros((4, 1)),
        epochs=4,
        verbose=0,
        callbacks=[callback, keras.callbacks.CSVLogger(str(csv_path))],
    )
    # Generated on epochs 1, 3 (every third) and 4 (the last); epoch 2 repeats epoch 1's values.
    assert generate.calls == 3 and [epoch for epoch, _ in callback.computed] == [0, 2, 3]
    in_scale = history.history["val_in_scale_ratio"]
    assert in_scale[0] == in_scale[1] == 1.0 and in_scale[2] == pytest.approx(7 / 12) and in_scale[3] == 1.0
    distances = history.history["val_pitch_class_histogram_distance"]
    assert distances[0] < distances[2]
    assert len(history.history["val_in_scale_ratio_gap"]) == 4
    assert "val_in_scale_ratio" in csv_path.read_text().splitlines()[0]


def test_metrics_reach_tensorboard(tmp_path):
    pytest.importorskip("tensorboard", reason="keras.callbacks.TensorBoard needs the tensorboard package")
    callback = MusicMetricsCallback(lambda: [c_major_piece()], metrics=("in_scale_ratio",), every_n_epochs=1)
    board = keras.callbacks.TensorBoard(str(tmp_path / "logs"))
    tiny_model().fit(np.zeros((2, 3)), np.zeros((2, 1)), epochs=1, verbose=0, callbacks=[callback, board])
    events = glob.glob(str(tmp_path / "logs" / "validation" / "events.out.tfevents*"))
    assert events and b"epoch_in_scale_ratio" in open(events[0], "rb").read()


def test_generate_fn_may_take_the_model():
    seen = []

    def generate(model):
        seen.append(model)
        return [c_major_piece()]

    callback = MusicMetricsCallback(generate, metrics=("in_scale_ratio",), every_n_epochs=1)
    model = tiny_model()
    model.fit(np.zeros((2, 3)), np.zeros((2, 1)), epochs=1, verbose=0, callbacks=[callback])
    assert seen == [model]


def test_reference_may_be_precomputed_features():
    from musickit.metrics.evaluation import SetFeatures

    reference = [c_major_piece(16), chromatic_piece()]
    metrics = ("pitch_class_histogram_distance", "polyphony")
    features = SetFeatures.from_scores(reference, metrics)
    from_scores = MusicMetricsCallback(lambda: [c_major_piece()], metrics=metrics, reference_scores=reference)
    from_features = MusicMetricsCallback(lambda: [c_major_piece()], metrics=metrics, reference_scores=features)
    assert from_scores.reference_statistics == from_features.reference_statistics
    assert from_scores.evaluate_samples() == from_features.evaluate_samples()


def test_nothing_generated_logs_nan():
    callback = MusicMetricsCallback(lambda: [], metrics=("polyphony",), every_n_epochs=1)
    history = tiny_model().fit(np.zeros((2, 3)), np.zeros((2, 1)), epochs=1, verbose=0, callbacks=[callback])
    assert math.isnan(history.history["val_polyphony"][0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown metric"):
        MusicMetricsCallback(lambda: [], metrics=("loudness",))
    with pytest.raises(ValueError, match="needs reference_scores"):
        MusicMetricsCallback(lambda: [], metrics=("pitch_class_histogram_distance",))
    with pytest.raises(ValueError, match="has no better direction"):
        tuner_objective("polyphony")


def test_keras_tuner_optimises_a_sample_metric(tmp_path):
    keras_tuner = pytest.importorskip("keras_tuner")
    if keras.backend.backend() == "tensorflow":
        pytest.importorskip("tensorboard", reason="keras_tuner imports tensorboard on the TensorFlow backend")
    objective = tuner_objective("pitch_class_histogram_distance")
    assert (objective.name, objective.direction) == ("val_pitch_class_histogram_distance", "min")
    assert tuner_objective("polyphony_gap").direction == "min"

    def build(hp):
        hp.Choice("units", [1])
        return tiny_model()

    trained = []

    def generate(model):  # the tuner deep-copies callbacks, so record the trial's model here
        trained.append(model)
        return [c_major_piece()]

    callback = MusicMetricsCallback(
        generate, metrics=("pitch_class_histogram_distance",), every_n_epochs=1, reference_scores=[chromatic_piece()]
    )
    tuner = keras_tuner.RandomSearch(
        build, objective=objective, max_trials=1, directory=str(tmp_path), project_name="t"
    )
    tuner.search(np.zeros((4, 3)), np.zeros((4, 1)), epochs=1, verbose=0, callbacks=[callback])
    best = tuner.oracle.get_best_trials(1)[0]
    # C D E F G A B C against a chromatic reference, halved L1: C at 2/8, six notes at 1/8, five at 0; 1/12 each.
    assert best.score == pytest.approx(0.5 * ((2 / 8 - 1 / 12) + 6 * (1 / 8 - 1 / 12) + 5 / 12))
    assert trained and trained[0] is not None
