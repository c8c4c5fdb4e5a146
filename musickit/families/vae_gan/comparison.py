"""The VAE-GAN beside a plain Music Transformer of equal parameters and steps, and both sets of samples judged.

What a latent buys is measured against the model it would otherwise be: a
:class:`~musickit.models.music_transformer.MusicTransformer` with the VAE's
width and heads and about its trainable parameter count
(:func:`~musickit.models.parameter_matching.matched_music_transformer`),
trained on the same segments for as many steps as the VAE's three stages
took, with the same optimiser. On held-out segments both report NLL and
teacher-forced accuracy (the VAE's from its posterior means, so the gap is
what the latents tell the decoder), and greedy decoding's longest token run.
Samples of both (the VAE's from the prior), decoded under the family's
sampling to one segment's bars, are judged by
:func:`musickit.metrics.corpus.compare_to_corpus` against held-out segments,
beside its random-note and Markov floors and the training ceiling.

Example (what ``benchmarks/vae_gan.py`` does after training)::

    transformer = train_plain_transformer(model, data, config, steps=800)
    table = {"vae_gan": vae_side(model, data, config), "plain": transformer_side(transformer, data, config)}
"""

import numpy as np

from musickit.families.vae_gan.bars import bar_settings, within_bars
from musickit.families.vae_gan.gates import collapse_measures, greedy_samples
from musickit.families.vae_gan.generation import decode_processors, decode_tokens, named_sampler, prior_pieces
from musickit.families.vae_gan.measures import held_out_nll, posterior_measures
from musickit.families.vae_gan.pipeline import compile_token_model, segment_batches, training_batches
from musickit.metrics.diversity import copied_ngram_share, distinct_ngram_ratio

#: Pieces sampled from each model and judged against as many held-out segments.
JUDGED_PIECES = 16
#: Token n-grams whose share found in the training segments measures copying: 16 REMI tokens are about two
#: four-voice chords with their positions.
COPIED_NGRAM = 16


def training_steps(config, steps_per_epoch):
    """The steps the VAE-GAN's stages take: language model, VAE, adversarial."""
    return (config.transformer_epochs + config.vae_epochs) * steps_per_epoch + config.gan_steps


def train_plain_transformer(vae, data, config, steps, seed=0, verbose=2, steps_per_epoch=None):
    """A Music Transformer matched to ``vae``'s trainable parameters, trained ``steps`` steps on the training segments.

    ``steps_per_epoch`` (default: all ``steps`` in one) splits the steps into epochs of that length and a
    shorter last one, so that a long run reports its loss as it goes, as the VAE's stages do.
    """
    from musickit.models.parameter_matching import count_parameters, matched_music_transformer

    tokenizer = data.tokenizer
    transformer = matched_music_transformer(
        # not the fitted prior's components, which are the training segments' posteriors kept as weights
        count_parameters(vae, trainable_only=True),
        tokenizer.vocabulary_size,
        vae.hidden_dim,
        vae.num_heads,
        max_sequence_length=vae.max_sequence_length,
        padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
        dropout=config.dropout,
    )
    transformer.build()
    compile_token_model(transformer, config, steps)  # the VAE's optimiser, schedule, loss and metrics
    print(f"plain Music Transformer: {count_parameters(transformer):,} parameters, {steps} steps")
    batches = training_batches(data, config, seed, start_id=tokenizer.bos_id)
    fit_steps(transformer, batches, steps, steps_per_epoch, verbose=verbose)
    return transformer


def fit_steps(model, batches, steps, steps_per_epoch=None, verbose=2):
    """Train ``model`` ``steps`` steps on the endless ``batches``, in epochs of ``steps_per_epoch``.

    ``fit`` takes one length for every epoch, so a remainder (the adversarial stage's steps, for the plain
    transformer) is a second, shorter ``fit``.

    Example::

        fit_steps(model, batches, steps=5, steps_per_epoch=2)  # epochs of 2, 2 and 1 steps
    """
    epoch_steps = min(steps_per_epoch or steps, steps)
    epochs, last_steps = divmod(steps, epoch_steps)
    model.fit(batches, epochs=epochs, steps_per_epoch=epoch_steps, verbose=verbose)
    if last_steps:
        model.fit(batches, epochs=1, steps_per_epoch=last_steps, verbose=verbose)


def transformer_side(transformer, data, config, seed=0):
    """The plain transformer's column: held-out NLL and accuracy, greedy collapse, judged samples."""
    tokenizer = data.tokenizer
    segments = data.segments[data.held_out_name][: config.evaluation_segments]
    # compile_token_model's NLL and accuracy metrics, weighted by the padding mask: per held-out token.
    batches = segment_batches(segments, config.batch_size, tokenizer.pad_id, start_id=tokenizer.bos_id)
    scores = transformer.evaluate(batches, return_dict=True, verbose=0)
    starts = np.full((4, 1), tokenizer.bos_id, "int32")
    greedy = transformer.generate(starts, config.max_segment_tokens + 1, sampler="greedy", stop_token_ids=None)
    # Read up to the end of the segment's bars, as the VAE's greedy decodes are (gates.greedy_samples).
    increments, offset = bar_settings(tokenizer)
    greedy = [within_bars(row[1:], increments, offset, config.bars_per_segment) for row in greedy]
    sampling = config.sampling
    name, options = named_sampler(sampling)
    processors = decode_processors(tokenizer, sampling, transformer.vocabulary_size, config.bars_per_segment)
    prompts = np.full((JUDGED_PIECES, 1), tokenizer.bos_id, "int32")
    length = min(int(sampling.new_tokens) + 1, transformer.max_sequence_length)
    sampled = transformer.generate(prompts, length, sampler=name, processors=processors, seed=seed, **options)
    return {
        "held_out_nll": float(scores["nll"]),
        "teacher_forced_accuracy": float(scores["accuracy"]),
        "greedy_max_token_run": collapse_measures(greedy)["max_token_run"],
        "samples": [row[1:] for row in sampled],
    }


def vae_side(model, data, config, seed=0):
    """The VAE-GAN's column: held-out NLL and accuracy from the posterior means, greedy collapse, prior samples."""
    segments = data.segments[data.held_out_name][: config.evaluation_segments]
    measures = posterior_measures(model, segments, config.batch_size)
    greedy = greedy_samples(
        model, model.sample_prior(4, config.prior_temperature, seed=seed), config.max_segment_tokens + 1
    )
    samples = prior_pieces(
        model, data.tokenizer, JUDGED_PIECES, config.sampling, config.prior_temperature, seed, config.bars_per_segment
    )
    return {
        "held_out_nll": held_out_nll(model, segments, config.batch_size),
        "teacher_forced_accuracy": measures["teacher_forced_accuracy"],
        "greedy_max_token_run": collapse_measures(greedy)["max_token_run"],
        "samples": samples,
    }


def judged_segments(data, split, count, seed=0):
    """``count`` random segments of ``split`` as token lists, one a piece while pieces last."""
    segments, pieces = data.segments[split], data.pieces[split]
    order = np.random.default_rng(seed).permutation(len(segments))
    _, first = np.unique(pieces[order], return_index=True)  # each piece's first segment in the random order
    chosen = [*order[np.sort(first)], *np.delete(order, first)][:count]
    return [segments[index][segments[index] != data.tokenizer.pad_id].tolist() for index in chosen]


def judge_samples(sides, data, config, seed=0):
    """Add to each side of ``sides`` the judgement of its samples against held-out segments; return ``sides``.

    Each side gains ``distinct4_ratio`` (its samples' distinct 4-grams over the held-out segments'),
    ``copied_ngram_share`` (the share of its samples' :data:`COPIED_NGRAM`-grams found in a training segment,
    beside the held-out segments' share: a sampler that replays its training data is near 1) and ``music``
    (:func:`~musickit.metrics.corpus.compare_to_corpus` on the decoded samples, one segment long, with floors
    fitted on training segments and training segments as the ceiling).
    """
    from musickit.metrics.corpus import compare_to_corpus
    from musickit.metrics.evaluation import json_safe

    tokenizer = data.tokenizer
    held_out = judged_segments(data, data.held_out_name, JUDGED_PIECES, seed)
    training = judged_segments(data, "train", 4 * JUDGED_PIECES, seed)
    data_distinct4 = distinct_ngram_ratio(held_out, 4)
    pad = tokenizer.pad_id
    every_training_segment = [row[row != pad].tolist() for row in data.segments["train"]]
    held_out_copied = copied_ngram_share(held_out, every_training_segment, COPIED_NGRAM)
    held_out_scores = [decode_tokens(tokenizer, ids) for ids in held_out]
    training_scores = [decode_tokens(tokenizer, ids) for ids in training]
    length = 4.0 * config.bars_per_segment
    for side in sides.values():
        samples = side.pop("samples")
        side["distinct4_ratio"] = distinct_ngram_ratio(samples, 4) / data_distinct4 if data_distinct4 else float("nan")
        side["copied_ngram_share"] = {
            "samples": copied_ngram_share(samples, every_training_segment, COPIED_NGRAM),
            "held_out": held_out_copied,
            "n": COPIED_NGRAM,
        }
        scores = [decode_tokens(tokenizer, ids) for ids in samples]
        side["music"] = json_safe(compare_to_corpus(scores, held_out_scores, training_scores, seed=seed, length=length))
    return sides
