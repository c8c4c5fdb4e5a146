"""
Title: Preference alignment (DPO) of the Music Transformer with metric-scored pairs
Description: Sample continuations of held-out openings from a trained Music Transformer run, rank them with
  a heuristic scorer built from musickit.metrics, and align the model on better-versus-worse pairs with DPO
  (beta 0.1) against its frozen self; write before/after samples for the same prompts.
Run time: the defaults (36 prompts x 8 candidates of 192 tokens, 812 pairs, 2 epochs) took 5 min 38 s on 2
  cores beside another job (JAX, 2026-12-01; 4.5 CPU-minutes). `--smoke` takes well under a minute. Train the
  source run first (`python recipes/music_transformer.py`: 6 minutes on 2 cores, measured beside another job).

Run it with no arguments:

    python recipes/dpo_alignment.py

It aligns `runs/music_transformer` (`--source-run` names another; with none there it says so in one line and
names the command that trains one: training it here would hide a 40-minute step behind an alignment recipe).
`--pairs FILE.json` trains on labelled pairs instead of scored ones (the format is in
musickit/families/music_transformer/preference_pairs.py; `musickit pairs` writes one to label). It writes

    runs/dpo_alignment/
      model.keras  representation.json  run.json  sampling.json  pairs.json  metrics.json  history.csv  logs/
      samples/before_N.{mid,png,wav}  samples/after_N.{mid,png,wav}   (the same prompts and seeds)

and the aligned folder is a Music Transformer run: `musickit generate --run runs/dpo_alignment` samples from it.
`--smoke` writes a tiny untrained Music Transformer run to `runs/dpo_alignment-smoke/source` and aligns it.
"""

import argparse
import os
import sys

from musickit.errors import UsageError
from musickit.families.music_transformer.config import CANDIDATE_SAMPLINGS, AlignmentConfig
from musickit.runs import RunFolder, add_common_flags, parse_flags
from musickit.runs.entry import run_main

# Keras, the models and the data stack load inside main(), after the flags are checked (fast --help).

DEFAULT_SOURCE_RUN = "runs/music_transformer"
# The alignment's settings are AlignmentConfig's (musickit/families/music_transformer/config.py, which imports no
# Keras, so the flags are checked at once): beta 0.1, 36 held-out openings x 8 candidates of 192 tokens sampled
# from the model's own distribution (the run's key, voice and clash rules would decide what the scorer ranks),
# every pair of a prompt's candidates at least 0.1 apart in score (one best-vs-worst pair a prompt is memorised,
# not learnt: benchmarks/RESULTS.md), a quarter of the prompts held out, 2 epochs of Adam at 2e-5 with an NLL
# term of 0.5 on the chosen rows. The flags' defaults are its cpu preset's.
DEFAULTS = AlignmentConfig.preset("cpu")
# What the flags may change (flag name -> AlignmentConfig field, the same name).
CONFIG_FLAGS = ("beta", "nll_weight", "epochs", "batch_size", "learning_rate", "num_prompts", "num_candidates")
CONFIG_FLAGS += ("new_tokens", "min_score_gap", "pairs_per_prompt", "candidate_sampling")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Align a Music Transformer run with DPO on scored or labelled pairs.")
    add_common_flags(
        parser,
        default_output_dir="runs/dpo_alignment",
        default_epochs=DEFAULTS.epochs,
        default_batch_size=DEFAULTS.batch_size,
    )
    group = parser.add_argument_group("alignment")
    group.add_argument("--source-run", default=DEFAULT_SOURCE_RUN, help="the Music Transformer run folder to align")
    group.add_argument("--pairs", default=None, help="a labelled pairs JSON file (default: pairs scored by metrics)")
    group.add_argument("--beta", type=float, default=DEFAULTS.beta, help="DPO's pull towards the reference")
    group.add_argument(
        "--nll-weight", type=float, default=DEFAULTS.nll_weight, help="weight of the chosen NLL term (0: off)"
    )
    group.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    group.add_argument("--num-prompts", type=int, default=DEFAULTS.num_prompts, help="held-out openings to sample from")
    group.add_argument(
        "--num-candidates", type=int, default=DEFAULTS.num_candidates, help="continuations sampled per prompt"
    )
    group.add_argument("--new-tokens", type=int, default=DEFAULTS.new_tokens, help="tokens per continuation")
    group.add_argument(
        "--min-score-gap", type=float, default=DEFAULTS.min_score_gap, help="drop pairs closer than this"
    )
    group.add_argument(
        "--pairs-per-prompt",
        type=int,
        default=DEFAULTS.pairs_per_prompt,
        help="pairs kept per prompt (default: every pair)",
    )
    group.add_argument(
        "--candidate-sampling",
        choices=CANDIDATE_SAMPLINGS,
        default=DEFAULTS.candidate_sampling,
        help="sample candidates from the model's own distribution (default) or under the run's sampling.json",
    )
    args = parse_flags(parser, argv)
    if args.smoke and args.source_run != DEFAULT_SOURCE_RUN:
        raise UsageError("--smoke aligns its own tiny run; leave out --source-run, or drop --smoke")
    if args.data != parser.get_default("data") or args.max_files is not None:
        raise UsageError("the data comes from the source run's run.json; leave out --data and --max-files")
    if args.pairs and not os.path.isfile(args.pairs):
        raise UsageError(f"--pairs {args.pairs}: no such file")
    if not args.smoke and not os.path.isfile(os.path.join(args.source_run, "model.keras")):
        raise UsageError(
            f"no trained Music Transformer run in {args.source_run}; train one first with: "
            "python recipes/music_transformer.py (or pass --source-run, or try --smoke)"
        )
    return args


def alignment_config(args):
    """The flags laid over the smoke or cpu preset (bad values are one line here, before any work).

    Only flags given a value other than the cpu preset's are changes, so ``--smoke`` keeps its own preset."""
    changes = {name: getattr(args, name) for name in CONFIG_FLAGS if getattr(args, name) != getattr(DEFAULTS, name)}
    return AlignmentConfig.preset("smoke" if args.smoke else "cpu", **changes)


def main(argv=None):
    args = parse_arguments(argv)
    run = RunFolder(args.output_dir)
    run.check_start(resume=args.resume, overwrite=args.overwrite)  # before any work
    alignment = alignment_config(args)
    from musickit.utils.compile_cache import run_smoke_eagerly

    # A smoke run's fits take a step or two: on TensorFlow tracing their graphs is nearly all of the time.
    with run_smoke_eagerly(args.smoke):
        return run_pipeline(args, run, alignment)


def run_pipeline(args, run, alignment):
    """Source run, pairs, alignment and samples for parsed flags (``main`` checks them first)."""
    import json

    import keras

    from musickit.families.music_transformer import alignment as steps
    from musickit.families.music_transformer.generation import write_samples
    from musickit.families.music_transformer.preference_pairs import load_labelled_pairs, pairs_to_json

    keras.utils.set_random_seed(args.seed)

    # ## The source run: the policy to align and, loaded once more and never trained, the frozen reference
    source_dir = args.source_run
    if args.smoke:
        source_dir = os.path.join(args.output_dir + "-source")
        if not os.path.isfile(os.path.join(source_dir, "model.keras")):
            steps.make_smoke_source(source_dir, seed=args.seed)
    source = steps.load_source(source_dir)
    data, config = steps.load_source_data(source)
    prompts = steps.opening_prompts(data, config, alignment.num_prompts)
    print(f"aligning {source_dir}: {len(prompts)} held-out openings, beta {alignment.beta}")

    # ## The run folder (resumable: pairs.json keeps the pairs an interrupted run trained on)
    info = {**source.info, "alignment": {"source_run": source_dir, **vars_of(alignment)}}
    resuming = run.start(info, resume=args.resume, overwrite=args.overwrite, flags=args)
    source.sampling.save(run)
    pairs_path = run.file("pairs.json")
    candidates = []  # every sampled continuation: the first of each is a "before" sample, already paid for

    # ## Pairs: labelled ones from --pairs, else sampled candidates ranked by the heuristic scorer
    if resuming and os.path.isfile(pairs_path):
        pairs, _ = load_labelled_pairs(pairs_path)
        summary = {"pairs": len(pairs), "resumed": True}
    elif args.pairs:
        pairs, unlabelled = load_labelled_pairs(args.pairs)
        summary = {"pairs": len(pairs), "unlabelled_skipped": unlabelled, "file": args.pairs}
    else:
        pairs, summary = steps.scored_pairs(
            source, data, config, alignment, seed=args.seed, prompts=prompts, candidates=candidates
        )
    print(f"{len(pairs)} preference pairs ({json.dumps({k: v for k, v in summary.items() if 'mean' not in k})})")
    labelled = pairs_to_json(pairs)
    for entry, pair in zip(labelled["pairs"], pairs):  # stored as labelled: resuming trains on the same pairs
        entry["preferred"] = "a" if entry["a"] == pair.chosen else "b"
    run.write_json(pairs_path, labelled)

    # ## DPO: the reference's log-probabilities once, then fit() with BackupAndRestore
    if resuming and run.trained:  # interrupted after training: keep the aligned model, redo only the samples
        policy = steps.load_source_model(steps.SourceRun(run.path, info, None, None, None))
        history, valid_examples = (
            None,
            steps.pair_examples(steps.split_pairs(pairs, alignment.valid_fraction)[1], source),
        )
    else:
        policy, history, valid_examples = steps.align(
            source, pairs, alignment, run=run, resume=resuming, verbose="auto"
        )
        run.save_model(policy, source.tokenizer)

    # ## Before and after: the same prompts and seeds through the reference and the aligned policy, sampled as
    # the candidates were (the reference's are the pairs' candidates when they were sampled in this process);
    # every candidate is scored, the first of each prompt is written
    sample_prompts = prompts[: alignment.sample_prompts]
    sampling = steps.candidate_sampling(source, alignment)

    def samples_of(model):
        return steps.sample_continuations(model, source, sample_prompts, sampling, alignment.num_candidates, args.seed)

    before = candidates[: len(sample_prompts)]
    before = before if len(before) == len(sample_prompts) else samples_of(source.model)
    after = samples_of(policy)
    written = write_samples(
        [group[0] for group in before], source.tokenizer, run.samples_dir, prefix="before", soundfont=args.soundfont
    )
    written += write_samples(
        [group[0] for group in after], source.tokenizer, run.samples_dir, prefix="after", soundfont=args.soundfont
    )
    before_scores = [score for group in before for score in steps.score_continuations(group, source.tokenizer)]
    after_scores = [score for group in after for score in steps.score_continuations(group, source.tokenizer)]
    metrics = {
        "pairs": summary,
        "history": {name: [float(value) for value in values] for name, values in history.history.items()}
        if history
        else None,
        "held_out_pair_accuracy": (
            steps.held_out_pair_accuracy(policy, valid_examples, alignment.beta) if valid_examples else None
        ),
        "held_out_nll_before": steps.held_out_nll(source.model, data, config, alignment.held_out_rows),
        "held_out_nll_after": steps.held_out_nll(policy, data, config, alignment.held_out_rows),
        "samples": {
            "sampling": alignment.candidate_sampling,
            "win_rate": steps.win_rate(after_scores, before_scores),
            "before": steps.mean_components(before_scores),
            "after": steps.mean_components(after_scores),
        },
    }
    run.write_json(run.metrics_path, metrics)
    run.finish()
    print(
        f"held-out NLL {metrics['held_out_nll_before']:.3f} -> {metrics['held_out_nll_after']:.3f}; "
        f"score {metrics['samples']['before'].get('total', float('nan')):.3f} -> "
        f"{metrics['samples']['after'].get('total', float('nan')):.3f}; "
        f"wrote {len(written)} samples to {args.output_dir}"
    )
    return metrics


def vars_of(config):
    import dataclasses

    return {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}


if __name__ == "__main__":
    sys.exit(run_main(main))
