"""
Title: Transformer-VAE-GAN: a latent space of chorales you can sample, interpolate and sharpen adversarially
Description: Train a transformer VAE with a global latent and one latent per bar on REMI tokens of Bach chorale
  segments, progressively (decoder as a language model -> VAE -> VAE-GAN with a multi-scale discriminator), each
  stage gated against collapse; then write reconstructions beside their originals, prior samples and an
  interpolation between two held-out chorales.
Run time: 12 min 34 s on 2 idle CPU cores from an empty cache (JAX, 2026-12-01: 5 language-model and 16 VAE
  epochs of 58 steps, 40 adversarial steps, two fits of the prior, the samples; benchmarks/RESULTS.md,
  "Transformer-VAE-GAN"). `--smoke` costs about 60 s
  of CPU on TensorFlow and 90 s on JAX (compiling, mostly its training steps; a second run reuses JAX's cached
  programs: 33 s), 37 s wall on PyTorch. On a GPU use the family's `gpu` preset (`--preset base --epochs 40
  --gan-steps 2000`). Trained longer on the CPU, `--epochs 40 --token-dropout 0.2 --prior-temperature 1.5`
  meets every reconstruction target of benchmarks/vae_gan.py (its longer-trained posteriors are sharper: at
  the default temperature its samples replay training segments more than held-out chorales share with them).

Run it with no arguments:

    python recipes/vae_gan.py

Bach chorales (music21, no download) are encoded as compact REMI tokens (a note is Pitch Duration; two voices in
unison are one note; `--tokenizer performance` or `performance774` takes performance events) and cut into 4-bar
segments. The encoder pools each segment into a global latent and each bar into a bar latent (reparameterised
with a Keras SeedGenerator), reading the bar by eighths; every decoder block reads z_global and the token's bar
latent through its eighth's projection (`--beats-per-bar 4` reads quarters, 1 the whole bar). The KL cost keeps
free bits per dimension under a cyclical schedule after a reconstruction warm-up; the learning rate decays over
the last quarter of each stage (`--learning-rate-decay`); training segments are transposed at random by up to
3 semitones (`--transpose`). Stages, each ending with a printed gate (greedy decoding must
not repeat one token more than 16 times in a row; the VAE must keep active latent units; the GAN stage may raise
held-out NLL by at most 5%):

    transformer -> vae -> vae_gan          (--stage picks the last one; --resume skips finished ones)

The run folder:

    runs/vae_gan/
      model.keras  representation.json  run.json  sampling.json  stages.json  metrics.json  history.csv
      samples/original_N.*  samples/reconstruction_N.*  samples/sample_N.*  samples/interpolation_N.*
      samples/interpolation_strip.png

Sample again with `musickit generate --run runs/vae_gan`.
"""

import argparse
import sys

from musickit.families.vae_gan.config import KL_SCHEDULES, MODEL_PRESETS, STAGES, TOKENIZERS, VaeGanConfig
from musickit.runs import RunFolder, add_common_flags, add_sampling_flags, parse_flags
from musickit.runs.entry import run_main
from musickit.runs.flags import config_changes_from_flags
from musickit.runs.sampling_flags import sampling_config_from_flags, sampling_flag_defaults

# Keras and the model load inside main(), after the flags are checked.

# Every setting lives in the family's configuration (musickit/families/vae_gan/config.py): 4-bar REMI segments
# of Bach chorales (unisons merged), the `small` decoder (3 layers x 128) with a 2-layer encoder, a 32-dim global
# latent and a 64-dim latent per bar read by eighths, free bits 1.0 nat per dimension, a cyclical KL schedule up
# to 0.2, training segments transposed by up to 3 semitones, 5 language-model epochs, 16 VAE epochs (40 or more
# on a GPU), the learning rate decaying over each stage's last quarter, 40 adversarial steps, prior samples from a
# mixture of the training segments' posteriors (their aggregate posterior), at temperature 0.9. The flags change it.
DEFAULTS = VaeGanConfig.preset("cpu")
FLAG_FIELDS = {
    "preset": "model_preset",
    "max_files": "max_files_per_source",
    "epochs": "vae_epochs",
    "stage": "last_stage",
    "bars": "bars_per_segment",
}
CONFIG_FLAGS = (
    "data",
    "preset",
    "tokenizer",
    "bars",
    "max_segment_tokens",
    "global_latent_dim",
    "bar_latent_dim",
    "beats_per_bar",
    "free_bits",
    "kl_schedule",
    "kl_max_weight",
    "token_dropout",
    "adversarial_weight",
    "gan_steps",
    "learning_rate",
    "learning_rate_decay",
    "transpose",
    "stage",
    "epochs",
    "batch_size",
    "max_files",
    "num_samples",
    "interpolation_steps",
    "prior_temperature",
    "fitted_prior",
    "prior_components",
)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Train a Transformer-VAE-GAN on chorale segments and generate.")
    add_common_flags(
        parser, default_output_dir="runs/vae_gan", default_epochs=DEFAULTS.vae_epochs, default_batch_size=16
    )
    add_sampling_flags(parser)
    parser.set_defaults(
        data=DEFAULTS.data, num_samples=DEFAULTS.num_samples, **sampling_flag_defaults(DEFAULTS.sampling)
    )
    model = parser.add_argument_group("model")
    model.add_argument("--preset", choices=MODEL_PRESETS, default=DEFAULTS.model_preset)
    model.add_argument("--tokenizer", choices=TOKENIZERS, default=DEFAULTS.tokenizer)
    model.add_argument("--bars", type=int, default=DEFAULTS.bars_per_segment, help="bars per segment")
    model.add_argument("--max-segment-tokens", type=int, default=DEFAULTS.max_segment_tokens)
    model.add_argument("--global-latent-dim", type=int, default=DEFAULTS.global_latent_dim)
    model.add_argument("--bar-latent-dim", type=int, default=DEFAULTS.bar_latent_dim)
    model.add_argument(
        "--beats-per-bar",
        type=int,
        default=DEFAULTS.beats_per_bar,
        help="equal parts of a 4/4 bar each bar latent is pooled and read by (REMI; 8: eighths, 1: the whole bar)",
    )
    training = parser.add_argument_group("training")
    training.add_argument("--stage", choices=STAGES, default=DEFAULTS.last_stage, help="the last stage to train")
    training.add_argument("--free-bits", type=float, default=DEFAULTS.free_bits, help="nats per latent dimension")
    training.add_argument("--kl-schedule", choices=KL_SCHEDULES, default=DEFAULTS.kl_schedule)
    training.add_argument("--kl-max-weight", type=float, default=DEFAULTS.kl_max_weight)
    training.add_argument("--token-dropout", type=float, default=DEFAULTS.token_dropout, help="word dropout rate")
    training.add_argument("--adversarial-weight", type=float, default=DEFAULTS.adversarial_weight)
    training.add_argument("--gan-steps", type=int, default=DEFAULTS.gan_steps)
    training.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    training.add_argument(
        "--learning-rate-decay",
        type=float,
        default=DEFAULTS.learning_rate_decay,
        help="share of each stage's steps over which the learning rate decays to a tenth (0: constant)",
    )
    training.add_argument(
        "--transpose",
        type=int,
        default=DEFAULTS.transpose,
        help="largest random transposition of REMI training segments in semitones (0: off)",
    )
    generation = parser.add_argument_group("generation")
    generation.add_argument("--interpolation-steps", type=int, default=DEFAULTS.interpolation_steps)
    generation.add_argument("--prior-temperature", type=float, default=DEFAULTS.prior_temperature)
    generation.add_argument(
        "--fitted-prior",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.fitted_prior,
        help="sample a prior fitted to the training segments' latents (--no-fitted-prior: N(0, 1))",
    )
    generation.add_argument(
        "--prior-components",
        type=int,
        default=DEFAULTS.prior_components,
        help="the fitted prior: a mixture of this many training segments' posteriors (0: one Gaussian over them)",
    )
    generation.add_argument("--new-tokens", type=int, default=DEFAULTS.sampling.new_tokens)
    return parse_flags(parser, argv)


def main(argv=None):
    args = parse_arguments(argv)
    # A folder this run may not write (another run to keep, nothing to resume, in use) is refused now.
    RunFolder(args.output_dir).check_start(resume=args.resume, overwrite=args.overwrite)  # before any work
    changes = config_changes_from_flags(args, _flag_view(DEFAULTS), CONFIG_FLAGS)
    config = VaeGanConfig.preset(
        "smoke" if args.smoke else "cpu", **{FLAG_FIELDS.get(name, name): value for name, value in changes.items()}
    )
    config = config.replace(sampling=sampling_config_from_flags(args, config.sampling, defaults=DEFAULTS.sampling))

    return run_pipeline(args, config)


def run_pipeline(args, config):
    """Data, model, training and samples for parsed flags and their configuration (``main`` makes them)."""
    import keras

    from musickit.families.vae_gan import generation, pipeline
    from musickit.utils.compile_cache import enable_compilation_cache

    keras.utils.set_random_seed(args.seed)
    enable_compilation_cache()  # JAX: a second run reuses the first one's compiled programs

    # ## Data: REMI segments of a few bars, split by piece
    data = pipeline.load_data(config, seed=args.seed)
    counts = {name: len(segments) for name, segments in data.segments.items()}
    print(f"{counts['train']} training, {counts['valid']} validation, {counts['test']} test segments")

    # ## Model, and the run folder (it records the flags and the sampling configuration)
    model = pipeline.build_model(config, data)
    run = RunFolder(args.output_dir)
    resuming = pipeline.start_run(
        run, model, data, config, seed=args.seed, flags=args, resume=args.resume, overwrite=args.overwrite
    )

    # ## Training: transformer -> vae -> vae_gan, each stage gated against collapse
    # (--smoke: two steps per stage, run eagerly on TensorFlow, where tracing them would be nearly all the time)
    model = pipeline.train_stages(model, data, config, run, resuming=resuming, seed=args.seed, eager_steps=args.smoke)

    # ## Measurements on held-out segments, then samples
    metrics = pipeline.evaluate(model, data, config) if model.use_latents else {}
    samples, metrics["generation"] = [], {}
    if model.use_latents:
        samples, metrics["generation"] = generation.write_run_samples(
            model, data, config, run, seed=args.seed, soundfont=args.soundfont
        )
    metrics["stages"] = pipeline.stages_done(run)
    run.write_json(run.metrics_path, metrics)
    run.finish()
    print(f"wrote {len(samples)} files' worth of samples and metrics to {args.output_dir}")
    return metrics


def _flag_view(config):
    return argparse.Namespace(**{name: getattr(config, FLAG_FIELDS.get(name, name)) for name in CONFIG_FLAGS})


if __name__ == "__main__":
    sys.exit(run_main(main))
