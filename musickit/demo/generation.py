"""The demo's one way to generate: :func:`generate`, which calls the run's family exactly as ``musickit generate`` does.

Every piece the page makes goes through :func:`generate`; the page holds no model logic.

It finds the run's family in the registry (:mod:`musickit.families`) and calls its
``generate_from_run(run_dir, output_dir, request)``, exactly as ``musickit generate`` does;
only the settings that differ from the run's saved ``sampling.json`` are sent, as a flag
left off would leave them.

Example (a run folder written by ``recipes/piano_roll_lstm.py --smoke``)::

    pieces = generate("runs/piano_roll_lstm", "/tmp/pieces", {"temperature": 0.8, "bars": 2, "seed": 1})
    pieces[0]["wav"]  # '/tmp/pieces/sample_1.wav'
"""

from musickit.demo.controls import FAMILY_CONTROLS, SAMPLING_CONTROLS, check_settings
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
        (``"fluidsynth"``, ``"synth"``, or ``"neural"`` for a mel-diffusion render, which also has ``scores``).
    """
    model = RunFolder(run_dir).read_info().get("model")
    check_settings(settings, FAMILY_CONTROLS.get(model))
    changes = sampling_changes(settings, saved_sampling or {})
    options = {name: value for name, value in settings.items() if name not in SAMPLING_CONTROLS}
    options.setdefault("seed", 0)
    written = _call_family(model, run_dir, output_dir, changes, options)
    pieces = []
    for sample in written:
        piece = {field: sample.get(field) for field in PIECE_FIELDS}
        if sample.get("scores"):  # a renderer's: its audio measured against the reference rendering
            piece["scores"] = sample["scores"]
        pieces.append(piece)
    return pieces


def _call_family(model, run_dir, output_dir, changes, options):
    """The family's ``generate_from_run``: the one place the demo reaches model code."""
    from musickit.families import get_family
    from musickit.families.request import GenerationRequest
    from musickit.runs.sampling_flags import sampling_changes_from_flags

    family = get_family(model)  # an unknown family is a one-line UsageError, shown in the page
    request = GenerationRequest(
        sampling_changes=sampling_changes_from_flags(changes),
        primer=options.get("primer"),
        num_samples=1,
        seed=options["seed"],
        bars=options.get("bars"),
        style=options.get("style"),
        form=options.get("form"),
        emotion=options.get("emotion"),
        tempo=options.get("tempo"),
        snippets=options.get("snippets") or {},
    )
    request.check_family(model)  # as `musickit generate` does: nothing the family would ignore
    return family.generate_from_run(run_dir, output_dir, request)
