"""
Title: Hierarchical transformer: snippet encoder, cross-attention decoder, pieces in a requested form
Description: Pre-train a snippet encoder contrastively and a decoder as a language model, join them
  through cross-attention, train in stages (A: cross-attention + adapters, B: decoder unfrozen top
  blocks first, C: everything), then write pieces in a requested form (ABA, AABA, ...) and style from
  section snippets, with section markers in the MIDI; judge them against a decoder-only baseline.
Run time: about 17 minutes on a 2-core CPU with the defaults (16 min 52 s measured from a fresh clone,
  sharing the machine with other work for most of it; a third of it trains the decoder-only baseline,
  which `--no-baseline` skips).
  `--smoke` takes one to seven minutes on a 2-core CPU (6 min 37 s measured on a shared one).
  On a GPU use `--preset base --epochs 10 --max-files 400 --snippet-length 256
  --sequence-length 1024`.

Run it with no arguments (the whole pipeline):

    python recipes/hierarchical_transformer.py

or step by step, in one run folder:

    python recipes/hierarchical_transformer.py pretrain
    python recipes/hierarchical_transformer.py train --stages A,B,C     # or --stages E (end to end)
    python recipes/hierarchical_transformer.py generate --form ABA --snippet A=a.mid --snippet B=b.mid --style bach

Data: Bach chorales and Essen folk songs from music21 (no download) are split into training and
held-out pieces, cut into bar-aligned 4-bar phrases and assembled into synthetic pieces of the forms
AB, ABA, ABAB, ABC, AABA and ABCD (balanced, per style), each with section markers, its style, and
emotion and tempo classes (a heuristic proxy: mode and onset rate). The decoder reads the first
SNIPPET_LENGTH REMI tokens of each distinct section through cross-attention, and is conditioned on
style, emotion and tempo. `--curriculum length,form` starts training on short windows of simple forms.

Evaluation (metrics.json): held-out per-token perplexity of this model and of a decoder-only Music
Transformer with the same parameter count and training steps that reads the snippets in its prompt;
form consistency of the generated pieces (sections vs their snippets and vs each other, by pitch-class,
interval and rhythm histograms and by encoder-embedding cosine); style accuracy of the generated pieces
by a style classifier trained on real snippets (its own held-out accuracy is reported beside it).

The run folder:

    runs/hierarchical_transformer/
      model.keras  representation.json  run.json  metrics.json  history.csv  logs/  stages/
      pretrained.weights.h5  style_classifier.keras  samples/form_ABA_N.mid|.png|.wav
"""

import argparse
import csv
import json
import os
import sys

import musickit  # noqa: F401  (first: it quiets TensorFlow's start-up logs)
from musickit.data.form_synthesis import FORMS, form_letters
from musickit.errors import UsageError
from musickit.representations.conditions import EMOTION_CLASSES, SECTION_LETTERS, TEMPO_CLASSES, class_id
from musickit.runs import RunFolder, add_common_flags, add_sampling_flags, parse_flags, smoke_or
from musickit.runs.entry import run_main
from musickit.runs.folder import load_model_file
from musickit.training.distribution import add_distribution_flags, configure_distribution

# Keras, TensorFlow and the models load in import_libraries(), after the flags are checked, so --help and a
# bad flag answer at once instead of after 10 s of imports.
keras = np = None


def import_libraries():
    """Import the heavy modules this recipe uses into its namespace (once)."""
    global keras, np, curriculum_pairs, curriculum_phases, build_form_corpus, section_snippet_pairs, token_windows
    global section_snippets, processors_from_args, sampler_from_args, write_samples, judge_generated_pieces
    global dataset_token_nll, DECODER_PRESETS, HierarchicalTransformer, generate_in_form, count_parameters
    global read_midi, REMITokenizer, compile_for_tokens, train_prompted_baseline, pretrain_encoder, STAGES
    global StagedTrainer, save_weights_atomically, set_language_model_stage, train_style_classifier, atomic_path
    import keras
    import numpy as np

    from musickit.data.curriculum import curriculum_pairs, curriculum_phases
    from musickit.data.form_corpus import build_form_corpus
    from musickit.data.pipelines import section_snippet_pairs, token_windows
    from musickit.data.sections import section_snippets
    from musickit.generation.transformer_run import processors_from_args, sampler_from_args, write_samples
    from musickit.metrics.generated_forms import judge_generated_pieces
    from musickit.metrics.likelihood import dataset_token_nll
    from musickit.models.hierarchical import DECODER_PRESETS, HierarchicalTransformer
    from musickit.models.hierarchical_generation import generate_in_form
    from musickit.models.parameter_matching import count_parameters
    from musickit.music.midi_io import read_midi
    from musickit.representations.remi import REMITokenizer
    from musickit.training.baseline import compile_for_tokens, train_prompted_baseline
    from musickit.training.contrastive import pretrain_encoder
    from musickit.training.staging import (
        STAGES,
        StagedTrainer,
        save_weights_atomically,
        set_language_model_stage,
    )
    from musickit.training.style_classifier import train_style_classifier
    from musickit.utils.atomic import atomic_path


MODEL_NAME = "hierarchical_transformer"
# Data.
DATA = "bach,essen"
MAX_FILES = 40  # pieces read per style; None for all (433 chorales, 8,000+ folk songs)
BARS_PER_SECTION = 4
PIECES_PER_FORM = 4  # synthetic training pieces per form and style (48 in all)
SNIPPET_LENGTH = 64  # tokens per section snippet (a bar or two of chorale); 256 in the proposal (a GPU setting)
SEQUENCE_LENGTH = 256  # decoder window; 1024-4096 on a GPU
CURRICULUM = "none"  # or "length", "form", "length,form"
# Model.
PRESETS = ("base", "paper", "small", "tiny")  # musickit.models.hierarchical.DECODER_PRESETS, named here for a fast --help
PRESET = "small"
NUM_MEMORY_VECTORS = 4
ADAPTER_DIM = 32
# Pre-training.
CONTRASTIVE_EPOCHS = 4  # 50 for good results
TEMPERATURE = 0.1
LANGUAGE_MODEL_EPOCHS = 2  # 20 for good results
# Staged training.
STAGE_LIST = "A,B,C"
STAGE_NAMES = ("A", "B", "C", "E")  # musickit.training.staging.STAGES
EPOCHS_PER_STAGE = 1  # 10 for good results
LEARNING_RATE = 1e-3
SCHEDULE = "warmup_cosine"
# Evaluation.
STYLE_CLASSIFIER_EPOCHS = 4
# Generation.
FORM = "ABA"
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
    add_distribution_flags(parser)
    parser.set_defaults(data=DATA, temperature=TEMPERATURE_SAMPLING, top_k=TOP_K, num_samples=2)
    model = parser.add_argument_group("model and training")
    model.add_argument("--preset", choices=PRESETS, default=PRESET, help="default: %(default)s")
    model.add_argument("--snippet-length", type=int, default=SNIPPET_LENGTH, help="default: %(default)s")
    model.add_argument("--sequence-length", type=int, default=SEQUENCE_LENGTH, help="default: %(default)s")
    model.add_argument("--stages", default=STAGE_LIST, help="A,B,C (staged) or E (end to end) (default: %(default)s)")
    model.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="default: %(default)s")
    model.add_argument("--schedule", default=SCHEDULE, choices=("warmup_cosine", "inverse_sqrt", "constant"),
                       help="default: %(default)s")  # fmt: skip
    model.add_argument("--curriculum", default=CURRICULUM,
                       help="none (the default), length (short windows first), form (AB first, ABCD last) or length,form")  # fmt: skip
    model.add_argument("--contrastive-temperature", type=float, default=TEMPERATURE, help="default: %(default)s")
    model.add_argument("--no-pretrain", action="store_true", help="train without the pre-training step (ablation)")
    model.add_argument("--no-baseline", action="store_true", help="skip the decoder-only baseline's perplexity")
    generation = parser.add_argument_group("generation")
    generation.add_argument("--form", default=FORM, help="e.g. AB, ABA, ABAB, ABC, AABA, ABCD (default: %(default)s)")
    generation.add_argument("--snippet", action="append", default=[], metavar="X=FILE.mid",
                            help="the snippet of section X (default: a held-out piece's sections)")  # fmt: skip
    generation.add_argument("--style", default=None, help="style of every piece (default: each trained style in turn)")
    generation.add_argument("--emotion", choices=EMOTION_CLASSES, default=None,
                            help="emotion class (default: that of the piece the snippets come from)")  # fmt: skip
    generation.add_argument("--tempo", choices=TEMPO_CLASSES, default=None,
                            help="tempo class (default: that of the piece the snippets come from)")  # fmt: skip
    generation.add_argument("--tokens-per-section", type=int, default=TOKENS_PER_SECTION, help="default: %(default)s")
    args = parse_flags(parser, argv)
    args.form = args.form.strip().upper()
    form_letters(args.form)  # a bad form fails before any work
    for stage in args.stages.split(","):
        if stage.strip().upper() not in STAGE_NAMES:
            raise UsageError(f"--stages {args.stages!r}: use A, B, C (e.g. A,B,C) or E for end to end")
    curriculum = {part.strip() for part in args.curriculum.split(",")}
    if not curriculum <= {"none", "length", "form"} or ("none" in curriculum and len(curriculum) > 1):
        raise UsageError(f"--curriculum {args.curriculum!r}: use none, length, form or length,form")
    for item in args.snippet:  # the files' existence now; their notes once the libraries are loaded
        label, _, path = item.partition("=")
        if label.strip().upper() not in SECTION_LETTERS or not path:
            raise UsageError(f"--snippet {item!r}: write it as X=FILE.mid with X one of A, B, C, D")
        if not os.path.isfile(path):
            raise UsageError(f"--snippet {item!r}: no such file {path}")
    return args


# ## Data: real phrases of each style assembled into pieces of known form


def pairs(split, args, styles, tokenizer, shuffle=True):
    return section_snippet_pairs(split, styles=styles, snippet_length=args.snippet_length, max_sections=4,
                                 sequence_length=args.sequence_length, batch_size=args.batch_size,
                                 tokenizer=tokenizer, shuffle=shuffle, seed=args.seed)  # fmt: skip


def training_pairs(split, args, styles, tokenizer):
    """The training batches of one stage: plain pairs, or a curriculum walked once over the stage's epochs."""
    plain = pairs(split, args, styles, tokenizer)
    if args.curriculum == "none":
        return plain, smoke_or(args, 2, None)
    forms = sorted({item["form"] for item in split.metadata})
    lengths = (args.sequence_length // 4, args.sequence_length // 2, args.sequence_length)
    phases = curriculum_phases(forms, sequence_lengths=lengths, by_length="length" in args.curriculum,
                               by_form="form" in args.curriculum)  # fmt: skip
    steps_per_epoch = smoke_or(args, len(phases), int(plain.cardinality()))  # smoke: one step per phase
    dataset = curriculum_pairs(split, phases, total_steps=steps_per_epoch * args.epochs, styles=styles,
                               snippet_length=args.snippet_length, batch_size=args.batch_size, tokenizer=tokenizer,
                               seed=args.seed)  # fmt: skip
    return dataset, steps_per_epoch


def build_model(args, tokenizer, styles):
    return HierarchicalTransformer.from_preset(
        smoke_or(args, "tiny", args.preset), vocabulary_size=tokenizer.vocabulary_size,
        snippet_length=args.snippet_length, num_memory_vectors=NUM_MEMORY_VECTORS, adapter_dim=ADAPTER_DIM,
        condition_sizes={"style": len(styles), "emotion": len(EMOTION_CLASSES), "tempo": len(TEMPO_CLASSES)},
        padding_id=tokenizer.pad_id, end_id=tokenizer.eos_id, name=MODEL_NAME,  # a fixed name keeps run.json comparable
    )  # fmt: skip


# ## Pre-training: NT-Xent for the encoder, next-token prediction for the decoder


def pretrain(model, corpus, args, tokenizer, run):
    contrast = pretrain_encoder(model.encoder, corpus.train, tokenizer, args.snippet_length,
                                epochs=smoke_or(args, 1, CONTRASTIVE_EPOCHS), copies=smoke_or(args, 1, 4),
                                temperature=args.contrastive_temperature, learning_rate=args.learning_rate,
                                batch_size=max(args.batch_size, 4), seed=args.seed,
                                jit_compile=smoke_or(args, False, "auto"), verbose=2)  # fmt: skip
    # The decoder alone (no memories): a language model over the training pieces.
    windows = token_windows(list(corpus.train), sequence_length=args.sequence_length, batch_size=args.batch_size,
                            tokenizer=tokenizer, seed=args.seed)  # fmt: skip
    epochs = smoke_or(args, 1, LANGUAGE_MODEL_EPOCHS)
    steps = smoke_or(args, 2, int(windows.cardinality()))
    set_language_model_stage(model)
    compile_for_tokens(model, args.learning_rate, steps * epochs, jit_compile=smoke_or(args, False, "auto"))
    language = model.fit(windows, epochs=epochs, steps_per_epoch=smoke_or(args, 2, None), verbose=2)
    save_weights_atomically(model, run.file("pretrained.weights.h5"))
    return {**contrast, "language_model_loss": language.history["loss"][-1],
            "language_model_steps": steps * epochs}  # fmt: skip


# ## Staged training


def train(model, corpus, args, tokenizer, run, resume):
    if not args.no_pretrain and os.path.isfile(run.file("pretrained.weights.h5")):
        model.load_weights(run.file("pretrained.weights.h5"))
    # Smoke runs take one or two steps per stage: compiling them with XLA would cost more than running them.
    trainer = StagedTrainer(model, run.file("stages"), learning_rate=args.learning_rate, schedule=args.schedule,
                            jit_compile=smoke_or(args, False, "auto"))  # fmt: skip
    callbacks = [keras.callbacks.TensorBoard(run.logs_dir, write_graph=False)]
    train_data, steps_per_epoch = training_pairs(corpus.train, args, corpus.styles, tokenizer)
    histories = trainer.run(train_data, args.stages, epochs=smoke_or(args, 1, args.epochs),
                            steps_per_epoch=steps_per_epoch,
                            validation_data=pairs(corpus.valid, args, corpus.styles, tokenizer, shuffle=False),
                            resume=resume, callbacks=callbacks, verbose=2)  # fmt: skip
    rows = [{"stage": stage, "epoch": epoch, **{name: values[epoch] for name, values in history.items()}}
            for stage, history in histories.items() for epoch in range(len(history["loss"]))]  # fmt: skip
    if rows:
        with open(run.history_path, "a" if resume else "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=sorted({key for row in rows for key in row}))
            writer.writeheader()
            writer.writerows(rows)
    steps_per_epoch = steps_per_epoch or int(pairs(corpus.train, args, corpus.styles, tokenizer).cardinality())
    steps = sum(len(history["loss"]) for history in histories.values()) * steps_per_epoch
    return {"stages": args.stages, "curriculum": args.curriculum, "training_steps": steps}


# ## Evaluation: perplexity side by side with the decoder-only baseline


def perplexities(model, corpus, args, tokenizer, training_steps, pretrain_steps):
    valid = pairs(corpus.valid, args, corpus.styles, tokenizer, shuffle=False)
    nll, tokens = dataset_token_nll(model, valid)
    result = {"hierarchical": {"parameters": count_parameters(model), "valid_nll": nll,
                               "valid_perplexity": float(np.exp(nll)), "valid_tokens": tokens}}  # fmt: skip
    if args.no_baseline:
        return result
    # Same parameter count, same pre-training and training steps, the snippets in its prompt instead.
    baseline, prompted = train_prompted_baseline(
        corpus, tokenizer, count_parameters(model), model.hidden_dim, model.num_heads, args.snippet_length,
        args.sequence_length, pretrain_steps, training_steps, args.batch_size, args.learning_rate, args.seed,
        jit_compile=smoke_or(args, False, "auto"), verbose=2,
    )  # fmt: skip
    nll, tokens = dataset_token_nll(baseline, prompted)
    result["decoder_only_baseline"] = {"parameters": count_parameters(baseline), "valid_nll": nll,
                                       "valid_perplexity": float(np.exp(nll)), "valid_tokens": tokens,
                                       "num_layers": baseline.num_layers, "intermediate_dim": baseline.intermediate_dim}  # fmt: skip
    return result


def style_judge(corpus, args, tokenizer, run, metrics):
    path = run.file("style_classifier.keras")
    if args.command == "generate" and os.path.isfile(path) and "style_classifier" in metrics:
        return keras.saving.load_model(path, compile=False), metrics["style_classifier"]  # trained by an earlier run
    classifier, accuracies = train_style_classifier(
        corpus.train, corpus.styles, tokenizer.vocabulary_size, args.snippet_length, valid_split=corpus.valid,
        epochs=smoke_or(args, 1, STYLE_CLASSIFIER_EPOCHS), pad_id=tokenizer.pad_id, seed=args.seed, verbose=2,
        jit_compile=smoke_or(args, False, "auto"),
    )  # fmt: skip
    with atomic_path(path) as temporary:
        classifier.save(temporary)
    return classifier, accuracies


# ## Generation in the requested form and style


def snippets_from_flags(args, tokenizer):
    snippets = {}
    for item in args.snippet:
        label, _, path = item.partition("=")
        label = label.strip().upper()
        if label not in SECTION_LETTERS or not path:
            raise UsageError(f"--snippet {item!r}: write it as X=FILE.mid with X one of A, B, C, D")
        snippets[label] = tokenizer.encode(read_midi(path))[: args.snippet_length]
    return snippets


def source_piece(corpus, style, form):
    """A held-out piece of ``style`` whose sections cover ``form``'s letters (its snippets are the default)."""
    candidates = [score for score in corpus.valid_scores if score.metadata.get("style") == style] or corpus.valid_scores
    covering = [score for score in candidates if set(form) <= set(score.metadata.get("form", ""))]
    return (covering or candidates)[0]


def generation_flags(args, tokenizer, styles):
    """The ``--snippet`` files as ids, after checking them and ``--style``: called before any training."""
    if args.style is not None and args.style not in styles:
        raise UsageError(f"--style {args.style!r} is not among the trained styles {styles}")
    return snippets_from_flags(args, tokenizer)


def generate(model, corpus, args, tokenizer, run, given, classifier=None):
    styles = corpus.styles
    missing = [letter for letter in form_letters(args.form) if letter not in given]
    sampler = sampler_from_args(args)
    processors = processors_from_args(args, tokenizer, model.vocabulary_size)
    written = []
    for number in range(smoke_or(args, 1, args.num_samples)):
        style = args.style or styles[number % len(styles)]
        piece = source_piece(corpus, style, args.form)
        snippets = {**(section_snippets(piece, tokenizer, args.snippet_length) if missing else {}), **given}
        emotion = args.emotion or piece.metadata.get("emotion")
        tempo = args.tempo or piece.metadata.get("tempo")
        conditions = {"style": styles.index(style), "emotion": class_id(emotion, EMOTION_CLASSES),
                      "tempo": class_id(tempo, TEMPO_CLASSES)}  # fmt: skip
        ids = generate_in_form(model, tokenizer, args.form, snippets, smoke_or(args, 32, args.tokens_per_section),
                               style=style, conditions=conditions, sampler=sampler, processors=processors,
                               seed=args.seed + number)  # fmt: skip
        written.append((ids, snippets, style))
    write_samples([ids for ids, _, _ in written], tokenizer, run.samples_dir, prefix=f"form_{args.form}",
                  soundfont=args.soundfont)  # fmt: skip
    report = judge_generated_pieces(written, tokenizer, args.snippet_length, judge_encoder=model.encoder,
                                    classifier=classifier, styles=styles)  # fmt: skip
    return {"form": args.form, **report}


def print_summary(metrics):
    for name, row in metrics.get("perplexity", {}).items():
        print(f"held-out perplexity, {name.replace('_', ' ')}: {row['valid_perplexity']:.2f} "
              f"({row['parameters']:,} parameters)")  # fmt: skip
    generation = metrics.get("generation")
    if generation and generation.get("style_accuracy") is not None:
        judge = metrics["style_classifier"].get("valid_accuracy", float("nan"))
        print(f"style accuracy of the generated pieces: {generation['style_accuracy']:.2f} "
              f"(the classifier's own held-out accuracy: {judge:.2f})")  # fmt: skip


# Flags that only shape the generated pieces: the steps of one run may differ in them.
GENERATION_FLAGS = ("form", "snippet", "style", "emotion", "tempo", "tokens_per_section", "temperature", "top_k",
                    "top_p", "key", "scale", "repetition_penalty", "primer", "num_samples", "smoke")  # fmt: skip


def adopt_training_flags(args, run):
    """The ``generate`` step rebuilds the corpus and the model as the run was trained: take its flags."""
    saved = run.read_info().get("flags") or {}
    for name, value in saved.items():
        if name not in GENERATION_FLAGS and name != "output_dir" and hasattr(args, name):
            setattr(args, name, value)
    args.smoke = saved.get("smoke", args.smoke)  # the corpus of a smoke run is the smoke corpus


def main(argv=None):
    args = parse_arguments(argv)
    import_libraries()
    configure_distribution(args)  # --distribute: --batch-size becomes per device
    sampler_from_args(args)
    run = RunFolder(args.output_dir)
    if args.command == "generate":
        adopt_training_flags(args, run)
    keras.utils.set_random_seed(args.seed)
    args.snippet_length = smoke_or(args, 16, args.snippet_length)
    args.sequence_length = smoke_or(args, 64, args.sequence_length)
    tokenizer = REMITokenizer()
    processors_from_args(args, tokenizer, tokenizer.vocabulary_size)  # bad --key/--scale fail early
    corpus = build_form_corpus(args.data, tokenizer, max_files=smoke_or(args, 8, args.max_files or MAX_FILES),
                               forms=smoke_or(args, ("AB", "ABA"), FORMS),
                               pieces_per_form=smoke_or(args, 1, PIECES_PER_FORM), bars_per_section=BARS_PER_SECTION,
                               seed=args.seed)  # fmt: skip
    print(f"{len(corpus.train)} training and {len(corpus.valid)} held-out pieces in {len(FORMS)} forms; "
          f"styles {corpus.styles}")  # fmt: skip
    given_snippets = generation_flags(args, tokenizer, corpus.styles)  # a bad --style or --snippet fails here
    model = build_model(args, tokenizer, corpus.styles)
    model.build()
    info = {"model": MODEL_NAME, "model_config": model.get_config(), "representation": tokenizer.get_config(),
            "data": args.data, "seed": args.seed, "styles": corpus.styles, "snippet_length": args.snippet_length,
            "sequence_length": args.sequence_length, "stages": args.stages, "curriculum": args.curriculum}  # fmt: skip
    metrics = {}
    if os.path.isfile(run.metrics_path) and args.command != "all":
        with open(run.metrics_path) as handle:
            metrics = json.load(handle)
    # The train and generate steps add to the run the earlier steps made; the whole pipeline starts one.
    stepwise = args.command in ("train", "generate")
    resume = run.start(info, resume=args.resume or stepwise, overwrite=args.overwrite, flags=args,
                       ignore_flags=GENERATION_FLAGS, continue_finished=stepwise) or args.resume  # fmt: skip
    if args.command in ("all", "pretrain") and not args.no_pretrain:
        metrics["pretrain"] = pretrain(model, corpus, args, tokenizer, run)
    if args.command in ("all", "train"):
        metrics["train"] = train(model, corpus, args, tokenizer, run, resume)
        run.save_model(model, tokenizer)
        pretrain_steps = 0 if args.no_pretrain else metrics.get("pretrain", {}).get("language_model_steps", 0)
        metrics["perplexity"] = perplexities(model, corpus, args, tokenizer, metrics["train"]["training_steps"],
                                             pretrain_steps)  # fmt: skip
    if args.command in ("all", "generate"):
        if args.command == "generate":
            if not os.path.isfile(run.model_path):
                raise UsageError(f"{run.path} has no trained model yet; run the 'train' step first")
            model = load_model_file(run.model_path)
        classifier, metrics["style_classifier"] = style_judge(corpus, args, tokenizer, run, metrics)
        metrics["generation"] = generate(model, corpus, args, tokenizer, run, given_snippets, classifier)
    run.write_json(run.metrics_path, metrics)
    if args.command in ("all", "generate"):
        run.finish()
    print_summary(metrics)
    print(f"run folder: {run.path}")
    return metrics


if __name__ == "__main__":
    sys.exit(run_main(main))
