"""Pieces in a requested form from a hierarchical transformer: section by section, reading every snippet.

:func:`generate_in_form` writes one piece; :func:`write_pieces` writes the recipe's samples (snippets from
a held-out piece of each style unless given) under the family's sampling
(:data:`~musickit.families.hierarchical_transformer.config.FAMILY_SAMPLING`, with the key and the number
of voices of each piece's snippets: :func:`piece_sampling`); :func:`default_snippets` is what a run
folder keeps in ``snippets.json`` so that :func:`generate_from_run` (``musickit generate --run RUN``)
needs nothing else.
"""

import dataclasses
import json
import math
import os

from musickit.data.form_synthesis import form_letters
from musickit.data.sections import section_snippets
from musickit.errors import UsageError
from musickit.families.hierarchical_transformer.config import (
    FAMILY_SAMPLING,
    LEGACY_SAMPLING,
    MODEL_NAME,
    HierarchicalConfig,
)
from musickit.generation.form_writing import write_in_form
from musickit.generation.processors import ForbiddenTokens
from musickit.generation.processors.length import BarBudget
from musickit.generation.sampling_config import SamplingConfig
from musickit.generation.token_sampling import token_processors, token_sampler
from musickit.models.hierarchical import HierarchicalTransformer  # noqa: F401  (registered for load_model)
from musickit.music.midi_io import read_midi
from musickit.music.score import SECTION_LETTERS
from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES, class_id
from musickit.representations.remi_decoding import end_notes_at_sections
from musickit.runs.folder import RunFolder
from musickit.runs.samples import token_samples, write_samples
from musickit.runs.sampling_flags import sampling_config_from_flags

SNIPPETS_FILE = "snippets.json"


def generate_in_form(
    model,
    tokenizer,
    form,
    snippets,
    tokens_per_section,
    style=None,
    conditions=None,
    sampler="greedy",
    processors=(),
    seed=None,
    bars_per_section=None,
    reprise="none",
    **sampler_options,
):
    """Write one piece in ``form`` (e.g. ``"ABA"``), section by section; return its token ids.

    The section tokens are placed by :func:`musickit.generation.form_writing.write_in_form`,
    so the piece follows the requested form exactly; the model writes up to
    ``tokens_per_section`` tokens of each section (whole bars, at most
    ``bars_per_section``, when given), reading every snippet through
    cross-attention. With ``reprise="copy"`` a returning section repeats its first statement; with
    ``"recall"`` the model writes it again after its first statement (a model with a copy head copies from it).

    Example:

    >>> from musickit.models.hierarchical import HierarchicalTransformer
    >>> from musickit.representations.remi import REMITokenizer
    >>> tokenizer = REMITokenizer()
    >>> model = HierarchicalTransformer.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size, snippet_length=8)
    >>> ids = generate_in_form(model, tokenizer, "ABA", {"A": [20, 21], "B": [22]}, tokens_per_section=4)
    >>> [tokenizer.id_to_token(i) for i in ids if tokenizer.token_type(i) == "SECTION"]
    ['SECTION_A', 'SECTION_B', 'SECTION_A']
    """
    form = str(form).strip().upper()
    missing = [letter for letter in form_letters(form) if letter not in snippets]
    if missing:
        raise UsageError(f"form {form} needs a snippet for section(s) {', '.join(missing)}; pass --snippet X=file.mid")

    def continue_piece(ids, max_length, stop_token_ids):
        # One buffer for every section: the sections share one compiled decoding loop instead of one each.
        return model.generate(
            [ids],
            max_length,
            buffer_length=model.max_sequence_length,
            snippets=snippets,
            conditions=conditions,
            sampler=sampler,
            processors=processors,
            seed=seed,
            stop_token_ids=stop_token_ids,
            **sampler_options,
        )[0]

    return write_in_form(
        continue_piece,
        tokenizer,
        form,
        tokens_per_section,
        model.max_sequence_length,
        style=style,
        end_id=model.end_id,
        bars_per_section=bars_per_section,
        reprise=reprise,
    )


def default_reprise(model, has_sampling=True):
    """How a run writes a returning section unless told: the model itself (``"recall"``) when it has a copy head,
    else its first statement again (``"copy"``); ``"none"`` for a run from before the family's sampling."""
    if not has_sampling:
        return "none"
    return "recall" if getattr(model, "copy_head", None) is not None else "copy"


def snippet_voices(tokenizer, snippets):
    """The most notes sounding at once in any of ``snippets`` (``{label: ids}``); 0 without notes.

    >>> from musickit.representations.remi import REMITokenizer
    >>> tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
    >>> chord = ["Bar", "Position_0", "Pitch_60", "Duration_4", "Pitch_64", "Duration_4", "Position_4", "Pitch_62",
    ...          "Duration_4"]
    >>> snippet_voices(tokenizer, {"A": [tokenizer.token_to_id(token) for token in chord]})
    2
    """
    most = 0
    for ids in snippets.values():
        notes = tokenizer.decode([int(token) for token in ids]).notes
        events = sorted([(note.end, -1) for note in notes] + [(note.start, 1) for note in notes])
        sounding = 0
        for _, change in events:  # an end at the same time as a start comes first
            sounding += change
            most = max(most, sounding)
    return most


def piece_sampling(sampling, tokenizer, snippets):
    """``sampling`` for one piece: ``max_polyphony`` lowered to the voices of its snippets (a folk tune's
    snippets give one voice, a chorale's four); ``(sampling, prompt)`` where ``prompt`` (the snippets' ids
    end to end) is what ``key="auto"`` reads the key from."""
    voices = snippet_voices(tokenizer, snippets)
    if sampling.max_polyphony and voices:
        sampling = sampling.replace(max_polyphony=min(sampling.max_polyphony, voices))
    prompt = [int(token) for label in sorted(snippets) for token in snippets[label]]
    return sampling, prompt


def form_processors(sampling, tokenizer, vocabulary_size, prompt):
    """``sampling``'s token processors for writing in a form: with ``full_length``, the model may not open a
    section itself either (the form places every section token), so a section is never left empty or cut
    off mid-bar because the model jumped ahead; it writes until its token budget and keeps whole bars."""
    processors = token_processors(sampling, tokenizer, vocabulary_size, prompt=prompt)
    if sampling.full_length:
        processors.append(ForbiddenTokens([tokenizer.section_token_id(letter) for letter in SECTION_LETTERS]))
    return processors


def source_piece(valid_scores, style, form, number=0):
    """The ``number``-th held-out piece (cycling) of ``style`` whose sections cover ``form``'s letters (its
    snippets are the default), so that successive samples read different pieces' snippets."""
    candidates = [score for score in valid_scores if score.metadata.get("style") == style] or list(valid_scores)
    covering = [score for score in candidates if set(form) <= set(score.metadata.get("form", ""))] or candidates
    return covering[number % len(covering)]


def condition_classes(styles, style, emotion=None, tempo=None):
    """``{"style": id, "emotion": id, "tempo": id}`` for the model (-1: unknown emotion or tempo)."""
    return {
        "style": class_id(style, styles),
        "emotion": class_id(emotion, EMOTION_CLASSES),
        "tempo": class_id(tempo, TEMPO_CLASSES),
    }


def default_snippets(valid_scores, styles, tokenizer, snippet_length):
    """Per style, a held-out piece's section snippets, form, emotion and tempo (``snippets.json``)."""
    defaults = {}
    for style in styles:
        piece = source_piece(valid_scores, style, "")
        snippets = section_snippets(piece, tokenizer, snippet_length)
        defaults[style] = {
            "form": piece.metadata.get("form"),
            "emotion": piece.metadata.get("emotion"),
            "tempo": piece.metadata.get("tempo"),
            "snippets": {label: [int(i) for i in ids] for label, ids in snippets.items()},
        }
    return defaults


def write_pieces(
    model,
    tokenizer,
    config,
    styles,
    valid_scores=(),
    given=None,
    style=None,
    emotion=None,
    tempo=None,
    defaults=None,
    end_sections_at_bars=False,
):
    """``config.num_samples`` pieces in ``config.form``: a list of ``(ids, snippets, style)``.

    Styles are taken in turn unless ``style`` is given. Sections without a ``given`` snippet read those of a
    held-out piece of the style (from ``valid_scores``, or from ``defaults``, a :func:`default_snippets`
    dict); emotion and tempo default to that piece's. Each piece samples with ``config.sampling`` as
    :func:`piece_sampling` fits it to its snippets, in sections of at most ``config.bars_per_section`` whole
    bars, with ``config.reprise``; no note sounds into the next section
    (:func:`~musickit.representations.remi_decoding.end_notes_at_sections`). ``end_sections_at_bars`` also
    ends each section's sampling where its
    ``config.bars_per_section + 1``-th bar would open (:class:`~musickit.generation.processors.length.BarBudget`)
    instead of sampling all ``config.tokens_per_section`` tokens and cutting them.
    """
    given = dict(given or {})
    missing = [letter for letter in form_letters(config.form) if letter not in given]
    written = []
    for number in range(config.num_samples):
        piece_style = style or styles[number % len(styles)]
        if defaults is not None:
            saved = defaults.get(piece_style) or next(iter(defaults.values()))
            snippets, metadata = dict(saved["snippets"]) if missing else {}, saved
        else:
            turn = number if style else number // len(styles)  # styles alternate: each one's pieces in turn
            piece = source_piece(valid_scores, piece_style, config.form, turn)
            snippets = section_snippets(piece, tokenizer, config.snippet_length) if missing else {}
            metadata = piece.metadata
        snippets.update(given)
        conditions = condition_classes(
            styles, piece_style, emotion or metadata.get("emotion"), tempo or metadata.get("tempo")
        )
        sampling, prompt = piece_sampling(config.sampling, tokenizer, snippets)
        processors = form_processors(sampling, tokenizer, model.vocabulary_size, prompt)
        if end_sections_at_bars:
            sections = [tokenizer.section_token_id(letter) for letter in SECTION_LETTERS]
            budget = BarBudget.from_tokenizer(tokenizer, config.bars_per_section, model.vocabulary_size, sections)
            processors.append(budget)
        ids = generate_in_form(
            model,
            tokenizer,
            config.form,
            snippets,
            config.tokens_per_section,
            style=piece_style,
            conditions=conditions,
            sampler=token_sampler(sampling, config.seed + number),
            processors=processors,
            seed=config.seed + number,
            bars_per_section=config.bars_per_section,
            reprise=config.reprise,
        )
        written.append((end_notes_at_sections(tokenizer, ids), snippets, piece_style))
    return written


def read_snippet_files(files):
    """``{section letter: Score}`` from ``{section letter: MIDI path}``, read before any model is loaded.

    A letter outside ``A``..``D`` or a missing file is a one-line :class:`UsageError`; a file that cannot
    be read a ``MidiReadError``.

    >>> read_snippet_files({"E": "x.mid"})
    Traceback (most recent call last):
    ...
    musickit.errors.UsageError: snippet 'E': a section letter is one of A, B, C, D
    """
    scores = {}
    for label, path in (files or {}).items():
        letter = str(label).strip().upper()
        if letter not in SECTION_LETTERS:
            raise UsageError(f"snippet {label!r}: a section letter is one of {', '.join(SECTION_LETTERS)}")
        if not os.path.isfile(path):
            raise UsageError(f"the snippet of section {letter} is not a file: {path}")
        scores[letter] = read_midi(path)
    return scores


def encode_snippets(scores, tokenizer, snippet_length):
    """``{section letter: token ids}``: the opening ``snippet_length`` tokens of each snippet score."""
    return {letter: list(tokenizer.encode(score))[:snippet_length] for letter, score in scores.items()}


def save_default_snippets(run, valid_scores, styles, tokenizer, snippet_length):
    """Write ``snippets.json`` into ``run`` (a :class:`~musickit.runs.folder.RunFolder`)."""
    run.write_json(run.file(SNIPPETS_FILE), default_snippets(valid_scores, styles, tokenizer, snippet_length))


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate --run RUN`` for a hierarchical run: pieces in the run's form, files written.

    ``request`` is a :class:`~musickit.families.request.GenerationRequest`. Its ``sampling_changes`` are laid
    over the sampling the run's recipe used (its ``sampling.json``; a run from before it: its saved flags);
    ``new_tokens`` (``--max-length``) is split over the sections. ``request.bars`` is spread over the
    sections too (rounded up: ``ceil(bars / sections)`` whole bars each), each section ending at its bars;
    the token budget is then ``--max-length`` when given, else the model's context. ``form``, ``style``, ``emotion`` and
    ``tempo`` left ``None`` are the run's. A section reads ``request.snippets``' file for its letter
    (``{"A": "opening.mid"}``), else the run's ``snippets.json`` (a held-out piece of each style, saved at
    training time).

    Returns:
        One dict per piece with ``"midi"``, ``"png"``, ``"wav"`` and ``"audio"``.
    """
    run = RunFolder(run_dir)
    info = run.read_info()
    flags = info.get("flags") or {}
    path = run.file(SNIPPETS_FILE)
    if not os.path.isfile(path):
        raise UsageError(
            f"{run_dir} has no {SNIPPETS_FILE} (it predates it); generate with `python "
            f"recipes/hierarchical_transformer.py generate --output-dir {run_dir}`"
        )
    with open(path) as handle:
        defaults = json.load(handle)
    styles = info.get("styles") or sorted(defaults)
    if request.style is not None and request.style not in styles:
        raise UsageError(f"--style {request.style!r} is not among the run's styles {styles}")
    form = str(request.form or flags.get("form") or HierarchicalConfig.form).strip().upper()
    form_letters(form)  # a bad form fails in one line
    changes = dict(request.sampling_changes)
    new_tokens = changes.pop("new_tokens", None)
    tokens_per_section = (
        new_tokens // len(form)
        if new_tokens
        else flags.get("tokens_per_section") or HierarchicalConfig.tokens_per_section
    )
    saved = SamplingConfig.load(run, base=FAMILY_SAMPLING)
    # A run from before sampling.json sampled with its flags' temperature and top-k, by the grammar alone.
    base = saved or sampling_config_from_flags(flags, LEGACY_SAMPLING)
    sampling = dataclasses.replace(base, **changes).validate()  # bad settings fail before loading
    snippet_scores = read_snippet_files(request.snippets)  # a bad snippet fails before loading, too
    _, model, tokenizer = run.load(MODEL_NAME)
    given = encode_snippets(snippet_scores, tokenizer, model.encoder.snippet_length)
    bars_per_section = int(info.get("bars_per_section") or HierarchicalConfig.bars_per_section)
    if request.bars:
        bars_per_section = math.ceil(request.bars / len(form))
        if not new_tokens:
            tokens_per_section = model.max_sequence_length // len(form)  # the bars end each section
    config = HierarchicalConfig(
        form=form,
        tokens_per_section=int(tokens_per_section),
        seed=request.seed,
        snippet_length=model.encoder.snippet_length,
        num_samples=request.num_samples,
        sampling=sampling,
        bars_per_section=bars_per_section,
        reprise=flags.get("reprise") or default_reprise(model, saved is not None),
    )
    written = write_pieces(
        model,
        tokenizer,
        config,
        styles,
        given=given,
        style=request.style,
        emotion=request.emotion,
        tempo=request.tempo,
        defaults=defaults,
        end_sections_at_bars=bool(request.bars),
    )
    pieces = token_samples([ids for ids, _, _ in written], tokenizer)
    return write_samples(pieces, output_dir, prefix=f"form_{form}", soundfont=request.soundfont)
