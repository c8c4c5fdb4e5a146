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
from musickit.errors import UsageError
from musickit.music.score import SECTION_LETTERS

#: What a returning section is: written anew (``"none"``), its first statement again (``"copy"``), or written
#: anew with its first statement as the context (``"recall"``); see :func:`write_in_form`.
REPRISES = ("none", "copy", "recall")


def write_in_form(
    continue_piece,
    tokenizer,
    form,
    tokens_per_section,
    max_tokens,
    style=None,
    end_id=None,
    bars_per_section=None,
    reprise="none",
):
    """The token ids of one piece in ``form`` (e.g. ``"ABA"``); see the module docstring.

    Args:
        continue_piece: ``(ids, max_length, stop_token_ids) -> ids`` extending a list of ids.
        tokenizer: a REMI tokenizer (``section_token_id``, ``style_token_id``, ``styles``).
        form: the section letters in order.
        tokens_per_section: most tokens the model writes per section.
        max_tokens: longest piece (the model's context); later sections are dropped.
        style: a style name the tokenizer knows; its ``STYLE`` token opens the piece.
        end_id: the model's end-of-piece id, which also stops a section.
        bars_per_section: optional int: every section opens with a ``Bar`` (as in the training pieces) and
            keeps whole bars only, at most this many: what the model writes past them is cut, and so is a
            last bar the token limit cut short (when a whole bar stays before it).
        reprise: ``"none"``: the model writes every section; ``"copy"``: a returning section repeats the
            tokens of its first statement (``ABA`` plays A, B, A again, as the synthetic training pieces do);
            ``"recall"``: the model writes a returning section itself, with the piece's opening tokens (its
            style) and the section's first statement, not the sections between, as its context (what a
            model trained on the hierarchical family's ``recall_sequences`` learned to continue).

    >>> from musickit.representations.remi import REMITokenizer
    >>> tokenizer = REMITokenizer()
    >>> bar, pitch = tokenizer.token_to_id("Bar"), tokenizer.token_to_id("Pitch_60")
    >>> def continue_piece(ids, max_length, stop_token_ids):  # writes bars of one token until the limit
    ...     return (list(ids) + [pitch, bar] * 10)[:max_length]
    >>> ids = write_in_form(continue_piece, tokenizer, "ABA", 6, 100, bars_per_section=2, reprise="copy")
    >>> [tokenizer.id_to_token(i) for i in ids][:6]
    ['SECTION_A', 'Bar', 'Pitch_60', 'Bar', 'Pitch_60', 'SECTION_B']
    >>> ids[:5] == ids[-5:]  # the returning A is the first A
    True
    """
    form = str(form).strip().upper()
    form_letters(form)
    if reprise not in REPRISES:
        raise UsageError(f"reprise {reprise!r}: use 'none', 'copy' or 'recall'")
    stops = tuple(tokenizer.section_token_id(letter) for letter in SECTION_LETTERS) + (
        (end_id,) if end_id is not None else ()
    )
    bar = getattr(tokenizer, "bar_id", None) if bars_per_section else None
    ids = [tokenizer.style_token_id(style)] if style and style in getattr(tokenizer, "styles", ()) else []
    opening_length = len(ids)
    statements = {}  # each letter's first statement
    for letter in form:
        if reprise == "copy" and letter in statements:
            if len(ids) + len(statements[letter]) > max_tokens:
                break
            ids = ids + statements[letter]
            continue
        opening = [tokenizer.section_token_id(letter)] + ([bar] if bar is not None else [])
        if len(ids) + len(opening) + 1 > max_tokens:
            break  # no room for a section token and one token of music: later sections are dropped
        context = ids
        if reprise == "recall" and letter in statements:
            context = ids[:opening_length] + statements[letter]
        start = len(context)
        budget = min(int(tokens_per_section), max_tokens - len(ids) - len(opening))
        context = context + opening
        limit = len(context) + budget
        output = list(continue_piece(context, limit, stops))
        stopped = output[-1] in stops and len(output) > len(context)
        if stopped:
            output = output[:-1]  # the form, not the model, decides where the next section starts
        if bar is not None:
            output = whole_bars(
                output, start, bar, int(bars_per_section), cut_last=not stopped and len(output) >= limit
            )
        statements.setdefault(letter, output[start:])
        ids = ids + output[start:]
    return ids


def whole_bars(ids, start, bar_id, most_bars, cut_last):
    """``ids`` with the section from ``start`` cut to its first ``most_bars`` bars, and its last bar dropped
    when ``cut_last`` (it was cut short) and a whole bar stays before it.

    >>> whole_bars([9, 1, 5, 1, 5, 1, 5], start=0, bar_id=1, most_bars=2, cut_last=False)
    [9, 1, 5, 1, 5]
    >>> whole_bars([9, 1, 5, 1, 5], start=0, bar_id=1, most_bars=4, cut_last=True)
    [9, 1, 5]
    """
    bars = [index for index in range(start, len(ids)) if ids[index] == bar_id]
    if len(bars) > most_bars:
        return ids[: bars[most_bars]]
    if cut_last and len(bars) >= 2:
        return ids[: bars[-1]]
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
