"""Transformer-VAE-GAN on held-out chorale segments: reconstruction, posterior use, the GAN stage, interpolation.

Trains the family's three stages (transformer -> VAE -> VAE-GAN; gates printed, not enforced, so every number
is measured even when a stage collapses) and prints a Markdown table of the issue's measurements. Then, side by
side, a plain Music Transformer of equal parameters trained for as many steps on the same segments (held-out NLL
and accuracy, greedy collapse, distinct-4), and both models' samples (the VAE's from the prior) judged by the
shared evaluator against held-out segments beside its floors and ceiling
(`musickit.families.vae_gan.comparison`). With --json, one JSON object at the end.

    python benchmarks/vae_gan.py --json                # the recipe's cpu preset (misses greedy reconstruction)
    python benchmarks/vae_gan.py --epochs 40 --config '{"token_dropout": 0.2, "prior_temperature": 1.5}' --json
                                                       # the longer model: every target (RESULTS.md), ~2 hours
    python benchmarks/vae_gan.py --smoke --json        # the recipe's smoke settings: seconds, numbers meaningless
    python benchmarks/vae_gan.py --no-baseline --config '{"beats_per_bar": 4}'   # one ablation, VAE-GAN alone
    python benchmarks/vae_gan.py --output-dir runs/vae_gan_benchmark   # keep the run folder (model, samples)
"""

import argparse
import contextlib
import json
import sys
import tempfile
import time

from musickit.families.vae_gan.config import MODEL_PRESETS, VaeGanConfig

TARGETS = {
    "teacher_forced_accuracy": (">=", 0.85),
    "sampled_accuracy": (">=", 0.60),
    "active_units_fraction": (">=", 0.25),
    "shuffle_accuracy_drop": (">=", 0.15),
    "gan_nll_increase": ("<=", 0.05),
    "max_token_run": ("<=", 16),
    "distinct4_ratio": ("in", "[0.9, 1.1]"),
}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="the smoke preset (tiny model, short segments): checks the script runs"
    )
    parser.add_argument("--preset", choices=MODEL_PRESETS, default=None, help="model size (default: the config's)")
    parser.add_argument("--max-files", type=int, default=None, help="pieces read (default: the config's)")
    parser.add_argument("--epochs", type=int, default=None, help="VAE epochs (default: the config's)")
    parser.add_argument("--gan-steps", type=int, default=None, help="(default: the config's)")
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--evaluation-segments", type=int, default=None, help="(default: the config's)")
    parser.add_argument(
        "--config",
        type=json.loads,
        default={},
        help="more VaeGanConfig fields as a JSON object, e.g. '{\"beats_per_bar\": 8}' (an ablation run)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="leave out the plain Music Transformer")
    parser.add_argument(
        "--output-dir", default=None, help="keep the VAE-GAN's run folder here (default: a temporary folder, deleted)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    given = {
        "model_preset": args.preset,
        "max_files_per_source": args.max_files,
        "vae_epochs": args.epochs,
        "gan_steps": args.gan_steps,
        "steps_per_epoch": args.steps_per_epoch,
        "evaluation_segments": args.evaluation_segments,
    }
    changes = {**args.config, **{name: value for name, value in given.items() if value is not None}}
    config = VaeGanConfig.preset("smoke" if args.smoke else "cpu", **changes, enforce_gates=False)
    import keras

    from musickit.families.vae_gan import comparison, generation, pipeline
    from musickit.runs import RunFolder
    from musickit.utils.compile_cache import run_smoke_eagerly

    keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()
    data = pipeline.load_data(config, seed=args.seed)
    model = pipeline.build_model(config, data)
    with contextlib.nullcontext(args.output_dir) if args.output_dir else tempfile.TemporaryDirectory() as folder:
        run = RunFolder(folder)
        pipeline.start_run(run, model, data, config, seed=args.seed)
        # --smoke: a few steps per stage, so TensorFlow runs them eagerly rather than tracing graphs, as the recipe does
        model = pipeline.train_stages(model, data, config, run, seed=args.seed, verbose=2, eager_steps=args.smoke)
        measures = pipeline.evaluate(model, data, config)
        _, generated = generation.write_run_samples(model, data, config, run, seed=args.seed)
        stages = pipeline.stages_done(run)
    sides = {"vae_gan": comparison.vae_side(model, data, config, seed=args.seed)}
    if not args.no_baseline:
        epoch_steps = pipeline.steps_per_epoch(config, data)
        steps = comparison.training_steps(config, epoch_steps)
        with run_smoke_eagerly(args.smoke):
            transformer = comparison.train_plain_transformer(
                model, data, config, steps, seed=args.seed, steps_per_epoch=epoch_steps
            )
        sides["plain_transformer"] = comparison.transformer_side(transformer, data, config, seed=args.seed)
    comparison.judge_samples(sides, data, config, seed=args.seed)
    gan = stages["vae_gan"]["gate"]
    result = {
        **measures,
        "gan_nll_increase": gan["nll_increase"],
        "gan_distinct4_change": gan.get("distinct4_change"),
        # the issue's distinct-4: sampled prior pieces over as many held-out segments' (the side-by-side table's)
        "distinct4_ratio": sides["vae_gan"]["distinct4_ratio"],
        "interpolation_monotonicity": generated["interpolation_monotonicity"],
        "interpolation_monotonicity_mean": generation.mean_interpolation_monotonicity(
            model, data, config, pairs=8, seed=args.seed
        ),
        "stage_gates": {name: stage["gate"] for name, stage in stages.items()},
        "side_by_side": sides,
        "segments": {name: len(segments) for name, segments in data.segments.items()},
        "parameters": model.count_params(),
        "seconds": time.perf_counter() - started,
        "config": config.to_dict(),
    }
    print("\n| measure | value | target |\n|---|---|---|")
    extra = ("sampled_accuracy_by_bar", "sampled_accuracy_in_order", "greedy_distinct4_ratio")
    for name in (*TARGETS, *extra, "held_out_nll", "kl_per_active_dimension"):
        comparison, target = TARGETS.get(name, ("", ""))
        value = result[name]
        print(
            f"| {name} | {value:.3f} | {comparison} {target} |"
            if isinstance(value, float)
            else f"| {name} | {value} | {comparison} {target} |"
        )
    for feature, value in result["interpolation_monotonicity"].items():
        print(f"| interpolation monotonicity ({feature}), the recipe's pair | {value:.3f} | 1 is steady A -> B |")
    means = result["interpolation_monotonicity_mean"]
    for feature in result["interpolation_monotonicity"]:
        print(
            f"| interpolation monotonicity ({feature}), mean of {means['pairs']} pairs | {means[feature]:.3f} |"
            f" in random order: {means['chance']:.2f} |"
        )
    print_side_by_side(sides)
    if args.json:
        print(json.dumps(result, default=float))
    return result


def print_side_by_side(sides):
    """The VAE-GAN beside the plain transformer, and both sets of samples against the evaluator's floors."""
    names = list(sides)
    print("\n| measure | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    rows = ("held_out_nll", "teacher_forced_accuracy", "greedy_max_token_run", "distinct4_ratio")
    for row in rows:
        values = [sides[name][row] for name in names]
        cells = [f"{value:.3f}" if isinstance(value, float) else str(value) for value in values]
        print(f"| {row} | " + " | ".join(cells) + " |")
    copied = [sides[name]["copied_ngram_share"] for name in names]
    print(
        f"| samples' {copied[0]['n']}-grams found in training segments (held-out segments:"
        f" {copied[0]['held_out']:.2f}) | " + " | ".join(f"{share['samples']:.2f}" for share in copied) + " |"
    )
    music = sides[names[0]]["music"]["mean_overlap"]
    print(
        "| samples' mean overlap with held-out segments | "
        + " | ".join(f"{sides[name]['music']['mean_overlap']['generated']:.2f}" for name in names)
        + f" |\n\nthe evaluator's floors: random notes {music['random_notes']:.2f}, Markov {music['markov']:.2f};"
        f" ceiling (training segments) {music['ceiling']:.2f}"
    )
    for name in names:
        overlaps = sides[name]["music"]["overlap"]
        measured = {feature: values.get("generated") for feature, values in overlaps.items()}
        low = sorted((value, feature) for feature, value in measured.items() if value is not None)
        print(f"{name}: lowest feature overlaps " + ", ".join(f"{feature} {value:.2f}" for value, feature in low[:3]))


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
