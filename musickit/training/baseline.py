"""Train the decoder-only baseline the hierarchical model is compared with.

The baseline is a :class:`~musickit.models.music_transformer.MusicTransformer`
with the hierarchical model's width and heads and about its parameter count
(:func:`~musickit.models.parameter_matching.matched_music_transformer`). It
reads the section snippets in its prompt (``PROMPT_START SECTION_A snippet ...
PROMPT_END piece``, :mod:`musickit.generation.prompts`), so both models see
the same information, and it trains the way the hierarchical decoder does:
language-model pre-training on the plain pieces, then the same number of
steps on prompted pieces with the loss on the piece tokens only.

Example:

>>> model, valid = train_prompted_baseline(corpus, tokenizer, target_parameters=400_000, hidden_dim=64,
...                                        num_heads=4, snippet_length=64, sequence_length=256,
...                                        pretrain_steps=100, steps=200)  # doctest: +SKIP
>>> dataset_token_nll(model, valid)  # doctest: +SKIP
(3.41, 51234)
"""

from musickit.data.pipelines import token_windows
from musickit.generation.prompts import prompted_dataset, prompted_examples
from musickit.losses.sequence import SequenceCrossEntropy
from musickit.models.parameter_matching import matched_music_transformer
from musickit.music.score import SECTION_LETTERS
from musickit.training.optimizers import OptimizerSettings, build_optimizer


def prompt_room(snippet_length, max_sections=4):
    """Tokens a prompt of ``max_sections`` snippets takes: ``PROMPT_START``, a section token each, ``PROMPT_END``."""
    return max_sections * (snippet_length + 1) + 2


def compile_for_tokens(model, learning_rate, steps, jit_compile="auto"):
    """AdamW with warmup-cosine over ``steps`` and the token cross-entropy: what every model of a comparison uses."""
    settings = OptimizerSettings(learning_rate, "warmup_cosine", total_steps=steps)
    model.compile(
        optimizer=build_optimizer(settings), loss=SequenceCrossEntropy(), weighted_metrics=[], jit_compile=jit_compile
    )


def train_prompted_baseline(
    corpus,
    tokenizer,
    target_parameters,
    hidden_dim,
    num_heads,
    snippet_length,
    sequence_length,
    pretrain_steps,
    steps,
    batch_size=8,
    learning_rate=1e-3,
    seed=0,
    jit_compile="auto",
    verbose=0,
):
    """A matched decoder-only model trained on ``corpus`` (a :class:`~musickit.data.form_corpus.FormCorpus`).

    Its sequences are ``sequence_length`` plus the longest prompt, so every
    piece token has at least the context the hierarchical decoder's windows give.

    Returns:
        ``(model, valid_dataset)``: the held-out prompted pieces, loss weights
        on the piece tokens only, for :func:`musickit.metrics.likelihood.dataset_token_nll`.
    """
    length = sequence_length + prompt_room(snippet_length)
    model = matched_music_transformer(
        target_parameters,
        tokenizer.vocabulary_size,
        hidden_dim,
        num_heads,
        max_sequence_length=length,
        condition_sizes={"style": len(corpus.styles)},
        padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
    )
    model.build()
    if pretrain_steps:
        # Plain pieces first, as the hierarchical decoder's pre-training; the model takes no padding mask.
        windows = token_windows(
            list(corpus.train), sequence_length=sequence_length, batch_size=batch_size, tokenizer=tokenizer, seed=seed
        ).repeat()
        windows = windows.map(lambda inputs, targets, weights: ({"token_ids": inputs["token_ids"]}, targets, weights))
        compile_for_tokens(model, learning_rate, pretrain_steps, jit_compile)
        model.fit(windows, epochs=1, steps_per_epoch=pretrain_steps, verbose=verbose, shuffle=False)
    train, valid = (
        prompted_examples(split, tokenizer, length, snippet_length, "".join(SECTION_LETTERS), corpus.styles)
        for split in (corpus.train, corpus.valid)
    )
    compile_for_tokens(model, learning_rate, steps, jit_compile)
    model.fit(
        prompted_dataset(train, batch_size, seed=seed).repeat(),
        epochs=1,
        steps_per_epoch=steps,
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles
    )
    # Batches of one: prompted_dataset drops a short last batch, and held-out tokens must all count.
    return model, prompted_dataset(valid, 1, shuffle=False)
