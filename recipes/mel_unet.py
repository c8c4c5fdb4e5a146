"""
Title: Mel-spectrogram diffusion: render notes to audio with a conditioned U-Net
Description: Render Bach chorales with FluidSynth at 16 kHz, train a U-Net denoiser over 64 x 128 log-mel
  windows conditioned on the notes (a frame-aligned note sketch beside the noisy mel, and cross-attention to a
  note-token encoder) with DDPM on a cosine schedule, then render held-out chorales with DDIM (50 steps) and
  classifier-free guidance, and Griffin-Lim to WAV.
Run time: the CPU default (the `small` U-Net, 5 x 100 steps of 8 windows) took 11 min 23 s and 11 min 59 s on 2
  idle cores (JAX, 2026-12-01), the chorales' FluidSynth renderings coming from the cache (a first run renders them
  first, with a progress bar). `--smoke`
  (PyTorch unless KERAS_BACKEND says otherwise) takes about 30 s on 2 idle cores. On a GPU use the family's
  `gpu` preset sizes (`--preset base --epochs 200 --batch-size 32 --max-files 400`).

Run it with no arguments:

    python recipes/mel_unet.py

With no KERAS_BACKEND set, the recipe runs on JAX and says so: on a CPU it is the fastest backend for this
U-Net (a small U-Net on 64 x 128 windows took 0.05 s per step on JAX against 0.95 s on torch; see
benchmarks/RESULTS.md). Set KERAS_BACKEND to choose another.

It reads Bach chorales from music21 (no download), renders each with FluidSynth and a General MIDI soundfont
(`apt install fluidsynth fluid-soundfont-gm`; without them the plain synth, with one warning; `--renderer
synth` forces it), takes log-mels (musickit/audio/mel.py documents the convention) and trains the U-Net to
predict v on noisy random windows, the notes dropped 10% of the time so guidance can be used. It then renders
the first seconds of held-out chorales window by window and writes the run folder:

    runs/mel_unet/
      model.keras  representation.json  run.json  metrics.json  history.csv  logs/  held_out/*.mid
      samples/NAME.neural.wav  samples/NAME.fluidsynth.wav  samples/NAME.png (both mels)  samples/NAME.mid

metrics.json holds, per piece and as means, the neural render's mel L1, log-spectral distance, chroma cosine
and onset F1 against the FluidSynth rendering, measured on the neural WAV's audio (through Griffin-Lim, as it
sounds). Render again later with `musickit generate --run runs/mel_unet`
(`--primer FILE.mid` renders any MIDI file).
"""

import argparse
import os
import sys

from musickit.errors import UsageError
from musickit.families.mel_diffusion.config import MODEL_PRESETS, RENDERERS, SAMPLERS, MelDiffusionConfig
from musickit.runs import RunFolder, add_common_flags, parse_flags
from musickit.runs.entry import run_main
from musickit.runs.flags import config_changes_from_flags

# Keras and the model load inside main(), after the flags are checked and the backend is chosen.

# Every setting lives in the family's configuration (musickit/families/mel_diffusion/config.py): 60 Bach
# chorales (their first 40 s), 64 x 128 log-mel windows, the `small` U-Net (about 0.5 M parameters), v-prediction
# with mean squared error, Adam with EMA weights, 10% of the notes dropped, DDIM 50 steps at guidance 2.
DEFAULTS = MelDiffusionConfig.preset("cpu")
FLAG_FIELDS = {"preset": "model_preset", "max_files": "max_files_per_source"}
CONFIG_FLAGS = (
    "data",
    "preset",
    "renderer",
    "learning_rate",
    "steps_per_epoch",
    "epochs",
    "batch_size",
    "max_files",
    "sampler",
    "ddim_steps",
    "guidance",
    "render_seconds",
    "held_out_pieces",
)
CPU_BACKEND = "jax"  # the fastest Keras backend for this U-Net on a CPU (benchmarks/RESULTS.md)
SMOKE_BACKEND = "torch"  # for --smoke: no compile for a few steps


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Train a mel-spectrogram diffusion renderer and render chorales.")
    add_common_flags(
        parser,
        default_output_dir="runs/mel_unet",
        default_epochs=DEFAULTS.epochs,
        default_batch_size=DEFAULTS.batch_size,
    )
    parser.set_defaults(data=DEFAULTS.data)
    model = parser.add_argument_group("model and training")
    model.add_argument("--preset", choices=MODEL_PRESETS, default=DEFAULTS.model_preset, help="U-Net size")
    model.add_argument("--renderer", choices=RENDERERS, default=DEFAULTS.renderer, help="what renders the notes")
    model.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    model.add_argument("--steps-per-epoch", type=int, default=DEFAULTS.steps_per_epoch)
    generation = parser.add_argument_group("rendering")
    generation.add_argument("--sampler", choices=SAMPLERS, default=DEFAULTS.sampler, help="ddim, or ddpm (1000 steps)")
    generation.add_argument("--ddim-steps", type=int, default=DEFAULTS.ddim_steps, help="DDIM steps (default: 50)")
    generation.add_argument(
        "--guidance", type=float, default=DEFAULTS.guidance, help="classifier-free guidance weight (1: none)"
    )
    generation.add_argument("--render-seconds", type=float, default=DEFAULTS.render_seconds)
    generation.add_argument(
        "--held-out-pieces", type=int, default=DEFAULTS.held_out_pieces, help="held-out chorales to render"
    )
    return parse_flags(parser, argv, smoke_sets=("epochs", "max_files", "steps_per_epoch"))


def choose_backend(smoke=False):
    """The backend when the user named none, and why: JAX, the fastest here on a CPU over many steps; for a
    ``--smoke`` run of a few steps PyTorch, which compiles nothing (user CPU seconds of the smoke run, with the
    two-level tiny U-Net: 37 s on PyTorch, 58 s on JAX, nearly all of it compiling; 84 s with the earlier
    three-level one)."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    backend, reason = CPU_BACKEND, "the fastest on a CPU for this U-Net"
    if smoke:
        backend, reason = SMOKE_BACKEND, "a smoke run's few steps: it compiles nothing"
    os.environ["KERAS_BACKEND"] = backend
    return backend, f"{reason}; set KERAS_BACKEND to choose another"


def main(argv=None):
    args = parse_arguments(argv)
    # A folder this run may not write (another run to keep, nothing to resume, in use) is refused now.
    RunFolder(args.output_dir).check_start(resume=args.resume, overwrite=args.overwrite)  # before any work
    changes = config_changes_from_flags(args, _flag_view(DEFAULTS), CONFIG_FLAGS)
    config = MelDiffusionConfig.preset(
        "smoke" if args.smoke else "cpu", **{FLAG_FIELDS.get(name, name): value for name, value in changes.items()}
    )
    backend, reason = choose_backend(args.smoke)
    print(f"backend: {backend} ({reason})")

    from musickit.utils.compile_cache import run_smoke_eagerly

    # A smoke run's fits take two steps: on TensorFlow tracing their graphs is nearly all of the time.
    with run_smoke_eagerly(args.smoke):
        return run_pipeline(args, config, backend)


def run_pipeline(args, config, backend):
    """Data, model, training and samples for parsed flags and their configuration (``main`` makes them)."""
    import keras

    from musickit.families.mel_diffusion import pipeline

    if keras.backend.backend() != backend:
        raise UsageError(f"Keras was already loaded with the {keras.backend.backend()} backend; set KERAS_BACKEND")
    keras.utils.set_random_seed(args.seed)

    # ## Data: chorales rendered at 16 kHz (cached), log-mel windows and their note tokens
    data = pipeline.load_data(config, seed=args.seed, soundfont=args.soundfont)
    print(f"{len(data.train)} training pieces rendered with {data.renderer}; {len(data.held_out)} held out")

    # ## Model: the conditioned U-Net, Adam with EMA weights
    model = pipeline.build_model(config)
    print(f"U-Net: {model.count_params():,} parameters")

    # ## Training: DDPM (v-prediction, cosine schedule), the notes dropped 10% of the time
    run = RunFolder(args.output_dir)
    resuming = pipeline.start_run(
        run, model, data, config, seed=args.seed, flags=args, resume=args.resume, overwrite=args.overwrite
    )
    pipeline.train(model, data, config, run, resuming=resuming, seed=args.seed)

    # ## Rendering: held-out chorales, DDIM + guidance -> Griffin-Lim; the FluidSynth rendering beside each
    metrics = {"backend": backend, "parameters": model.count_params()}
    metrics["generation"] = pipeline.write_run_samples(
        model, data, config, run, seed=args.seed, soundfont=args.soundfont
    )
    run.write_json(run.metrics_path, metrics)
    run.finish()
    means = metrics["generation"]
    print(
        f"rendered {len(means['pieces'])} held-out pieces to {run.samples_dir}: mel L1 {means['mel_l1']:.3f}, "
        f"chroma cosine {means['chroma_cosine']:.3f}, onset F1 {means['onset_f1']:.3f}"
    )
    return metrics


def _flag_view(config):
    return argparse.Namespace(**{name: getattr(config, FLAG_FIELDS.get(name, name)) for name in CONFIG_FLAGS})


if __name__ == "__main__":
    sys.exit(run_main(main))
