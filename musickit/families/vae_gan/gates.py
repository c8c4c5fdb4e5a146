"""The gates between training stages: greedy decoding must not collapse, the VAE must use its latents.

A public transformer -> VAE -> VAE-GAN project reported that its model
collapsed (greedy decoding repeats one token forever; only temperature 2.0
gave varied output). Each stage here ends with these checks on greedy
decoding without any logits processor (the grammar would hide a collapse):
the longest run of one token, the share of distinct tokens, and distinct-4.

Example:

>>> collapse_measures([[5, 5, 5, 6], [7, 8, 9, 10]])["max_token_run"]
3
>>> round(collapse_measures([[5, 5, 5, 5]])["distinct_ratio"], 2)
0.25
"""

from musickit.families.vae_gan.bars import within_bars
from musickit.metrics.diversity import distinct_ngram_ratio


def longest_run(sequence):
    """Length of the longest run of one repeated token."""
    best = current = 0
    previous = None
    for token in sequence:
        current = current + 1 if token == previous else 1
        best, previous = max(best, current), token
    return best


def greedy_samples(model, latents, max_length):
    """Greedy decoding (no processors, no end token) from ``latents`` (``None``: the plain decoder), each decode
    read up to the end of the model's ``num_bars`` bars: past them the decoder was never trained (their targets
    are padding), and a melody's four bars end long before ``max_length``."""
    decoded = model.generate(latents, max_length=max_length, sampler="greedy", stop_token_ids=None)
    return [within_bars(row, model.bar_increments, model.bar_offset, model.num_bars).tolist() for row in decoded]


def collapse_measures(samples):
    """``max_token_run``, ``distinct_ratio`` (distinct tokens / tokens, averaged over samples) and ``distinct4``."""
    samples = [list(sample) for sample in samples if len(sample)]
    return {
        "max_token_run": max((longest_run(sample) for sample in samples), default=0),
        "distinct_ratio": sum(len(set(sample)) / len(sample) for sample in samples) / max(len(samples), 1),
        "distinct4": distinct_ngram_ratio(samples, 4),
    }


def gate_failures(stage, gate, config):
    """The reasons ``gate`` fails ``config``'s thresholds (empty when it passes)."""
    failures = []
    if gate["max_token_run"] > config.gate_max_token_run:
        failures.append(
            f"greedy decoding repeats one token {gate['max_token_run']} times in a row "
            f"(limit {config.gate_max_token_run})"
        )
    if gate["distinct_ratio"] < config.gate_min_distinct_ratio:
        failures.append(
            f"greedy decoding uses {gate['distinct_ratio']:.3f} distinct tokens per token "
            f"(floor {config.gate_min_distinct_ratio})"
        )
    if stage != "transformer" and gate.get("active_units_fraction", 1.0) < config.gate_min_active_units:
        failures.append(
            f"posterior collapse: {gate['active_units_fraction']:.2f} of the latent units are active "
            f"(floor {config.gate_min_active_units}); raise --free-bits or lower --kl-max-weight"
        )
    if stage == "vae_gan" and gate.get("nll_increase", 0.0) > config.gate_max_nll_increase:
        failures.append(
            f"the adversarial stage raised held-out NLL by {gate['nll_increase']:.1%} "
            f"(limit {config.gate_max_nll_increase:.0%}); lower --adversarial-weight"
        )
    return failures


def check_gate(stage, gate, config, error=RuntimeError):
    """Print the gate; raise ``error`` with every failure when ``config.enforce_gates`` (else only print)."""
    shown = {name: round(value, 4) if isinstance(value, float) else value for name, value in gate.items()}
    shown.pop("last_logs", None)
    print(f"stage {stage} gate: {shown}")
    failures = gate_failures(stage, gate, config)
    if not failures:
        print(f"stage {stage} gate: passed")
        return True
    message = f"stage {stage} failed its gate: " + "; ".join(failures)
    if config.enforce_gates:
        raise error(message + " (training stopped; the model so far is in model.keras)")
    print(message + " (not enforced: --smoke or enforce_gates=False)")
    return False
