"""The flags every recipe shares, spelled once (DESIGN.md, "Recipes").

Example:

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_common_flags(parser, default_output_dir="runs/demo")
>>> add_sampling_flags(parser)
>>> parser.parse_args(["--smoke", "--top-p", "0.9"]).top_p
0.9
"""

from musickit.data.sources import DEFAULT_SOURCE


def add_common_flags(parser, default_output_dir, default_epochs=None, default_batch_size=32):
    group = parser.add_argument_group("run")
    group.add_argument("--data", default=DEFAULT_SOURCE,
                       help="bach (default), essen, ryans, palestrina, a MIDI folder, a .mat/.pkl file or tfds:NAME")
    group.add_argument("--output-dir", default=default_output_dir, help="run folder (default: %(default)s)")
    group.add_argument("--epochs", type=int, default=default_epochs, help="training epochs")
    group.add_argument("--batch-size", type=int, default=default_batch_size, help="default: %(default)s")
    group.add_argument("--seed", type=int, default=0, help="seed for data order, initialisation and sampling")
    group.add_argument("--resume", action="store_true", help="continue an interrupted run in --output-dir")
    group.add_argument("--smoke", action="store_true", help="tiny model, a few steps: checks the pipeline in seconds")
    group.add_argument("--max-files", type=int, default=None, help="read at most this many pieces")
    group.add_argument("--soundfont", default=None, help="a .sf2 soundfont for audio (or MUSICKIT_SOUNDFONT)")  # fmt: skip


def add_sampling_flags(parser):
    group = parser.add_argument_group("sampling")
    group.add_argument("--temperature", type=float, default=1.0, help="divides the logits (default: %(default)s)")
    group.add_argument("--top-k", type=int, default=0, help="keep the k most probable choices (0: off)")
    group.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass in (0, 1] (1: off)")
    group.add_argument("--key", default=None, help="restrict pitches to a key, e.g. 'C', 'F# minor'")
    group.add_argument("--scale", default=None,
                       help="major, minor, harmonic_minor, pentatonic, minor_pentatonic or chromatic")  # fmt: skip
    group.add_argument("--repetition-penalty", type=float, default=1.0, help=">= 1; 1 turns it off")
    group.add_argument("--primer", default=None, help="a MIDI file to continue (default: a held-out piece)")
    group.add_argument("--num-samples", type=int, default=3, help="pieces to generate (default: %(default)s)")


def smoke_or(args, smoke_value, value):
    """``smoke_value`` under ``--smoke``, else ``value``: keeps smoke settings next to the real ones."""
    return smoke_value if args.smoke else value
