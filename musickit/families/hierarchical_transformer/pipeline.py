"""The hierarchical transformer's pipeline, once: data -> model -> pre-training -> staged training -> evaluation.

The recipe (``recipes/hierarchical_transformer.py``), the Keras Tuner hypermodel
(:mod:`musickit.tuning.hierarchical_hypermodel`) and the benchmark (``benchmarks/hierarchical.py``) call
these steps with a :class:`~musickit.families.hierarchical_transformer.config.HierarchicalConfig`; none of
them repeats a step.

Example (the smoke preset, every step; several minutes on a shared 2-core CPU, most of it compiling):

>>> from musickit.families.hierarchical_transformer.config import HierarchicalConfig
>>> config = HierarchicalConfig.preset("smoke")
>>> tokenizer, corpus = build_corpus(config)  # doctest: +SKIP
>>> model = build_model(config, tokenizer, corpus.styles)  # doctest: +SKIP
>>> pretrain(model, corpus.train, config, tokenizer)["language_model_steps"]  # doctest: +SKIP
2
"""

import numpy as np

from musickit.data.curriculum import curriculum_pairs, curriculum_phases
from musickit.data.dataset import EncodedSplit
from musickit.data.form_corpus import build_form_corpus
from musickit.data.labels import EMOTION_CLASSES, TEMPO_CLASSES
from musickit.data.pipelines import section_snippet_pairs, token_windows
from musickit.layers.snippet_encoder import ENCODER_PRESETS, SnippetEncoder
from musickit.metrics.likelihood import dataset_token_nll
from musickit.models.decoder_base import DECODER_PRESETS
from musickit.models.hierarchical import HierarchicalTransformer
from musickit.models.parameter_matching import count_parameters
from musickit.music.score import SECTION_LETTERS
from musickit.representations.remi import REMITokenizer
from musickit.training.baseline import compile_for_tokens, train_prompted_baseline
from musickit.training.contrastive import pretrain_encoder
from musickit.training.staging import StagedTrainer, save_weights_atomically, set_language_model_stage
from musickit.training.style_classifier import train_style_classifier

#: The conditions every batch of :func:`musickit.data.pipelines.section_snippet_pairs` carries.
CONDITIONS = {"style": None, "emotion": EMOTION_CLASSES, "tempo": TEMPO_CLASSES}


# ## Data: real phrases of each style assembled into pieces of known form


def make_tokenizer(config):
    """The REMI tokenizer ``config`` describes (compact by default: no Velocity or Program tokens)."""
    return REMITokenizer(num_velocity_bins=config.num_velocity_bins, use_programs=config.use_programs)


def build_corpus(config, tokenizer=None):
    """``(tokenizer, corpus)``: a :class:`~musickit.data.form_corpus.FormCorpus` of ``config.data``."""
    tokenizer = tokenizer or make_tokenizer(config)
    corpus = build_form_corpus(
        config.data,
        tokenizer,
        max_files=config.max_files,
        forms=config.forms,
        pieces_per_form=config.pieces_per_form,
        bars_per_section=config.bars_per_section,
        seed=config.seed,
    )
    return tokenizer, corpus


def snippet_pairs(split, config, styles, tokenizer, shuffle=True, max_sections=4):
    """Batches of ``(snippets + piece window, targets, weights)`` for the decoder with cross-attention."""
    return section_snippet_pairs(
        split,
        styles=styles,
        snippet_length=config.snippet_length,
        max_sections=max_sections,
        sequence_length=config.sequence_length,
        batch_size=config.batch_size,
        tokenizer=tokenizer,
        shuffle=shuffle,
        seed=config.seed,
    )


# ## Recall windows: a returning section with its first statement in the same window


def recall_sequences(ids, section_ids, sequence_length):
    """Training sequences that hold each returning section's first statement right before it.

    A piece's window of ``sequence_length`` tokens rarely holds a section and its return when other
    sections stand between them (a four-bar chorale section is about 160 compact REMI tokens), so a
    model trained on windows never learns to bring the section back. For every returning section whose
    first statement does not directly precede it, this gives the piece's opening tokens (before its
    first section token: the style), that first statement, then the piece from the returning section
    on, cut to ``sequence_length`` tokens: what :func:`~musickit.generation.form_writing.write_in_form`
    shows the model with ``reprise="recall"``.
    Pieces of at most ``sequence_length`` tokens give none (one window holds them whole).

    Args:
        ids: one piece's token ids.
        section_ids: the ids of the section tokens (``SECTION_A`` ...), in any order.
        sequence_length: the training window.

    >>> # style 9, SECTION_A=1, SECTION_B=2: 9 | 1 5 5 | 2 6 6 | 1 5 5 | 2 6 6
    >>> recall_sequences([9, 1, 5, 5, 2, 6, 6, 1, 5, 5, 2, 6, 6], section_ids=(1, 2), sequence_length=8)
    [[9, 1, 5, 5, 1, 5, 5, 2], [9, 2, 6, 6, 2, 6, 6]]
    """
    ids = [int(token) for token in ids]
    if len(ids) <= sequence_length:
        return []
    section_ids = set(int(token) for token in section_ids)
    starts = [index for index, token in enumerate(ids) if token in section_ids]
    ends = starts[1:] + [len(ids)]
    first = {}  # section token -> (start, end) of its first statement
    sequences = []
    for start, end in zip(starts, ends):
        token = ids[start]
        if token not in first:
            first[token] = (start, end)
            continue
        earlier_start, earlier_end = first[token]
        if earlier_end == start:
            continue  # AA: the piece's own windows already hold the statement before its return
        sequence = ids[: starts[0]] + ids[earlier_start:earlier_end] + ids[start:]
        sequences.append(sequence[:sequence_length])
    return sequences


def with_recall_windows(split, sequence_length, tokenizer):
    """``split`` and, after its pieces, every piece's :func:`recall_sequences` (with that piece's metadata:
    its snippets, style and labels), as one :class:`~musickit.data.dataset.EncodedSplit`.

    >>> from musickit.representations.remi import REMITokenizer
    >>> tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
    >>> a, b = tokenizer.section_token_id("A"), tokenizer.section_token_id("B")
    >>> split = EncodedSplit([[a, 30, 31, b, 32, a, 30, 31]], [{"style": "bach"}])
    >>> windows = with_recall_windows(split, sequence_length=6, tokenizer=tokenizer)
    >>> [list(ids) for ids in windows][1] == [a, 30, 31, a, 30, 31], windows.metadata[1]
    (True, {'style': 'bach'})
    """
    section_ids = [tokenizer.section_token_id(letter) for letter in SECTION_LETTERS]
    arrays, metadata = list(split), list(split.metadata)
    for ids, item in zip(split, split.metadata):
        for sequence in recall_sequences(ids, section_ids, sequence_length):
            arrays.append(np.asarray(sequence, dtype=np.int32))
            metadata.append(item)
    return EncodedSplit(arrays, metadata)


def training_pairs(split, config, styles, tokenizer):
    """``(dataset, steps_per_epoch)`` of one stage: plain pairs, or a curriculum walked once over its epochs.

    With ``config.recall_windows`` the training pieces come with their :func:`recall_sequences`.
    """
    if config.recall_windows:
        split = with_recall_windows(split, config.sequence_length, tokenizer)
    plain = snippet_pairs(split, config, styles, tokenizer)
    if config.curriculum == "none":
        if config.steps_per_epoch:
            return plain.repeat(), config.steps_per_epoch
        return plain, None
    forms = sorted({item["form"] for item in split.metadata})
    lengths = (config.sequence_length // 4, config.sequence_length // 2, config.sequence_length)
    phases = curriculum_phases(
        forms, sequence_lengths=lengths, by_length="length" in config.curriculum, by_form="form" in config.curriculum
    )
    # A capped run takes one step per phase, so that every phase is walked.
    steps_per_epoch = len(phases) if config.steps_per_epoch else int(plain.cardinality())
    dataset = curriculum_pairs(
        split,
        phases,
        total_steps=steps_per_epoch * config.epochs,
        styles=styles,
        snippet_length=config.snippet_length,
        batch_size=config.batch_size,
        tokenizer=tokenizer,
        seed=config.seed,
    )
    return dataset, steps_per_epoch


# ## The model


def build_model(
    config, tokenizer, styles, decoder=None, encoder=None, conditions=tuple(CONDITIONS), dropout=0.1, name=None
):
    """A built :class:`HierarchicalTransformer` of ``config.model_preset``'s size.

    Args:
        decoder, encoder: optional dicts replacing entries of the preset's decoder
            (``DECODER_PRESETS``) and snippet-encoder (``ENCODER_PRESETS``) sizes.
        conditions: the condition names the model is conditioned on.
        name: the model's name (the recipe fixes it, so run.json stays comparable).
    """
    decoder = {
        **DECODER_PRESETS[config.model_preset],
        **({"num_layers": config.num_layers} if config.num_layers else {}),
        **(decoder or {}),
    }
    encoder = {**ENCODER_PRESETS[config.model_preset], **(encoder or {})}
    sizes = {"style": len(styles), "emotion": len(EMOTION_CLASSES), "tempo": len(TEMPO_CLASSES)}
    snippet_encoder = SnippetEncoder(
        tokenizer.vocabulary_size,
        snippet_length=config.snippet_length,
        num_memory_vectors=config.num_memory_vectors,
        dropout=dropout,
        padding_id=tokenizer.pad_id,
        name="snippet_encoder",
        **encoder,
    )
    model = HierarchicalTransformer(
        vocabulary_size=tokenizer.vocabulary_size,
        encoder=snippet_encoder,
        adapter_dim=config.adapter_dim,
        copy_head=config.copy_head,
        section_token_ids=[tokenizer.section_token_id(letter) for letter in SECTION_LETTERS],
        bar_token_id=tokenizer.bar_id,
        position_token_ids=list(tokenizer.token_ids("Position")),
        condition_sizes={condition: sizes[condition] for condition in conditions},
        dropout=dropout,
        padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
        name=name,
        **decoder,
    )
    model.build()
    return model


# ## Pre-training: NT-Xent for the encoder, next-token prediction for the decoder


def pretrain_contrastive(model, train_split, config, tokenizer, verbose=2):
    """NT-Xent pre-training of ``model.encoder`` on the section snippets; ``{"contrastive_loss", ...}``."""
    return pretrain_encoder(
        model.encoder,
        train_split,
        tokenizer,
        config.snippet_length,
        epochs=config.contrastive_epochs,
        copies=config.contrastive_copies,
        temperature=config.contrastive_temperature,
        learning_rate=config.learning_rate,
        batch_size=config.contrastive_batch_size or max(config.batch_size, 4),
        seed=config.seed,
        jit_compile=config.jit_compile,
        verbose=verbose,
    )


def pretrain_language_model(model, train_split, config, tokenizer, verbose=2):
    """The decoder alone (no memories) as a language model over the training pieces."""
    windows = token_windows(
        list(train_split),
        sequence_length=config.sequence_length,
        batch_size=config.batch_size,
        tokenizer=tokenizer,
        seed=config.seed,
    )
    steps = config.language_model_steps or int(windows.cardinality())
    if config.language_model_steps:
        windows = windows.repeat()
    set_language_model_stage(model)
    compile_for_tokens(
        model, config.learning_rate, steps * config.language_model_epochs, jit_compile=config.jit_compile
    )
    history = model.fit(
        windows,
        epochs=config.language_model_epochs,
        steps_per_epoch=config.language_model_steps,
        verbose=verbose,
        shuffle=False,  # the windows are shuffled by their pipeline; Keras warns that it ignores shuffle=True
    )
    return {
        "language_model_loss": history.history["loss"][-1],
        "language_model_steps": steps * config.language_model_epochs,
    }


def pretrain(model, train_split, config, tokenizer, weights_path=None, contrastive=True, verbose=2):
    """Both pre-trainings (the contrastive one when ``contrastive`` and epochs are set); saves ``weights_path``."""
    metrics = {}
    if contrastive and config.contrastive_epochs:
        metrics.update(pretrain_contrastive(model, train_split, config, tokenizer, verbose=verbose))
    if config.language_model_epochs:
        metrics.update(pretrain_language_model(model, train_split, config, tokenizer, verbose=verbose))
    if weights_path:
        save_weights_atomically(model, weights_path)
    return metrics


# ## Staged training


def train_stages(
    model,
    train_split,
    config,
    tokenizer,
    checkpoint_dir,
    styles,
    valid_split=None,
    epochs=None,
    resume=False,
    callbacks=(),
    validation_steps=None,
    verbose=2,
):
    """``config.stages`` with :class:`~musickit.training.staging.StagedTrainer`; ``(histories, training steps)``.

    ``epochs`` (default ``config.epochs``) is per stage; ``validation_steps`` caps the held-out batches.
    """
    epochs = epochs or config.epochs
    validation_steps = validation_steps or config.validation_steps
    trainer = StagedTrainer(
        model,
        checkpoint_dir,
        learning_rate=config.learning_rate,
        schedule=config.schedule,
        jit_compile=config.jit_compile,
    )
    train_data, steps_per_epoch = training_pairs(train_split, config.replace(epochs=epochs), styles, tokenizer)
    validation = None
    if valid_split is not None:
        validation = snippet_pairs(valid_split, config, styles, tokenizer, shuffle=False)
        if validation_steps:
            validation = validation.take(validation_steps)
    histories = trainer.run(
        train_data,
        config.stages,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation,
        resume=resume,
        callbacks=list(callbacks),
        verbose=verbose,
    )
    steps_per_epoch = steps_per_epoch or int(snippet_pairs(train_split, config, styles, tokenizer).cardinality())
    return histories, sum(len(history["loss"]) for history in histories.values()) * steps_per_epoch


# ## Evaluation: perplexity side by side with the decoder-only baseline, and the style judge


def held_out_perplexity(model, dataset, steps=None):
    """``{"parameters", "valid_nll", "valid_perplexity", "valid_tokens"}`` of ``model`` on ``dataset``'s first
    ``steps`` batches."""
    if steps:
        dataset = dataset.take(steps)
    nll, tokens = dataset_token_nll(model, dataset)
    return {
        "parameters": count_parameters(model),
        "valid_nll": nll,
        "valid_perplexity": float(np.exp(nll)),
        "valid_tokens": tokens,
    }


def perplexities(model, corpus, config, tokenizer, training_steps, pretrain_steps, verbose=2):
    """Held-out perplexity of ``model`` and, with ``config.baseline``, of a matched decoder-only model."""
    valid = snippet_pairs(corpus.valid, config, corpus.styles, tokenizer, shuffle=False)
    result = {"hierarchical": held_out_perplexity(model, valid, config.validation_steps)}
    if not config.baseline:
        return result
    baseline, prompted = train_baseline(model, corpus, config, tokenizer, pretrain_steps, training_steps, verbose)
    result["decoder_only_baseline"] = {
        **held_out_perplexity(baseline, prompted, config.validation_steps),
        "num_layers": baseline.num_layers,
        "intermediate_dim": baseline.intermediate_dim,
    }
    return result


def train_baseline(model, corpus, config, tokenizer, pretrain_steps, training_steps, verbose=2):
    """Same parameter count, same pre-training and training steps, the snippets in its prompt instead."""
    return train_prompted_baseline(
        corpus,
        tokenizer,
        count_parameters(model),
        model.hidden_dim,
        model.num_heads,
        config.snippet_length,
        config.sequence_length,
        pretrain_steps,
        training_steps,
        config.batch_size,
        config.learning_rate,
        config.seed,
        jit_compile=config.jit_compile,
        verbose=verbose,
    )


def train_style_judge(corpus, config, tokenizer, verbose=2):
    """The style classifier that grades generated pieces: ``(classifier, accuracies)``."""
    return train_style_classifier(
        corpus.train,
        corpus.styles,
        tokenizer.vocabulary_size,
        config.snippet_length,
        valid_split=corpus.valid,
        epochs=config.style_classifier_epochs,
        pad_id=tokenizer.pad_id,
        seed=config.seed,
        verbose=verbose,
        jit_compile=config.jit_compile,
    )
