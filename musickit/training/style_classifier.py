"""Train the snippet encoder's style head: the classifier that checks whether generated music keeps its style.

The classifier is a :class:`~musickit.models.snippet_classifier.SnippetStyleClassifier`
(a :class:`~musickit.layers.snippet_encoder.SnippetEncoder` with its style head)
trained on windows of real section tokens, one label per corpus style. It is a
model of its own, not the generator's encoder, so it judges every generator
(hierarchical or decoder-only) by the same yardstick, and it never sees a
``STYLE`` token: section tokens are encoded without the piece's metadata (see
:func:`musickit.data.sections.encode_sectioned`), so it must recognise a
style from the notes.

Example:

>>> import numpy as np
>>> from musickit.data.dataset import EncodedSplit
>>> split = EncodedSplit([np.arange(3, 40)] * 2, [{"style": "bach", "sections": [("A", np.arange(3, 40))]},
...                                               {"style": "essen", "sections": [("A", np.arange(50, 90))]}])
>>> ids, labels = style_snippets(split, ["bach", "essen"], snippet_length=16)
>>> ids.shape, labels.tolist()
((6, 16), [0, 0, 0, 1, 1, 1])
"""

import math

import keras
import numpy as np

from musickit.errors import UsageError
from musickit.layers.snippet_encoder import ENCODER_PRESETS, SnippetEncoder
from musickit.metrics.style import predict_in_whole_batches
from musickit.models.snippet_classifier import SnippetStyleClassifier
from musickit.training.optimizers import OptimizerSettings, build_optimizer


def style_snippets(split, styles, snippet_length, pad_id=0, min_tokens=None):
    """Consecutive ``snippet_length`` windows of every section of every piece with a known style.

    Args:
        split: an :class:`~musickit.data.dataset.EncodedSplit` whose metadata
            holds ``"style"`` and ``"sections"`` (``[(label, ids), ...]``; a
            piece without sections contributes its whole sequence).
        styles: the style names; a piece's label is its index here.
        min_tokens: shortest window kept (default a quarter of ``snippet_length``).

    Returns:
        ``(ids, labels)``: int32 ``(count, snippet_length)`` right-padded with
        ``pad_id``, and int32 ``(count,)``.
    """
    styles = list(styles)
    min_tokens = max(1, snippet_length // 4) if min_tokens is None else int(min_tokens)
    rows, labels = [], []
    for sequence, item in zip(split, split.metadata):
        if item.get("style") not in styles:
            continue
        for _, tokens in item.get("sections") or [("A", sequence)]:
            tokens = np.asarray(tokens, np.int32).reshape(-1)
            for start in range(0, len(tokens), snippet_length):
                window = tokens[start : start + snippet_length]
                if len(window) >= min_tokens:
                    rows.append(window)
                    labels.append(styles.index(item["style"]))
    ids = np.full((len(rows), snippet_length), pad_id, np.int32)
    for row, window in enumerate(rows):
        ids[row, : len(window)] = window
    return ids, np.asarray(labels, np.int32)


def whole_batch_order(count, batch_size, seed=0):
    """A shuffled order of ``count`` examples that splits into equal batches of at most ``batch_size``.

    The batches are made as even as they can be (42 examples in batches of 32: two of 21), and the few
    rows still missing are the first examples again (at most one per batch), so a fit has one batch shape
    and JAX and TensorFlow compile its train step once instead of once more for a smaller last batch.

    >>> order = whole_batch_order(43, batch_size=32)
    >>> len(order), sorted(set(order.tolist())) == list(range(43))
    (44, True)
    """
    steps = math.ceil(count / batch_size)
    per_batch = math.ceil(count / steps)
    order = np.random.default_rng(seed).permutation(count)
    return np.concatenate([order, order[: steps * per_batch - count]])


def train_style_classifier(
    train_split,
    styles,
    vocabulary_size,
    snippet_length,
    valid_split=None,
    preset="tiny",
    epochs=3,
    batch_size=32,
    learning_rate=1e-3,
    pad_id=0,
    seed=0,
    verbose="auto",
    jit_compile="auto",
):
    """A fresh :class:`SnippetStyleClassifier` fitted on ``train_split``; returns ``(classifier, accuracies)``.

    ``accuracies`` holds ``train_accuracy`` and, with ``valid_split``,
    ``valid_accuracy`` (held-out snippets): how far the classifier itself can
    be trusted before it grades generated music.
    """
    styles = list(styles)
    if len(styles) < 2:
        raise UsageError(f"a style classifier needs at least two styles, got {styles}; train on e.g. --data bach,essen")
    ids, labels = style_snippets(train_split, styles, snippet_length, pad_id)
    missing = sorted(set(range(len(styles))) - set(labels.tolist()))
    if missing:
        raise UsageError(f"no training snippets of style {[styles[index] for index in missing]}; read more pieces")
    if preset not in ENCODER_PRESETS:
        raise UsageError(f"unknown encoder preset {preset!r}; choose one of {sorted(ENCODER_PRESETS)}")
    encoder = SnippetEncoder(
        vocabulary_size,
        snippet_length=snippet_length,
        num_memory_vectors=1,
        num_styles=len(styles),
        padding_id=pad_id,
        name="style_encoder",
        **ENCODER_PRESETS[preset],
    )
    encoder.projection_head.trainable = False  # the contrastive head is not on the classifier's path
    classifier = SnippetStyleClassifier(encoder, name="style_classifier")
    classifier.compile(
        optimizer=build_optimizer(OptimizerSettings(learning_rate, clipnorm=None)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    # Styles are rarely balanced (a corpus of chorales vs thousands of tunes): weight classes equally.
    counts = np.bincount(labels, minlength=len(styles))
    class_weight = {index: len(labels) / (len(styles) * count) for index, count in enumerate(counts)}
    order = whole_batch_order(len(labels), batch_size, seed)
    history = classifier.fit(
        ids[order],
        labels[order],
        batch_size=len(order) // math.ceil(len(labels) / batch_size),
        epochs=epochs,
        class_weight=class_weight,
        verbose=verbose,
    )
    accuracies = {"train_accuracy": float(history.history["accuracy"][-1])}
    if valid_split is not None:
        valid_ids, valid_labels = style_snippets(valid_split, styles, snippet_length, pad_id)
        if len(valid_labels):
            predicted = np.argmax(predict_in_whole_batches(classifier, valid_ids, batch_size), axis=-1)
            accuracies["valid_accuracy"] = float(np.mean(predicted == valid_labels))
    return classifier, accuracies
