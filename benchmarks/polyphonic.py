"""Piano-roll LSTM on a Boulanger-Lewandowski polyphonic benchmark file.

Trains on the file's train split, selects the epoch with the best validation
NLL, and reports test NLL in the published protocol (88 keys, nats per frame
summed over keys, frames 1..T-1 of every sequence), beside the published
numbers and the per-key Markov floor fitted on the same training split.

    python benchmarks/polyphonic.py --data ../shared/data/polyphonic/JSB_Chorales.mat \
        --head autoregressive --json

Works with any of JSB Chorales, Nottingham, MuseData, Piano-midi.de (.mat or .pkl).
"""

import argparse
import json
import os
import sys
import tempfile
import time

import keras

from musickit.data.sources import load_benchmark_rolls
from musickit.families.piano_roll_lstm.config import FRAME_HEADS, PianoRollLSTMConfig
from musickit.families.piano_roll_lstm.pipeline import build_model
from musickit.families.piano_roll_lstm.training import compile_model, sequence_dataset, sequence_negative_log_likelihood
from musickit.models.markov_baseline import PerKeyMarkovBaseline

# The family's model and optimizer settings; the benchmark protocol differs only in its data (whole pieces on a
# quarter-note grid, no onset channel, no metre), batch size, epochs and transposition.
FAMILY = PianoRollLSTMConfig()

PUBLISHED_JSB = [
    ("uniform Bernoulli(0.5)", 61.00),
    ("per-key first-order Markov (published)", 10.49),
    ("RNN (Boulanger-Lewandowski 2012)", 8.71),
    ("LSTM (Bai, Kolter, Koltun 2018)", 8.45),
    ("GRU (Bai, Kolter, Koltun 2018)", 8.43),
    ("TCN (Bai, Kolter, Koltun 2018)", 8.10),
    ("DMM (Krishnan et al. 2017, bound)", 6.39),
    ("RNN-RBM (Boulanger-Lewandowski 2012)", 6.27),
    ("RNN-NADE (Boulanger-Lewandowski 2012)", 5.19),
]


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a .mat or .pkl polyphonic benchmark file")
    parser.add_argument("--head", choices=FRAME_HEADS, default="independent")
    parser.add_argument("--epochs", type=int, default=150, help="upper bound; early stopping ends sooner")
    parser.add_argument("--patience", type=int, default=15, help="epochs without validation gain before stopping")
    parser.add_argument("--lstm-units", type=int, default=FAMILY.lstm_units)
    parser.add_argument("--num-layers", type=int, default=FAMILY.num_layers)
    parser.add_argument("--dropout", type=float, default=FAMILY.dropout)
    parser.add_argument("--recurrent-dropout", type=float, default=FAMILY.recurrent_dropout)
    parser.add_argument("--dense-units", type=int, default=FAMILY.dense_units)
    parser.add_argument("--dense-dropout", type=float, default=FAMILY.dense_dropout)
    parser.add_argument("--head-hidden-units", type=int, default=FAMILY.head_hidden_units)
    parser.add_argument(
        "--no-frame-skip",
        dest="frame_skip",
        action="store_false",
        help="give the head only the LSTM summary, not the current frame too",
    )
    parser.add_argument("--learning-rate", type=float, default=FAMILY.learning_rate)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--transpose", type=int, default=0, help="random transposition range in semitones")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    keras.utils.set_random_seed(args.seed)
    splits = load_benchmark_rolls(args.data)
    dataset_name = os.path.splitext(os.path.basename(args.data))[0]
    markov = PerKeyMarkovBaseline().fit(splits["train"])

    config = FAMILY.replace(
        onsets=False,
        metre=False,
        lstm_units=args.lstm_units,
        num_layers=args.num_layers,
        dropout=args.dropout,
        recurrent_dropout=args.recurrent_dropout,
        dense_units=args.dense_units,
        dense_dropout=args.dense_dropout,
        head=args.head,
        head_hidden_units=args.head_hidden_units,
        frame_skip=args.frame_skip,
    )
    model = build_model(config, compile=False)
    compile_model(model, learning_rate=args.learning_rate, positive_weight=1.0)  # the exact NLL, as published
    train = sequence_dataset(splits["train"], args.head, args.batch_size, args.transpose, seed=args.seed)
    valid = sequence_dataset(splits["valid"], args.head, 64, shuffle=False)
    with tempfile.TemporaryDirectory() as scratch:
        best_path = os.path.join(scratch, "best.weights.h5")
        callbacks = [
            keras.callbacks.ModelCheckpoint(
                best_path, monitor="val_nll", mode="min", save_best_only=True, save_weights_only=True
            ),
            keras.callbacks.EarlyStopping(monitor="val_nll", mode="min", patience=args.patience),
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_nll", mode="min", factor=0.5, patience=max(args.patience // 3, 2)
            ),
        ]
        started = time.time()
        history = model.fit(
            train, validation_data=valid, epochs=args.epochs, callbacks=callbacks, shuffle=False, verbose=2
        )
        seconds = time.time() - started
        model.load_weights(best_path)
    valid_nll = sequence_negative_log_likelihood(model, splits["valid"])
    test_nll = sequence_negative_log_likelihood(model, splits["test"])
    result = {
        "dataset": dataset_name,
        "head": args.head,
        "valid_nll": round(valid_nll, 4),
        "test_nll": round(test_nll, 4),
        "markov_test_nll": round(markov.negative_log_likelihood(splits["test"]), 4),
        "epochs": len(history.history["loss"]),
        "best_epoch": int(min(range(len(history.history["val_nll"])), key=history.history["val_nll"].__getitem__)) + 1,
        "train_seconds": round(seconds, 1),
        "backend": keras.backend.backend(),
        "parameters": model.count_params(),
        "config": {key: value for key, value in vars(args).items() if key not in ("data", "json")},
    }
    print_table(result)
    if args.json:
        print(json.dumps(result))
    return result


def print_table(result):
    rows = [(name, value) for name, value in PUBLISHED_JSB] if result["dataset"].lower().startswith("jsb") else []
    rows.append(("per-key first-order Markov (this run, train split)", result["markov_test_nll"]))
    rows.append((f"musickit PianoRollLSTM, {result['head']} head (this run)", result["test_nll"]))
    print(f"\n{result['dataset']} test NLL (nats/frame, 88 keys; lower is better)\n")
    print("| model | test NLL |\n|---|---|")
    for name, value in sorted(rows, key=lambda row: -row[1]):
        print(f"| {name} | {value:.2f} |")
    print(
        f"\nvalid NLL {result['valid_nll']:.3f}, best epoch {result['best_epoch']} of {result['epochs']}, "
        f"{result['train_seconds']:.0f} s on {result['backend']}"
    )


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
