"""The flags every recipe shares, spelled once (one spelling in every recipe), and their checks.

This module imports nothing heavy (no Keras, no TensorFlow), so a recipe that
parses its flags with :func:`parse_flags` before its heavy imports answers
``--help`` and a bad flag at once.

Example:

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_common_flags(parser, default_output_dir="runs/demo")
>>> add_sampling_flags(parser)
>>> args = parse_flags(parser, ["--smoke", "--top-p", "0.9"])
>>> args.top_p, args.output_dir
(0.9, 'runs/demo-smoke')
"""

import argparse
import math
import os
import sys

from musickit.errors import UsageError
from musickit.generation.sampling_config import SamplingConfig
from musickit.music.score import SECTION_LETTERS
from musickit.utils.compile_cache import compile_quickly

DEFAULT_SOURCE = "bach"  # the same as musickit.data.sources.DEFAULT_SOURCE, without importing the data stack
MAX_SEED = 2**32 - 1  # numpy and the backends take 32-bit seeds
# Upper limits that stop a typo (an extra zero or three) before it fills the memory.
LIMITS = {
    "batch_size": 4096,
    "num_samples": 1000,
    "top_k": 100_000,
    "epochs": 100_000,
    "bars": 1000,
    "new_tokens": 100_000,
    "max_length": 100_000,
    "tokens_per_section": 100_000,
    # model and schedule sizes: GPU presets stay far below these (sequences of 1024-4096 tokens, 512 units)
    "lstm_units": 8192,
    "num_layers": 256,
    "sequence_length": 65_536,
    "snippet_length": 65_536,
    "max_segment_tokens": 65_536,
    "global_latent_dim": 8192,
    "bar_latent_dim": 8192,
    "beats_per_bar": 64,
    "steps_per_epoch": 10_000_000,
    "gan_steps": 10_000_000,
    "interpolation_steps": 1000,
    "max_trials": 100_000,
    "max_files": 10_000_000,
    "transpose": 12,
}
SAMPLER_NUMBERS = ("temperature", "top_k", "top_p", "repetition_penalty", "min_voices", "clash_penalty")
# Flags every recipe's --smoke replaces by its own tiny value: given together with --smoke they would be ignored.
SMOKE_SETS = ("epochs", "max_files")


def add_common_flags(parser, default_output_dir, default_epochs=None, default_batch_size=32):
    """``--data --output-dir --epochs --batch-size --seed --resume --overwrite --smoke --max-files --soundfont``.

    ``--output-dir`` defaults to ``default_output_dir``, or ``default_output_dir-smoke`` under
    ``--smoke``, so a smoke run never writes over a real run (resolved by :func:`parse_flags`).
    """
    group = parser.add_argument_group("run")
    group.add_argument(
        "--data",
        default=DEFAULT_SOURCE,
        help="bach, essen, ryans, palestrina, a MIDI folder, a .mat/.pkl file or tfds:NAME (default: %(default)s)",
    )
    smoke_folder = f"{default_output_dir}-smoke" if default_output_dir else None
    group.add_argument(
        "--output-dir",
        default=None,
        help=f"run folder (default: {default_output_dir}; {smoke_folder} with --smoke)"
        if default_output_dir
        else "run folder",
    )
    group.add_argument("--epochs", type=int, default=default_epochs, help="training epochs (default: %(default)s)")
    group.add_argument("--batch-size", type=int, default=default_batch_size, help="default: %(default)s")
    group.add_argument(
        "--seed", type=int, default=0, help="seed for data order, initialisation and sampling (default: %(default)s)"
    )
    group.add_argument("--resume", action="store_true", help="continue an interrupted run in --output-dir")
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in --output-dir (deletes only the files that run wrote)",
    )
    group.add_argument(
        "--smoke",
        action="store_true",
        help="tiny model, a few steps: checks the pipeline; writes to its own -smoke folder",
    )
    group.add_argument("--max-files", type=int, default=None, help="read at most this many pieces (default: all)")
    group.add_argument("--soundfont", default=None, help="a .sf2 soundfont for audio (or MUSICKIT_SOUNDFONT)")
    parser.set_defaults(musickit_default_output_dir=default_output_dir)


def add_sampling_flags(parser):
    group = parser.add_argument_group("sampling")
    group.add_argument("--temperature", type=float, default=1.0, help="divides the logits (default: %(default)s)")
    group.add_argument(
        "--top-k", type=int, default=0, help="keep the k most probable choices; 0 is off (default: %(default)s)"
    )
    group.add_argument(
        "--top-p", type=float, default=1.0, help="nucleus sampling mass in (0, 1]; 1 is off (default: %(default)s)"
    )
    group.add_argument(
        "--key",
        default=None,
        help="restrict pitches to a key, e.g. 'C', 'F# minor', or auto/primer: the prompt's (default: %(default)s)",
    )
    group.add_argument(
        "--scale",
        default=None,
        help="major, minor, harmonic_minor, pentatonic, minor_pentatonic or chromatic (default: the key's own)",
    )
    group.add_argument("--repetition-penalty", type=float, default=1.0, help=">= 1; 1 is off (default: %(default)s)")
    group.add_argument(
        "--min-voices",
        type=int,
        default=None,
        help="fewest notes sounding at once, e.g. 4 for chorales; 0 is off (default: the run's or the corpus')",
    )
    group.add_argument(
        "--clash-penalty",
        type=float,
        default=None,
        help="logit taken from a pitch a semitone from a sounding one; 0 is off (default: the family's or the run's)",
    )
    group.add_argument("--primer", default=None, help="a MIDI file to continue (default: a held-out piece)")
    group.add_argument("--num-samples", type=int, default=3, help="pieces to generate (default: %(default)s)")


def add_snippet_flag(parser, group=None):
    """``--snippet X=FILE.mid`` (repeatable): a MIDI snippet for section X (models that write in a form)."""
    (group or parser).add_argument(
        "--snippet",
        action="append",
        default=[],
        metavar="X=FILE.mid",
        help="the snippet of section X, one of " + ", ".join(SECTION_LETTERS) + " (default: a held-out piece's)",
    )


def snippet_files_from_flags(items):
    """``{section letter: MIDI path}`` from ``--snippet X=FILE.mid`` values; a bad one is a one-line UsageError.

    >>> snippet_files_from_flags([])
    {}
    >>> snippet_files_from_flags(["E=x.mid"])
    Traceback (most recent call last):
    ...
    musickit.errors.UsageError: --snippet 'E=x.mid': write it as X=FILE.mid with X one of A, B, C, D
    """
    files = {}
    for item in items or ():
        label, _, path = str(item).partition("=")
        letter = label.strip().upper()
        if letter not in SECTION_LETTERS or not path:
            raise UsageError(f"--snippet {item!r}: write it as X=FILE.mid with X one of {', '.join(SECTION_LETTERS)}")
        if not os.path.isfile(path):
            raise UsageError(f"--snippet {item!r}: no such file {path}")
        files[letter] = path
    return files


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """``--help`` says each flag's default: ``(default: X)`` is added where the help text does not say it.

    On/off switches (``store_true``) are left alone: their default is "off".
    """

    def _get_help_string(self, action):
        help_text = action.help or ""
        if (
            action.option_strings
            and "default" not in help_text
            and action.default not in (None, False, argparse.SUPPRESS)
            and not isinstance(action, argparse._StoreConstAction)  # store_true/store_false: a switch
        ):
            help_text = f"{help_text} (default: %(default)s)".strip()
        return help_text


def one_line_errors(parser):
    """Make ``parser`` answer a flag error in one line (``PROG: error: ...; --help lists the flags``), exit 2.

    argparse prints its whole usage block above the error; a student then has to find the one line that
    matters. Returns ``parser``.
    """

    def error(message):
        print(f"{parser.prog}: error: {message} (--help lists the flags)", file=sys.stderr)
        sys.exit(2)

    parser.error = error
    return parser


def parse_flags(parser, argv=None, smoke_sets=SMOKE_SETS):
    """``parser.parse_args(argv)``, then :func:`check_flags`: every bad value is one line before any work.

    A valid ``--smoke`` also asks XLA for its quickest compiles
    (:func:`musickit.utils.compile_cache.compile_quickly`), before anything compiles.

    ``smoke_sets`` names the flags the recipe's ``--smoke`` replaces; giving
    one of them with ``--smoke`` is refused rather than silently ignored.
    """
    if parser.formatter_class is argparse.HelpFormatter:
        parser.formatter_class = DefaultsHelpFormatter
        for action in parser._actions:  # a flag with no help text is not listed with one: give it its default
            if action.help is None and action.default not in (None, False) and action.option_strings:
                action.help = "default: %(default)s"
    args = one_line_errors(parser).parse_args(argv)
    if getattr(args, "output_dir", "") is None and getattr(args, "musickit_default_output_dir", None):
        suffix = "-smoke" if getattr(args, "smoke", False) else ""
        args.output_dir = args.musickit_default_output_dir + suffix
    if hasattr(args, "musickit_default_output_dir"):
        del args.musickit_default_output_dir
    if getattr(args, "smoke", False):
        given = [name for name in smoke_sets if getattr(args, name, None) != parser.get_default(name)]
        if given:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in given)
            raise UsageError(f"--smoke sets {flags} itself; leave {flags} out, or drop --smoke for a real run")
    check_flags(args)
    if getattr(args, "smoke", False):  # a few steps per fit: compile time is nearly all there is, so compile quickly
        compile_quickly()
    return args


def check_flags(args):
    """Refuse impossible values of the shared flags (those ``args`` has) with one :class:`UsageError` line."""
    values = vars(args)

    def given(name):
        return values.get(name) is not None

    for name, value in sorted(values.items()):  # NaN or infinity is never a setting
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"--{name.replace('_', '-')} {value}: use a finite number")
    if given("seed") and not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: use a whole number from 0 to {MAX_SEED}")
    if given("transpose") and args.transpose < 0:
        raise UsageError(f"--transpose {args.transpose}: use a range in semitones from 0 (off) to 12")
    for name in (
        "epochs",
        "batch_size",
        "num_samples",
        "max_files",
        "bars",
        "new_tokens",
        "tokens_per_section",
        "global_latent_dim",
        "bar_latent_dim",
        "beats_per_bar",
    ):
        if given(name) and values[name] < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {values[name]}")
    for name, limit in LIMITS.items():
        if given(name) and values[name] > limit:
            raise UsageError(
                f"--{name.replace('_', '-')} {values[name]} is more than {limit:,}; is there a typo in the number?"
            )
    # The sampler's numbers are checked by SamplingConfig, the one place that validates sampling settings.
    SamplingConfig(**{name: values[name] for name in SAMPLER_NUMBERS if given(name)}).validate()
    if given("gan_steps") and args.gan_steps < 0:
        raise UsageError(f"--gan-steps must be at least 0, got {args.gan_steps}")
    for name in ("learning_rate", "contrastive_temperature", "prior_temperature"):
        if given(name) and not (math.isfinite(values[name]) and values[name] > 0):
            example = {"learning_rate": "1e-3", "contrastive_temperature": "0.1", "prior_temperature": "1.0"}[name]
            raise UsageError(f"--{name.replace('_', '-')} {values[name]}: use a positive number such as {example}")
    if given("label_smoothing") and not 0 <= args.label_smoothing < 1:
        raise UsageError(f"--label-smoothing {args.label_smoothing}: use a number in [0, 1)")
    for name in ("key", "scale", "style", "data"):
        if name in values and values[name] is not None and not str(values[name]).strip():
            raise UsageError(
                f"--{name} is empty; leave the flag out or name a {name}, e.g. "
                + {"key": "C or 'F# minor'", "scale": "major", "style": "bach", "data": "bach"}[name]
            )
    if given("data") and str(args.data).strip():
        from musickit.data.sources.dispatch import open_source  # names and paths only: reads no piece, no Keras
        from musickit.errors import DataSourceError

        try:
            open_source(args.data)  # an unknown name or a missing path: one line, before the imports
        except DataSourceError as error:
            raise UsageError(str(error)) from None
    for name in ("primer", "soundfont"):
        if given(name) and not os.path.isfile(values[name]):
            raise UsageError(f"--{name} {values[name]}: no such file")
    if given("soundfont") and not _is_soundfont(args.soundfont):
        raise UsageError(f"--soundfont {args.soundfont} is not a SoundFont 2 (.sf2) file; pass a General MIDI .sf2")
    if given("output_dir") and os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
        raise UsageError(f"--output-dir {args.output_dir} is a file; pass a folder")
    if given("resume") and given("overwrite") and args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite contradict each other; pass one of them")
    return args


def _is_soundfont(path):
    """Whether ``path`` starts as a SoundFont 2 file does: a RIFF chunk of form ``sfbk``."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(12)
    except OSError:
        return False
    return header[:4] == b"RIFF" and header[8:12] == b"sfbk"


def smoke_or(args, smoke_value, value):
    """``smoke_value`` under ``--smoke``, else ``value``: keeps smoke settings next to the real ones."""
    return smoke_value if args.smoke else value


def config_changes_from_flags(args, defaults, names):
    """``{name: value}`` of the flags in ``names`` whose value is set (not ``None``) and differs from ``defaults``.

    A recipe's flags default to its family's ``cpu`` preset; what the user
    changed is laid over the preset it runs (``smoke`` under ``--smoke``), so
    ``--smoke --head independent`` is a tiny independent-head run.

    >>> import argparse, types
    >>> config_changes_from_flags(argparse.Namespace(units=8, head="a"), types.SimpleNamespace(units=8, head="b"),
    ...                           ("units", "head"))
    {'head': 'a'}
    """
    values = {name: getattr(args, name) for name in names}
    return {name: value for name, value in values.items() if value is not None and value != getattr(defaults, name)}
