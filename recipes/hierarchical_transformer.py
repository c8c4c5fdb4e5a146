"""
Title: Hierarchical transformer: snippet encoder, cross-attention decoder, pieces in a requested form
Description: Pre-train a snippet encoder contrastively and a decoder as a language model, join them
  through cross-attention, train in stages (A: cross-attention + adapters, B: decoder unfrozen top
  blocks first, C: everything), then write pieces in a requested form (ABA, AABA, ...) from section
  snippets, with section markers in the MIDI.
Run time: about 10-15 minutes on a 2-core CPU with the defaults (the `small` encoder and decoder, 60
  chorales); `--smoke` takes under a minute. On a GPU use `--preset base --epochs 20 --max-files 400`.

Run it with no arguments (the whole pipeline):

    python recipes/hierarchical_transformer.py

or step by step, in one run folder:

    python recipes/hierarchical_transformer.py pretrain
    python recipes/hierarchical_transformer.py train --stages A,B,C     # or --stages E (end to end)
    python recipes/hierarchical_transformer.py generate --form ABA --snippet A=a.mid --snippet B=b.mid --style bach

Data: Bach chorales from music21 (no download) are cut into bar-aligned 4-bar phrases and assembled
into synthetic pieces of the forms AB, ABA, ABAB, ABC, AABA and ABCD (balanced), each with section
markers and the style label; training and validation pieces come from different chorales. The decoder
reads the first SNIPPET_LENGTH REMI tokens of each distinct section through cross-attention.

The run folder:

    runs/hierarchical_transformer/
      model.keras  representation.json  run.json  metrics.json  history.csv  logs/  stages/
      pretrained.weights.h5  samples/form_ABA_N.mid|.png|.wav
"""

import argparse
import csv
import os
import sys

import keras
import numpy as np

from musickit.data.form_synthesis import FORMS, form_letters, synthesize_corpus
from musickit.data.pipelines import section_snippet_pairs, token_windows
from musickit.data.sections import encode_sectioned, section_snippets
from musickit.data.sources import read_scores
from musickit.data.splits import assign_splits
from musickit.errors import UsageError
from musickit.generation.transformer_run import decode_piece, processors_from_args, sampler_from_args, write_samples
from musickit.losses.sequence import SequenceCrossEntropy
from musickit.metrics.form import section_similarity
from musickit.models.hierarchical import DECODER_PRESETS, HierarchicalTransformer
from musickit.models.hierarchical_generation import generate_in_form
from musickit.music.midi_io import read_midi
from musickit.representations.remi import REMITokenizer
from musickit.runs import RunFolder, add_common_flags, add_sampling_flags, smoke_or
from musickit.runs.entry import run_main
from musickit.training.contrastive import ContrastivePretrainer, contrastive_dataset, contrastive_views
from musickit.training.staging import STAGES, StagedTrainer, save_weights_atomically

MODEL_NAME = "hierarchical_transformer"
# Data.
MAX_FILES = 60  # chorales read; None for all 400
BARS_PER_SECTION = 4
PIECES_PER_FORM = 8  # synthetic training pieces per form (48 in all)
SNIPPET_LENGTH = 128  # tokens per section snippet; 256 in the proposal (a GPU setting)
SEQUENCE_LENGTH = 512  # decoder window
# Model.
PRESET = "small"
NUM_MEMORY_VECTORS = 4
ADAPTER_DIM = 32
# Pre-training.
CONTRASTIVE_EPOCHS = 4  # 50 for good results
TEMPERATURE = 0.1
LANGUAGE_MODEL_EPOCHS = 2
# Staged training.
STAGE_LIST = "A,B,C"
EPOCHS_PER_STAGE = 1  # 10 for good results
LEARNING_RATE = 1e-3
SCHEDULE = "warmup_cosine"
# Generation.
FORM = "ABA"
STYLE = "bach"
TOKENS_PER_SECTION = 160  # about 4 bars of four-part chorale
TEMPERATURE_SAMPLING = 0.9
TOP_K = 20


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Hierarchical transformer: pre-train, train in stages, generate.")
    parser.add_argument("command", nargs="?", default="all", choices=("all", "pretrain", "train", "generate"),
                        help="what to run (default: the whole pipeline)")  # fmt: skip
    add_common_flags(parser, default_output_dir=f"runs/{MODEL_NAME}", default_epochs=EPOCHS_PER_STAGE,
                     default_batch_size=8)  # fmt: skip
    add_sampling_flags(parser)
    parser.set_defaults(temperature=TEMPERATURE_SAMPLING, top_k=TOP_K, num_samples=2)
    model = parser.add_argument_group("model and training")
    model.add_argument("--preset", choices=sorted(DECODER_PRESETS), default=PRESET)
    model.add_argument("--snippet-length", type=int, default=SNIPPET_LENGTH)
    model.add_argument("--sequence-length", type=int, default=SEQUENCE_LENGTH)
    model.add_argument("--stages", default=STAGE_LIST, help="A,B,C (staged) or E (end to end)")
    model.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    model.add_argument("--schedule", default=SCHEDULE, choices=("warmup_cosine", "inverse_sqrt", "constant"))
    model.add_argument("--contrastive-temperature", type=float, default=TEMPERATURE)
    model.add_argument("--no-pretrain", action="store_true", help="train without the pre-training step (ablation)")
    generation = parser.add_argument_group("generation")
    generation.add_argument("--form", default=FORM, help="e.g. AB, ABA, ABAB, ABC, AABA, ABCD")
    generation.add_argument("--snippet", action="append", default=[], metavar="X=FILE.mid",
                            help="the snippet of section X (default: a held-out synthetic piece's sections)")
    generation.add_argument("--style", default=STYLE)
    generation.add_argument("--tokens-per-section", type=int, default=TOKENS_PER_SECTION)
    args = parser.parse_args(argv)
    form_letters(args.form)  # a bad form fails before any work
    for stage in args.stages.split(","):
        if stage.strip().upper() not in STAGES:
            raise UsageError(f"--stages {args.stages!r}: use A, B, C (e.g. A,B,C) or E for end to end")
    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be at least 1")
    return args


# ## Data: real phrases of one style assembled into pieces of known form


def load_data(args, tokenizer):
    collection = read_scores(args.data, max_files=smoke_or(args, 8, args.max_files or MAX_FILES))
    scores = [piece.score for piece in collection.pieces]
    assignment = assign_splits([piece.name for piece in collection.pieces], seed=args.seed)
    train = [score for piece, score in zip(collection.pieces, scores) if assignment[piece.name] == "train"]
    held_out = [score for piece, score in zip(collection.pieces, scores) if assignment[piece.name] != "train"]
    per_form = smoke_or(args, 1, PIECES_PER_FORM)
    forms = smoke_or(args, ("AB", "ABA"), FORMS)
    train_pieces = synthesize_corpus(train, forms, per_form, BARS_PER_SECTION, seed=args.seed)
    valid_pieces = synthesize_corpus(held_out or train, forms, 1, BARS_PER_SECTION, seed=args.seed + 1)
    return encode_sectioned(train_pieces, tokenizer), encode_sectioned(valid_pieces, tokenizer), valid_pieces


def pairs(split, args, styles, tokenizer, shuffle=True):
    return section_snippet_pairs(split, styles=styles, snippet_length=args.snippet_length, max_sections=4,
                                 sequence_length=args.sequence_length, batch_size=args.batch_size,
                                 tokenizer=tokenizer, shuffle=shuffle, seed=args.seed)  # fmt: skip


def build_model(args, tokenizer, styles):
    return HierarchicalTransformer.from_preset(
        smoke_or(args, "tiny", args.preset), vocabulary_size=tokenizer.vocabulary_size,
        snippet_length=args.snippet_length, num_memory_vectors=NUM_MEMORY_VECTORS, num_styles=len(styles),
        adapter_dim=ADAPTER_DIM, condition_sizes={"style": len(styles)}, padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
    )  # fmt: skip


# ## Pre-training: NT-Xent for the encoder, next-token prediction for the decoder


def pretrain(model, train_split, args, tokenizer, run):
    snippets = [tokens[: args.snippet_length] for item in train_split.metadata for _, tokens in item["sections"]]
    views = contrastive_views(snippets, tokenizer, args.snippet_length, copies=smoke_or(args, 1, 4), seed=args.seed)
    pretrainer = ContrastivePretrainer(model.encoder)
    pretrainer.compile_for_contrast(args.contrastive_temperature, learning_rate=args.learning_rate,
                                    jit_compile=smoke_or(args, False, "auto"))
    contrast = pretrainer.fit(contrastive_dataset(views, batch_size=max(args.batch_size, 4), seed=args.seed),
                              epochs=smoke_or(args, 1, CONTRASTIVE_EPOCHS), verbose=2)  # fmt: skip
    # The decoder alone (no memories): a language model over the training pieces.
    windows = token_windows(list(train_split), sequence_length=args.sequence_length, batch_size=args.batch_size,
                            tokenizer=tokenizer, seed=args.seed)  # fmt: skip
    model.compile(optimizer=keras.optimizers.AdamW(args.learning_rate, weight_decay=0.01, clipnorm=1.0),
                  loss=SequenceCrossEntropy(), weighted_metrics=[], jit_compile=smoke_or(args, False, "auto"))  # fmt: skip
    language = model.fit(windows, epochs=smoke_or(args, 1, LANGUAGE_MODEL_EPOCHS),
                         steps_per_epoch=smoke_or(args, 2, None), verbose=2)  # fmt: skip
    save_weights_atomically(model, run.file("pretrained.weights.h5"))
    return {"contrastive_loss": contrast.history["loss"][-1],
            "contrastive_retrieval_accuracy": contrast.history["retrieval_accuracy"][-1],
            "language_model_loss": language.history["loss"][-1]}  # fmt: skip


# ## Staged training


def train(model, train_split, valid_split, args, tokenizer, styles, run, resume):
    if not args.no_pretrain and os.path.isfile(run.file("pretrained.weights.h5")):
        model.load_weights(run.file("pretrained.weights.h5"))
    # Smoke runs take one or two steps per stage: compiling them with XLA would cost more than running them.
    trainer = StagedTrainer(model, run.file("stages"), learning_rate=args.learning_rate, schedule=args.schedule,
                            jit_compile=smoke_or(args, False, "auto"))  # fmt: skip
    callbacks = [keras.callbacks.TensorBoard(run.logs_dir, write_graph=False)]
    histories = trainer.run(pairs(train_split, args, styles, tokenizer), args.stages, epochs=smoke_or(args, 1, args.epochs),
                            steps_per_epoch=smoke_or(args, 2, None),
                            validation_data=pairs(valid_split, args, styles, tokenizer, shuffle=False),
                            resume=resume, callbacks=callbacks, verbose=2)  # fmt: skip
    rows = [{"stage": stage, "epoch": epoch, **{name: values[epoch] for name, values in history.items()}}
            for stage, history in histories.items() for epoch in range(len(history["loss"]))]  # fmt: skip
    if rows:
        with open(run.history_path, "a" if resume else "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=sorted({key for row in rows for key in row}))
            writer.writeheader()
            writer.writerows(rows)
    model.compile(loss=SequenceCrossEntropy(), weighted_metrics=[], jit_compile=smoke_or(args, False, "auto"))
    results = model.evaluate(pairs(valid_split, args, styles, tokenizer, shuffle=False),
                             steps=smoke_or(args, 1, None), verbose=0, return_dict=True)  # fmt: skip
    return {"valid_nll": results["loss"], "valid_perplexity": float(np.exp(results["loss"]))}


# ## Generation in the requested form


def snippets_from_flags(args, tokenizer, fallback_piece):
    if not args.snippet:
        return section_snippets(fallback_piece, tokenizer, args.snippet_length)
    snippets = {}
    for item in args.snippet:
        label, _, path = item.partition("=")
        label = label.strip().upper()
        if label not in "ABCD" or not label or not path:
            raise UsageError(f"--snippet {item!r}: write it as X=FILE.mid with X one of A, B, C, D")
        snippets[label] = tokenizer.encode(read_midi(path))[: args.snippet_length]
    return snippets


def generate(model, args, tokenizer, styles, fallback_piece, run):
    if args.style not in styles:
        raise UsageError(f"--style {args.style!r} is not among the trained styles {styles}")
    snippets = snippets_from_flags(args, tokenizer, fallback_piece)
    sampler = sampler_from_args(args)
    processors = processors_from_args(args, tokenizer, model.vocabulary_size)
    pieces = [generate_in_form(model, tokenizer, args.form, snippets, smoke_or(args, 32, args.tokens_per_section),
                               style=args.style, conditions={"style": styles.index(args.style)}, sampler=sampler,
                               processors=processors, seed=args.seed + number)
              for number in range(smoke_or(args, 1, args.num_samples))]  # fmt: skip
    write_samples(pieces, tokenizer, run.samples_dir, prefix=f"form_{args.form}", soundfont=args.soundfont)
    consistency = []
    for ids in pieces:
        score = decode_piece(tokenizer, ids)
        similarity = section_similarity(score)
        consistency.append({"same_label": similarity.same_label, "different_label": similarity.different_label,
                            "sections": [section.label for section in similarity.sections],
                            **snippet_cosines(model, tokenizer, score, snippets, args.snippet_length)})  # fmt: skip
    return {"form": args.form, "style": args.style, "form_consistency": consistency}


def snippet_cosines(model, tokenizer, score, snippets, snippet_length):
    """Encoder-embedding cosine of each generated section to its own snippet and to the other snippets."""
    generated = section_snippets(score, tokenizer, snippet_length) if score.notes else {}
    labels = sorted(set(generated) & set(snippets))
    if not labels:
        return {"cosine_to_own_snippet": None, "cosine_to_other_snippets": None}

    def embed(sequences):
        batch = np.full((len(sequences), snippet_length), tokenizer.pad_id, "int32")
        for row, ids in enumerate(sequences):
            batch[row, : len(ids)] = np.asarray(ids)[:snippet_length]
        vectors = keras.ops.convert_to_numpy(model.encoder.embed(batch))
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    sections = embed([generated[label] for label in labels])
    references = embed([snippets[label] for label in sorted(snippets)])
    cosines = sections @ references.T
    own = [cosines[row, sorted(snippets).index(label)] for row, label in enumerate(labels)]
    other = [cosines[row, column] for row, label in enumerate(labels) for column, name in enumerate(sorted(snippets))
             if name != label]  # fmt: skip
    return {"cosine_to_own_snippet": float(np.mean(own)),
            "cosine_to_other_snippets": float(np.mean(other)) if other else None}  # fmt: skip


def main(argv=None):
    args = parse_arguments(argv)
    sampler_from_args(args)
    keras.utils.set_random_seed(args.seed)
    args.snippet_length = smoke_or(args, 16, args.snippet_length)
    args.sequence_length = smoke_or(args, 64, args.sequence_length)
    tokenizer = REMITokenizer()
    processors_from_args(args, tokenizer, tokenizer.vocabulary_size)  # bad --key/--scale fail early
    run = RunFolder(args.output_dir)
    train_split, valid_split, valid_pieces = load_data(args, tokenizer)
    styles = sorted({item["style"] for item in train_split.metadata if item.get("style")})
    model = build_model(args, tokenizer, styles)
    model.build()
    info = {"model": MODEL_NAME, "model_config": model.get_config(), "representation": tokenizer.get_config(),
            "data": args.data, "seed": args.seed, "styles": styles, "snippet_length": args.snippet_length,
            "sequence_length": args.sequence_length, "stages": args.stages}  # fmt: skip
    metrics = {}
    if os.path.isfile(run.metrics_path) and args.command != "all":
        import json

        with open(run.metrics_path) as handle:
            metrics = json.load(handle)
    continuing = args.resume or args.command in ("train", "generate")
    resume = run.start(info, resume=continuing) or args.resume
    if args.command in ("all", "pretrain") and not args.no_pretrain:
        metrics["pretrain"] = pretrain(model, train_split, args, tokenizer, run)
    if args.command in ("all", "train"):
        metrics["train"] = train(model, train_split, valid_split, args, tokenizer, styles, run, resume)
        run.save_model(model, tokenizer)
    if args.command in ("all", "generate"):
        if args.command == "generate":
            if not os.path.isfile(run.model_path):
                raise UsageError(f"{run.path} has no trained model yet; run the 'train' step first")
            model = keras.saving.load_model(run.model_path, compile=False)
        metrics["generation"] = generate(model, args, tokenizer, styles, valid_pieces[0], run)
    run.write_json(run.metrics_path, metrics)
    print(f"run folder: {run.path}")
    return metrics


if __name__ == "__main__":
    sys.exit(run_main(main))
