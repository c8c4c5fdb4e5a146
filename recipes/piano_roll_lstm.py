"""
Title: Piano-roll LSTM on the Bach chorales
Description: Train a stacked LSTM on 88-key piano rolls, beat the Markov baseline, and write new music.
Run time: 8 epochs used 6 min 16 s of CPU (user time) with the onset and metre model; on a 2-core
  machine shared with four other jobs it took 21.6 min wall (corpus cached; the first parse adds
  about 2 min); re-run on 2026-11-30 beside three other sessions (load 7-14): 12.4 CPU-min, 25.5 min
  wall. `--smoke` takes well under a minute unloaded.
  On a GPU, scale it up: `--epochs 60 --lstm-units 512` (the family's `gpu` preset).

Run it with no arguments:

    python recipes/piano_roll_lstm.py

It reads the Bach chorales that ship with music21 (no download), trains a
piano-roll LSTM that predicts every next 16th-note frame, compares its
validation NLL with the per-key Markov baseline, continues the opening bars
of held-out chorales and writes the run folder.

The roll has an onset channel (a held note is one note, a repeated one two)
and the model is told where in the bar each step falls; without them it
places onsets like a Markov chain (48% on off-beat 16ths, Bach 1.6%; issue 17).
`--no-onsets --no-metre` trains the earlier model. The run's sampling
configuration is saved as sampling.json:

    runs/piano_roll_lstm/
      model.keras  representation.json  run.json  sampling.json  metrics.json  history.csv  history.png  logs/
      primer.mid  training_samples/epoch_NNN.mid
      samples/sample_N.mid  samples/sample_N.png  samples/sample_N.wav

Generate again later with `musickit generate --run runs/piano_roll_lstm`.
"""

import argparse
import sys

from musickit.families.piano_roll_lstm.config import FRAME_HEADS, PianoRollLSTMConfig
from musickit.runs import RunFolder, add_common_flags, add_sampling_flags, parse_flags
from musickit.runs.entry import run_main
from musickit.runs.flags import config_changes_from_flags
from musickit.runs.sampling_flags import sampling_config_from_flags, sampling_flag_defaults

# Keras, TensorFlow and the model load inside main(), after the flags are checked: --help and a bad flag
# answer at once instead of after 10 s of imports.

# Every setting lives in the family's configuration (musickit/families/piano_roll_lstm/config.py): a 16th-note
# grid with an onset channel and the metre, 4-bar windows transposed by up to 2 semitones, a 2 x 256 LSTM with an
# autoregressive frame head, 8 epochs (40 for good results) and the family's sampling. The flags change it.
DEFAULTS = PianoRollLSTMConfig.preset("cpu")
CONFIG_FLAGS = (
    "head",
    "lstm_units",
    "num_layers",
    "learning_rate",
    "transpose",
    "onsets",
    "metre",
    "steps_per_quarter",
    "epochs",
    "batch_size",
    "max_files",
    "bars",
    "num_samples",
)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Train a piano-roll LSTM and generate music.")
    add_common_flags(
        parser,
        default_output_dir="runs/piano_roll_lstm",
        default_epochs=DEFAULTS.epochs,
        default_batch_size=DEFAULTS.batch_size,
    )
    add_sampling_flags(parser)
    parser.set_defaults(**sampling_flag_defaults(DEFAULTS.sampling), num_samples=DEFAULTS.num_samples)
    model = parser.add_argument_group("model")
    model.add_argument("--head", choices=FRAME_HEADS, default=DEFAULTS.head)
    model.add_argument("--lstm-units", type=int, default=DEFAULTS.lstm_units)
    model.add_argument("--num-layers", type=int, default=DEFAULTS.num_layers)
    model.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    model.add_argument("--transpose", type=int, default=DEFAULTS.transpose, help="augmentation range in semitones")
    model.add_argument(
        "--onsets",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.onsets,
        help="onset channel in the roll (--no-onsets: the plain roll of earlier runs)",
    )
    model.add_argument(
        "--metre",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.metre,
        help="tell the model each step's position in a 4/4 bar (--no-metre: as earlier runs)",
    )
    model.add_argument(
        "--steps-per-quarter",
        type=int,
        choices=(2, 4),
        default=DEFAULTS.steps_per_quarter,
        help="grid: 4 is a 16th-note grid, 2 an 8th-note grid",
    )
    generation = parser.add_argument_group("generation")
    generation.add_argument("--bars", type=int, default=DEFAULTS.bars, help="bars to generate after the primer")
    generation.add_argument(
        "--max-polyphony",
        type=int,
        default=DEFAULTS.sampling.max_polyphony,
        help="most keys at once (0: no limit; default: the training pieces' usual range, 4 for chorales)",
    )
    return parse_flags(parser, argv)  # the shared checks, and the --smoke default folder


def main(argv=None):
    args = parse_arguments(argv)
    # A folder this run may not write (another run to keep, nothing to resume, in use) is refused now.
    RunFolder(args.output_dir).check_start(resume=args.resume, overwrite=args.overwrite)  # before any work
    # The flags the user changed, laid over the preset this run uses; bad values fail here, before any work.
    config = PianoRollLSTMConfig.preset(
        "smoke" if args.smoke else "cpu", **config_changes_from_flags(args, DEFAULTS, CONFIG_FLAGS)
    )
    config = config.replace(sampling=sampling_config_from_flags(args, config.sampling, defaults=DEFAULTS.sampling))

    import keras

    from musickit.families.piano_roll_lstm import pipeline

    keras.utils.set_random_seed(args.seed)

    # ## Data: the corpus split by piece, 4-bar training windows, and a held-out piece's opening bars as primer
    data = pipeline.load_data(config, args.data, seed=args.seed, primer_path=args.primer)
    dataset = data.dataset
    print(
        f"{len(dataset.train)} training, {len(dataset.valid)} validation, {len(dataset.test)} test pieces "
        f"from {args.data}" + (" (cached)" if dataset.from_cache else "")
    )
    if config.sampling.voices_from_corpus:
        config = pipeline.fit_sampling_to_corpus(config, data)
        sampling = config.sampling
        print(f"sampling keeps {sampling.voice_floor} to {sampling.max_polyphony} voices, as the training pieces do")

    # ## Model
    model = pipeline.build_model(config)

    # ## Training (a sample MIDI file every few epochs; the run folder records the flags and sampling)
    run = RunFolder(args.output_dir)
    resuming = pipeline.start_run(
        run,
        model,
        data,
        config,
        source=args.data,
        seed=args.seed,
        flags=args,
        resume=args.resume,
        overwrite=args.overwrite,
    )
    pipeline.train(model, data, config, run, resuming=resuming, seed=args.seed)

    # ## Evaluation: exact NLL on whole held-out pieces, beside the Markov baseline
    likelihood = pipeline.evaluate(model, data, config)
    verdict = "beats" if likelihood["valid_nll"] < likelihood["markov_valid_nll"] else "does NOT beat"
    print(
        f"validation NLL {likelihood['valid_nll']:.3f} nats/frame: the LSTM {verdict} the per-key Markov "
        f"baseline ({likelihood['markov_valid_nll']:.3f})"
    )

    # ## Generation: continue the primer, write the samples, compare them with held-out music
    samples, rolls = pipeline.write_run_samples(model, data, config, run, seed=args.seed, soundfont=args.soundfont)
    metrics = {**likelihood, **pipeline.sample_metrics(rolls, data, config, seed=args.seed)}
    overlaps = metrics["music_quality"]["mean_overlap"]  # 1: as close to the held-out pieces as real music
    print(
        "music quality, mean overlap with held-out pieces: "
        + ", ".join(f"{name} {value:.2f}" if value is not None else f"{name} n/a" for name, value in overlaps.items())
    )
    run.write_json(run.metrics_path, metrics)
    run.finish()  # --resume now has nothing to do; rerunning needs --overwrite
    print(f"wrote {len(samples)} samples ({samples[0]['audio']} audio) and metrics to {args.output_dir}")
    return metrics


if __name__ == "__main__":
    sys.exit(run_main(main))
