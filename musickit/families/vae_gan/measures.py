"""What the VAE-GAN family measures on held-out segments: reconstruction, posterior use, prior samples, interpolation.

- reconstruction token accuracy, teacher-forced and greedy-decoded, from the posterior means (greedy decoding
  compared token by token over the segment, and lined up again at each bar);
- posterior collapse: KL per dimension, active units (Burda et al. 2016: a unit is active when the variance of
  its posterior mean over the data exceeds 0.01), and the accuracy lost when the latents are shuffled across the
  batch (a decoder that reads its latents loses a lot);
- greedy decodes of prior samples: longest token run, distinct-4 against as many held-out segments';
- interpolation: how monotonically musical features move from piece A to piece B.

Example:

>>> round(monotonicity([1.0, 2.0, 2.5, 4.0]), 2)
1.0
"""

import functools
import itertools

import keras
import numpy as np
from keras import ops

from musickit.families.vae_gan.bars import token_bars
from musickit.families.vae_gan.gates import collapse_measures, greedy_samples, longest_run
from musickit.generation.compiling import compile_for_backend
from musickit.metrics.diversity import distinct_ngram_ratio
from musickit.models.music_vae import padded_row_count

ACTIVE_UNIT_VARIANCE = 0.01


def _batches(segments, batch_size):
    for start in range(0, len(segments), batch_size):
        yield segments[start : start + batch_size]


def _padded(batch, rows, padding_id):
    """``batch`` with rows of ``padding_id`` appended up to ``rows`` rows (one shape for every batch)."""
    if len(batch) == rows:
        return batch
    extra = np.full((rows - len(batch), *batch.shape[1:]), padding_id, batch.dtype)
    return np.concatenate([batch, extra])


def _compiled(model, terms):
    """``terms(model, *tensors)`` for the backend, made once per model and latent use.

    On JAX one compiled program per input shape: eagerly, every operation of the encoder and decoder was
    compiled as a program of its own (about 100 per shape). TensorFlow runs these few forward passes
    fastest eagerly (tracing a graph cost more than it saved); PyTorch eagerly under ``torch.no_grad``.
    """
    functions = model.__dict__.setdefault("_musickit_measure_functions", {})
    key = (terms.__name__, bool(model.use_latents))
    if key not in functions:
        function = functools.partial(terms, model)
        if keras.config.backend() != "tensorflow":
            function = compile_for_backend(function, jit_compile=False, weights=model)
        functions[key] = function
    return functions[key]


def _posterior_terms(model, segment_ids):
    posterior = model.encode(segment_ids, sample=False)
    return {**posterior, "kl_per_dimension": model.kl_per_dimension(posterior)}


def _chosen_terms(logits, targets):
    """Each target token's log-probability under ``logits`` and whether it is the argmax."""
    log_probabilities = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    chosen = ops.take_along_axis(log_probabilities, ops.expand_dims(targets, -1), axis=-1)[..., 0]
    return chosen, ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), targets)


def _teacher_forced_terms(model, segment_ids, global_latent, bar_latents, order):
    """Teacher-forced terms from the given latents, and the hits with the latents of rows ``order``."""
    targets = ops.cast(segment_ids, "int32")
    decoder_ids = model.decoder_inputs(targets)
    chosen, hit = _chosen_terms(model.decode_latents(decoder_ids, global_latent, bar_latents), targets)
    shuffled = model.decode_latents(
        decoder_ids, ops.take(global_latent, order, axis=0), ops.take(bar_latents, order, axis=0)
    )
    return {"log_probability": chosen, "hit": hit, "shuffled_hit": _chosen_terms(shuffled, targets)[1]}


def _language_model_terms(model, segment_ids):
    """Teacher-forced terms of the decoder alone (no latents)."""
    targets = ops.cast(segment_ids, "int32")
    chosen, hit = _chosen_terms(model.decode_latents(model.decoder_inputs(targets)), targets)
    return {"log_probability": chosen, "hit": hit}


def posterior_means(model, segments, batch_size=None):
    """The posterior of each of ``segments`` as numpy: ``global_latent``/``bar_latents`` (the means), their
    ``*_mean`` and ``*_log_variance``, and ``kl_per_dimension``.

    Segments go through one compiled program ``batch_size`` rows at a time (default: all of them; rounded
    up to :func:`~musickit.models.music_vae.padded_row_count`, the last batch padded), so every call with
    the same batch size and segment length reuses it.
    """
    segments = np.asarray(segments)
    rows = padded_row_count(batch_size or len(segments))
    function = _compiled(model, _posterior_terms)
    parts = []
    for batch in _batches(segments, rows):
        values = function(ops.convert_to_tensor(_padded(batch, rows, model.padding_id)))
        parts.append({name: ops.convert_to_numpy(value)[: len(batch)] for name, value in values.items()})
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _teacher_forced_batches(model, segments, batch_size):
    """Per batch of ``segments``: ``(batch, posterior or None, terms)``, the terms of
    :func:`_teacher_forced_terms` (latents shuffled by one row within the real rows) or, without latents,
    :func:`_language_model_terms`; numpy, padding rows cut off."""
    rows = padded_row_count(batch_size)
    for batch in _batches(segments, rows):
        padded = ops.convert_to_tensor(_padded(batch, rows, model.padding_id))
        if not model.use_latents:
            terms = _compiled(model, _language_model_terms)(padded)
            yield batch, None, {name: ops.convert_to_numpy(value)[: len(batch)] for name, value in terms.items()}
            continue
        posterior = posterior_means(model, batch, rows)
        order = np.arange(rows, dtype="int32")
        if len(batch) > 1:
            order[: len(batch)] = np.roll(np.arange(len(batch)), 1)  # every row gets another row's latents
        latents = [_padded(posterior[name], rows, 0.0) for name in ("global_latent", "bar_latents")]
        terms = _compiled(model, _teacher_forced_terms)(padded, *map(ops.convert_to_tensor, [*latents, order]))
        yield batch, posterior, {name: ops.convert_to_numpy(value)[: len(batch)] for name, value in terms.items()}


def held_out_nll(model, segments, batch_size):
    """Teacher-forced NLL in nats per token, decoding from the posterior means (the VAE's reconstruction term)."""
    total = count = 0.0
    for batch, _, terms in _teacher_forced_batches(model, segments, batch_size):
        mask = batch != model.padding_id
        total, count = total - float(terms["log_probability"][mask].sum()), count + float(mask.sum())
    return total / max(count, 1.0)


def posterior_measures(model, segments, batch_size):
    """Teacher-forced accuracy, KL per dimension, active units and the shuffled-latent accuracy drop."""
    correct = shuffled_correct = total = 0.0
    means, kl_rows = [], []
    for batch, posterior, terms in _teacher_forced_batches(model, segments, batch_size):
        mask = batch != model.padding_id
        correct += float((terms["hit"] & mask).sum())
        shuffled_correct += float((terms["shuffled_hit"] & mask).sum())
        total += float(mask.sum())
        means.append(np.concatenate([posterior["global_mean"], posterior["bar_mean"].reshape(len(batch), -1)], axis=-1))
        kl_rows.append(posterior["kl_per_dimension"])
    means, kl = np.concatenate(means), np.concatenate(kl_rows)
    active = means.var(axis=0) > ACTIVE_UNIT_VARIANCE
    kl_per_dimension = kl.mean(axis=0)
    accuracy = correct / max(total, 1.0)
    return {
        "teacher_forced_accuracy": accuracy,
        "shuffle_accuracy_drop": accuracy - shuffled_correct / max(total, 1.0),
        "active_units_fraction": float(active.mean()),
        "kl_per_dimension": float(kl_per_dimension.mean()),
        "kl_per_active_dimension": float(kl_per_dimension[active].mean()) if active.any() else 0.0,
    }


def sampled_accuracy(model, segments, batch_size):
    """Greedy decoding from the posterior means against the original segment: ``(by position, bar by bar, in
    order)``, each hits over the original's tokens.

    - by position: the two token sequences compared place by place over the whole segment (the issue's
      measure: one note too many or too few in bar 1 shifts every later token, so it counts all of them wrong);
    - bar by bar: lined up again at each bar (:func:`bar_aligned_hits`);
    - in order: the longest common subsequence (:func:`in_order_hits`), the tokens written in the original's
      order with insertions and deletions forgiven; the nearest a variable-length event sequence comes to
      MusicVAE's sampled accuracy, which compares fixed 16th-note steps where nothing can shift.
    """
    hits = bar_hits = order_hits = total = 0.0
    for batch in _batches(segments, max(batch_size, 64)):
        posterior = posterior_means(model, batch, batch_size)
        # One length for every call (the segments' padded length): the engine compiles its loop once.
        decoded = model.generate(posterior, max_length=batch.shape[1] + 1, sampler="greedy", stop_token_ids=None)
        for original, output in zip(batch, decoded):
            real = original[original != model.padding_id]
            output = np.asarray(output[: len(real)])
            hits += float((output == real[: len(output)]).sum())
            bar_hits += bar_aligned_hits(real, output, model.bar_increments, model.bar_offset)
            order_hits += in_order_hits(real, output)
            total += len(real)
    return hits / max(total, 1.0), bar_hits / max(total, 1.0), order_hits / max(total, 1.0)


def in_order_hits(original, output):
    """The length of the longest common subsequence of two token sequences (dynamic programming, row by row).

    >>> in_order_hits([1, 5, 6, 1, 7, 8], [1, 6, 1, 7, 9, 8])  # 5 dropped, 9 inserted: 1 6 1 7 8 in order
    5
    """
    original, output = np.asarray(original), np.asarray(output)
    previous = np.zeros(len(output) + 1, "int64")
    for token in original:
        # row[j] = max(previous[j], row[j - 1], previous[j - 1] + match): the running maximum carries row[j - 1]
        diagonal = previous[:-1] + (output == token)
        row = np.concatenate([[0], np.maximum(previous[1:], diagonal)])
        previous = np.maximum.accumulate(row)
    return int(previous[-1])


def bar_aligned_hits(original, output, bar_increments, bar_offset):
    """Tokens of ``output`` equal to ``original``'s at the same place in the same bar.

    >>> bar = 3  # two bars: the output drops a note (5) from bar 0, then writes bar 1 exactly
    >>> bar_aligned_hits([bar, 5, 6, bar, 7, 8], [bar, 6, bar, 7, 8], {bar: 1.0}, 1.0)
    4
    """
    original, output = np.asarray(original), np.asarray(output)
    original_bars = token_bars(original, bar_increments, bar_offset)
    output_bars = token_bars(output, bar_increments, bar_offset) if len(output) else np.zeros(0, "int64")
    hits = 0
    for bar in np.unique(original_bars):
        mine, theirs = original[original_bars == bar], output[output_bars == bar]
        length = min(len(mine), len(theirs))
        hits += int((mine[:length] == theirs[:length]).sum())
    return hits


def slerp(first, second, fraction):
    """Spherical interpolation between two latent vectors (linear when they are parallel)."""
    first, second = np.asarray(first, "float64"), np.asarray(second, "float64")
    norms = np.linalg.norm(first) * np.linalg.norm(second)
    cosine = np.clip(np.dot(first.ravel(), second.ravel()) / max(norms, 1e-12), -1.0, 1.0)
    angle = np.arccos(cosine)
    if angle < 1e-6:
        return (1 - fraction) * first + fraction * second
    return (np.sin((1 - fraction) * angle) * first + np.sin(fraction * angle) * second) / np.sin(angle)


def interpolate_latents(first, second, steps):
    """``steps`` latents from ``first`` to ``second`` (dicts of one row each), spherically, ends included."""
    fractions = np.linspace(0.0, 1.0, steps)
    first = {name: ops.convert_to_numpy(first[name]) for name in ("global_latent", "bar_latents")}
    second = {name: ops.convert_to_numpy(second[name]) for name in ("global_latent", "bar_latents")}
    return {
        name: np.stack([slerp(first[name][0], second[name][0], fraction) for fraction in fractions]).astype("float32")
        for name in ("global_latent", "bar_latents")
    }


def monotonicity(values):
    """Spearman correlation of ``values`` with their step (1: moves steadily from A to B; 0: no trend)."""
    values = np.asarray(values, "float64")
    if len(values) < 2 or np.ptp(values) == 0:
        return 0.0
    ranks = values.argsort().argsort().astype("float64")
    steps = np.arange(len(values), dtype="float64")
    return float(np.corrcoef(ranks, steps)[0, 1])


def monotonicity_by_chance(steps):
    """The mean :func:`interpolation_smoothness` score of ``steps`` values in random order: the sign is fixed
    so that the last step lies above the first, which alone makes the expected correlation positive.

    >>> round(monotonicity_by_chance(5), 2)  # five steps with no trend at all still score 0.40
    0.4
    """
    orders = itertools.permutations(range(steps)) if steps <= 7 else np.random.default_rng(0).random((5000, steps))
    orders = [np.asarray(order, "float64") for order in orders]
    scores = [monotonicity(order if order[-1] >= order[0] else -order) for order in orders]
    return float(np.mean(scores))


def piece_features(tokenizer, ids):
    """Mean pitch and notes per token of decoded ``ids`` (what an interpolation should move smoothly)."""
    try:
        score = tokenizer.decode(np.asarray(ids, "int64"))
    except Exception:  # noqa: BLE001 - an ungrammatical sample decodes to nothing rather than stopping the measure
        return {"mean_pitch": np.nan, "note_density": 0.0}
    pitches = [note.pitch for note in score.notes]
    return {
        "mean_pitch": float(np.mean(pitches)) if pitches else np.nan,
        "note_density": len(pitches) / max(len(ids), 1),
    }


def interpolation_smoothness(tokenizer, pieces):
    """Per feature, the monotonicity of the interpolation steps' feature (sign fixed so that A -> B is positive)."""
    features = [piece_features(tokenizer, piece) for piece in pieces]
    result = {}
    for name in ("mean_pitch", "note_density"):
        values = np.array([feature[name] for feature in features], "float64")
        values = np.where(np.isnan(values), np.nanmean(values) if np.isfinite(values).any() else 0.0, values)
        direction = 1.0 if values[-1] >= values[0] else -1.0
        result[name] = monotonicity(direction * values)
    return result


def held_out_measures(model, data, config):
    """Every measurement of the issue on held-out segments (``evaluation_segments`` of them)."""
    segments = data.segments[data.held_out_name][: config.evaluation_segments]
    measures = posterior_measures(model, segments, config.batch_size)
    measures["held_out_nll"] = held_out_nll(model, segments, config.batch_size)
    (
        measures["sampled_accuracy"],
        measures["sampled_accuracy_by_bar"],
        measures["sampled_accuracy_in_order"],
    ) = sampled_accuracy(model, segments, config.batch_size)
    prior = greedy_prior_samples(model, config)
    real = [segment[segment != model.padding_id].tolist() for segment in segments]
    # Distinct-4 grows as a set shrinks (fewer chances to repeat a 4-gram): as many real segments as samples.
    data_distinct4 = distinct_ngram_ratio(real[: len(prior)], 4)
    prior_measures = collapse_measures(prior)
    measures["max_token_run"] = prior_measures["max_token_run"]
    measures["greedy_distinct4_ratio"] = (
        prior_measures["distinct4"] / data_distinct4 if data_distinct4 else float("nan")
    )
    measures["data_max_token_run"] = max((longest_run(r) for r in real), default=0)
    return measures


def greedy_prior_samples(model, config, seed=0):
    """As many prior samples as held-out segments are measured, decoded greedily (what the collapse measures
    read; the stage gates read 4): a rare run of one token shows in 64 decodes where 4 can miss it."""
    count = max(config.num_samples, config.evaluation_segments)
    latents = model.sample_prior(count, temperature=config.prior_temperature, seed=seed)
    return greedy_samples(model, latents, config.max_segment_tokens + 1)
