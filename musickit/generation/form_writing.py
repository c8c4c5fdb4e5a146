"""Write a piece in a requested form, section by section, with any token model.

The form, not the model, decides where sections start: :func:`write_in_form`
places each ``SECTION_<X>`` token itself and lets the model write up to
``tokens_per_section`` tokens after it, stopping early when the model opens a
section or ends the piece on its own. REMI decodes each section token to a
marker at the next bar line, so the MIDI carries the form as markers.

The model is reached through one callable, ``continue_piece(ids, max_length,
stop_token_ids) -> ids``, so the same loop serves the hierarchical model
(snippets read through cross-attention, see
:func:`musickit.families.hierarchical_transformer.generation.generate_in_form`) and the
decoder-only baseline (snippets in its prompt, see :func:`prompted_continuation`).

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> tokenizer = REMITokenizer()
>>> def continue_piece(ids, max_length, stop_token_ids):  # a "model" that writes one bar line per call
...     return ids + [tokenizer.token_to_id("Bar")]
>>> ids = write_in_form(continue_piece, tokenizer, "ABA", tokens_per_section=4, max_tokens=100)
>>> [tokenizer.id_to_token(i) for i in ids]
['SECTION_A', 'Bar', 'SECTION_B', 'Bar', 'SECTION_A', 'Bar']
"""

from musickit.data.form_synthesis import form_letters
from musickit.music.score import SECTION_LETTERS


def write_in_form(continue_piece, tokenizer, form, tokens_per_section, max_tokens, style=None, end_id=None):
    """The token ids of one piece in ``form`` (e.g. ``"ABA"``); see the module docstring.

    Args:
        continue_piece: ``(ids, max_length, stop_token_ids) -> ids`` extending a list of ids.
        tokenizer: a REMI tokenizer (``section_token_id``, ``style_token_id``, ``styles``).
        form: the section letters in order.
        tokens_per_section: most tokens the model writes per section.
        max_tokens: longest piece (the model's context); later sections are dropped.
        style: a style name the tokenizer knows; its ``STYLE`` token opens the piece.
        end_id: the model's end-of-piece id, which also stops a section.
    """
    form = str(form).strip().upper()
    form_letters(form)
    stops = tuple(tokenizer.section_token_id(letter) for letter in SECTION_LETTERS) + (
        (end_id,) if end_id is not None else ()
    )
    ids = [tokenizer.style_token_id(style)] if style and style in getattr(tokenizer, "styles", ()) else []
    for letter in form:
        if len(ids) + 2 > max_tokens:
            break  # no room for a section token and one token of music: later sections are dropped
        ids.append(tokenizer.section_token_id(letter))
        output = list(continue_piece(ids, min(len(ids) + int(tokens_per_section), max_tokens), stops))
        if output[-1] in stops and len(output) > len(ids):
            output = output[:-1]  # the form, not the model, decides where the next section starts
        ids = output
    return ids


def prompted_continuation(model, prompt, **generate_options):
    """``continue_piece`` for a decoder-only model whose prompt (e.g. the snippets) precedes the piece.

    ``model.generate`` sees ``prompt + ids``; the piece's ids come back
    without the prompt. ``generate_options`` go to ``model.generate``
    (``sampler``, ``processors``, ``seed``, ``conditions``...).
    """
    prompt = [int(token) for token in prompt]

    def continue_piece(ids, max_length, stop_token_ids):
        output = model.generate(
            [prompt + list(ids)], len(prompt) + max_length, stop_token_ids=stop_token_ids, **generate_options
        )[0]
        return [int(token) for token in output[len(prompt) :]]

    return continue_piece
