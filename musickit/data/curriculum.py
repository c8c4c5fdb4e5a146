"""A training curriculum for the hierarchical model: short windows and simple forms first.

Long pieces in complex forms are the hard case, so training can start easy
and grow: phase 0 trains on short decoder windows of the simplest forms
(``AB``), each later phase on longer windows and more complex forms, up to
the full length and ``ABCD``. Forms accumulate (``AB`` pieces stay in
when ``ABA`` joins), so nothing learnt early is starved later.

:func:`curriculum_phases` plans the phases; :func:`curriculum_pairs` turns
them into one ``tf.data.Dataset`` of exactly ``total_steps`` batches that
walks the phases in order. Keras 3's ``fit`` with ``steps_per_epoch`` keeps
one iterator across epochs (it only starts a new one when the dataset's
known number of batches is used up), so ``model.fit(dataset, epochs=E,
steps_per_epoch=S)`` with ``total_steps=E * S`` walks the curriculum once
over the whole run, on every backend (``tests/hierarchical/test_curriculum.py``
checks it).

Example:

>>> [phase.sequence_length for phase in curriculum_phases(("AB", "ABA", "ABCD"), sequence_lengths=(64, 256))]
[64, 64, 256]
>>> [phase.forms for phase in curriculum_phases(("AB", "ABA", "ABCD"), sequence_lengths=(64, 256))]
[('AB',), ('AB', 'ABA'), ('AB', 'ABA', 'ABCD')]
>>> dataset = curriculum_pairs(split, phases, total_steps=epochs * 100, batch_size=8)  # doctest: +SKIP
>>> model.fit(dataset, epochs=epochs, steps_per_epoch=100)  # doctest: +SKIP
"""

import dataclasses
import numbers

from musickit.data.form_synthesis import form_complexity
from musickit.errors import UsageError

DEFAULT_SEQUENCE_LENGTHS = (128, 256, 512)


def _is_count(value):
    """A whole number (``bool`` aside), NumPy integers included."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class CurriculumPhase:
    """One phase of a curriculum: decoder windows of ``sequence_length`` tokens from pieces in ``forms``.

    A piece takes part when its form is no more complex than the most
    complex of ``forms`` (:func:`form_complexity`), so a real piece in an
    unlisted form of the same level (``AAB`` next to ``ABA``) joins too.
    """

    sequence_length: int
    forms: tuple[str, ...]


def curriculum_phases(forms, sequence_lengths=DEFAULT_SEQUENCE_LENGTHS, by_length=True, by_form=True):
    """Phases from the simplest forms and shortest windows to all forms and the longest windows.

    With ``by_form`` there is one phase per complexity level of ``forms``
    (``AB``; ``ABA``; ``ABAB``/``AABA``; ``ABC``; ``ABCD``), each adding its
    level to the forms before it. With ``by_length`` the windows grow
    through ``sequence_lengths``; when there are more phases than lengths
    (or the other way round), the shorter list is spread evenly over the
    phases. Without ``by_length`` every phase uses the longest length,
    without ``by_form`` every phase has all forms; with neither there is one
    phase.

    Args:
        forms: the forms to train on, e.g. ``musickit.data.form_synthesis.FORMS``.
        sequence_lengths: strictly increasing decoder window lengths.
        by_length: grow the window length.
        by_form: grow the form complexity.

    Returns:
        A list of :class:`CurriculumPhase`.

    >>> phases = curriculum_phases(("AB", "ABA", "ABAB", "AABA"), sequence_lengths=(32, 64), by_length=False)
    >>> [(phase.sequence_length, phase.forms) for phase in phases]
    [(64, ('AB',)), (64, ('AB', 'ABA')), (64, ('AB', 'ABA', 'ABAB', 'AABA'))]
    """
    forms = [str(form).strip().upper() for form in forms]
    if not forms:
        raise UsageError("a curriculum needs at least one form, e.g. forms=('AB', 'ABA')")
    forms = sorted(dict.fromkeys(forms), key=form_complexity)  # form_complexity rejects bad forms
    lengths = list(sequence_lengths)
    if not lengths or not all(_is_count(length) and length > 0 for length in lengths):
        raise UsageError(f"sequence_lengths must be positive whole numbers, got {sequence_lengths!r}")
    if any(later <= earlier for earlier, later in zip(lengths, lengths[1:])):
        raise UsageError(f"sequence_lengths must increase (short to long), got {sequence_lengths!r}")
    levels = sorted({form_complexity(form) for form in forms}) if by_form else [form_complexity(forms[-1])]
    lengths = [int(length) for length in lengths] if by_length else [int(lengths[-1])]
    count = max(len(levels), len(lengths))
    phases = []
    for index in range(count):
        # index * n // count runs from 0 to n - 1 for n <= count: both lists reach their end at the last phase.
        level = levels[index * len(levels) // count]
        phase_forms = tuple(form for form in forms if form_complexity(form) <= level)
        phases.append(CurriculumPhase(lengths[index * len(lengths) // count], phase_forms))
    return phases


def _level(form, top):
    """The complexity of a piece's form, capped at ``top``; an unknown or unreadable form is ``top``."""
    try:
        return min(form_complexity(form), top) if form else top
    except UsageError:
        return top


def phase_split(split, phase, top_level):
    """The pieces of ``split`` (an :class:`~musickit.data.dataset.EncodedSplit`) that ``phase`` trains on.

    Pieces whose form is unknown or more complex than ``top_level`` count
    as ``top_level``: they join at the phase that reaches it.
    """
    from musickit.data.dataset import EncodedSplit

    highest = max(form_complexity(form) for form in phase.forms)
    chosen = [index for index, item in enumerate(split.metadata) if _level(item.get("form"), top_level) <= highest]
    return EncodedSplit([split[index] for index in chosen], [split.metadata[index] for index in chosen])


def phase_steps(total_steps, phase_count):
    """Steps of each phase: equal shares, the remainder to the last.

    >>> phase_steps(10, 3)
    [3, 3, 4]
    """
    share = total_steps // phase_count
    return [share] * (phase_count - 1) + [total_steps - share * (phase_count - 1)]


def curriculum_pairs(split, phases, total_steps, start_step=0, **pair_options):
    """One dataset of exactly ``total_steps - start_step`` batches that walks ``phases`` in order.

    Each phase gets an equal share of ``total_steps`` (the remainder goes to
    the last) and draws its batches from
    :func:`~musickit.data.pipelines.section_snippet_pairs` over the pieces
    whose form it covers, at its ``sequence_length``, repeated (and
    reshuffled) as often as its share needs. Batches of different phases
    differ in length, so the time dimension of the element spec is ``None``.

    Args:
        split: an :class:`~musickit.data.dataset.EncodedSplit` whose metadata
            has ``"form"`` (:func:`musickit.data.sections.encode_sectioned`).
        phases: from :func:`curriculum_phases`.
        total_steps: batches in the whole curriculum; ``epochs *
            steps_per_epoch`` when given to ``fit`` with ``steps_per_epoch``.
        start_step: batches already trained (``initial_epoch *
            steps_per_epoch`` when resuming): the dataset starts there.
        **pair_options: passed to ``section_snippet_pairs`` (``batch_size``,
            ``snippet_length``, ``tokenizer``, ``seed``...), all but
            ``sequence_length``, which the phases set. ``styles`` defaults
            to the sorted styles of the whole split, so style ids do not
            change from phase to phase.

    Returns:
        A ``tf.data.Dataset`` with the structure of ``section_snippet_pairs``.
    """
    from musickit.data.pipelines import section_snippet_pairs

    phases = list(phases)
    if "sequence_length" in pair_options:
        raise UsageError("curriculum_pairs takes its sequence lengths from the phases; drop sequence_length")
    if not phases or not all(phase.forms for phase in phases):
        raise UsageError("no curriculum phases, or a phase without forms; build them with curriculum_phases(forms)")
    if not _is_count(total_steps) or total_steps < len(phases):
        raise UsageError(
            f"total_steps={total_steps} must be a whole number of at least one step per phase "
            f"({len(phases)} phases); train longer or use fewer phases"
        )
    if not _is_count(start_step) or not 0 <= start_step < total_steps:
        raise UsageError(f"start_step={start_step} must be a whole number in 0..{total_steps - 1}")
    metadata = split.metadata
    pair_options.setdefault("styles", sorted({item.get("style") for item in metadata if item.get("style")}))
    top_level = max(form_complexity(form) for phase in phases for form in phase.forms)
    dataset, skip = None, int(start_step)
    for phase, steps in zip(phases, phase_steps(int(total_steps), len(phases))):
        steps, skip = steps - min(skip, steps), skip - min(skip, steps)  # resuming: drop finished steps
        if not steps:
            continue
        pieces = phase_split(split, phase, top_level)
        if not len(pieces):
            raise UsageError(
                f"no piece of the split has a form in {', '.join(phase.forms)}; "
                "synthesize pieces in those forms or leave them out of the curriculum"
            )
        batches = section_snippet_pairs(pieces, sequence_length=phase.sequence_length, **pair_options)
        if int(batches.cardinality()) == 0:
            raise UsageError(
                f"the {phase.forms[-1]} phase yields no batch (too few windows for a whole batch "
                "with drop_remainder); use a smaller batch_size or more pieces"
            )
        # repeat() reshuffles on every pass, as an epoch of a plain pipeline would.
        batches = batches.repeat().take(steps)
        dataset = batches if dataset is None else dataset.concatenate(batches)
    return dataset
