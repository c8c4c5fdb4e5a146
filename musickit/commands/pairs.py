"""``musickit pairs --run RUN -o DIR``: candidate preference pairs for a person to label.

Samples continuations of held-out openings from a Music Transformer run,
ranks them with the heuristic scorer (as ``recipes/dpo_alignment.py`` does)
and writes, for each pair, both continuations as MIDI, WAV and a piano-roll
PNG (``pair_N_a.*``, ``pair_N_b.*``) and one ``pairs.json`` in the labelled
pairs format (:mod:`musickit.families.music_transformer.preference_pairs`)
with every ``"preferred"`` left ``null``. Listen, set each to ``"a"`` or
``"b"`` (or leave it ``null`` to skip the pair), then align on them::

    musickit pairs --run runs/music_transformer -o pairs/ --num-prompts 8
    python recipes/dpo_alignment.py --pairs pairs/pairs.json

Which continuation is ``a`` alternates between pairs (the scorer's favourite
is recorded as ``scorer_preferred``), so a labeller cannot learn a side.
"""

import os

from musickit.errors import UsageError
from musickit.runs.folder import RunFolder

NAME = "pairs"
HELP = "Write candidate preference pairs (MIDI, WAV, PNG and a JSON to label) from a music_transformer run."

MODEL_NAME = "music_transformer"  # musickit.families.music_transformer.MODEL_NAME, spelled here to keep --help light


def add_arguments(parser):
    parser.add_argument("--run", required=True, help="a music_transformer run folder")
    parser.add_argument("-o", "--output-dir", required=True, help="the folder for the pairs (new or empty)")
    parser.add_argument("--num-prompts", type=int, default=8, help="held-out openings to continue (default: 8)")
    parser.add_argument("--num-candidates", type=int, default=4, help="samples per prompt (default: 4)")
    parser.add_argument("--new-tokens", type=int, default=128, help="tokens per continuation (default: 128)")
    parser.add_argument("--min-score-gap", type=float, default=0.0, help="drop pairs closer than this (default: 0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--soundfont", default=None, help="a .sf2 soundfont for the WAVs (or MUSICKIT_SOUNDFONT)")


def check(args):
    """The one-line errors that need no Keras: the run's family, the output folder, the counts."""
    if RunFolder(args.run).read_info().get("model") != MODEL_NAME or not os.path.isfile(RunFolder(args.run).model_path):
        raise UsageError(
            f"{args.run} is not a trained {MODEL_NAME} run; train one with python recipes/music_transformer.py"
        )
    if os.path.exists(args.output_dir) and (not os.path.isdir(args.output_dir) or os.listdir(args.output_dir)):
        raise UsageError(f"-o {args.output_dir} is not a new or empty folder; pass another")
    for name in ("num_prompts", "new_tokens"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.num_candidates < 2:
        raise UsageError(f"--num-candidates must be >= 2 to make a pair, got {args.num_candidates}")


def run(args):
    check(args)
    import json

    from musickit.families.music_transformer import alignment as steps
    from musickit.families.music_transformer.config import AlignmentConfig
    from musickit.families.music_transformer.generation import write_samples
    from musickit.families.music_transformer.preference_pairs import pairs_to_json
    from musickit.utils.atomic import atomic_path

    alignment = AlignmentConfig.preset(
        "cpu",
        num_prompts=args.num_prompts,
        num_candidates=args.num_candidates,
        new_tokens=args.new_tokens,
        min_score_gap=args.min_score_gap,
        pairs_per_prompt=1,  # best against worst: a person labels one pair a prompt
    )
    source = steps.load_source(args.run)
    data, config = steps.load_source_data(source)
    pairs, summary = steps.scored_pairs(source, data, config, alignment, seed=args.seed)
    os.makedirs(args.output_dir, exist_ok=True)
    midi_files = []
    for number, pair in enumerate(pairs, start=1):
        first, second = (pair.chosen, pair.rejected) if number % 2 == 1 else (pair.rejected, pair.chosen)
        names = []
        for side, piece in (("a", first), ("b", second)):
            written = write_samples([piece], source.tokenizer, args.output_dir, f"pair_{number}_{side}", args.soundfont)
            names.append(os.path.basename(written[0]["midi"]))
        midi_files.append(tuple(names))
    content = pairs_to_json(pairs, midi_files)
    path = os.path.join(args.output_dir, "pairs.json")
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            json.dump(content, handle, indent=1)
    print(
        f"wrote {len(pairs)} pairs to {args.output_dir} ({summary['dropped_training_copies']} training copies and "
        f"{summary['dropped_close_pairs']} close pairs dropped); label them in {path}"
    )
    return 0
