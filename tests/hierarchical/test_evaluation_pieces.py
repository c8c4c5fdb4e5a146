"""The pieces the hierarchical recipe and benchmark are judged by: style classifier, form and likelihood measures."""

import warnings

import keras
import numpy as np
import pytest

from musickit.data.dataset import EncodedSplit
from musickit.errors import UsageError
from musickit.generation.form_writing import write_in_form
from musickit.metrics.form import snippet_embedding_cosines, snippet_similarity
from musickit.metrics.likelihood import dataset_token_nll
from musickit.metrics.style import predict_styles, style_accuracy
from musickit.models.hierarchical import HierarchicalTransformer
from musickit.models.parameter_matching import count_parameters, matched_music_transformer
from musickit.music.score import Marker, Note, Score
from musickit.representations.remi import REMITokenizer
from musickit.training.staging import set_language_model_stage
from musickit.training.style_classifier import style_snippets, train_style_classifier


def two_style_split(pieces_per_style, length=24, seed=0):
    """Style "low" uses ids 10..19, style "high" ids 30..39: a classifier can only tell them by their tokens."""
    rng = np.random.default_rng(seed)
    arrays, metadata = [], []
    for style, low in (("low", 10), ("high", 30)):
        for _ in range(pieces_per_style):
            ids = rng.integers(low, low + 10, size=length).astype(np.int32)
            arrays.append(ids)
            metadata.append({"style": style, "sections": [("A", ids[:12]), ("B", ids[12:])]})
    return EncodedSplit(arrays, metadata)


def test_style_snippets_cut_every_section_into_windows_and_skip_unknown_styles():
    split = EncodedSplit(
        [np.arange(20)] * 2,
        [{"style": "a", "sections": [("A", np.arange(1, 11)), ("B", [5, 6])]}, {"style": "unknown"}],
    )
    ids, labels = style_snippets(split, ["a"], snippet_length=4, min_tokens=2)
    assert ids.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 0, 0], [5, 6, 0, 0]]
    assert labels.tolist() == [0, 0, 0, 0]


def test_style_classifier_learns_two_token_styles_and_reports_held_out_accuracy():
    keras.utils.set_random_seed(1)
    classifier, accuracies = train_style_classifier(
        two_style_split(12),
        ["high", "low"],
        vocabulary_size=50,
        snippet_length=8,
        valid_split=two_style_split(3, seed=1),
        epochs=8,
        batch_size=8,
        learning_rate=3e-3,
        verbose=0,
    )
    assert accuracies["valid_accuracy"] >= 0.9
    pieces = [{"A": np.arange(30, 38)}, {"A": np.arange(10, 18), "B": np.arange(11, 19)}]
    assert predict_styles(classifier, pieces, snippet_length=8).tolist() == [0, 1]


def test_style_classifier_needs_two_styles_with_examples():
    with pytest.raises(UsageError, match="at least two styles"):
        train_style_classifier(two_style_split(2), ["low"], vocabulary_size=50, snippet_length=8)
    with pytest.raises(UsageError, match="no training snippets of style"):
        train_style_classifier(two_style_split(2), ["low", "jazz"], vocabulary_size=50, snippet_length=8)


class FirstTokenClassifier:
    """Logits from the first token: style 0 when it is below 20, with confidence 1 (token 5) or 3 (others)."""

    def predict(self, ids, batch_size=32, verbose=0):
        first = ids[:, 0]
        confidence = np.where(first == 5, 1.0, 3.0)
        return np.stack([np.where(first < 20, confidence, 0.0), np.where(first < 20, 0.0, confidence)], axis=1)


def test_predict_styles_sums_section_log_probabilities():
    # Sections disagree: the confident one (token 30, logit gap 3) outweighs the weak one (token 5, gap 1).
    pieces = [{"A": [5, 1], "B": [30]}, {"A": [7]}, {}]
    assert predict_styles(FirstTokenClassifier(), pieces, snippet_length=2).tolist() == [1, 0, -1]


def test_style_accuracy_counts_matches_and_rejects_unknown_styles():
    assert style_accuracy([0, 1, 1, -1], ["a", "a", "b", "b"], ["a", "b"]) == 0.5
    assert style_accuracy([], [], ["a"]) is None
    with pytest.raises(UsageError, match="not among"):
        style_accuracy([0], ["jazz"], ["a", "b"])


def test_snippet_similarity_prefers_the_own_snippet():
    rising = [Note(60 + i, 90, i * 0.5, i * 0.5 + 0.5) for i in range(4)]
    falling = [Note(72 - 5 * i, 90, i * 1.0, i * 1.0 + 1.0) for i in range(4)]
    shifted = [Note(n.pitch, 90, n.start + 2.0, n.end + 2.0) for n in falling]
    piece = Score(notes=rising + shifted, markers=[Marker(0.0, "A"), Marker(2.0, "B")])
    own, others = snippet_similarity(piece, {"A": Score(notes=rising), "B": Score(notes=falling)})
    assert own == pytest.approx(1.0)  # each section is its snippet exactly
    assert others < own
    assert all(np.isnan(value) for value in snippet_similarity(Score(notes=rising), {"A": Score(notes=rising)}))


class OneHotEncoder:
    """Embeds a snippet as the one-hot vector of its first token."""

    def embed(self, ids):
        return np.eye(8)[np.asarray(ids)[:, 0]]


def test_snippet_embedding_cosines_are_one_to_the_own_snippet_and_zero_to_others():
    generated = {"A": [1, 2], "B": [2, 3]}
    own, others = snippet_embedding_cosines(OneHotEncoder(), generated, {"A": [1], "B": [2], "C": [3]}, 4)
    assert own == pytest.approx(1.0) and others == pytest.approx(0.0)
    assert np.isnan(snippet_embedding_cosines(OneHotEncoder(), {"D": [1]}, {"A": [1]}, 4)[0])


class UniformModel(keras.Model):
    """Logits that give every one of four tokens probability 1/4 (a Keras model: scored through predict)."""

    def call(self, inputs):
        return keras.ops.zeros(keras.ops.shape(inputs["token_ids"]) + (4,))


def test_dataset_token_nll_counts_only_weighted_tokens():
    batches = [
        (
            {"token_ids": np.zeros((2, 3), "int32")},
            np.ones((2, 3), "int32"),
            np.array([[1, 1, 0], [1, 0, 0]], "float32"),
        ),
        ({"token_ids": np.zeros((1, 3), "int32")}, np.ones((1, 3), "int32"), np.ones((1, 3), "float32")),
    ]
    nll, count = dataset_token_nll(UniformModel(), batches)
    assert count == 6
    assert nll == pytest.approx(np.log(4.0), rel=1e-5)


def test_matched_music_transformer_has_about_the_target_parameter_count():
    hierarchical = HierarchicalTransformer.from_preset("tiny", vocabulary_size=60, snippet_length=8)
    target = count_parameters(hierarchical)
    baseline = matched_music_transformer(
        target, vocabulary_size=60, hidden_dim=32, num_heads=2, max_sequence_length=256
    )
    assert abs(count_parameters(baseline) - target) / target < 0.02
    assert baseline.hidden_dim == 32 and baseline.num_heads == 2
    with pytest.raises(UsageError, match="as few as"):
        matched_music_transformer(100, vocabulary_size=60, hidden_dim=32, num_heads=2, max_sequence_length=256)


def test_write_in_form_places_every_section_token_and_cuts_what_the_model_starts():
    tokenizer = REMITokenizer()
    bar, section_c = tokenizer.token_to_id("Bar"), tokenizer.section_token_id("C")
    calls = []

    def continue_piece(ids, max_length, stop_token_ids):
        calls.append(max_length - len(ids))
        return (list(ids) + [bar, section_c])[:max_length]  # a bar, then it tries to open a section itself

    ids = write_in_form(continue_piece, tokenizer, "AAB", tokens_per_section=5, max_tokens=100, style="bach")
    names = [tokenizer.id_to_token(token) for token in ids]
    assert names == ["STYLE_bach", "SECTION_A", "Bar", "SECTION_A", "Bar", "SECTION_B", "Bar"]
    assert calls == [5, 5, 5]
    short = write_in_form(continue_piece, tokenizer, "ABCD", tokens_per_section=5, max_tokens=5)
    assert [tokenizer.id_to_token(token) for token in short] == ["SECTION_A", "Bar", "SECTION_B", "Bar"]


@pytest.mark.usefixtures("eager_fits")
def test_language_model_stage_trains_the_decoder_alone_without_gradient_warnings():
    model = HierarchicalTransformer.from_preset(
        "tiny", vocabulary_size=40, snippet_length=8, condition_sizes={"style": 2}
    )
    model.build()
    set_language_model_stage(model)
    paths = [weight.path for weight in model.trainable_weights]
    assert paths and not any("encoder" in path or "cross_attention" in path or "adapter" in path for path in paths)
    from musickit.losses.sequence import SequenceCrossEntropy

    model.compile(optimizer="adam", loss=SequenceCrossEntropy())
    ids = np.random.default_rng(0).integers(1, 40, (4, 12)).astype("int32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit({"token_ids": ids, "padding_mask": np.ones((4, 12), bool)}, ids, epochs=1, verbose=0)
    assert not [str(warning.message) for warning in caught if "Gradients do not exist" in str(warning.message)]
