"""
Title: Hierarchical transformer: snippet encoder, cross-attention decoder, pieces in a requested form
Description: Join a snippet encoder and a decoder through cross-attention and train them end to end on
  compact REMI (or, with `--stages A,B,C`, after contrastive and language-model pre-training, in stages:
  A: cross-attention + adapters, B: decoder unfrozen top blocks first, C: everything), then write pieces
  in a requested form (ABA, AABA, ...) and style from section snippets, with section markers in the MIDI,
  under the REMI note rules (the family's sampling, saved as sampling.json); judge them against a
  decoder-only baseline.
Run time: the defaults train 12 end-to-end epochs of 28 steps in one compiled fit (the old staged
  schedule took seven): about 5 minutes on an idle 2-core CPU with JAX, and 17 minutes for the whole
  pipeline, most of the rest the decoder-only baseline, which trains as many steps again
  (`--no-baseline` skips it). Returning sections (the second A of ABA) are written by the model itself:
  a copy head reads the section's first statement (`--no-copy-head` is the ablation).
  `--smoke` runs the same steps with the family's `smoke` preset (a one-block decoder, a few steps per fit,
  two held-out batches per evaluation): 50 s on TensorFlow and PyTorch on a 2-core CPU at load average 4;
  on JAX 88 s the first time and 46 s once its compiled programs are cached. The staged path with
  pre-training: `--smoke --stages A,B,C` plus the preset's contrastive and language-model epochs.
  On a GPU use the family's `gpu` preset: `--preset base --epochs 10 --max-files 400 --snippet-length 256
  --sequence-length 1024 --batch-size 16`.

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

The pipeline itself lives in `musickit.families.hierarchical_transformer` (its settings, with
`smoke`, `cpu` and `gpu` presets, and every step); this script assembles it. The run folder:

    runs/hierarchical_transformer/
      model.keras  representation.json  run.json  metrics.json  history.csv  logs/  stages/
      pretrained.weights.h5  style_classifier.keras  snippets.json  samples/form_ABA_N.mid|.png|.wav

`musickit generate --run runs/hierarchical_transformer` writes more pieces from it (snippets.json holds
a held-out piece's snippets per style).
"""

import argparse
import csv
import json
import os
import sys

import musickit  # noqa: F401  (first: it quiets TensorFlow's start-up logs)
from musickit.data.form_synthesis import form_letters
from musickit.errors import UsageError
from musickit.families.hierarchical_transformer.config import (
    CURRICULA,
    MODEL_NAME,
    MODEL_PRESETS,
    REPRISES,
    SCHEDULES,
    HierarchicalConfig,
)
from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES
from musickit.runs import RunFolder, add_common_flags, add_sampling_flags, parse_flags
from musickit.runs.distribution_flags import add_distribution_flags, configure_distribution
from musickit.runs.entry import run_main
from musickit.runs.flags import add_snippet_flag, snippet_files_from_flags
from musickit.runs.sampling_flags import sampling_config_from_flags, sampling_flag_defaults
from musickit.runs.steps import recipe_step

# Keras and the family's pipeline load in import_libraries(), after the flags are checked, so --help and a bad
# flag answer at once instead of after 10 s of imports.
keras = family = generation = None


def import_libraries():
    """Import the heavy modules this recipe uses into its namespace (once)."""
    global keras, family, generation, token_processors
    global write_samples, judge_generated_pieces, load_model_file, atomic_path, enable_compilation_cache
    import keras

    from musickit.families.hierarchical_transformer import generation
    from musickit.families.hierarchical_transformer import pipeline as family
    from musickit.families.music_transformer.generation import write_samples
    from musickit.generation.token_sampling import token_processors
    from musickit.metrics.generated_forms import judge_generated_pieces
    from musickit.runs.folder import load_model_file
    from musickit.utils.atomic import atomic_path
    from musickit.utils.compile_cache import enable_compilation_cache


# Settings: the family's presets hold every default (data, model size, pre-training, stages, generation).
PRESET = "cpu"  # "gpu" on a GPU (see the header); --smoke uses "smoke"
DEFAULTS = HierarchicalConfig.preset(PRESET)
# Flag -> setting, for the flags that only override the preset (unset: the preset's value).
SETTINGS_FLAGS = {
    "data": "data",
    "max_files": "max_files",
    "batch_size": "batch_size",
    "epochs": "epochs",
    "seed": "seed",
    "preset": "model_preset",
    "snippet_length": "snippet_length",
    "sequence_length": "sequence_length",
    "stages": "stages",
    "learning_rate": "learning_rate",
    "schedule": "schedule",
    "curriculum": "curriculum",
    "contrastive_temperature": "contrastive_temperature",
    "form": "form",
    "tokens_per_section": "tokens_per_section",
    "reprise": "reprise",
    "num_samples": "num_samples",
}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Hierarchical transformer: pre-train, train in stages, generate.")
    parser.add_argument(
        "command",
        nargs="?",
        default="all",
        choices=("all", "pretrain", "train", "generate"),
        help="what to run (default: the whole pipeline)",
    )
    add_common_flags(parser, default_output_dir=f"runs/{MODEL_NAME}", default_epochs=None, default_batch_size=None)
    add_sampling_flags(parser)
    add_distribution_flags(parser)
    # Unset flags take the preset's value (cpu, or smoke with --smoke); the help shows the cpu one. The sampling
    # flags default to the family's sampling; a flag left at it keeps the preset's.
    parser.set_defaults(data=None, num_samples=None, **sampling_flag_defaults(DEFAULTS.sampling))
    for action in parser._actions:
        if action.dest == "epochs":
            action.help = f"training epochs per stage (default: {DEFAULTS.epochs})"
    model = parser.add_argument_group("model and training")
    model.add_argument("--preset", choices=MODEL_PRESETS, default=None, help=f"default: {DEFAULTS.model_preset}")
    model.add_argument("--snippet-length", type=int, default=None, help=f"default: {DEFAULTS.snippet_length}")
    model.add_argument("--sequence-length", type=int, default=None, help=f"default: {DEFAULTS.sequence_length}")
    model.add_argument("--stages", default=None, help=f"A,B,C (staged) or E (end to end) (default: {DEFAULTS.stages})")
    model.add_argument("--learning-rate", type=float, default=None, help=f"default: {DEFAULTS.learning_rate}")
    model.add_argument("--schedule", default=None, choices=SCHEDULES, help=f"default: {DEFAULTS.schedule}")
    model.add_argument(
        "--curriculum",
        default=None,
        help=f"{', '.join(CURRICULA)}: short windows first, AB first and ABCD last, or both "
        f"(default: {DEFAULTS.curriculum})",
    )
    model.add_argument(
        "--contrastive-temperature", type=float, default=None, help=f"default: {DEFAULTS.contrastive_temperature}"
    )
    model.add_argument("--no-pretrain", action="store_true", help="train without the pre-training step (ablation)")
    model.add_argument("--no-baseline", action="store_true", help="skip the decoder-only baseline's perplexity")
    model.add_argument(
        "--no-copy-head",
        action="store_true",
        help="train without the copy head or the recall windows (ablation); returning sections are then copied",
    )
    pieces = parser.add_argument_group("generation")
    pieces.add_argument("--form", default=None, help=f"e.g. AB, ABA, ABAB, ABC, AABA, ABCD (default: {DEFAULTS.form})")
    add_snippet_flag(parser, pieces)
    pieces.add_argument("--style", default=None, help="style of every piece (default: each trained style in turn)")
    pieces.add_argument(
        "--emotion",
        choices=EMOTION_CLASSES,
        default=None,
        help="emotion class (default: that of the piece the snippets come from)",
    )
    pieces.add_argument(
        "--tempo",
        choices=TEMPO_CLASSES,
        default=None,
        help="tempo class (default: that of the piece the snippets come from)",
    )
    pieces.add_argument("--tokens-per-section", type=int, default=None, help=f"default: {DEFAULTS.tokens_per_section}")
    pieces.add_argument(
        "--reprise",
        choices=REPRISES,
        default=None,
        help="a returning section repeats its first statement (copy), is written anew (none), or anew with its first "
        f"statement as its context (recall) (default: {DEFAULTS.reprise})",
    )
    args = parse_flags(parser, argv)
    if args.form is not None:
        args.form = args.form.strip().upper()
        form_letters(args.form)  # a bad form fails before any work
    settings(args)  # bad --stages, --curriculum, ... fail here, in one line
    snippet_files_from_flags(args.snippet)  # the files' existence now; their notes once the libraries are loaded
    return args


def settings(args):
    """The family's settings for these flags: the preset (smoke or cpu), with the flags that were given."""
    overrides = {setting: getattr(args, flag) for flag, setting in SETTINGS_FLAGS.items()}
    if args.no_copy_head:
        overrides.update(copy_head=False, recall_windows=False, reprise=args.reprise or "copy")
    config = HierarchicalConfig.preset(
        "smoke" if args.smoke else PRESET, pretrain=not args.no_pretrain, baseline=not args.no_baseline, **overrides
    )
    return config.replace(sampling=sampling_config_from_flags(args, config.sampling, defaults=DEFAULTS.sampling))


# ## Staged training: the family's steps, with this run folder's history and logs


def write_history(run, histories, resume):
    rows = [
        {"stage": stage, "epoch": epoch, **{name: values[epoch] for name, values in history.items()}}
        for stage, history in histories.items()
        for epoch in range(len(history["loss"]))
    ]
    if rows:
        with open(run.history_path, "a" if resume else "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=sorted({key for row in rows for key in row}))
            writer.writeheader()
            writer.writerows(rows)


def train(model, corpus, config, tokenizer, run, resume):
    if config.pretrain and os.path.isfile(run.file("pretrained.weights.h5")):
        model.load_weights(run.file("pretrained.weights.h5"))
    callbacks = [keras.callbacks.TensorBoard(run.logs_dir, write_graph=False)]
    histories, steps = family.train_stages(
        model,
        corpus.train,
        config,
        tokenizer,
        run.file("stages"),
        corpus.styles,
        valid_split=corpus.valid,
        resume=resume,
        callbacks=callbacks,
    )
    write_history(run, histories, resume)
    return {"stages": config.stages, "curriculum": config.curriculum, "training_steps": steps}


def style_judge(corpus, config, tokenizer, run, metrics, command):
    path = run.file("style_classifier.keras")
    if command == "generate" and os.path.isfile(path) and "style_classifier" in metrics:
        return keras.saving.load_model(path, compile=False), metrics["style_classifier"]  # trained by an earlier run
    classifier, accuracies = family.train_style_judge(corpus, config, tokenizer)
    with atomic_path(path) as temporary:
        classifier.save(temporary)
    return classifier, accuracies


# ## Generation in the requested form and style


def snippets_from_flags(args, config, tokenizer, styles):
    """The ``--snippet`` files as ids, after checking ``--style``: called before any training."""
    if args.style is not None and args.style not in styles:
        raise UsageError(f"--style {args.style!r} is not among the trained styles {styles}")
    scores = generation.read_snippet_files(snippet_files_from_flags(args.snippet))
    return generation.encode_snippets(scores, tokenizer, config.snippet_length)


def generate(model, corpus, config, args, tokenizer, run, given, classifier=None):
    config.sampling.save(run)  # what `musickit generate --run` starts from
    written = generation.write_pieces(
        model,
        tokenizer,
        config,
        corpus.styles,
        corpus.valid_scores,
        given=given,
        style=args.style,
        emotion=args.emotion,
        tempo=args.tempo,
    )
    write_samples(
        [ids for ids, _, _ in written],
        tokenizer,
        run.samples_dir,
        prefix=f"form_{config.form}",
        soundfont=args.soundfont,
    )
    report = judge_generated_pieces(
        written,
        tokenizer,
        config.snippet_length,
        judge_encoder=model.encoder,
        classifier=classifier,
        styles=corpus.styles,
    )
    return {"form": config.form, **report}


def print_summary(metrics):
    for name, row in metrics.get("perplexity", {}).items():
        print(
            f"held-out perplexity, {name.replace('_', ' ')}: {row['valid_perplexity']:.2f} "
            f"({row['parameters']:,} parameters)"
        )
    judged = metrics.get("generation")
    if judged and judged.get("style_accuracy") is not None:
        judge = metrics["style_classifier"].get("valid_accuracy", float("nan"))
        print(
            f"style accuracy of the generated pieces: {judged['style_accuracy']:.2f} "
            f"(the classifier's own held-out accuracy: {judge:.2f})"
        )


# Flags that only shape the generated pieces: the steps of one run may differ in them.
GENERATION_FLAGS = (
    "form",
    "snippet",
    "style",
    "emotion",
    "tempo",
    "tokens_per_section",
    "reprise",
    "temperature",
    "top_k",
    "top_p",
    "key",
    "scale",
    "repetition_penalty",
    "primer",
    "num_samples",
    "smoke",
)


def adopt_training_flags(args, run):
    """The ``generate`` step rebuilds the corpus and the model as the run was trained: take its flags."""
    saved = run.read_info().get("flags") or {}
    for name, value in saved.items():
        if name not in GENERATION_FLAGS and name != "output_dir" and hasattr(args, name):
            setattr(args, name, value)
    args.smoke = saved.get("smoke", args.smoke)  # the corpus of a smoke run is the smoke corpus


def main(argv=None):
    args = parse_arguments(argv)
    from musickit.utils.compile_cache import run_smoke_eagerly

    def fits():
        """TensorFlow traces no graphs for a smoke run's fits; generation keeps its one compiled loop per piece
        (faster than eager steps)."""
        return run_smoke_eagerly(args.smoke)

    run = RunFolder(args.output_dir)
    # The train and generate steps add to the run the earlier steps made; the whole pipeline starts one.
    stepwise = args.command in ("train", "generate")
    # A folder this step may not write (another run to keep, nothing to resume, in use) is refused now.
    run.check_start(resume=args.resume or stepwise, overwrite=args.overwrite, continue_finished=stepwise)
    import_libraries()
    if args.command == "generate":
        adopt_training_flags(args, run)
    config = settings(args)
    for flag, setting in SETTINGS_FLAGS.items():  # run.json records the values used, not "unset"
        setattr(args, flag, getattr(config, setting))
    configure_distribution(args)  # --distribute: --batch-size becomes per device
    config = config.replace(batch_size=args.batch_size)
    keras.utils.set_random_seed(config.seed)
    enable_compilation_cache()  # JAX: a second run reuses the first one's compiled programs
    tokenizer = family.make_tokenizer(config)
    token_processors(config.sampling, tokenizer, tokenizer.vocabulary_size)  # bad --key/--scale fail early

    # ## Data: real phrases of each style assembled into pieces of known form
    with recipe_step("reading the corpus and assembling pieces in forms"):
        tokenizer, corpus = family.build_corpus(config, tokenizer)
    print(
        f"{len(corpus.train)} training and {len(corpus.valid)} held-out pieces in {len(config.forms)} forms; "
        f"styles {corpus.styles}"
    )
    given_snippets = snippets_from_flags(
        args, config, tokenizer, corpus.styles
    )  # a bad --style or --snippet fails here
    model = family.build_model(config, tokenizer, corpus.styles, name=MODEL_NAME)  # a fixed name: comparable run.json
    info = {
        "model": MODEL_NAME,
        "model_config": model.get_config(),
        "representation": tokenizer.get_config(),
        "data": config.data,
        "seed": config.seed,
        "styles": corpus.styles,
        "snippet_length": config.snippet_length,
        "sequence_length": config.sequence_length,
        "bars_per_section": config.bars_per_section,
        "stages": config.stages,
        "curriculum": config.curriculum,
    }
    metrics = {}
    if os.path.isfile(run.metrics_path) and args.command != "all":
        with open(run.metrics_path) as handle:
            metrics = json.load(handle)
    resume = (
        run.start(
            info,
            resume=args.resume or stepwise,
            overwrite=args.overwrite,
            flags=args,
            ignore_flags=GENERATION_FLAGS,
            continue_finished=stepwise,
        )
        or args.resume
    )

    # ## Pre-training: NT-Xent for the encoder, next-token prediction for the decoder
    pretraining = config.pretrain and (config.contrastive_epochs or config.language_model_epochs)
    if args.command in ("all", "pretrain") and pretraining:
        with recipe_step("pre-training (contrastive encoder, then the decoder alone)"), fits():
            metrics["pretrain"] = family.pretrain(
                model, corpus.train, config, tokenizer, weights_path=run.file("pretrained.weights.h5")
            )

    # ## Staged training, then held-out perplexity beside the decoder-only baseline
    if args.command in ("all", "train"):
        stages = "end to end" if config.stages == "E" else f"in stages {config.stages}"
        with recipe_step(f"training {stages}"), fits():
            metrics["train"] = train(model, corpus, config, tokenizer, run, resume)
        run.save_model(model, tokenizer)
        generation.save_default_snippets(run, corpus.valid_scores, corpus.styles, tokenizer, config.snippet_length)
        pretrain_steps = metrics.get("pretrain", {}).get("language_model_steps", 0) if config.pretrain else 0
        baseline = ", and training the decoder-only baseline" if config.baseline else ""
        with recipe_step(f"held-out perplexity{baseline}"), fits():
            metrics["perplexity"] = family.perplexities(
                model, corpus, config, tokenizer, metrics["train"]["training_steps"], pretrain_steps
            )

    # ## Generation in the requested form and style, judged by a style classifier trained on real snippets
    if args.command in ("all", "generate"):
        if args.command == "generate":
            if not os.path.isfile(run.model_path):
                raise UsageError(f"{run.path} has no trained model yet; run the 'train' step first")
            model = load_model_file(run.model_path)
        with recipe_step("style classifier (the judge of the generated pieces)"), fits():
            classifier, metrics["style_classifier"] = style_judge(corpus, config, tokenizer, run, metrics, args.command)
        with recipe_step(f"writing pieces in the form {config.form}"):
            metrics["generation"] = generate(model, corpus, config, args, tokenizer, run, given_snippets, classifier)
    run.write_json(run.metrics_path, metrics)
    if args.command in ("all", "generate"):
        run.finish()
    print_summary(metrics)
    print(f"run folder: {run.path}")
    return metrics


if __name__ == "__main__":
    sys.exit(run_main(main))
