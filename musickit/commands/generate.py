"""``musickit generate --run RUN_DIR``: generate again from a saved training run.

The run's ``run.json`` names its model family; the family registry
(:mod:`musickit.families`) finds the family, whose
``generate_from_run(run_dir, output_dir, request)`` samples with the run's
saved ``sampling.json`` and only the sampling flags given here laid over it,
so the samples match the recipe's. A flag the run's family does not read
(``--snippet`` for a run that writes no form, ``--primer`` for one that
takes none...) is a one-line error, not silently ignored.
"""

import os

from musickit.errors import UsageError
from musickit.families import FAMILIES, family_names, get_family
from musickit.families.request import GenerationRequest
from musickit.runs.flags import add_sampling_flags, add_snippet_flag, check_flags, snippet_files_from_flags
from musickit.runs.folder import RunFolder
from musickit.runs.sampling_flags import sampling_changes_from_flags

NAME = "generate"
HELP = "Generate new pieces from a saved training run (a recipe's --output-dir)."

#: Sampling flags whose value comes from the run's saved configuration unless given here.
UNSET_SAMPLING_FLAGS = (
    "temperature",
    "top_k",
    "top_p",
    "repetition_penalty",
    "max_length",
    "max_polyphony",
    "max_rest_steps",
)


def add_arguments(parser):
    parser.add_argument("--run", required=True, help="a run folder written by a recipe")
    parser.add_argument("--output-dir", default=None, help="where to write samples (default: RUN/generated)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same pieces")
    parser.add_argument(
        "--bars",
        type=int,
        default=None,
        help="length in bars: after the primer (piano roll; default 8), or where a token model's piece ends "
        "(default: the run's token count; hierarchical runs spread them over the sections)",
    )
    parser.add_argument("--max-polyphony", type=int, help="most keys at once (0: no limit; default: the run's)")
    parser.add_argument(
        "--max-length", type=int, help="tokens to generate (token models; default: the run's, else 512)"
    )
    parser.add_argument("--style", default=None, help="style label for conditioned models, e.g. bach")
    parser.add_argument(
        "--form", default=None, help="sections to write, e.g. ABA (hierarchical runs; default: the run's)"
    )
    parser.add_argument(
        "--emotion", default=None, help="emotion class (hierarchical runs; default: the snippets' piece's)"
    )
    parser.add_argument("--tempo", default=None, help="tempo class (hierarchical runs; default: the snippets' piece's)")
    add_snippet_flag(parser)  # hierarchical runs: --snippet A=opening.mid, repeatable
    parser.add_argument("--soundfont", default=None, help="a .sf2 soundfont for audio (or MUSICKIT_SOUNDFONT)")
    parser.add_argument("--max-rest-steps", type=int, default=None, help="longest silence in grid steps (token models)")
    parser.add_argument(
        "--key-penalty", type=float, default=None, help="logit taken from out-of-key pitches (0: a hard mask)"
    )
    add_sampling_flags(parser)
    # Unset sampling flags stay None, so a run that saved its sampling configuration samples as its recipe did.
    parser.set_defaults(**{name: None for name in UNSET_SAMPLING_FLAGS})


def run(args):
    check_flags(args)  # --seed -1, a huge --num-samples, an empty --key ...: one line before the model loads
    info = RunFolder(args.run).read_info()
    model = info.get("model")
    if model not in FAMILIES:
        raise UsageError(
            f"{args.run} was made by {model!r}, which musickit generate does not know "
            f"(it knows {', '.join(family_names())})"
        )
    request = GenerationRequest(
        sampling_changes=sampling_changes_from_flags(args),
        primer=args.primer,
        num_samples=args.num_samples,
        seed=args.seed,
        bars=args.bars,
        style=args.style,
        form=args.form,
        emotion=args.emotion,
        tempo=args.tempo,
        snippets=snippet_files_from_flags(args.snippet),
        soundfont=args.soundfont,
    )
    request.check_family(model)  # a flag this family would ignore is refused instead
    output_dir = args.output_dir or os.path.join(args.run, "generated")
    written = get_family(model).generate_from_run(args.run, output_dir, request)
    for sample in written:
        print(f"{sample['midi']}  ({sample.get('audio', 'no')} audio)")
    return 0
