"""DPO alignment of a Music Transformer run, judged on fresh prompts against its frozen reference.

Pairs are sampled and scored (``musickit.metrics.preference_score``) on the
openings of some held-out pieces; the policy is aligned with DPO once per
``--betas`` value; then, on the openings of *other* held-out pieces (fresh
prompts), the aligned policy and the reference each sample continuations
with the same seeds, and the benchmark reports:

* ``win_rate``: share of (prompt, seed) whose aligned continuation outscores
  the reference's (ties count a half), and the scorer component that moved most, sampled as the
  candidates were (``candidate_sampling``: by default the model's own distribution, which is what DPO
  changes); ``win_rate_run_sampling``: the same under the run's ``sampling.json``, whose key, voice and
  clash rules already give the scorer much of what it rewards;
* ``kl_per_token``: KL(policy || reference) in nats per token on the policy's samples;
* ``nll_increase``: relative change of held-out real-data NLL per token (0.05 = 5% worse);
* ``distinct4_ratio``: distinct-4 of the aligned samples over the reference's;
* ``pair_accuracy``: the implicit reward's accuracy on held-out pairs, made from the fresh prompts' candidates
  as the training pairs are (every pair at least ``min_score_gap`` apart); ``best_worst_accuracy``: the same
  on each fresh prompt's best-versus-worst pair alone.

A preference gain bought by a worse distribution is not a gain: the table shows both.

Usage::

    python benchmarks/dpo.py --run runs/music_transformer --json
    python benchmarks/dpo.py --smoke --json          # a tiny untrained run, seconds of work
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TARGETS = {"win_rate": 0.70, "kl_per_token": 0.05, "nll_increase": 0.05, "distinct4_ratio": 0.10, "pair_accuracy": 0.75}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="runs/music_transformer", help="the Music Transformer run to align")
    parser.add_argument("--smoke", action="store_true", help="align a tiny untrained run made in a temporary folder")
    parser.add_argument("--betas", default="0.05,0.1,0.3", help="DPO betas to sweep (default: %(default)s)")
    parser.add_argument("--beta", type=float, default=0.1, help="the beta the JSON object reports (default: 0.1)")
    parser.add_argument("--nll-weight", type=float, default=None, help="the chosen NLL term (default: the preset's)")
    parser.add_argument("--pairs-per-prompt", type=int, default=None, help="default: every pair apart enough")
    parser.add_argument("--min-score-gap", type=float, default=None, help="default: the preset's")
    parser.add_argument("--prompts", type=int, default=None, help="training prompts (default: the preset's)")
    parser.add_argument("--eval-prompts", type=int, default=8, help="fresh prompts to judge on (default: 8)")
    parser.add_argument("--candidates", type=int, default=None, help="samples per prompt (default: the preset's)")
    parser.add_argument("--new-tokens", type=int, default=None, help="tokens per continuation (default: the preset's)")
    parser.add_argument(
        "--candidate-sampling",
        choices=("model", "run"),
        default=None,
        help="candidates from the model's own distribution or under the run's sampling.json (default: the preset's)",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args(argv)
    try:
        args.betas = [float(value) for value in args.betas.split(",") if value.strip()]
    except ValueError:
        parser.error(f"--betas {args.betas!r}: use numbers separated by commas, e.g. 0.05,0.1,0.3")
    if not args.betas or min(args.betas) <= 0:
        parser.error("--betas must hold positive numbers")
    if args.beta not in args.betas:
        args.betas.append(args.beta)
    if args.eval_prompts < 1:
        parser.error("--eval-prompts must be at least 1")
    return args


def compare(policy, source, prompts, sampling, candidates, seed, before):
    """The policy's samples of ``prompts`` under ``sampling`` against the reference's ``before`` samples
    (the same seeds): ``(after, win rate, reward gain, component changes)``."""
    from musickit.families.music_transformer import alignment as steps

    after = steps.sample_continuations(policy, source, prompts, sampling, candidates, seed)
    after_scores = [s for group in after for s in steps.score_continuations(group, source.tokenizer)]
    before_scores = [s for group in before for s in steps.score_continuations(group, source.tokenizer)]
    after_mean, before_mean = steps.mean_components(after_scores), steps.mean_components(before_scores)
    moved = {name: after_mean[name] - before_mean[name] for name in after_mean if name != "total"}
    return after, steps.win_rate(after_scores, before_scores), after_mean["total"] - before_mean["total"], moved


def judge(policy, source, data, config, eval_prompts, eval_sets, candidates, samplings, beta, seed, befores):
    """The benchmark's figures for one aligned ``policy`` against the reference's samples.

    ``samplings`` and ``befores`` map ``"candidates"`` (the pairs' sampling: the headline figures) and
    ``"run"`` (the run's ``sampling.json``, what ``musickit generate`` uses) to a sampling configuration and
    the reference's samples under it; ``eval_sets`` maps ``pair_accuracy`` and ``best_worst_accuracy`` to
    held-out pair examples (or ``None``)."""
    from musickit.families.music_transformer import alignment as steps

    after, win, gain, moved = compare(
        policy, source, eval_prompts, samplings["candidates"], candidates, seed, befores["candidates"]
    )
    _, run_win, run_gain, _ = compare(policy, source, eval_prompts, samplings["run"], candidates, seed, befores["run"])
    tokenizer = source.tokenizer
    before = befores["candidates"]
    nll_before = steps.held_out_nll(source.model, data, config, rows=32)
    nll_after = steps.held_out_nll(policy, data, config, rows=32)
    distinct_before = steps.distinct4([p for group in before for p in group], tokenizer)
    distinct_after = steps.distinct4([p for group in after for p in group], tokenizer)
    return {
        "beta": beta,
        "win_rate": win,
        "reward_gain": gain,
        "moved_most": max(moved, key=lambda name: abs(moved[name])) if moved else None,
        "component_changes": moved,
        "win_rate_run_sampling": run_win,
        "reward_gain_run_sampling": run_gain,
        "kl_per_token": steps.kl_per_token(policy, source.model, source, eval_prompts, after),
        "held_out_nll_before": nll_before,
        "held_out_nll_after": nll_after,
        "nll_increase": (nll_after - nll_before) / nll_before,
        "distinct4_before": distinct_before,
        "distinct4_after": distinct_after,
        "distinct4_ratio": distinct_after / distinct_before if distinct_before else float("nan"),
        **{
            name: steps.held_out_pair_accuracy(policy, examples, beta) if examples else None
            for name, examples in eval_sets.items()
        },
    }


def main(argv=None):
    args = parse_arguments(argv)
    import keras

    from musickit.families.music_transformer import alignment as steps
    from musickit.families.music_transformer.config import AlignmentConfig
    from musickit.families.music_transformer.preference_pairs import opening_prompts

    keras.utils.set_random_seed(args.seed)
    temporary = None
    run_dir = args.run
    if args.smoke:
        temporary = tempfile.mkdtemp(prefix="musickit-dpo-benchmark-")
        run_dir = steps.make_smoke_source(os.path.join(temporary, "source"), seed=args.seed)
    try:
        preset = AlignmentConfig.preset("smoke" if args.smoke else "cpu")
        changes = {"num_prompts": args.prompts, "num_candidates": args.candidates, "new_tokens": args.new_tokens}
        changes.update(epochs=args.epochs, learning_rate=args.learning_rate, nll_weight=args.nll_weight)
        changes.update(min_score_gap=args.min_score_gap, candidate_sampling=args.candidate_sampling)
        alignment = preset.replace(**{name: value for name, value in changes.items() if value is not None})
        if args.pairs_per_prompt is not None:
            alignment = alignment.replace(pairs_per_prompt=args.pairs_per_prompt)
        source = steps.load_source(run_dir)
        data, config = steps.load_source_data(source)
        prompts = opening_prompts(data, config, alignment.num_prompts + args.eval_prompts)
        if len(prompts) < 2:
            raise SystemExit("dpo.py: the run holds out fewer than 2 pieces: nothing to train and judge on apart")
        eval_count = min(args.eval_prompts, len(prompts) // 2)
        train_prompts, eval_prompts = prompts[:-eval_count], prompts[-eval_count:]
        pairs, summary = steps.scored_pairs(source, data, config, alignment, seed=args.seed, prompts=train_prompts)
        before = []  # the reference's samples on the fresh prompts, which also make the held-out pairs
        # Held-out pairs made as the training pairs are (the fresh prompts' candidates), and their
        # best-versus-worst pairs alone (each prompt's first).
        eval_pairs, _ = steps.scored_pairs(source, data, config, alignment, args.seed + 1, eval_prompts, before)
        firsts = [
            pair for number, pair in enumerate(eval_pairs) if not number or pair.prompt != eval_pairs[number - 1].prompt
        ]
        eval_sets = {
            "pair_accuracy": steps.pair_examples(eval_pairs, source),
            "best_worst_accuracy": steps.pair_examples(firsts, source),
        }
        samplings = {"candidates": steps.candidate_sampling(source, alignment)}
        samplings["run"] = source.sampling.replace(new_tokens=alignment.new_tokens)
        befores = {
            "candidates": before,
            "run": steps.sample_continuations(
                source.model, source, eval_prompts, samplings["run"], alignment.num_candidates, args.seed + 1
            ),
        }
        rows = []
        for beta in args.betas:
            keras.utils.set_random_seed(args.seed)
            policy, history, _ = steps.align(source, pairs, alignment.replace(beta=beta, valid_fraction=0.0))
            rows.append(
                judge(
                    policy,
                    source,
                    data,
                    config,
                    eval_prompts,
                    eval_sets,
                    alignment.num_candidates,
                    samplings,
                    beta,
                    args.seed + 1,
                    befores,
                )
            )
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)

    print(
        f"{summary['pairs']} training pairs from {len(train_prompts)} prompts x {alignment.num_candidates}; "
        f"{len(eval_pairs)} held-out pairs ({len(firsts)} best-vs-worst) from {len(eval_prompts)} fresh prompts; "
        f"{alignment.epochs} epochs, nll weight {alignment.nll_weight}; candidates and the win rate sampled "
        f"under {alignment.candidate_sampling!r} sampling (win rate under the run's sampling.json beside it)"
    )
    print(
        "| beta | win rate | reward gain | moved most | win rate, run's sampling | KL/token | NLL increase "
        "| distinct-4 ratio | pair accuracy | best-vs-worst accuracy |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        accuracy, best_worst = (
            "n/a" if row[name] is None else f"{row[name]:.2f}" for name in ("pair_accuracy", "best_worst_accuracy")
        )
        print(
            f"| {row['beta']} | {row['win_rate']:.2f} | {row['reward_gain']:+.3f} | {row['moved_most']} | "
            f"{row['win_rate_run_sampling']:.2f} | {row['kl_per_token']:.4f} | {row['nll_increase']:+.2%} | "
            f"{row['distinct4_ratio']:.3f} | {accuracy} | {best_worst} |"
        )
    chosen = next(row for row in rows if row["beta"] == args.beta)
    result = {
        **chosen,
        "pairs": summary["pairs"],
        "eval_pairs": len(eval_pairs),
        "targets": TARGETS,
        "candidate_sampling": alignment.candidate_sampling,
        "sweep": [{k: row[k] for k in ("beta", "win_rate", "reward_gain", "kl_per_token")} for row in rows],
    }
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    from musickit.runs.entry import run_main

    sys.exit(run_main(main))  # a missing run or a bad setting is one line, not a traceback
