"""The generation engine: one prefill pass, then a compiled loop of one-token steps.

This follows keras_hub's ``CausalLM.generate``: the model (a
:class:`~musickit.models.decoder_base.DecoderLanguageModel`) exposes a cached
forward pass; a keras_hub sampler owns the ``ops.while_loop``; a
``next(prompt, cache, index)`` closure connects them and applies musickit's
logits processors; the whole step is compiled once per configuration by the engine's one
compile path, :func:`musickit.generation.compiling.compile_for_backend`
(``jax.jit`` on JAX, ``tf.function(jit_compile=True)`` on TensorFlow, eager
under ``torch.no_grad`` on PyTorch).

Every model's ``generate`` is built from the public pieces here:
:func:`prompt_rows` and :func:`condition_ids` check its arguments,
:func:`generate_rows` runs the loop; :func:`generate` is the Music
Transformer's, and :meth:`musickit.models.hierarchical.HierarchicalTransformer.generate` adds the
snippets. Every argument is checked before any tensor work, so a prompt that
is too long, an id outside the vocabulary, processors that allow nothing or a
top-p outside (0, 1] end in one :class:`~musickit.errors.UsageError`.
"""

import json

import keras
import numpy as np
from keras import ops
from keras_hub.samplers import BeamSampler

from musickit.errors import UsageError
from musickit.generation.compiling import compile_for_backend
from musickit.generation.processors import FORBIDDEN_LOGIT, combined_allowed_tokens
from musickit.generation.processors.base import apply_logit_bias
from musickit.generation.samplers import resolve_sampler
from musickit.representations.conditions import UNKNOWN_ID


def _as_rows(prompt_ids, padding_side, padding_id):
    """A list of 1-D int arrays, one per prompt, with padding removed."""
    if isinstance(prompt_ids, np.ndarray) or hasattr(prompt_ids, "shape"):
        array = np.asarray(ops.convert_to_numpy(prompt_ids))
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2:
            raise UsageError(f"prompt_ids must be 1-D or 2-D, got shape {array.shape}")
        rows = []
        for row in array:
            real = np.flatnonzero(row != padding_id)
            if padding_side == "left":
                row = row[real[0] :] if len(real) else row[:0]
            elif padding_side == "right":
                row = row[: real[-1] + 1] if len(real) else row[:0]
            else:
                raise UsageError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
            rows.append(row.astype("int64"))
        return rows
    if len(prompt_ids) and np.isscalar(prompt_ids[0]):
        prompt_ids = [prompt_ids]
    return [np.asarray(row, "int64").reshape(-1) for row in prompt_ids]


def prompt_rows(prompt_ids, max_length, model, padding_side="right"):
    """The prompts as a list of 1-D int arrays, checked against ``max_length`` and the model.

    Args:
        prompt_ids: a list of id sequences (lengths may differ), or a 2-D
            array padded with ``model.padding_id`` on ``padding_side``.
        max_length: int, total length (prompt plus generated tokens).
        model: the model that will continue them (its ``max_sequence_length``,
            ``vocabulary_size`` and ``padding_id`` are read).
        padding_side: ``"right"`` or ``"left"``.

    Raises:
        UsageError: no prompt, an empty prompt, a prompt that leaves no room
            before ``max_length``, ``max_length`` beyond the model, or an id
            outside the vocabulary.

    Example:

    >>> from musickit.models.music_transformer import MusicTransformer
    >>> model = MusicTransformer.from_preset("tiny", vocabulary_size=30)
    >>> [row.tolist() for row in prompt_rows([[2, 3], [4]], max_length=8, model=model)]
    [[2, 3], [4]]
    """
    rows = _as_rows(prompt_ids, padding_side, model.padding_id)
    if not rows:
        raise UsageError("no prompt given; pass at least one sequence of token ids (a start token is enough)")
    if max_length > model.max_sequence_length:
        raise UsageError(
            f"max_length {max_length} exceeds the model's max_sequence_length {model.max_sequence_length}; "
            "generate less or build the model with a longer max_sequence_length"
        )
    for number, row in enumerate(rows):
        if len(row) == 0:
            raise UsageError(f"prompt {number} is empty; start it with at least one token (e.g. the BOS id)")
        if len(row) >= max_length:
            raise UsageError(
                f"prompt {number} has {len(row)} tokens but max_length is {max_length}; shorten the prompt"
            )
        outside = np.flatnonzero((row < 0) | (row >= model.vocabulary_size))
        if len(outside):
            position = int(outside[0])
            raise UsageError(
                f"prompt {number} holds token id {int(row[position])} at position {position}, outside the "
                f"vocabulary 0..{model.vocabulary_size - 1}; encode prompts with the model's tokenizer"
            )
    return rows


def condition_ids(conditions, condition_sizes, batch_size, allow_unknown=True):
    """Checked class ids ``{name: (batch_size,) int32 array}`` from ``{"style": 2, ...}`` (a scalar or one per row).

    Args:
        conditions: optional dict from condition name to a class id or one id per row.
        condition_sizes: the model's dict from condition name to its number of classes.
        batch_size: int, the number of prompts.
        allow_unknown: bool, accept ``UNKNOWN_ID`` (-1: no conditioning for
            that row), the convention of :mod:`musickit.representations.conditions`.

    Example:

    >>> {name: ids.tolist() for name, ids in condition_ids({"style": 1}, {"style": 3}, batch_size=2).items()}
    {'style': [1, 1]}
    """
    checked = {}
    lowest = UNKNOWN_ID if allow_unknown else 0
    for name, value in (conditions or {}).items():
        if name not in condition_sizes:
            raise UsageError(f"unknown condition {name!r}; this model knows {sorted(condition_sizes) or 'none'}")
        ids = np.broadcast_to(np.asarray(value, "int32").reshape(-1), (batch_size,)).copy()
        if ((ids < lowest) | (ids >= condition_sizes[name])).any():
            raise UsageError(f"condition {name}={value} is outside 0..{condition_sizes[name] - 1}")
        checked[name] = ids
    return checked


def _apply_processors(processors, logits, token_ids, index, end_id, biases):
    """Each processor in order; the ones with a fixed rule add their row of ``biases`` (a loop input)."""
    if not processors:
        return logits
    original = logits
    fixed = 0
    for processor in processors:
        if not processor.fixed_rule:
            logits = processor(logits, token_ids, index)
        else:
            logits = apply_logit_bias(logits, biases[fixed])
            fixed += 1
    # A dynamic rule can still leave a row with nothing (the static check
    # catches only fixed masks); such a row ends instead of sampling NaN.
    stuck = ops.all(logits <= FORBIDDEN_LOGIT / 2, axis=-1, keepdims=True)
    if end_id is None:
        fallback = original
    else:
        is_end = ops.arange(ops.shape(logits)[-1])[None, :] == end_id
        fallback = ops.where(is_end, 0.0, FORBIDDEN_LOGIT)
    return ops.where(stuck, fallback, logits)


def _logit_biases(processors, vocabulary_size):
    """The fixed rules' biases stacked ``(number of fixed rules, vocabulary_size)``, in processor order."""
    rows = [np.asarray(p.logit_bias(vocabulary_size), "float32") for p in processors if p.fixed_rule]
    return np.stack(rows) if rows else np.zeros((0, vocabulary_size), "float32")


def _end_at_limit(logits, index, limit, end_id):
    """``logits`` that leave only ``end_id`` open at positions from ``limit`` on (nothing changes without one)."""
    if end_id is None:
        return logits
    is_end = ops.arange(ops.shape(logits)[-1])[None, :] == end_id
    only_end = ops.where(is_end, 0.0, FORBIDDEN_LOGIT)
    return ops.where(index >= limit, ops.cast(only_end, logits.dtype), logits)


#: Prefill lengths are rounded up to a multiple of this, so prompts of similar
#: length share one compiled function.
PREFILL_BUCKET = 64


def _generate_step(model, sampler, processors, stop_token_ids, use_cache, end_id, prefill_length):
    """The function the backend compiles: ``(token_ids, mask, inputs, limit, biases) -> token_ids``.

    ``model.generation_context(inputs)`` runs once, before the loop (for the
    hierarchical model that is the snippet encoder); every step reads it.
    The prefill runs over the first ``prefill_length`` positions only (the
    shortest prompt, rounded up to a bucket), not over the whole buffer as
    keras_hub's CausalLM does: its attention scores then take
    ``prefill_length x max_length`` memory instead of ``max_length ** 2``, so
    memory grows linearly with the generated length. Positions past the
    shortest prompt are rewritten by the decoding steps anyway; prompt
    tokens past the prefill go through the decoding steps (which keep them).

    ``limit`` (a scalar) is the length the caller asked for: from there on
    every row writes ``end_id``, so a buffer longer than the request (one
    shape for calls of several lengths: one compile) stops where it should.
    ``biases`` holds the fixed rules of ``processors`` (:func:`_logit_biases`):
    as an input, not a constant, so a key mask per prompt needs no new compile.
    """

    def generate_step(token_ids, mask, inputs, limit, biases):
        batch_size, max_length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
        context = {name: value for name, value in model.generation_context(inputs).items() if value is not None}
        step_context = context
        if isinstance(sampler, BeamSampler):
            # The beam sampler repeats each row (and the cache) num_beams times
            # after the prefill; the context of the steps must follow.
            step_context = {name: ops.repeat(value, sampler.num_beams, axis=0) for name, value in context.items()}
        index = ops.min(ops.sum(ops.cast(mask, "int32"), axis=-1))

        if use_cache:
            index = ops.minimum(index, prefill_length)  # the cache holds the prefill, no more
            # Prefill: one pass over the prompt fills every layer's cache up to prefill_length.
            cache = model.empty_cache(batch_size, max_length)
            _, _, cache = model.decode_with_cache(token_ids[:, :prefill_length], cache, 0, context)

            def next(prompt, cache, index):
                rows = ops.shape(prompt)[0]
                last_token = ops.slice(prompt, [0, index - 1], [rows, 1])
                logits, hidden, cache = model.decode_with_cache(last_token, cache, index - 1, step_context)
                logits = _apply_processors(processors, logits[:, 0, :], prompt, index, end_id, biases)
                return _end_at_limit(logits, index, limit, end_id), hidden, cache

        else:
            cache = None

            def next(prompt, cache, index):
                # Full recompute: what a compiled loop without a cache must do each step.
                logits = model.decode(prompt, step_context)
                rows, vocabulary = ops.shape(logits)[0], ops.shape(logits)[2]
                logits = ops.slice(logits, [0, index - 1, 0], [rows, 1, vocabulary])[:, 0, :]
                logits = _apply_processors(processors, logits, prompt, index, end_id, biases)
                return _end_at_limit(logits, index, limit, end_id), None, cache

        return sampler(
            next=next,
            prompt=token_ids,
            cache=cache,
            index=index,
            mask=mask,
            stop_token_ids=stop_token_ids,
            model=model,
        )

    return generate_step


def _copy_variables(sources, targets):
    for source, target in zip(sources, targets):
        target.assign(source.value)


def _compile(model, sampler, step):
    """Compile ``step`` for the active backend (the engine's one compile path), as keras_hub's
    ``CausalLM.make_generate_function``: the model's weights are read, the sampler's seed state is carried."""
    return compile_for_backend(step, jit_compile=True, weights=model, state=sampler.variables)


def generate(
    model,
    prompt_ids,
    max_length,
    sampler="greedy",
    processors=(),
    seed=None,
    conditions=None,
    padding_side="right",
    stop_token_ids="auto",
    use_cache=True,
    **sampler_options,
):
    """Continue each prompt until an end token or ``max_length`` tokens.

    Args:
        model: a :class:`~musickit.models.decoder_base.DecoderLanguageModel`
            whose context is its condition vector, such as
            :class:`~musickit.models.music_transformer.MusicTransformer`.
        prompt_ids: a list of id sequences (lengths may differ), or a 2-D
            array padded with ``model.padding_id`` on ``padding_side``.
        max_length: int, total length (prompt plus generated tokens).
        sampler: a name (``"greedy"``, ``"temperature"``, ``"top_k"``,
            ``"top_p"``, ``"beam"``) or a keras_hub ``Sampler``.
        processors: logits processors from :mod:`musickit.generation.processors`.
        seed: int seed for a sampler given by name.
        conditions: optional dict of condition class ids (a scalar or one per
            prompt), e.g. ``{"style": 2}``.
        padding_side: ``"right"`` or ``"left"``: where an array prompt is padded.
        stop_token_ids: ids that end a sequence; ``"auto"`` uses
            ``model.end_id``; ``None`` always runs to ``max_length``.
        use_cache: bool; ``False`` recomputes the whole sequence every step
            (for checking and benchmarking the cache).
        **sampler_options: ``temperature``, ``top_k``, ``top_p``, ``num_beams``
            for a sampler given by name.

    Returns:
        A list with one list of ids per prompt: the prompt, then the generated
        tokens up to and including the end token.

    Example:

    >>> from musickit.models.music_transformer import MusicTransformer
    >>> model = MusicTransformer.from_preset("tiny", vocabulary_size=30, end_id=1)
    >>> outputs = generate(model, [[2, 3], [4, 5, 6]], max_length=8, sampler="top_k", top_k=5, seed=0)
    >>> [row[:2] for row in outputs]
    [[2, 3], [4, 5]]
    """
    rows = prompt_rows(prompt_ids, int(max_length), model, padding_side)
    inputs = condition_ids(conditions, model.condition_sizes, len(rows))
    return generate_rows(
        model,
        rows,
        max_length,
        inputs,
        sampler=sampler,
        processors=processors,
        seed=seed,
        stop_token_ids=stop_token_ids,
        use_cache=use_cache,
        **sampler_options,
    )


def buffer_bucket(max_length, limit, smallest=256):
    """A token-buffer length for ``generate_rows``: ``max_length`` rounded up to a power of two (at least
    ``smallest``, at most ``limit``, the model's length).

    Calls whose lengths fall in one bucket share one compiled loop, and a short continuation does not pay
    for attending over the model's whole length at every step (a 2048-slot buffer for 163 tokens).

    >>> buffer_bucket(163, 2048), buffer_bucket(900, 2048), buffer_bucket(900, 768 + 200)
    (256, 1024, 968)
    """
    bucket = max(int(smallest), 1 << max(int(max_length) - 1, 0).bit_length())
    return max(int(max_length), min(bucket, int(limit)))


def generate_rows(
    model,
    rows,
    max_length,
    inputs=None,
    sampler="greedy",
    processors=(),
    seed=None,
    stop_token_ids="auto",
    use_cache=True,
    buffer_length=None,
    **sampler_options,
):
    """The decoding loop behind every model's ``generate``: continue checked prompts, return their ids.

    A model's ``generate`` checks what only it takes (condition ids, snippets),
    then hands its prompts and those per-row arrays here; this function
    resolves the sampler, checks the processors, fills the token buffer,
    compiles the loop once per configuration and trims each row at its end
    token. The compiled step computes ``model.generation_context(inputs)``
    once, then calls ``model.decode_with_cache`` (or ``model.decode`` without
    a cache), as :class:`~musickit.models.decoder_base.DecoderLanguageModel` provides.

    Args:
        model: a :class:`~musickit.models.decoder_base.DecoderLanguageModel`.
        rows: prompts from :func:`prompt_rows`.
        max_length: int, total length (prompt plus generated tokens).
        inputs: optional dict of per-row arrays ``model.generation_context`` reads.
        sampler, processors, seed, stop_token_ids, use_cache, **sampler_options:
            as in :func:`generate`.
        buffer_length: optional int >= ``max_length``: the token buffer's length. Calls of different
            ``max_length`` with one ``buffer_length`` (and the same sampler and processors) share one
            compiled function instead of compiling one each: a piece written section by section compiles
            once. Rows end at ``max_length`` all the same (with stop tokens the loop stops there; without,
            it runs on to the buffer's end and the rows are cut).

    Returns:
        One list of ids per row: the prompt, then the generated tokens up to
        and including the end token.

    Example:

    >>> from musickit.models.music_transformer import MusicTransformer
    >>> model = MusicTransformer.from_preset("tiny", vocabulary_size=30, end_id=1)
    >>> rows = prompt_rows([[2, 3]], max_length=6, model=model)
    >>> len(generate_rows(model, rows, max_length=6, stop_token_ids=None)[0])
    6
    """
    max_length = int(max_length)
    if not model.built:
        # Variables must exist before a compiled function traces the model.
        model.build()
    inputs = dict(inputs or {})
    functions = model.__dict__.setdefault("_musickit_generate_functions", {})
    original_sampler = sampler
    if isinstance(sampler, str):
        # A named sampler is built once per setting, so repeated calls reuse
        # its compiled loop; its seed state is reset below for reproducibility.
        named = ("named", sampler, tuple(sorted(sampler_options.items())))
        if named not in functions:
            functions[named] = resolve_sampler(sampler, seed=seed, **sampler_options)
        else:
            resolve_sampler(sampler, **sampler_options)  # still reject bad settings
        sampler = functions[named]
        if seed is not None and getattr(sampler, "seed_generator", None) is not None:
            sampler.seed_generator.state.assign(keras.random.SeedGenerator(seed).state.value)
    else:
        # Samplers of one kind and setting share one compiled loop: the first one is kept, and a later one lends
        # it its seed state for the call and takes the advanced state back, so it samples as it would alone.
        given = resolve_sampler(sampler, **sampler_options)
        setting = {name: value for name, value in given.get_config().items() if name != "seed"}
        kept = model.__dict__.setdefault("_musickit_samplers", {})
        sampler = kept.setdefault((type(given).__name__, json.dumps(setting, sort_keys=True, default=repr)), given)
    processors = list(processors or ())
    combined_allowed_tokens(processors, model.vocabulary_size)
    if stop_token_ids == "auto":
        stop_token_ids = None if model.end_id is None else (model.end_id,)
    stop_token_ids = None if stop_token_ids is None else tuple(int(t) for t in stop_token_ids)
    end_id = stop_token_ids[0] if stop_token_ids else None

    buffer_length = max_length if buffer_length is None else int(buffer_length)
    if not max_length <= buffer_length <= model.max_sequence_length:
        raise UsageError(
            f"buffer_length {buffer_length} must lie between max_length {max_length} and the model's "
            f"max_sequence_length {model.max_sequence_length}"
        )
    # Right-padded buffer; the mask marks prompt tokens the sampler must keep.
    token_ids = np.full((len(rows), buffer_length), model.padding_id, "int32")
    mask = np.zeros((len(rows), buffer_length), bool)
    for number, row in enumerate(rows):
        token_ids[number, : len(row)] = row
        mask[number, : len(row)] = True

    shortest = min(len(row) for row in rows)
    # One prefill length for a fixed buffer (longer prompts go on through the decoding steps), else the
    # shortest prompt's bucket.
    bucket = PREFILL_BUCKET if buffer_length > max_length else -(-shortest // PREFILL_BUCKET) * PREFILL_BUCKET
    prefill_length = min(bucket, buffer_length)
    key = (
        id(sampler),
        tuple(processor.compile_key() for processor in processors),
        stop_token_ids,
        use_cache,
        tuple(sorted(inputs)),
        prefill_length if use_cache else None,
    )
    if key not in functions:
        step = _generate_step(model, sampler, processors, stop_token_ids, use_cache, end_id, prefill_length)
        # Keep the sampler alive with the function, so its id in the key stays unique.
        functions[key] = (_compile(model, sampler, step), sampler)
    function = functions[key][0]
    tensors = {name: ops.convert_to_tensor(value) for name, value in inputs.items()}
    limit = ops.convert_to_tensor(np.int32(max_length))
    biases = ops.convert_to_tensor(_logit_biases(processors, model.vocabulary_size))
    lent = not isinstance(original_sampler, str) and original_sampler is not sampler
    if lent:
        _copy_variables(original_sampler.variables, sampler.variables)
    outputs = ops.convert_to_numpy(
        function(ops.convert_to_tensor(token_ids), ops.convert_to_tensor(mask), tensors, limit, biases)
    )
    if lent:
        _copy_variables(sampler.variables, original_sampler.variables)

    results = []
    for number, row in enumerate(rows):
        generated = outputs[number].tolist()
        end = max_length
        if stop_token_ids:
            for position in range(len(row), max_length):
                if generated[position] in stop_token_ids:
                    end = position + 1
                    break
        results.append(generated[:end])
    return results
