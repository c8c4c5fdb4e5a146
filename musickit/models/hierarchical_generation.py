"""Cached generation for the hierarchical transformer, on the shared engine.

:mod:`musickit.generation.cached_decoding` owns the decoding machinery:
prompt and condition checks, keras_hub samplers and their ``ops.while_loop``,
logits processors, the prefill bucket and per-backend compilation. A
decoder-only model's conditions are one class id per row; the hierarchical
model also reads snippet memories, so this module only checks the snippets
and hands them on: the model's ``generation_context`` encodes them **once**
(before the loop, inside the compiled function), and every one-token step
reads the memories through cross-attention.
"""

import numpy as np

from musickit.errors import UsageError
from musickit.generation.cached_decoding import condition_ids, generate_rows, prompt_rows


def generate(model, prompt_ids, max_length, snippets=None, conditions=None, sampler="greedy", processors=(),
             seed=None, stop_token_ids="auto", use_cache=True, **sampler_options):  # fmt: skip
    """Continue each prompt, reading the memories of ``snippets``.

    Args:
        model: a :class:`~musickit.models.hierarchical.HierarchicalTransformer`.
        prompt_ids: list of id sequences (e.g. ``[STYLE_bach, SECTION_A, Bar]``).
        max_length: total length, prompt included.
        snippets: ``{"A": ids, "B": ids, ...}`` shared by all prompts, or a dict
            of arrays as :meth:`~musickit.models.hierarchical.HierarchicalTransformer.snippet_inputs` returns.
        conditions: ``{"style": class id, ...}`` (a scalar or one per prompt; -1: unknown).
        sampler, processors, seed, stop_token_ids, use_cache, **sampler_options:
            as in :func:`musickit.generation.cached_decoding.generate` (beam
            search included: the memories follow each row's beams).

    Returns:
        One list of ids per prompt, up to and including the end token.
    """
    rows = prompt_rows(prompt_ids, int(max_length), model)
    if not snippets:
        raise UsageError("the hierarchical model needs at least one snippet, e.g. snippets={'A': ids}")
    if "snippet_ids" in snippets:
        inputs = {name: np.asarray(value) for name, value in snippets.items()}
        if len(inputs["snippet_ids"]) != len(rows):
            raise UsageError(f"{len(inputs['snippet_ids'])} snippet rows for {len(rows)} prompts")
    else:
        inputs = model.snippet_inputs(snippets, batch_size=len(rows))
    checked = condition_ids(conditions, model.condition_sizes, len(rows), allow_unknown=True)
    inputs.update({f"{name}_id": ids for name, ids in checked.items()})
    return generate_rows(model, rows, max_length, inputs, sampler=sampler, processors=processors, seed=seed,
                         stop_token_ids=stop_token_ids, use_cache=use_cache, **sampler_options)  # fmt: skip


def generate_in_form(model, tokenizer, form, snippets, tokens_per_section, style=None, conditions=None,
                     sampler="greedy", processors=(), seed=None, **sampler_options):  # fmt: skip
    """Write one piece in ``form`` (e.g. ``"ABA"``), section by section; return its token ids.

    The section tokens are placed by :func:`musickit.generation.form_writing.write_in_form`,
    so the piece follows the requested form exactly; the model writes up to
    ``tokens_per_section`` tokens of each section, reading every snippet
    through cross-attention.

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
    from musickit.generation.form_writing import write_in_form

    form = str(form).strip().upper()
    missing = [letter for letter in form_letters(form) if letter not in snippets]
    if missing:
        raise UsageError(f"form {form} needs a snippet for section(s) {', '.join(missing)}; pass --snippet X=file.mid")

    def continue_piece(ids, max_length, stop_token_ids):
        return generate(model, [ids], max_length, snippets=snippets, conditions=conditions, sampler=sampler,
                        processors=processors, seed=seed, stop_token_ids=stop_token_ids, **sampler_options)[0]  # fmt: skip

    return write_in_form(continue_piece, tokenizer, form, tokens_per_section, model.max_sequence_length, style=style,
                         end_id=model.end_id)  # fmt: skip
