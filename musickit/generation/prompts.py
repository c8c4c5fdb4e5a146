"""The baseline prompt format: section snippets in brackets, then the piece.

A prompted sequence reads::

    PROMPT_START SECTION_A [snippet A] SECTION_B [snippet B] PROMPT_END [piece ...] EOS

Snippets are the first ``snippet_length`` tokens (256 by default) of the
piece's marked sections (a piece without markers offers its opening as
section A). The decoder-only Music Transformer trains on such sequences with
the loss on the piece only, and generates by continuing a prompt built the
same way, so the hierarchical model and this baseline see the same
information about the form they should write.

Example:

>>> class Tokens:  # any tokenizer with these ids and section_token_id() works
...     prompt_start_id, prompt_end_id, eos_id, pad_id = 4, 5, 2, 0
...     def section_token_id(self, name):
...         return {"A": 6, "B": 7}[name]
>>> build_prompt([("A", [20, 21, 22]), ("B", [30])], Tokens(), snippet_length=2)
[4, 6, 20, 21, 7, 30, 5]
"""

import numpy as np

from musickit.errors import UsageError
from musickit.representations.conditions import class_id

DEFAULT_SNIPPET_LENGTH = 256


def build_prompt(snippets, tokenizer, snippet_length=DEFAULT_SNIPPET_LENGTH):
    """``PROMPT_START SECTION_X snippet ... PROMPT_END`` for ``[(label, ids), ...]`` in order."""
    if snippet_length < 1:
        raise UsageError(f"snippet_length must be >= 1, got {snippet_length}")
    prompt = [int(tokenizer.prompt_start_id)]
    for label, ids in snippets:
        prompt.append(int(tokenizer.section_token_id(label)))
        prompt.extend(int(token) for token in np.asarray(ids).reshape(-1)[:snippet_length])
    prompt.append(int(tokenizer.prompt_end_id))
    return prompt


def piece_snippets(sequence, metadata, form="AB"):
    """The ``[(label, ids), ...]`` of a piece for the section labels in ``form`` (letters of
    :data:`~musickit.representations.conditions.SECTION_LETTERS`) that it has.

    Uses ``metadata["sections"]`` (as :func:`musickit.data.dataset.load_dataset`
    stores them); a piece without sections offers its own opening as ``A``.
    """
    sections = list((metadata or {}).get("sections") or [("A", sequence)])
    chosen = []
    for label in form:
        for section_label, ids in sections:
            if section_label == label and all(section_label != used for used, _ in chosen):
                chosen.append((label, ids))
                break
    return chosen or sections[:1]


def prompted_examples(split, tokenizer, sequence_length, snippet_length=DEFAULT_SNIPPET_LENGTH, form="AB", styles=None):
    """Training arrays from an :class:`~musickit.data.dataset.EncodedSplit` of token pieces.

    Each piece gives one or more sequences: its prompt, then consecutive
    chunks of the piece (and a final ``EOS``) filling ``sequence_length + 1``
    tokens, right-padded. The loss weight is 1 on targets inside the piece
    and 0 on the prompt and on padding.

    Args:
        split: list of 1-D id arrays with a parallel ``metadata`` list.
        tokenizer: with ``prompt_start_id``, ``prompt_end_id``, ``eos_id``,
            ``pad_id`` and ``section_token_id(label)``.
        sequence_length: int, model input length.
        snippet_length: int, tokens per snippet.
        form: the section labels to put in the prompt, in order.
        styles: list of style names; a piece's ``metadata["style"]`` becomes
            its index, ``UNKNOWN_ID`` (-1, no style conditioning) when it is
            missing or not in the list
            (:mod:`musickit.representations.conditions`).

    Returns:
        A dict of NumPy arrays: ``token_ids``, ``targets`` (int32,
        ``(count, sequence_length)``), ``sample_weight`` (float32) and
        ``style`` (int32, ``(count,)``).
    """
    styles = list(styles or [])
    metadata = getattr(split, "metadata", None) or [{} for _ in split]
    span = sequence_length + 1
    rows, styles_of_rows = [], []
    prompt_lengths = []
    for sequence, item in zip(split, metadata):
        prompt = build_prompt(piece_snippets(sequence, item, form), tokenizer, snippet_length)
        room = span - len(prompt)
        if room < 2:
            raise UsageError(
                f"a prompt of {len(prompt)} tokens leaves no room in sequences of {sequence_length}; "
                f"lower snippet_length ({snippet_length}) or raise sequence_length"
            )
        piece = np.append(np.asarray(sequence, "int32").reshape(-1), np.int32(tokenizer.eos_id))
        for start in range(0, len(piece), room):
            rows.append(prompt + piece[start : start + room].tolist())
            prompt_lengths.append(len(prompt))
            style = item.get("style") if item else None
            styles_of_rows.append(class_id(style, styles))
    if not rows:
        raise UsageError("no pieces to build prompted sequences from; is the split empty?")
    padded = np.full((len(rows), span), int(tokenizer.pad_id), "int32")
    real = np.zeros((len(rows), span), bool)
    for number, row in enumerate(rows):
        padded[number, : len(row)] = row
        real[number, : len(row)] = True
    positions = np.arange(span)[None, :]
    in_piece = positions >= np.array(prompt_lengths)[:, None]
    return {
        "token_ids": padded[:, :-1],
        "targets": padded[:, 1:],
        "sample_weight": (real & in_piece)[:, 1:].astype("float32"),
        "style": np.array(styles_of_rows, "int32"),
    }


def prompted_dataset(examples, batch_size, shuffle=True, seed=0, conditions=("style",)):
    """A ``tf.data.Dataset`` of ``({"token_ids", conditions...}, targets, sample_weight)`` for ``model.fit``.

    Example:

    >>> import numpy as np
    >>> examples = {"token_ids": np.zeros((3, 4), "int32"), "targets": np.zeros((3, 4), "int32"),
    ...             "sample_weight": np.ones((3, 4), "float32"), "style": np.zeros(3, "int32")}
    >>> inputs, targets, weights = next(iter(prompted_dataset(examples, batch_size=2)))
    >>> sorted(inputs), tuple(targets.shape)
    (['style', 'token_ids'], (2, 4))
    """
    import tensorflow as tf

    inputs = {"token_ids": examples["token_ids"]}
    for name in conditions:
        inputs[name] = examples[name]
    dataset = tf.data.Dataset.from_tensor_slices((inputs, examples["targets"], examples["sample_weight"]))
    if shuffle:
        dataset = dataset.shuffle(len(examples["token_ids"]), seed=seed, reshuffle_each_iteration=True)
    # Full batches only: every batch then has the same static shape, which
    # keeps XLA from compiling a second program for a short last batch.
    drop_remainder = len(examples["token_ids"]) >= batch_size
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
