"""Generation for Music Transformer runs: flags to sampler and processors, prompts, sample files.

Shared by ``recipes/music_transformer.py`` (samples at the end of training)
and ``musickit generate --run RUN_DIR`` (more samples later from the saved
run folder), so both turn the same flags into the same pieces. The recipe
saves its sampling configuration (:data:`SAMPLING_SETTINGS`) as
``sampling.json`` in the run folder; ``musickit generate`` starts from it and
changes only what its own flags set.

Example::

    musickit generate --run runs/music_transformer --style essen --top-p 0.95 --key "G major"
"""

import argparse
import os

import numpy as np

from musickit.audio.rendering import render
from musickit.data.dataset import section_scores
from musickit.errors import UsageError
from musickit.generation.processors import ForbiddenTokens, KeyScaleMask, RemiGrammarMask, RemiNoteRules, RepetitionPenalty
from musickit.generation.prompts import DEFAULT_SNIPPET_LENGTH, build_prompt
from musickit.generation.samplers import sampler_from_flags
from musickit.music.keys import estimate_key
from musickit.music.midi_io import read_midi, write_midi
from musickit.models.music_transformer import MusicTransformer  # noqa: F401  (registered for load_model)
from musickit.music.quantization import quantize, unquantize
from musickit.representations.piano_roll import PianoRoll
from musickit.runs.folder import RunFolder
from musickit.viz.piano_roll import plot_piano_roll

MODEL_NAME = "music_transformer"
DEFAULT_FORM = "AB"
REPETITION_WINDOW = 64  # tokens: about two bars of four-part chorale
SAMPLING_FILE = "sampling.json"
#: Every setting that decides how a run samples, with the value a run without ``sampling.json`` gets
#: (what ``musickit generate`` used before runs saved their own): ``max_polyphony`` 0 and
#: ``max_rest_steps`` -1 mean no limit.
SAMPLING_SETTINGS = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0, "key": None,
                     "scale": None, "max_polyphony": 0, "no_duplicates": False, "max_rest_steps": -1,
                     "ascending_pitches": False, "full_length": False, "key_penalty": None, "new_tokens": 512}  # fmt: skip


def sampler_from_args(args):
    """The sampler the shared flags ask for (``--top-k 0`` and ``--top-p 1`` mean off)."""
    top_k = getattr(args, "top_k", 0) or None
    top_p = getattr(args, "top_p", 1.0)
    top_p = None if top_p is None or top_p == 1.0 else top_p
    return sampler_from_flags(temperature=getattr(args, "temperature", 1.0), top_k=top_k, top_p=top_p,
                              seed=getattr(args, "seed", None))  # fmt: skip


def sampling_settings(args, new_tokens=None):
    """The sampling configuration the flags in ``args`` describe (missing ones at :data:`SAMPLING_SETTINGS`).

    Example:

    >>> import types
    >>> sampling_settings(types.SimpleNamespace(temperature=0.9, top_p=0.95), new_tokens=768)["top_p"]
    0.95
    """
    settings = {name: getattr(args, name, default) for name, default in SAMPLING_SETTINGS.items()}
    settings = {name: SAMPLING_SETTINGS[name] if value is None else value for name, value in settings.items()}
    if new_tokens is not None:
        settings["new_tokens"] = int(new_tokens)
    return settings


def save_sampling(run, settings):
    """Write ``settings`` (from :func:`sampling_settings`) as the run folder's ``sampling.json``."""
    run.write_json(run.file(SAMPLING_FILE), dict(settings))


def load_sampling(run):
    """A run's sampling configuration: its ``sampling.json``, or the defaults for runs made before it existed."""
    import json

    settings = dict(SAMPLING_SETTINGS)
    path = run.file(SAMPLING_FILE)
    if os.path.isfile(path):
        with open(path) as handle:
            saved = json.load(handle)
        settings.update({name: value for name, value in saved.items() if name in SAMPLING_SETTINGS})
    else:
        settings["new_tokens"] = run.read_info().get("new_tokens", settings["new_tokens"])
    return settings


def prompt_key(tokenizer, prompt):
    """``(key, scale)`` for ``--key auto``: the Krumhansl-Schmuckler key of the prompt's notes; a minor key
    keeps its raised seventh (harmonic minor), which the chorales use at every cadence."""
    key = estimate_key(tokenizer.decode(np.asarray(prompt, "int64")))
    return key, "harmonic_minor" if key.endswith("minor") else "major"


def processors_from_args(args, tokenizer, vocabulary_size, prompt=None):
    """Logits processors for the flags: the REMI grammar always; note rules (``max_polyphony``,
    ``no_duplicates``, ``max_rest_steps``, ``ascending_pitches``), no early end (``full_length``), a
    key/scale mask and a repetition penalty on request. ``--key auto`` takes the key of ``prompt``
    (:func:`prompt_key`)."""
    processors = []
    if hasattr(tokenizer, "token_ids") and "Position" in getattr(tokenizer, "token_ranges", {}):
        reset = [tokenizer.prompt_end_id] if hasattr(tokenizer, "prompt_end_id") else []
        if reset:
            # The decoder skips these inside a piece, so the rules below would lose track of it after one.
            processors.append(ForbiddenTokens([tokenizer.pad_id, tokenizer.bos_id, tokenizer.mask_id,
                                               tokenizer.prompt_start_id, tokenizer.prompt_end_id]))  # fmt: skip
        processors.append(RemiGrammarMask.from_tokenizer(tokenizer, vocabulary_size=vocabulary_size,
                                                         reset_token_ids=reset))  # fmt: skip
        max_polyphony = getattr(args, "max_polyphony", 0) or None
        max_rest_steps = getattr(args, "max_rest_steps", -1)
        max_rest_steps = None if max_rest_steps is None or max_rest_steps < 0 else max_rest_steps
        no_duplicates = bool(getattr(args, "no_duplicates", False))
        ascending_pitches = bool(getattr(args, "ascending_pitches", False))
        if max_polyphony or no_duplicates or ascending_pitches or max_rest_steps is not None:
            processors.append(RemiNoteRules.from_tokenizer(tokenizer, vocabulary_size=vocabulary_size,
                                                           max_polyphony=max_polyphony, no_duplicates=no_duplicates,
                                                           max_rest_steps=max_rest_steps,
                                                           ascending_pitches=ascending_pitches))  # fmt: skip
        if getattr(args, "full_length", False):
            # Training chunks end with EOS anywhere after the prompt, so the model ends early; ask for every token.
            processors.append(ForbiddenTokens([tokenizer.eos_id]))
    key, scale = getattr(args, "key", None), getattr(args, "scale", None)
    if key == "auto":
        key, auto_scale = prompt_key(tokenizer, prompt) if prompt is not None else ("C", None)
        scale = scale or auto_scale
    if key or scale:
        processors.append(KeyScaleMask.from_tokenizer(tokenizer, key=key or "C", scale=scale,
                                                      vocabulary_size=vocabulary_size,
                                                      penalty=getattr(args, "key_penalty", None) or None))  # fmt: skip
    penalty = getattr(args, "repetition_penalty", 1.0) or 1.0
    if penalty != 1.0:
        pitch_ids = list(tokenizer.token_ids("Pitch")) if hasattr(tokenizer, "token_ids") else None
        processors.append(RepetitionPenalty(penalty, window=REPETITION_WINDOW, penalized_tokens=pitch_ids))
    return processors


def prompt_from_sections(sections, tokenizer, form=DEFAULT_FORM, snippet_length=DEFAULT_SNIPPET_LENGTH):
    """``PROMPT_START SECTION_A ... PROMPT_END`` from ``[(label, ids), ...]``, keeping the labels in ``form``."""
    chosen = [(label, ids) for label, ids in sections if label in form] or list(sections[:1])
    return build_prompt(chosen, tokenizer, snippet_length)


def prompt_from_file(path, tokenizer, form=DEFAULT_FORM, snippet_length=DEFAULT_SNIPPET_LENGTH):
    """A prompt from a MIDI file's marked sections (or its opening as section A)."""
    score = read_midi(path)
    sections = [(label, tokenizer.encode(part)) for label, part in section_scores(score)]
    if not sections:
        sections = [("A", tokenizer.encode(score))]
    return prompt_from_sections(sections, tokenizer, form, snippet_length)


def piece_prefix(tokenizer, style=None):
    """The tokens a generated piece starts with: its STYLE token when the tokenizer has one for ``style``."""
    if style and style in getattr(tokenizer, "styles", ()):
        return [tokenizer.style_token_id(style)]
    return []


def generate_pieces(model, tokenizer, prompt, num_samples, new_tokens, args, style=None, styles=()):
    """Continue ``prompt`` (plus the style prefix) ``num_samples`` times; return each piece's ids.

    ``styles`` is the run's list of style names, whose index is the model's
    style condition (``len(styles)`` stands for unknown).
    """
    sampler = sampler_from_args(args)
    processors = processors_from_args(args, tokenizer, model.vocabulary_size, prompt=prompt)
    start = list(prompt) + piece_prefix(tokenizer, style)
    max_length = min(len(start) + int(new_tokens), model.max_sequence_length)
    if len(start) >= max_length:
        raise UsageError(f"the prompt has {len(start)} tokens, leaving no room in the model's "
                         f"{model.max_sequence_length}; use a shorter snippet length or fewer sections")  # fmt: skip
    conditions = None
    if "style" in model.condition_sizes:
        if style is not None and style not in styles:
            raise UsageError(f"unknown style {style!r}; this run knows {', '.join(styles) or 'none'}")
        conditions = {"style": list(styles).index(style) if style is not None else len(styles)}
    outputs = model.generate([start] * num_samples, max_length=max_length, sampler=sampler, processors=processors,
                             conditions=conditions)  # fmt: skip
    # The piece is what follows PROMPT_END (its style token included).
    return [row[len(prompt) :] for row in outputs]


def decode_piece(tokenizer, ids):
    """The :class:`Score` of generated ids, with the first tempo in force from the first step.

    A generated piece may set its first tempo after step 0 (at a later first
    position); :func:`~musickit.music.quantization.unquantize` holds that
    tempo from step 0, so nothing lands at a negative time.
    """
    return unquantize(tokenizer.decode_quantized(np.asarray(ids, "int64")))


def write_samples(pieces, tokenizer, samples_dir, prefix="sample", soundfont=None):
    """Write each piece as ``PREFIX_N.mid``, ``.png`` and ``.wav``; return what was written."""
    os.makedirs(samples_dir, exist_ok=True)
    roll = PianoRoll(steps_per_quarter=tokenizer.steps_per_quarter)
    written = []
    for index, ids in enumerate(pieces):
        name = f"{prefix}_{index + 1}"
        score = decode_piece(tokenizer, ids)
        paths = {kind: os.path.join(samples_dir, f"{name}.{kind}") for kind in ("mid", "png", "wav")}
        write_midi(score, paths["mid"])
        quantized = quantize(score, tokenizer.steps_per_quarter)
        plot_piano_roll(roll.encode(quantized), paths["png"], steps_per_quarter=tokenizer.steps_per_quarter,
                        bar_starts=quantized.bar_starts(), title=f"{name}: {len(score.notes)} notes")  # fmt: skip
        method = render(score, paths["wav"], soundfont=soundfont)
        written.append({"name": name, "midi": paths["mid"], "png": paths["png"], "wav": paths["wav"], "audio": method,
                        "score": score, "tokens": len(ids)})  # fmt: skip
    return written


def generate_from_run(run_dir, output_dir, args):
    """``musickit generate`` for a Music Transformer run: load, prompt, sample, write; return the files written."""
    run = RunFolder(run_dir)
    # The run's own sampling configuration, with what the flags set on top (unset flags are None).
    settings = load_sampling(run)
    settings.update({name: getattr(args, name) for name in SAMPLING_SETTINGS if getattr(args, name, None) is not None})
    if getattr(args, "max_length", None) is not None:
        settings["new_tokens"] = args.max_length
    args = argparse.Namespace(**{**vars(args), **settings})
    sampler_from_args(args)  # bad sampling flags fail before loading anything
    info, model, tokenizer = run.load(MODEL_NAME)
    form = info.get("form", DEFAULT_FORM)
    snippet_length = info.get("snippet_length", DEFAULT_SNIPPET_LENGTH)
    if getattr(args, "primer", None):
        prompt = prompt_from_file(args.primer, tokenizer, form, snippet_length)
    elif info.get("default_prompt"):
        prompt = info["default_prompt"]
    else:
        raise UsageError(f"{run_dir} has no stored prompt; pass --primer FILE.mid")
    pieces = generate_pieces(model, tokenizer, prompt, args.num_samples, settings["new_tokens"], args,
                             style=getattr(args, "style", None) or info.get("default_style"),
                             styles=info.get("styles", []))  # fmt: skip
    return write_samples(pieces, tokenizer, output_dir, soundfont=getattr(args, "soundfont", None))
