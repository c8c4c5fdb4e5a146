"""Cached generation for the hierarchical transformer, on the shared engine.

:mod:`musickit.generation.cached_decoding` owns the decoding machinery:
prompt checks, keras_hub samplers and their ``ops.while_loop``, logits
processors, the prefill bucket and per-backend compilation. A decoder-only
model's conditions are one class id per row; the hierarchical model also
reads snippet memories, so this module supplies only the step function that
differs: it encodes the snippets **once** (before the loop, inside the
compiled function), then prefills the self-attention cache and runs
one-token steps that read the memories through cross-attention.
"""

import keras
import numpy as np
from keras import ops
from keras_hub.samplers import BeamSampler

from musickit.errors import UsageError
from musickit.generation.cached_decoding import (
    PREFILL_BUCKET,
    _apply_processors,
    _as_rows,
    _check_prompts,
    _compile,
)
from musickit.generation.processors import combined_allowed_tokens
from musickit.generation.samplers import resolve_sampler


def _step_function(model, sampler, processors, stop_token_ids, use_cache, end_id, prefill_length):
    def generate_step(token_ids, mask, inputs):
        batch_size, max_length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
        context = model.context(inputs)  # the snippet encoder runs here, once per call
        context = {name: value for name, value in context.items() if value is not None}
        step_context = context
        if isinstance(sampler, BeamSampler):
            # The beam sampler repeats rows (and the cache) after the prefill; the context follows.
            step_context = {name: ops.repeat(value, sampler.num_beams, axis=0) for name, value in context.items()}
        index = ops.min(ops.sum(ops.cast(mask, "int32"), axis=-1))
        if use_cache:
            cache = model.empty_cache(batch_size, max_length)
            _, _, cache = model.call_with_cache(token_ids[:, :prefill_length], cache, 0, context=context)

            def next(prompt, cache, index):
                rows = ops.shape(prompt)[0]
                last_token = ops.slice(prompt, [0, index - 1], [rows, 1])
                logits, hidden, cache = model.call_with_cache(last_token, cache, index - 1, context=step_context)
                return _apply_processors(processors, logits[:, 0, :], prompt, index, end_id), hidden, cache

        else:
            cache = None

            def next(prompt, cache, index):
                logits = model.decode(prompt, step_context)  # full recompute, for checking the cache
                rows, vocabulary = ops.shape(logits)[0], ops.shape(logits)[2]
                logits = ops.slice(logits, [0, index - 1, 0], [rows, 1, vocabulary])[:, 0, :]
                return _apply_processors(processors, logits, prompt, index, end_id), None, cache

        return sampler(next=next, prompt=token_ids, cache=cache, index=index, mask=mask,
                       stop_token_ids=stop_token_ids, model=model)  # fmt: skip

    return generate_step


def generate(model, prompt_ids, max_length, snippets=None, conditions=None, sampler="greedy", processors=(),
             seed=None, stop_token_ids="auto", use_cache=True, **sampler_options):  # fmt: skip
    """Continue each prompt, reading the memories of ``snippets``.

    Args:
        model: a :class:`~musickit.models.hierarchical.HierarchicalTransformer`.
        prompt_ids: list of id sequences (e.g. ``[STYLE_bach, SECTION_A, Bar]``).
        max_length: total length, prompt included.
        snippets: ``{"A": ids, "B": ids, ...}`` shared by all prompts, or a dict
            of arrays as :meth:`~musickit.models.hierarchical.HierarchicalTransformer.snippet_inputs` returns.
        conditions: ``{"style": class id, ...}`` (a scalar or one per prompt).
        sampler, processors, seed, stop_token_ids, use_cache, **sampler_options:
            as in :func:`musickit.generation.cached_decoding.generate`.

    Returns:
        One list of ids per prompt, up to and including the end token.
    """
    max_length = int(max_length)
    if not model.built:
        model.build()
    rows = _as_rows(prompt_ids, "right", model.padding_id)
    _check_prompts(rows, max_length, model)
    if not snippets:
        raise UsageError("the hierarchical model needs at least one snippet, e.g. snippets={'A': ids}")
    if "snippet_ids" in snippets:
        inputs = {name: np.asarray(value) for name, value in snippets.items()}
        if len(inputs["snippet_ids"]) != len(rows):
            raise UsageError(f"{len(inputs['snippet_ids'])} snippet rows for {len(rows)} prompts")
    else:
        inputs = model.snippet_inputs(snippets, batch_size=len(rows))
    for name, value in (conditions or {}).items():
        if name not in model.condition_sizes:
            raise UsageError(f"unknown condition {name!r}; this model knows {sorted(model.condition_sizes) or 'none'}")
        ids = np.broadcast_to(np.asarray(value, "int32").reshape(-1), (len(rows),)).copy()
        if ((ids < -1) | (ids >= model.condition_sizes[name])).any():
            raise UsageError(f"condition {name}={value} is outside 0..{model.condition_sizes[name] - 1}")
        inputs[f"{name}_id"] = ids
    functions = model.__dict__.setdefault("_musickit_generate_functions", {})
    if isinstance(sampler, str):
        named = ("named", sampler, tuple(sorted(sampler_options.items())))
        if named not in functions:
            functions[named] = resolve_sampler(sampler, seed=seed, **sampler_options)
        sampler = functions[named]
        if seed is not None and getattr(sampler, "seed_generator", None) is not None:
            sampler.seed_generator.state.assign(keras.random.SeedGenerator(seed).state.value)
    else:
        sampler = resolve_sampler(sampler, **sampler_options)
    processors = list(processors or ())
    combined_allowed_tokens(processors, model.vocabulary_size)
    if stop_token_ids == "auto":
        stop_token_ids = None if model.end_id is None else (model.end_id,)
    stop_token_ids = None if stop_token_ids is None else tuple(int(t) for t in stop_token_ids)
    end_id = stop_token_ids[0] if stop_token_ids else None

    token_ids = np.full((len(rows), max_length), model.padding_id, "int32")
    mask = np.zeros((len(rows), max_length), bool)
    for number, row in enumerate(rows):
        token_ids[number, : len(row)] = row
        mask[number, : len(row)] = True
    shortest = min(len(row) for row in rows)
    prefill_length = min(-(-shortest // PREFILL_BUCKET) * PREFILL_BUCKET, max_length)
    key = ("hierarchical", id(sampler), tuple(id(p) for p in processors), stop_token_ids, use_cache,
           tuple(sorted(inputs)), prefill_length if use_cache else None)  # fmt: skip
    if key not in functions:
        step = _step_function(model, sampler, processors, stop_token_ids, use_cache, end_id, prefill_length)
        functions[key] = (_compile(model, sampler, step), sampler, processors)
    function = functions[key][0]
    tensors = {name: ops.convert_to_tensor(value) for name, value in inputs.items()}
    outputs = ops.convert_to_numpy(function(ops.convert_to_tensor(token_ids), ops.convert_to_tensor(mask), tensors))
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


def generate_in_form(model, tokenizer, form, snippets, tokens_per_section, style=None, conditions=None,
                     sampler="greedy", processors=(), seed=None, **sampler_options):  # fmt: skip
    """Write one piece in ``form`` (e.g. ``"ABA"``), section by section; return its token ids.

    Each section begins with its ``SECTION_<X>`` token, placed by this
    function so the piece follows the requested form exactly; the model then
    writes up to ``tokens_per_section`` tokens, stopping early if it opens a
    section or ends the piece itself. REMI decodes each section token to a
    marker at the start of the next bar, so sections start on bar lines.

    Example:

    >>> from musickit.models.hierarchical import HierarchicalTransformer
    >>> from musickit.representations.remi import REMITokenizer
    >>> tokenizer = REMITokenizer()
    >>> model = HierarchicalTransformer.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size, snippet_length=8)
    >>> ids = generate_in_form(model, tokenizer, "ABA", {"A": [20, 21], "B": [22]}, tokens_per_section=4)
    >>> [tokenizer.id_to_token(i) for i in ids if tokenizer.token_type(i) == "SECTION"]
    ['SECTION_A', 'SECTION_B', 'SECTION_A']
    """
    from musickit.data.form_synthesis import form_letters

    form = str(form).strip().upper()
    missing = [letter for letter in form_letters(form) if letter not in snippets]
    if missing:
        raise UsageError(f"form {form} needs a snippet for section(s) {', '.join(missing)}; pass --snippet X=file.mid")
    section_ids = [tokenizer.section_token_id(letter) for letter in "ABCD"]
    stops = tuple(section_ids) + ((model.end_id,) if model.end_id is not None else ())
    ids = [tokenizer.style_token_id(style)] if style and style in getattr(tokenizer, "styles", ()) else []
    for letter in form:
        ids.append(tokenizer.section_token_id(letter))
        if len(ids) + 1 >= model.max_sequence_length:
            break
        max_length = min(len(ids) + int(tokens_per_section), model.max_sequence_length)
        output = generate(model, [ids], max_length, snippets=snippets, conditions=conditions, sampler=sampler,
                          processors=processors, seed=seed, stop_token_ids=stops, **sampler_options)[0]  # fmt: skip
        if output[-1] in stops and len(output) > len(ids):
            output = output[:-1]  # the form, not the model, decides where the next section starts
        ids = output
    return ids
