"""
Title: Piano-roll LSTM on the Bach chorales
Description: Train a stacked LSTM on 88-key piano rolls, beat the Markov baseline, and write new music.
Run time: 8 epochs used 6 min 16 s of CPU (user time) with the onset and metre model; on a 2-core
  machine shared with four other jobs it took 21.6 min wall (corpus cached; the first parse adds
  about 2 min). `--smoke` takes well under a minute unloaded.
  On a GPU, scale it up: `--epochs 60 --lstm-units 512` (the reference configuration).

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
import os
import sys

from musickit.errors import UsageError
from musickit.runs import add_common_flags, add_sampling_flags, parse_flags, smoke_or
from musickit.runs.entry import run_main

# Keras, TensorFlow and the model load inside main(), after the flags are checked: --help and a bad flag
# answer at once instead of after 10 s of imports.

# Data: a 16th-note grid over the 88 piano keys, with an onset channel so that a
# repeated note is two notes and a held one is one (a plain roll cannot tell).
STEPS_PER_QUARTER = 4
ONSETS = True
METRE = True  # the model is told each step's position in a 4/4 bar
WINDOW_BARS = 4  # bars of context per training window; windows start every 2 bars, on a bar line
TRANSPOSE = 2  # random transposition of every window, in semitones (the reference plan's +/-2)

# Model: the reference configuration is 2 x 512; 256 units train in minutes on a CPU.
LSTM_UNITS = 256  # 512 for the reference configuration (GPU)
NUM_LAYERS = 2
DROPOUT, RECURRENT_DROPOUT, DENSE_DROPOUT = 0.3, 0.2, 0.4
DENSE_UNITS = 256
HEAD = "autoregressive"  # "independent" is the classic model
HEADS = ("independent", "autoregressive")  # the model's FRAME_HEADS, spelled here for a fast --help

# Training.
EPOCHS = 8  # 40 for good results
BATCH_SIZE = 32
LEARNING_RATE = 2e-3
POSITIVE_WEIGHT = 10.0  # weighted BCE for the independent head; the autoregressive head trains on the exact NLL
PATIENCE = 4
SAMPLE_EVERY = 2  # epochs between sample MIDI files written during training

# Generation.
BARS = 8  # bars generated after the primer
PRIMER_BARS = 2


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Train a piano-roll LSTM and generate music.")
    add_common_flags(parser, default_output_dir="runs/piano_roll_lstm", default_epochs=EPOCHS,
                     default_batch_size=BATCH_SIZE)  # fmt: skip
    add_sampling_flags(parser)
    model = parser.add_argument_group("model")
    model.add_argument("--head", choices=HEADS, default=HEAD)
    model.add_argument("--lstm-units", type=int, default=LSTM_UNITS)
    model.add_argument("--num-layers", type=int, default=NUM_LAYERS)
    model.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    model.add_argument("--transpose", type=int, default=TRANSPOSE, help="augmentation range in semitones")
    model.add_argument("--onsets", action=argparse.BooleanOptionalAction, default=ONSETS,
                       help="onset channel in the roll (--no-onsets: the plain roll of earlier runs)")  # fmt: skip
    model.add_argument("--metre", action=argparse.BooleanOptionalAction, default=METRE,
                       help="tell the model each step's position in a 4/4 bar (--no-metre: as earlier runs)")  # fmt: skip
    model.add_argument("--steps-per-quarter", type=int, choices=(2, 4), default=STEPS_PER_QUARTER,
                       help="grid: 4 is a 16th-note grid, 2 an 8th-note grid")  # fmt: skip
    generation = parser.add_argument_group("generation")
    generation.add_argument("--bars", type=int, default=BARS, help="bars to generate after the primer")
    generation.add_argument("--max-polyphony", type=int, default=0,
                            help="most keys at once (default 0: the family's cap; 88: no limit)")  # fmt: skip
    args = parse_flags(parser, argv)  # the shared checks, and the --smoke default folder
    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be at least 1")
    return args


def main(argv=None):
    args = parse_arguments(argv)

    import keras

    from musickit.data import load_dataset, piano_roll_windows
    from musickit.generation.piano_roll_run import (
        DEFAULT_QPM,
        FAMILY_SAMPLING,
        MODEL_NAME,
        music_quality,
        primer_from_file,
        primer_from_roll,
        sample_rolls,
        sampling_config,
        save_sampling_config,
        side_by_side_metrics,
        write_samples,
    )
    from musickit.models.markov_baseline import PerKeyMarkovBaseline
    from musickit.models.piano_roll_lstm import PianoRollLSTM
    from musickit.music.midi_io import write_midi
    from musickit.representations.piano_roll import PianoRoll
    from musickit.runs import RunFolder
    from musickit.training.callbacks import SampleEveryEpochs, standard_callbacks
    from musickit.training.piano_roll import (
        adapt_windows,
        compile_model,
        flatten_frames,
        sequence_negative_log_likelihood,
    )
    from musickit.viz.piano_roll import plot_history

    config = sampling_config(args, FAMILY_SAMPLING)  # bad sampling flags fail here, before any work
    keras.utils.set_random_seed(args.seed)

    # ## Data
    steps_per_quarter = args.steps_per_quarter
    representation = PianoRoll(steps_per_quarter=steps_per_quarter, onset_channel=args.onsets)
    frame_channels = 2 if args.onsets else 1
    steps_per_bar = 4 * steps_per_quarter
    metre_period = steps_per_bar if args.metre else 0
    given_primer = primer_from_file(args.primer, representation) if args.primer else None  # fail early
    dataset = load_dataset(args.data, representation, seed=args.seed, max_files=smoke_or(args, 8, args.max_files))
    window = smoke_or(args, 2, WINDOW_BARS) * steps_per_bar  # the hop, window // 2, is whole bars
    if not any(len(roll) > window for roll in dataset.train):
        raise UsageError(f"--data {args.data}: every training piece is shorter than one {window}-step window "
                         f"({window // steps_per_bar} bars); use longer pieces or more files")  # fmt: skip
    if not len(dataset.valid):
        raise UsageError(f"--data {args.data}: too few pieces to hold some out for validation; add more files")
    primer, qpm = given_primer or (
        primer_from_roll((dataset.test or dataset.valid)[0], steps_per_quarter, PRIMER_BARS), DEFAULT_QPM
    )
    print(f"{len(dataset.train)} training, {len(dataset.valid)} validation, {len(dataset.test)} test pieces "
          f"from {args.data}" + (" (cached)" if dataset.from_cache else ""))  # fmt: skip

    train = piano_roll_windows(dataset.train, window, batch_size=args.batch_size, transpose=args.transpose,
                               seed=args.seed, drop_remainder=True)  # fmt: skip
    valid = piano_roll_windows(dataset.valid, window, hop=window, batch_size=args.batch_size, transpose=0,
                               shuffle=False)  # fmt: skip

    # ## Model
    model = PianoRollLSTM(
        lstm_units=smoke_or(args, 8, args.lstm_units),
        num_layers=smoke_or(args, 1, args.num_layers),
        dropout=DROPOUT,
        recurrent_dropout=RECURRENT_DROPOUT,
        dense_units=smoke_or(args, 8, DENSE_UNITS),
        dense_dropout=DENSE_DROPOUT,
        head=args.head,
        head_hidden_units=smoke_or(args, 8, 256),
        frame_channels=frame_channels,
        metre_period=metre_period,
    )
    positive_weight = POSITIVE_WEIGHT if args.head == "independent" else 1.0
    compile_model(model, learning_rate=args.learning_rate, positive_weight=positive_weight)

    # ## Training
    run = RunFolder(args.output_dir)
    info = {"model": MODEL_NAME, "model_config": model.get_config(), "representation": representation.get_config(),
            "data": args.data, "seed": args.seed, "default_primer_path": "primer.mid"}  # fmt: skip
    resuming = run.start(info, resume=args.resume, overwrite=args.overwrite, flags=args)
    save_sampling_config(run, config)  # what `musickit generate --run` will sample with
    write_midi(representation.decode(primer, qpm=qpm), run.file("primer.mid"))

    def write_epoch_sample(epoch):
        rolls = sample_rolls(model, representation, primer, 2, 1, args.seed, config)
        write_midi(representation.decode(rolls[0], qpm=qpm), run.file("training_samples", f"epoch_{epoch:03d}.mid"))

    callbacks = standard_callbacks(run, patience=PATIENCE, resume=resuming,
                                   extra=[SampleEveryEpochs(write_epoch_sample, every=SAMPLE_EVERY)])  # fmt: skip
    model.fit(
        adapt_windows(train, args.head, frame_channels),
        validation_data=adapt_windows(valid, args.head, frame_channels),
        epochs=smoke_or(args, 2, args.epochs),
        steps_per_epoch=smoke_or(args, 2, None),
        validation_steps=smoke_or(args, 1, None),
        callbacks=callbacks,
        shuffle=False,  # the windows are shuffled by the pipeline
        verbose=2 if os.environ.get("CI") else "auto",
    )
    run.save_model(model, representation)
    plot_history(run.history_path, run.file("history.png"), title="piano-roll LSTM training")

    # ## Evaluation: exact NLL on whole held-out pieces, beside the Markov baseline
    # (with onsets both count the sustain and the onset bit of every key: 176 bits a frame)
    markov = PerKeyMarkovBaseline().fit([flatten_frames(roll) if args.onsets else roll for roll in dataset.train])
    evaluation_pieces = {name: list(dataset.split(name))[: smoke_or(args, 2, None)] for name in ("valid", "test")}
    likelihood = {
        f"{name}_nll": sequence_negative_log_likelihood(model, pieces) for name, pieces in evaluation_pieces.items()
        if pieces
    }  # fmt: skip
    likelihood["markov_valid_nll"] = markov.negative_log_likelihood(
        [flatten_frames(roll) if args.onsets else roll for roll in evaluation_pieces["valid"]]
    )
    verdict = "beats" if likelihood["valid_nll"] < likelihood["markov_valid_nll"] else "does NOT beat"
    print(f"validation NLL {likelihood['valid_nll']:.3f} nats/frame: the LSTM {verdict} the per-key Markov "
          f"baseline ({likelihood['markov_valid_nll']:.3f})")  # fmt: skip

    # ## Generation
    rolls = sample_rolls(model, representation, primer, smoke_or(args, 1, args.bars), args.num_samples, args.seed,
                         config)  # fmt: skip
    samples = write_samples(rolls, len(primer), representation, run.samples_dir, qpm, soundfont=args.soundfont)
    generated = [roll[len(primer):] for roll in rolls]
    held_out = list(dataset.test or dataset.valid)[: smoke_or(args, 2, None)]
    # the evaluator's reference: the whole test split (a tiny --max-files split adds its validation pieces)
    unseen = list(dataset.test) if len(dataset.test) >= 2 else list(dataset.test) + list(dataset.valid)
    metrics = {**likelihood, "samples": side_by_side_metrics(generated, held_out, dataset.train, representation, qpm),
               "music_quality": music_quality(rolls, len(primer), unseen, dataset.train, representation, qpm,
                                              seed=args.seed)}  # fmt: skip
    overlaps = metrics["music_quality"]["mean_overlap"]  # 1: as close to the held-out pieces as real music
    print("music quality, mean overlap with held-out pieces: " + ", ".join(
        f"{name} {value:.2f}" if value is not None else f"{name} n/a" for name, value in overlaps.items()))
    run.write_json(run.metrics_path, metrics)
    run.finish()  # --resume now has nothing to do; rerunning needs --overwrite
    print(f"wrote {len(samples)} samples ({samples[0]['audio']} audio) and metrics to {args.output_dir}")
    return metrics


if __name__ == "__main__":
    sys.exit(run_main(main))
