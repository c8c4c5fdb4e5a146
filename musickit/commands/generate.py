"""``musickit generate --run RUN_DIR``: generate again from a saved training run.

The run's ``run.json`` says which model family trained it; each family
provides ``generate_from_run(run_dir, output_dir, args)`` in
:mod:`musickit.generation`. Sampling flags left unset come from the run's
saved sampling configuration where its family keeps one (the Music
Transformer's ``sampling.json``), so the samples match the recipe's.
"""

import importlib
import os

from musickit.errors import UsageError
from musickit.runs.flags import add_sampling_flags
from musickit.runs.folder import RunFolder

NAME = "generate"
HELP = "Generate new pieces from a saved training run (a recipe's --output-dir)."

# model name in run.json -> module providing generate_from_run
GENERATORS = {
    "piano_roll_lstm": "musickit.generation.piano_roll_run",
    "music_transformer": "musickit.generation.transformer_run",
}


def add_arguments(parser):
    parser.add_argument("--run", required=True, help="a run folder written by a recipe")
    parser.add_argument("--output-dir", default=None, help="where to write samples (default: RUN/generated)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same pieces")
    parser.add_argument("--bars", type=int, default=8, help="bars to generate after the primer")
    parser.add_argument("--max-polyphony", type=int, default=0, help="most keys at once (0: no limit; default: the run's)")
    parser.add_argument("--max-length", type=int, default=512, help="tokens to generate (token models; default: the run's, else 512)")
    parser.add_argument("--style", default=None, help="style label for conditioned models, e.g. bach")
    parser.add_argument("--soundfont", default=None, help="a .sf2 soundfont for audio (or MUSICKIT_SOUNDFONT)")
    parser.add_argument("--max-rest-steps", type=int, default=None, help="longest silence in grid steps (token models)")
    add_sampling_flags(parser)
    # Unset sampling flags stay None, so a run that saved its sampling configuration samples as its recipe did.
    parser.set_defaults(**{name: None for name in UNSET_DEFAULTS})


#: The sampling flags a run's saved configuration may fill, with the value a family without one gets.
UNSET_DEFAULTS = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0, "max_length": 512,
                  "max_polyphony": 0, "max_rest_steps": -1}  # fmt: skip
#: Families whose generate_from_run reads the run's sampling configuration for unset (None) flags.
READS_SAVED_SAMPLING = {"music_transformer"}


def run(args):
    info = RunFolder(args.run).read_info()
    module_name = GENERATORS.get(info.get("model"))
    if module_name is None:
        if info.get("model") == "hierarchical_transformer":  # its pieces need a form and snippets: the recipe asks
            raise UsageError(f"{args.run} holds a hierarchical transformer: generate with "
                             f"`python recipes/hierarchical_transformer.py generate --output-dir {args.run}`")  # fmt: skip
        raise UsageError(f"{args.run} was made by {info.get('model')!r}, which musickit generate does not know")
    if info.get("model") not in READS_SAVED_SAMPLING:
        for name, default in UNSET_DEFAULTS.items():
            if getattr(args, name, None) is None:
                setattr(args, name, default)
    output_dir = args.output_dir or os.path.join(args.run, "generated")
    written = importlib.import_module(module_name).generate_from_run(args.run, output_dir, args)
    for sample in written:
        print(f"{sample['midi']}  ({sample.get('audio', 'no')} audio)")
    return 0
