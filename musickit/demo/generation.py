"""The demo's one way to generate: :func:`generate`, which calls the run's family exactly as ``musickit generate`` does.

Every piece the page makes goes through :func:`generate`; the page holds no model logic.

Today it uses ``musickit.commands.generate``'s ``GENERATORS`` table and the
modules' ``generate_from_run(run_dir, output_dir, args)``, with ``args`` parsed
by ``musickit generate``'s own parser (unset sampling flags None, so a run's
saved sampling.json applies).

MERGE NOTE (issue 11, family registry): replace the body of :func:`_call_family`
with::

    from musickit.families import get_family
    from musickit.families.request import GenerationRequest

    family = get_family(model)  # an unknown family is already a one-line UsageError
    request = GenerationRequest(sampling_changes=sampling_changes, primer=options.get("primer"), num_samples=1,
                                seed=options["seed"], bars=options.get("bars", 8), style=options.get("style"))
    return family.generate_from_run(run_dir, output_dir, request)

(``max_length`` is in ``sampling_changes`` as ``max_length``; rename it to the
field the registry's sampling configuration uses, and pass ``form``,
``snippets``, ``emotion`` and ``tempo`` for the hierarchical family once its
request takes them), then delete :func:`_flags`, :func:`_call_generator` and the
``musickit.commands.generate`` import. Nothing else in the demo changes.

Example (a run folder written by ``recipes/piano_roll_lstm.py --smoke``)::

    pieces = generate("runs/piano_roll_lstm", "/tmp/pieces", {"temperature": 0.8, "bars": 2, "seed": 1})
    pieces[0]["wav"]  # '/tmp/pieces/sample_1.wav'
"""

import argparse
import importlib

from musickit.demo.controls import SAMPLING_CONTROLS, check_settings
from musickit.errors import UsageError
from musickit.runs.folder import RunFolder

#: What the page shows of each written piece.
PIECE_FIELDS = ("name", "midi", "png", "wav", "audio")


def sampling_changes(settings, saved_sampling):
    """The sampling settings that differ from the run's saved values (``max_length`` against ``new_tokens``).

    A key of ``""`` and a scale of ``None`` mean "not set here", as a flag left off does.

    >>> sampling_changes({"temperature": 0.9, "top_p": 0.5, "key": "", "bars": 4}, {"temperature": 0.9})
    {'top_p': 0.5}
    """
    changes = {}
    for name in SAMPLING_CONTROLS:
        if name not in settings or settings[name] is None or settings[name] == "":
            continue
        saved = saved_sampling.get("new_tokens" if name == "max_length" else name)
        if saved is None or settings[name] != saved:
            changes[name] = settings[name]
    return changes


def generate(run_dir, output_dir, settings, saved_sampling=None):
    """Generate one piece from ``run_dir`` into ``output_dir`` with the page's ``settings``.

    Args:
        run_dir: a run folder written by a recipe.
        output_dir: where the piece's files go.
        settings: ``{control name: value}`` (see :mod:`musickit.demo.controls`); ``primer`` is
            a MIDI path, ``snippets`` ``{section letter: MIDI path}``.
        saved_sampling: the run's sampling.json (values equal to it are left unset).

    Returns:
        One dict per written piece with ``name``, ``midi``, ``png``, ``wav`` and ``audio``
        (``"fluidsynth"`` or ``"synth"``).
    """
    check_settings(settings)
    model = RunFolder(run_dir).read_info().get("model")
    changes = sampling_changes(settings, saved_sampling or {})
    options = {name: value for name, value in settings.items() if name not in SAMPLING_CONTROLS}
    options.setdefault("seed", 0)
    written = _call_family(model, run_dir, output_dir, changes, options)
    return [{field: sample.get(field) for field in PIECE_FIELDS} for sample in written]


def _call_family(model, run_dir, output_dir, sampling_changes, options):
    """The family's ``generate_from_run``; the one place the demo reaches model code (see MERGE NOTE above)."""
    from musickit.commands import generate as generate_command

    module_name = generate_command.GENERATORS.get(model)
    if module_name is None:
        if model == "hierarchical_transformer":
            raise UsageError(
                f"generating from a hierarchical run here needs the family registry (issue 11); for now "
                f"run `python recipes/hierarchical_transformer.py generate --output-dir {run_dir}`"
            )
        raise UsageError(f"{run_dir} was made by {model!r}, which the demo cannot generate from")
    args = _flags(generate_command, model, run_dir, output_dir, sampling_changes, options)
    return importlib.import_module(module_name).generate_from_run(run_dir, output_dir, args)


def _flags(generate_command, model, run_dir, output_dir, sampling_changes, options):
    """``musickit generate``'s parsed flags for one piece, as its command line would give them."""
    argv = ["--run", run_dir, "--output-dir", output_dir, "--num-samples", "1", "--seed", str(options["seed"])]
    if options.get("bars") is not None:
        argv += ["--bars", str(options["bars"])]
    if options.get("style"):
        argv += ["--style", options["style"]]
    if options.get("primer"):
        argv += ["--primer", options["primer"]]
    for name, value in sampling_changes.items():
        argv.append(f"--{name.replace('_', '-')}={value}")
    parser = argparse.ArgumentParser(prog="musickit generate", add_help=False)

    def error(message):
        raise UsageError(message)

    parser.error = error
    generate_command.add_arguments(parser)
    args = parser.parse_args(argv)
    # As `musickit generate` does: a family without a saved sampling configuration gets the generic defaults.
    if model not in generate_command.READS_SAVED_SAMPLING:
        for name, default in generate_command.UNSET_DEFAULTS.items():
            if getattr(args, name, None) is None:
                setattr(args, name, default)
    return args
