"""NT-Xent by hand, retrieval accuracy, and augmented views of REMI snippets."""

import math

import numpy as np

from musickit.losses.contrastive import NTXentLoss, RetrievalAccuracy, nt_xent
from musickit.representations.remi import REMITokenizer
from musickit.training.contrastive import augment_snippet, contrastive_views
from tests.conftest import make_score


def test_nt_xent_on_two_pairs_by_hand():
    # Pair 0: e1 and (e1 + e2)/sqrt2; pair 1: e2 and e2. Temperature 0.5.
    views = np.array([[[1.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [0.0, 2.0]]], "float32")
    c = 1 / math.sqrt(2)
    vectors = np.array([[1, 0], [0, 1], [c, c], [0, 1]])
    similarities = vectors @ vectors.T / 0.5
    partner = [2, 3, 0, 1]
    per_anchor = []
    for anchor in range(4):
        others = [similarities[anchor, k] for k in range(4) if k != anchor]
        per_anchor.append(math.log(sum(math.exp(value) for value in others)) - similarities[anchor, partner[anchor]])
    expected = [(per_anchor[0] + per_anchor[2]) / 2, (per_anchor[1] + per_anchor[3]) / 2]
    np.testing.assert_allclose(np.asarray(nt_xent(views, 0.5)), expected, rtol=1e-5)
    assert abs(float(NTXentLoss(0.5)(np.zeros(2), views)) - sum(expected) / 2) < 1e-5
    # Orthogonal identical pairs at temperature 1: log(2 + e) - 1 per anchor.
    identical = np.array([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]], "float32")
    assert abs(float(NTXentLoss(1.0)(np.zeros(2), identical)) - (math.log(2 + math.e) - 1)) < 1e-5


def test_lower_temperature_sharpens_a_correct_pairing():
    views = np.array([[[1.0, 0.0], [1.0, 0.1]], [[0.0, 1.0], [0.1, 1.0]]], "float32")
    assert float(NTXentLoss(0.1)(np.zeros(2), views)) < float(NTXentLoss(1.0)(np.zeros(2), views))


def test_retrieval_accuracy_counts_partners_found():
    metric = RetrievalAccuracy()
    views = np.array([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, -1.0]]], "float32")
    metric.update_state(np.zeros(3), views)
    assert abs(float(metric.result()) - 2 / 3) < 1e-6


def test_views_transpose_jitter_and_drop_within_the_vocabulary():
    tokenizer = REMITokenizer()
    ids = tokenizer.encode(make_score([(60 + i, 64, i * 0.5, i * 0.5 + 0.5) for i in range(8)]))
    pitch = np.asarray(tokenizer.token_ids("Pitch"))
    rng = np.random.default_rng(3)
    view = augment_snippet(ids, tokenizer, rng, transpose=2, velocity_jitter=0, tempo_jitter=0, note_dropout=0.0)
    shift = view[np.isin(view, pitch)] - ids[np.isin(ids, pitch)]
    assert len(set(shift.tolist())) == 1 and abs(int(shift[0])) <= 2
    dropped = augment_snippet(ids, tokenizer, rng, transpose=0, velocity_jitter=0, tempo_jitter=0, note_dropout=0.5)
    notes = tokenizer.decode(dropped).notes
    assert 1 <= len(notes) < 8 and {note.pitch for note in notes} <= set(range(60, 68))
    views = contrastive_views([ids, ids[:20]], tokenizer, snippet_length=24, copies=2)
    assert views.shape == (4, 2, 24) and views.max() < tokenizer.vocabulary_size
