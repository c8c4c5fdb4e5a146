"""Generating from a Music Transformer: prompts, sampling under the REMI rules, sample files, ``musickit generate``.

Shared by ``recipes/music_transformer.py`` (samples at the end of training)
and ``musickit generate --run RUN_DIR`` (more samples later from the saved
run folder). The recipe saves its
:class:`~musickit.generation.sampling_config.SamplingConfig` as the run's
``sampling.json``; ``musickit generate`` starts from it and changes only what
its own flags set.

Example::

    musickit generate --run runs/music_transformer --style essen --top-p 0.95 --key "G major"
"""

from musickit.errors import UsageError
from musickit.families.music_transformer.config import LEGACY_SAMPLING, MODEL_NAME, MusicTransformerConfig
from musickit.generation.cached_decoding import buffer_bucket
from musickit.generation.processors.length import BarBudget
from musickit.generation.prompts import DEFAULT_SNIPPET_LENGTH, build_prompt
from musickit.generation.sampling_config import SamplingConfig
from musickit.generation.token_sampling import token_processors, token_sampler
from musickit.models.music_transformer import MusicTransformer  # noqa: F401  (registered for loading model.keras)
from musickit.music.midi_io import read_midi
from musickit.music.sections import section_scores
from musickit.representations.conditions import class_id
from musickit.runs.folder import RunFolder
from musickit.runs.samples import decode_token_piece as decode_piece  # noqa: F401  (ids -> Score, used by tests)
from musickit.runs.samples import token_samples
from musickit.runs.samples import write_samples as write_sample_files

DEFAULT_FORM = MusicTransformerConfig.form


def run_sampling(run):
    """A run's sampling configuration: its ``sampling.json``, or what runs made before it sampled with."""
    legacy = LEGACY_SAMPLING.replace(new_tokens=int(run.read_info().get("new_tokens", LEGACY_SAMPLING.new_tokens)))
    return SamplingConfig.load(run, base=LEGACY_SAMPLING) or legacy


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


def generate_pieces(model, tokenizer, prompt, num_samples, config, seed=None, style=None, styles=(), bars=None):
    """Continue ``prompt`` (plus the style prefix) ``num_samples`` times with ``config``; return each piece's ids.

    ``config`` is a :class:`~musickit.generation.sampling_config.SamplingConfig`
    (``new_tokens`` tokens a piece). ``styles`` is the run's list of style
    names, whose index is the model's style condition (``UNKNOWN_ID``, -1, when
    ``style`` is ``None``: no style conditioning). ``bars``, when given, ends
    each piece after that many bars (:class:`~musickit.generation.processors.length.BarBudget`,
    counted after ``PROMPT_END``), within the ``new_tokens`` budget.
    """
    sampler = token_sampler(config, seed)
    processors = token_processors(config, tokenizer, model.vocabulary_size, prompt=prompt)
    if bars:
        reset = [tokenizer.prompt_end_id] if hasattr(tokenizer, "prompt_end_id") else []
        processors.append(BarBudget.from_tokenizer(tokenizer, bars, model.vocabulary_size, reset_token_ids=reset))
    start = list(prompt) + piece_prefix(tokenizer, style)
    max_length = min(len(start) + int(config.new_tokens), model.max_sequence_length)
    if len(start) >= max_length:
        raise UsageError(
            f"the prompt has {len(start)} tokens, leaving no room in the model's "
            f"{model.max_sequence_length}; use a shorter snippet length or fewer sections"
        )
    conditions = None
    if "style" in model.condition_sizes:
        if style is not None and style not in styles:
            raise UsageError(f"unknown style {style!r}; this run knows {', '.join(styles) or 'none'}")
        conditions = {"style": class_id(style, styles)}
    # One buffer per power-of-two bucket of lengths: prompts of other lengths reuse one compiled loop.
    outputs = model.generate(
        [start] * num_samples,
        max_length=max_length,
        sampler=sampler,
        processors=processors,
        conditions=conditions,
        buffer_length=buffer_bucket(max_length, model.max_sequence_length),
    )
    # The piece is what follows PROMPT_END (its style token included).
    return [row[len(prompt) :] for row in outputs]


def write_samples(pieces, tokenizer, samples_dir, prefix="sample", soundfont=None):
    """Write each piece's ids as ``PREFIX_N.mid``, ``.png`` and ``.wav`` (:func:`musickit.runs.samples.write_samples`).

    Each returned dict also holds ``tokens``, the piece's length in tokens.
    """
    return write_sample_files(token_samples(pieces, tokenizer), samples_dir, prefix=prefix, soundfont=soundfont)


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate`` for a Music Transformer run: load, prompt, sample, write; return the files written.

    ``request`` is a :class:`~musickit.families.request.GenerationRequest`;
    its ``sampling_changes`` are laid over the run's own sampling configuration.
    With ``request.bars``, pieces end after that many bars; their token budget
    is then ``--max-length`` when given, else the model's whole context.
    """
    run = RunFolder(run_dir)
    config = run_sampling(run).replace(**request.sampling_changes)  # bad settings fail before loading anything
    info, model, tokenizer = run.load(MODEL_NAME)
    if request.bars and "new_tokens" not in request.sampling_changes:
        config = config.replace(new_tokens=model.max_sequence_length)  # the bars end the piece, not a token count
    form = info.get("form", DEFAULT_FORM)
    snippet_length = info.get("snippet_length", DEFAULT_SNIPPET_LENGTH)
    if request.primer:
        prompt = prompt_from_file(request.primer, tokenizer, form, snippet_length)
    elif info.get("default_prompt"):
        prompt = info["default_prompt"]
    else:
        raise UsageError(f"{run_dir} has no stored prompt; pass --primer FILE.mid")
    pieces = generate_pieces(
        model,
        tokenizer,
        prompt,
        request.num_samples,
        config,
        seed=request.seed,
        style=request.style or info.get("default_style"),
        styles=info.get("styles", []),
        bars=request.bars,
    )
    return write_samples(pieces, tokenizer, output_dir, soundfont=request.soundfont)
