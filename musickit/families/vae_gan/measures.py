"""What the VAE-GAN family measures on held-out segments: reconstruction, posterior use, prior samples, interpolation.

- reconstruction token accuracy, teacher-forced and greedy-decoded, from the posterior means;
- posterior collapse: KL per dimension, active units (Burda et al. 2016: a unit is active when the variance of
  its posterior mean over the data exceeds 0.01), and the accuracy lost when the latents are shuffled across the
  batch (a decoder that reads its latents loses a lot);
- prior samples: longest token run, distinct-4 against the data's;
- interpolation: how monotonically musical features move from piece A to piece B.

Example:

>>> round(monotonicity([1.0, 2.0, 2.5, 4.0]), 2)
1.0
"""

import numpy as np
from keras import ops

from musickit.families.vae_gan.gates import collapse_measures, longest_run
from musickit.metrics.diversity import distinct_ngram_ratio

ACTIVE_UNIT_VARIANCE = 0.01


def _batches(segments, batch_size):
    for start in range(0, len(segments), batch_size):
        yield segments[start : start + batch_size]


def _posterior(model, batch):
    posterior = model.encode(batch, sample=False)
    return {name: ops.convert_to_numpy(value) for name, value in posterior.items()}


def _teacher_forced(model, batch, global_latent, bar_latents):
    logits = model.decode_latents(model.decoder_inputs(batch), global_latent, bar_latents)
    return ops.convert_to_numpy(logits)


def _token_accuracy(logits, batch, padding_id):
    mask = batch != padding_id
    return float(((logits.argmax(-1) == batch) & mask).sum()), float(mask.sum())


def held_out_nll(model, segments, batch_size):
    """Teacher-forced NLL in nats per token, decoding from the posterior means (the VAE's reconstruction term)."""
    total = count = 0.0
    for batch in _batches(segments, batch_size):
        posterior = _posterior(model, batch) if model.use_latents else {"global_latent": None, "bar_latents": None}
        logits = _teacher_forced(model, batch, posterior["global_latent"], posterior["bar_latents"])
        logits = logits - logits.max(-1, keepdims=True)
        log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        chosen = np.take_along_axis(log_probabilities, batch[..., None].astype("int64"), axis=-1)[..., 0]
        mask = batch != model.padding_id
        total, count = total - float(chosen[mask].sum()), count + float(mask.sum())
    return total / max(count, 1.0)


def posterior_measures(model, segments, batch_size, seed=0):
    """Teacher-forced accuracy, KL per dimension, active units and the shuffled-latent accuracy drop."""
    generator = np.random.default_rng(seed)
    correct = shuffled_correct = total = 0.0
    means, kl_rows = [], []
    for batch in _batches(segments, batch_size):
        posterior = _posterior(model, batch)
        logits = _teacher_forced(model, batch, posterior["global_latent"], posterior["bar_latents"])
        hits, count = _token_accuracy(logits, batch, model.padding_id)
        order = generator.permutation(len(batch))
        if len(batch) > 1:
            order = np.roll(np.arange(len(batch)), 1)  # every row gets another row's latents
        shuffled = _teacher_forced(model, batch, posterior["global_latent"][order], posterior["bar_latents"][order])
        shuffled_hits, _ = _token_accuracy(shuffled, batch, model.padding_id)
        correct, shuffled_correct, total = correct + hits, shuffled_correct + shuffled_hits, total + count
        means.append(np.concatenate([posterior["global_mean"], posterior["bar_mean"].reshape(len(batch), -1)], axis=-1))
        kl_rows.append(ops.convert_to_numpy(model.kl_per_dimension(posterior)))
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
    """Greedy decoding from the posterior means, compared position by position with the original segment."""
    hits = total = 0.0
    for batch in _batches(segments, max(batch_size, 64)):
        posterior = _posterior(model, batch)
        # One length for every call (the segments' padded length): the engine compiles its loop once.
        decoded = model.generate(posterior, max_length=batch.shape[1] + 1, sampler="greedy", stop_token_ids=None)
        for original, output in zip(batch, decoded):
            real = original[original != model.padding_id]
            output = np.asarray(output[: len(real)])
            hits += float((output == real[: len(output)]).sum())
            total += len(real)
    return hits / max(total, 1.0)


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
    measures["sampled_accuracy"] = sampled_accuracy(model, segments, config.batch_size)
    prior = greedy_or_sampled_prior(model, config)
    real = [segment[segment != model.padding_id].tolist() for segment in segments]
    data_distinct4 = distinct_ngram_ratio(real, 4)
    prior_measures = collapse_measures(prior)
    measures["max_token_run"] = prior_measures["max_token_run"]
    measures["distinct4_ratio"] = prior_measures["distinct4"] / data_distinct4 if data_distinct4 else float("nan")
    measures["data_max_token_run"] = max((longest_run(r) for r in real), default=0)
    return measures


def greedy_or_sampled_prior(model, config, seed=0):
    """Prior samples decoded greedily (what the collapse measures read)."""
    latents = model.sample_prior(max(config.num_samples, 4), temperature=config.prior_temperature, seed=seed)
    return model.generate(latents, max_length=config.max_segment_tokens + 1, sampler="greedy", stop_token_ids=None)
