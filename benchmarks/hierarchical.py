"""Hierarchical transformer vs the decoder-only baseline, contrastive on/off, staged vs end to end.

One run, one corpus, one seed, every model at (about) the same parameter count and the same number of
training steps:

* **decoder-only**: a Music Transformer whose width and heads match the hierarchical decoder and whose
  depth and feed-forward width are chosen to match the hierarchical model's whole parameter count
  (:func:`musickit.models.parameter_matching.matched_music_transformer`). It reads the snippets in its
  prompt (``PROMPT_START SECTION_A snippet ... PROMPT_END piece``), so both sides see the same
  information; its sequences are longer by the prompt.
* **hierarchical, end to end (E)** and **staged (A, B1..Bn, C)**, each with and without contrastive
  pre-training of the snippet encoder.

Protocol. Every decoder first gets ``--pretrain-steps`` steps of plain language modelling on the
training pieces (the decoder-only model too, on its own weights), because stage A freezes the decoder
and needs a trained one. The contrastive variants then pre-train the encoder with NT-Xent
(``--contrastive-epochs``). After that every model trains ``--steps`` steps (the staged schedule splits
them equally over its sub-stages) with the same peak learning rate and warmup-cosine schedule.

Measured on held-out pieces (assembled from chorales and tunes never seen in training):

* per-token NLL and perplexity of the piece tokens (the baseline's prompt tokens are not counted);
* form consistency of generated pieces (each held-out piece's own form and snippets, sampled):
  ``contrast`` = mean histogram similarity of same-label section pairs minus different-label pairs
  (A vs A' closer than A vs B is positive), ``snippet own - other`` = similarity of each section to its
  own snippet minus to the other snippets, and the same with the cosine of a frozen contrastively
  pre-trained encoder (one judge for all models);
* style accuracy of the generated pieces by a separately trained snippet style classifier (its own
  held-out accuracy is printed first: a judge is only as good as that).

Example:

    python benchmarks/hierarchical.py --json            # the table in benchmarks/RESULTS.md
    python benchmarks/hierarchical.py --quick           # a look that it runs: tiny settings, two of the models
"""

import argparse
import json
import os
import sys
import tempfile
import time

FORMS = ("AB", "ABA", "ABAB", "ABC", "AABA", "ABCD")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="bach,essen")
    parser.add_argument("--max-files", type=int, default=60, help="pieces read per style")
    parser.add_argument("--pieces-per-form", type=int, default=6, help="training pieces per form and style")
    parser.add_argument("--hidden-dim", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--encoder-layers", type=int, default=1)
    parser.add_argument("--snippet-length", type=int, default=64)
    parser.add_argument("--sequence-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--pretrain-steps", type=int, default=120)
    parser.add_argument("--contrastive-epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=240, help="main training steps of every model")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--generated-pieces", type=int, default=6, help="held-out pieces to write again")
    parser.add_argument("--tokens-per-section", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="tiny settings and two of the four hierarchical models: does it run"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    if args.quick:
        args.max_files, args.pieces_per_form, args.pretrain_steps, args.steps = 16, 1, 4, 12
        args.contrastive_epochs, args.generated_pieces, args.tokens_per_section = 1, 2, 16
    return args


# ## Settings, data and judges: the hierarchical family's pipeline


def settings(args):
    """The family's settings for this benchmark's flags (its own sizes; every model trains the same steps)."""
    from musickit.families.hierarchical_transformer import HierarchicalConfig

    return HierarchicalConfig(
        data=args.data,
        max_files=args.max_files,
        forms=FORMS,
        pieces_per_form=args.pieces_per_form,
        snippet_length=args.snippet_length,
        sequence_length=args.sequence_length,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        contrastive_epochs=args.contrastive_epochs,
        contrastive_batch_size=32,
        language_model_epochs=1,
        language_model_steps=args.pretrain_steps,
        adapter_dim=16,
        style_classifier_epochs=2 if args.quick else 6,
        tokens_per_section=args.tokens_per_section,
        seed=args.seed,
        # The issue-5 comparisons (snippets, contrastive pre-training, stages) were measured without the copy
        # head and the recall windows that issue 17 added; they stay comparable, and stay apart from them.
        copy_head=False,
        recall_windows=False,
    )


def prepare(args):
    from musickit.families.hierarchical_transformer import pipeline

    config = settings(args)
    tokenizer, corpus = pipeline.build_corpus(config)
    classifier, accuracies = pipeline.train_style_judge(corpus, config, tokenizer, verbose=0)
    return tokenizer, corpus, classifier, accuracies


# ## The models


def hierarchical_model(args, tokenizer, styles):
    from musickit.families.hierarchical_transformer import pipeline

    width = args.hidden_dim
    sizes = {"num_heads": args.num_heads, "hidden_dim": width, "intermediate_dim": 4 * width}
    return pipeline.build_model(
        settings(args),
        tokenizer,
        styles,
        conditions=("style",),
        decoder={**sizes, "num_layers": args.num_layers, "max_sequence_length": max(args.sequence_length, 512)},
        encoder={**sizes, "num_layers": args.encoder_layers},
    )


def pretrained_hierarchical(args, tokenizer, corpus, folder):
    """Language-model pre-training of one hierarchical decoder, then a copy with a contrastive encoder."""
    from musickit.families.hierarchical_transformer import pipeline

    config = settings(args)
    model = hierarchical_model(args, tokenizer, corpus.styles)
    pipeline.pretrain_language_model(model, corpus.train, config, tokenizer, verbose=0)
    plain = os.path.join(folder, "decoder.weights.h5")
    model.save_weights(plain)
    contrast = pipeline.pretrain_contrastive(model, corpus.train, config, tokenizer, verbose=0)
    contrastive = os.path.join(folder, "decoder_contrastive.weights.h5")
    model.save_weights(contrastive)
    return model, {"plain": plain, "contrastive": contrastive}, contrast


def train_hierarchical(args, tokenizer, corpus, weights, stages, folder):
    from musickit.families.hierarchical_transformer import pipeline
    from musickit.training.staging import expand_stages

    model = hierarchical_model(args, tokenizer, corpus.styles)
    model.load_weights(weights)
    steps = max(args.steps // len(expand_stages(stages, args.num_layers)), 1)
    config = settings(args).replace(stages=stages, steps_per_epoch=steps)
    pipeline.train_stages(
        model,
        corpus.train,
        config,
        tokenizer,
        os.path.join(folder, stages.replace(",", "")),
        corpus.styles,
        epochs=1,
        verbose=0,
    )
    return model


# ## Evaluation


def held_out_choice(corpus, count):
    """``count`` held-out pieces, styles taken in turn, forms with a repeated section (ABA, AABA, ABAB) first.

    Repeats are what form contrast measures; taking styles in turn keeps style accuracy from being the
    share of one style.
    """

    def repeats(score):
        return len(set(score.metadata["form"])) < len(score.metadata["form"])

    queues = [
        sorted(
            (score for score in corpus.valid_scores if score.metadata["style"] == style),
            key=lambda score: not repeats(score),
        )
        for style in corpus.styles
    ]
    chosen = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


def write_pieces(model, args, tokenizer, corpus, baseline=False):
    """Generated token ids, and the snippets and style they were asked for, one per held-out piece."""
    from musickit.data.sections import section_snippets
    from musickit.families.hierarchical_transformer.generation import generate_in_form
    from musickit.generation.form_writing import prompted_continuation, write_in_form
    from musickit.generation.prompts import build_prompt

    written = []
    for number, score in enumerate(held_out_choice(corpus, args.generated_pieces)):
        style, form = score.metadata["style"], score.metadata["form"]
        snippets = section_snippets(score, tokenizer, args.snippet_length)
        options = {"sampler": "top_k", "top_k": 20, "temperature": 0.9, "seed": args.seed + number}
        if baseline:
            prompt = build_prompt(sorted(snippets.items()), tokenizer, args.snippet_length)
            continuation = prompted_continuation(
                model, prompt, conditions={"style": corpus.styles.index(style)}, **options
            )
            ids = write_in_form(
                continuation,
                tokenizer,
                form,
                args.tokens_per_section,
                model.max_sequence_length - len(prompt),
                style=style,
                end_id=tokenizer.eos_id,
            )
        else:
            ids = generate_in_form(
                model,
                tokenizer,
                form,
                snippets,
                args.tokens_per_section,
                style=style,
                conditions={"style": corpus.styles.index(style)},
                **options,
            )
        written.append((ids, snippets, style))
    return written


def measure(model, valid_data, written, tokenizer, judge_encoder, classifier, corpus, args, began):
    """One table row: parameters, held-out NLL per piece token, form consistency and style accuracy."""
    from musickit.families.hierarchical_transformer.pipeline import held_out_perplexity
    from musickit.metrics.generated_forms import judge_generated_pieces

    report = judge_generated_pieces(written, tokenizer, args.snippet_length, judge_encoder, classifier, corpus.styles)
    mean = report["mean"]
    return {
        **held_out_perplexity(model, valid_data),
        "form_contrast": mean["form_contrast"],
        "snippet_similarity_gap": mean["snippet_similarity_own"] - mean["snippet_similarity_other"],
        "snippet_cosine_gap": mean["snippet_cosine_own"] - mean["snippet_cosine_other"],
        "style_accuracy": report["style_accuracy"],
        "seconds": time.perf_counter() - began,
    }


def run(args):
    import keras

    from musickit.families.hierarchical_transformer import pipeline
    from musickit.layers.snippet_encoder import SnippetEncoder
    from musickit.utils.compile_cache import run_smoke_eagerly

    def fits():
        """``--quick`` trains a few steps, so TensorFlow runs its fits and evaluations eagerly rather than tracing
        graphs (about 200 -> 100 s); generation keeps its one compiled loop a piece."""
        return run_smoke_eagerly(args.quick)

    keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()
    with fits():
        tokenizer, corpus, classifier, classifier_accuracy = prepare(args)
    print(
        f"{len(corpus.train)} training and {len(corpus.valid)} held-out pieces of {corpus.styles}; style "
        f"classifier held-out accuracy {classifier_accuracy.get('valid_accuracy', float('nan')):.3f}",
        flush=True,
    )
    results = {
        "data": args.data,
        "seed": args.seed,
        "steps": args.steps,
        "pretrain_steps": args.pretrain_steps,
        "style_classifier": classifier_accuracy,
        "backend": keras.backend.backend(),
        "models": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        with fits():
            pretrained, weights, contrast = pretrained_hierarchical(args, tokenizer, corpus, folder)
        results["contrastive_pretraining"] = contrast
        # The judge of embedding similarity: a frozen copy of the contrastively pre-trained encoder.
        judge_encoder = SnippetEncoder.from_config(pretrained.encoder.get_config())
        judge_encoder.build()
        judge_encoder.set_weights(pretrained.encoder.get_weights())
        valid_pairs = pipeline.snippet_pairs(corpus.valid, settings(args), corpus.styles, tokenizer, shuffle=False)
        variants = [
            ("hierarchical E", "E", "plain"),
            ("hierarchical E + contrastive", "E", "contrastive"),
            ("hierarchical A,B,C", "A,B,C", "plain"),
            ("hierarchical A,B,C + contrastive", "A,B,C", "contrastive"),
        ]
        if args.quick:
            # A look that it runs: one whole-piece and one staged model, with each initialisation once.
            variants = variants[::3]
        for name, stages, init in variants:
            began = time.perf_counter()
            with fits():
                model = train_hierarchical(args, tokenizer, corpus, weights[init], stages, os.path.join(folder, init))
            written = write_pieces(model, args, tokenizer, corpus)
            with fits():
                results["models"][name] = measure(
                    model, valid_pairs, written, tokenizer, judge_encoder, classifier, corpus, args, began
                )
            print(f"{name}: {results['models'][name]}", flush=True)
        began = time.perf_counter()
        with fits():
            baseline, valid_prompted = pipeline.train_baseline(
                pretrained, corpus, settings(args), tokenizer, args.pretrain_steps, args.steps, verbose=0
            )
        written = write_pieces(baseline, args, tokenizer, corpus, baseline=True)
        with fits():
            results["models"]["decoder-only (prompted)"] = measure(
                baseline, valid_prompted, written, tokenizer, judge_encoder, classifier, corpus, args, began
            )
    results["total_seconds"] = time.perf_counter() - started
    return results


def markdown_table(results):
    lines = [
        "| model | parameters | held-out NLL/token | perplexity | form contrast | snippet own-other | "
        "encoder cosine own-other | style accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["models"].items():
        lines.append(
            f"| {name} | {row['parameters']:,} | {row['valid_nll']:.3f} | {row['valid_perplexity']:.2f} | "
            f"{row['form_contrast']:+.3f} | {row['snippet_similarity_gap']:+.3f} | "
            f"{row['snippet_cosine_gap']:+.3f} | {row['style_accuracy']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_arguments(argv)
    results = run(args)
    print(markdown_table(results))
    print(
        f"style classifier held-out accuracy: {results['style_classifier']}; "
        f"contrastive pre-training: {results['contrastive_pretraining']}; total {results['total_seconds']:.0f} s"
    )
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
