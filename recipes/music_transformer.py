"""
Title: Music Transformer with prompted sections and KV-cached sampling
Description: Train the decoder-only Music Transformer baseline on REMI tokens of Bach chorales (add folk
  tunes with --data bach,essen,ryans), prompted with section snippets, then write new pieces in a chosen style.
Run time: 37 min 50 s wall on a 2-core CPU shared with four other jobs (10 min 44 s of CPU time, 3 min of
  it parsing the corpus, cached after the first run) with the defaults (the `small` preset, 4 epochs);
  `--smoke` takes seconds of CPU. On a GPU use `--preset base --epochs 50`.

Run it with no arguments:

    python recipes/music_transformer.py

It reads Bach chorales from music21 (no download; `--data bach,essen,ryans` adds Essen and Ryan's Mammoth
folk tunes), encodes them as compact REMI+ tokens (a note is Pitch Duration; a STYLE token per corpus),
and builds prompted sequences in the baseline format

    PROMPT_START SECTION_A [snippet A] SECTION_B [snippet B] PROMPT_END [full piece] EOS

with the loss on the piece only. The model is a decoder-only transformer with relative attention
(Huang et al. 2018) and the style injected at every block by FiLM. It then prompts with the sections of a
held-out piece and samples under the REMI grammar and note rules (four voices at most, no pitch struck
twice, no rests, notes of a position lowest first, a soft key taken from the prompt), and writes the run
folder (sampling.json holds the sampling configuration `musickit generate` reuses):

    runs/music_transformer/
      model.keras  representation.json  run.json  sampling.json  metrics.json  history.csv  logs/
      samples/sample_N.mid  samples/sample_N.png  samples/sample_N.wav

Generate again later, sampling as the recipe did, with `musickit generate --run runs/music_transformer`.
"""

import argparse
import os
import sys
import time

import numpy as np

from musickit.errors import UsageError
from musickit.representations.conditions import SECTION_LETTERS
from musickit.runs import add_common_flags, add_sampling_flags, parse_flags, smoke_or
from musickit.runs.entry import run_main
from musickit.training.distribution import add_distribution_flags, configure_distribution

# Keras, TensorFlow and the model load inside main(), after the flags are checked: --help and a bad flag
# answer at once instead of after 10 s of imports.

# Data: offline music21 corpora, each a style label (a STYLE token and the style condition).
DATA = "bach"  # "bach,essen,ryans" adds folk styles (the CPU budget then buys a third of the Bach training)
MAX_FILES_PER_SOURCE = 150  # essen and ryans hold thousands of tunes; None for all of them
STEPS_PER_QUARTER = 4  # sixteenth-note grid
# The chorales have no dynamics and one instrument: without Velocity and Program tokens a note is
# "Pitch Duration", so a sequence holds twice the music and an epoch costs half.
NUM_VELOCITY_BINS = 0
USE_PROGRAMS = False
SEQUENCE_LENGTH = 512  # prompt plus piece tokens per training sequence
SNIPPET_LENGTH = 64  # tokens per section snippet (about two bars); 256 in the baseline proposal
FORM = "AB"  # the sections the prompt shows, in order

# Model.
PRESET = "small"  # 4 layers x 128 wide; "base" or "paper" on a GPU
PRESET_NAMES = ("base", "paper", "small", "tiny")  # the model's PRESETS, spelled here for a fast --help
POSITION_ENCODING = "relative"  # or "rotary", "absolute"
CONDITIONING = "film"  # or "additive"

# Training.
EPOCHS = 4  # on 2 CPU cores about 7 minutes each; 30 or more for good results on a GPU
BATCH_SIZE = 8
PEAK_LEARNING_RATE = 1e-3
WARMUP_FRACTION = 0.05
LOSS = "cross_entropy"  # or "focal"
LABEL_SMOOTHING = 0.1
PATIENCE = 3

# Generation (saved as the run's sampling.json, which `musickit generate --run` starts from).
STYLE = "bach"
NEW_TOKENS = 360  # about 12 bars of four-part chorale
NUM_SAMPLES = 3
TEMPERATURE = 0.7  # 0.9 gives 23% semitone clashes at this training budget (the chorales: 7%)
TOP_P = 0.95
KEY = "auto"  # the key of the prompt (Krumhansl-Schmuckler; a minor key keeps its raised seventh)
KEY_PENALTY = 1.2  # out-of-key pitches lose this much logit: rarer, not forbidden (chorales are 94% diatonic)
MAX_POLYPHONY = 4  # at most four notes at once: the chorales' four voices
NO_DUPLICATES = True  # never strike a pitch that is already sounding
ASCENDING_PITCHES = True  # the notes of one position lowest first, as the tokenizer writes them
MAX_REST_STEPS = 0  # no step without a sounding note (the chorales are silent 2-5% of the time)
FULL_LENGTH = True  # no EOS before NEW_TOKENS: training chunks end anywhere, so the model ends too early


def _mean(values):
    """Mean over the pieces where a metric exists (``None`` when it exists for none)."""
    values = np.asarray(values, float)
    return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else None


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Train a Music Transformer on prompted sections and generate.")
    add_common_flags(parser, default_output_dir="runs/music_transformer", default_epochs=EPOCHS,
                     default_batch_size=BATCH_SIZE)  # fmt: skip
    add_sampling_flags(parser)
    add_distribution_flags(parser)
    parser.set_defaults(data=DATA, temperature=TEMPERATURE, top_p=TOP_P, key=KEY, num_samples=NUM_SAMPLES)
    model = parser.add_argument_group("model")
    model.add_argument("--preset", choices=PRESET_NAMES, default=PRESET)
    model.add_argument("--position-encoding", choices=("relative", "rotary", "absolute"), default=POSITION_ENCODING)
    model.add_argument("--conditioning", choices=("film", "additive"), default=CONDITIONING)
    model.add_argument("--loss", choices=("cross_entropy", "focal"), default=LOSS)
    model.add_argument("--label-smoothing", type=float, default=LABEL_SMOOTHING)
    model.add_argument("--learning-rate", type=float, default=PEAK_LEARNING_RATE)
    model.add_argument("--sequence-length", type=int, default=SEQUENCE_LENGTH)
    model.add_argument("--snippet-length", type=int, default=SNIPPET_LENGTH)
    generation = parser.add_argument_group("generation")
    generation.add_argument("--style", default=None,
                            help=f"style of the generated pieces, a corpus name (default: {STYLE} if trained on)")
    generation.add_argument("--form", default=FORM, help="sections the prompt shows, e.g. AB or A")
    generation.add_argument("--new-tokens", type=int, default=NEW_TOKENS, help="tokens to generate per piece")
    generation.add_argument("--max-polyphony", type=int, default=MAX_POLYPHONY, help="most notes at once (0: no cap)")
    generation.add_argument("--max-rest-steps", type=int, default=MAX_REST_STEPS,
                            help="longest silence in grid steps (-1: no limit)")
    generation.add_argument("--key-penalty", type=float, default=KEY_PENALTY,
                            help="logit taken from out-of-key pitches (0: a hard key mask)")
    generation.add_argument("--any-order", dest="ascending_pitches", action="store_false", default=ASCENDING_PITCHES,
                            help="let the notes of one position come in any order")
    generation.add_argument("--allow-early-end", dest="full_length", action="store_false", default=FULL_LENGTH,
                            help="let a piece end (EOS) before --new-tokens")
    generation.add_argument("--allow-duplicates", dest="no_duplicates", action="store_false", default=NO_DUPLICATES,
                            help="let a piece strike a pitch that is already sounding")  # fmt: skip
    args = parse_flags(parser, argv)  # the shared checks, and the --smoke default folder
    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be at least 1")
    if not set(args.form) <= set(SECTION_LETTERS) or not args.form:
        raise UsageError(f"--form {args.form!r}: use section letters A to D, e.g. AB")
    return args


def main(argv=None):
    args = parse_arguments(argv)

    import keras

    from musickit.data import load_dataset
    from musickit.data.dataset import EncodedSplit
    from musickit.generation.piano_roll_run import SAMPLE_METRICS
    from musickit.generation.prompts import piece_snippets, prompted_dataset, prompted_examples
    from musickit.generation.transformer_run import (
        MODEL_NAME,
        generate_pieces,
        processors_from_args,
        prompt_from_file,
        prompt_from_sections,
        sampler_from_args,
        sampling_settings,
        save_sampling,
        write_samples,
    )
    from musickit.losses.sequence import sequence_loss
    from musickit.metrics import compute_metrics_batch
    from musickit.models.music_transformer import MusicTransformer
    from musickit.representations.remi import REMITokenizer
    from musickit.runs import RunFolder
    from musickit.training.callbacks import standard_callbacks
    from musickit.training.schedules import warmup_cosine_decay

    configure_distribution(args)  # --distribute: --batch-size becomes per device
    sampler_from_args(args)  # bad sampling flags fail here, before any work
    keras.utils.set_random_seed(args.seed)

    # ## Data
    tokenizer = REMITokenizer(steps_per_quarter=STEPS_PER_QUARTER, num_velocity_bins=NUM_VELOCITY_BINS,
                              use_programs=USE_PROGRAMS)  # fmt: skip
    processors_from_args(args, tokenizer, tokenizer.vocabulary_size)  # bad --key/--scale fail early too
    sources = args.data.split(",") if args.data != DATA or not args.smoke else ["bach"]  # smoke: --data if given
    max_files = smoke_or(args, 6, args.max_files or MAX_FILES_PER_SOURCE)
    splits = {name: EncodedSplit() for name in ("train", "valid", "test")}
    for source in sources:
        dataset = load_dataset(source.strip(), tokenizer, seed=args.seed, max_files=max_files)
        for name, split in splits.items():
            part = dataset.split(name)
            split.extend(part)
            split.metadata.extend(part.metadata)
    styles = sorted({item.get("style") for item in splits["train"].metadata if item.get("style")})
    if args.style is None:  # the default: bach when it is trained on, else the first style (none for a plain folder)
        args.style = STYLE if STYLE in styles else (styles[0] if styles else None)
    elif args.style not in styles:
        raise UsageError(f"--style {args.style!r} is not among the training styles {styles}; pick one of them")
    if not len(splits["valid"]):
        raise UsageError(f"--data {args.data}: too few pieces to hold some out for validation; add more files")
    print(f"{len(splits['train'])} training, {len(splits['valid'])} validation, {len(splits['test'])} test pieces "
          f"from {', '.join(sources)}; styles {styles}")  # fmt: skip

    sequence_length = smoke_or(args, 96, args.sequence_length)
    snippet_length = smoke_or(args, 16, args.snippet_length)
    train_examples, valid_examples = (
        prompted_examples(splits[name], tokenizer, sequence_length, snippet_length, args.form, styles)
        for name in ("train", "valid")
    )
    train = prompted_dataset(train_examples, args.batch_size, seed=args.seed)
    valid = prompted_dataset(valid_examples, args.batch_size, shuffle=False)

    # ## Model
    preset = smoke_or(args, "tiny", args.preset)
    model = MusicTransformer.from_preset(
        preset,
        vocabulary_size=tokenizer.vocabulary_size,
        position_encoding=args.position_encoding,
        condition_sizes={"style": len(styles)},  # an unknown style is id -1: no style conditioning
        conditioning_mode=args.conditioning,
        padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
    )
    if sequence_length > model.max_sequence_length:
        raise UsageError(f"--sequence-length {sequence_length} exceeds the {preset} preset's "
                         f"{model.max_sequence_length}; shorten it or choose a larger --preset")  # fmt: skip
    model.build()  # BackupAndRestore needs a built model before fit
    epochs = smoke_or(args, 1, args.epochs)
    steps_per_epoch = smoke_or(args, 2, len(train_examples["token_ids"]) // args.batch_size or 1)
    schedule = warmup_cosine_decay(args.learning_rate, epochs * steps_per_epoch, WARMUP_FRACTION)
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, clipnorm=1.0),
        loss=sequence_loss(args.loss, label_smoothing=args.label_smoothing),
        # The training loss may be smoothed or focal; "nll" is the plain cross-entropy per piece token.
        weighted_metrics=[keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="nll"),
                          keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )

    # ## Training
    run = RunFolder(args.output_dir)
    test_piece = (splits["test"] or splits["valid"])[0]
    test_metadata = (splits["test"].metadata or splits["valid"].metadata)[0]
    default_prompt = prompt_from_sections(piece_snippets(test_piece, test_metadata, args.form), tokenizer,
                                          args.form, snippet_length)  # fmt: skip
    info = {"model": MODEL_NAME, "model_config": model.get_config(), "representation": tokenizer.get_config(),
            "data": args.data, "max_files": max_files, "seed": args.seed, "styles": styles, "default_style": args.style, "form": args.form,
            "snippet_length": snippet_length, "sequence_length": sequence_length, "default_prompt": default_prompt,
            "new_tokens": smoke_or(args, 24, args.new_tokens)}  # fmt: skip
    resuming = run.start(info, resume=args.resume, overwrite=args.overwrite, flags=args)
    save_sampling(run, sampling_settings(args, new_tokens=info["new_tokens"]))
    # The learning rate follows the warmup-cosine schedule: no plateau callback to overwrite it.
    callbacks = standard_callbacks(run, monitor="val_nll", patience=PATIENCE, resume=resuming,
                                   reduce_on_plateau=False)  # fmt: skip
    model.fit(
        train,
        validation_data=valid,
        epochs=epochs,
        steps_per_epoch=smoke_or(args, 2, None),
        validation_steps=smoke_or(args, 1, None),
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles
        verbose=2 if os.environ.get("CI") else "auto",
    )
    run.save_model(model, tokenizer)

    # ## Evaluation: NLL in nats per piece token on held-out pieces (prompt tokens excluded)
    metrics = {}
    for name in ("valid", "test"):
        if len(splits[name]):
            examples = prompted_examples(splits[name], tokenizer, sequence_length, snippet_length, args.form, styles)
            dataset = prompted_dataset(examples, args.batch_size, shuffle=False)
            results = model.evaluate(dataset, steps=smoke_or(args, 1, None), verbose=0, return_dict=True)
            metrics[f"{name}_nll"], metrics[f"{name}_accuracy"] = results["nll"], results["accuracy"]
            metrics[f"{name}_perplexity"] = float(np.exp(results["nll"]))

    # ## Generation: the held-out piece's sections as the prompt, in the chosen style
    prompt = prompt_from_file(args.primer, tokenizer, args.form, snippet_length) if args.primer else default_prompt
    started = time.perf_counter()
    pieces = generate_pieces(model, tokenizer, prompt, smoke_or(args, 1, args.num_samples), info["new_tokens"], args,
                             style=args.style, styles=styles)  # fmt: skip
    seconds = time.perf_counter() - started
    samples = write_samples(pieces, tokenizer, run.samples_dir, soundfont=args.soundfont)
    generated, _ = compute_metrics_batch([sample["score"] for sample in samples if sample["score"].notes], SAMPLE_METRICS)
    held_out = [tokenizer.decode(piece) for piece in list(splits["test"] or splits["valid"])[: smoke_or(args, 2, 20)]]
    reference, _ = compute_metrics_batch(held_out, SAMPLE_METRICS)
    metrics["generation"] = {
        "tokens_per_second_including_compile": sum(len(piece) for piece in pieces) / seconds,
        "prompt_tokens": len(prompt),
        "generated": {name: _mean(values) for name, values in generated.items()},
        "held_out": {name: _mean(values) for name, values in reference.items()},
    }
    run.write_json(run.metrics_path, metrics)
    run.finish()  # --resume now has nothing to do; rerunning needs --overwrite
    print(f"wrote {len(samples)} samples ({samples[0]['audio']} audio) and metrics to {args.output_dir}")
    return metrics


if __name__ == "__main__":
    sys.exit(run_main(main))
