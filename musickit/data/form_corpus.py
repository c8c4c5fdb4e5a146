"""A corpus of pieces in known forms, one group per style, split by content group of the source pieces.

What the hierarchical model and its baselines train and are judged on: the
real pieces of a source (``"bach"``, or several styles such as
``"bach,essen"``) are split into training and held-out pieces first by
:func:`~musickit.data.pieces.load_pieces` (the valid and test splits of the
one split policy together: by content group, so a piece and its
transpositions or duplicates are on one side), so no phrase of a held-out
piece is ever seen in training; each
side is then assembled into synthetic pieces of the requested forms
(:func:`musickit.data.form_synthesis.synthesize_corpus`), style by style, so
every piece is one style and every style has every form.

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> corpus = build_form_corpus("bach,essen", REMITokenizer(), max_files=8, forms=("AB",),
...                            pieces_per_form=2)  # doctest: +SKIP
>>> corpus.styles, len(corpus.train), corpus.train.metadata[0]["form"]  # doctest: +SKIP
(['bach', 'essen'], 4, 'AB')
"""

import dataclasses
import logging

from musickit.data.dataset import EncodedSplit
from musickit.data.form_synthesis import FORMS, synthesize_corpus
from musickit.data.pieces import load_pieces
from musickit.data.sections import encode_sectioned
from musickit.errors import UsageError

logger = logging.getLogger("musickit.data")


@dataclasses.dataclass
class FormCorpus:
    """Encoded training and held-out pieces (:class:`EncodedSplit`), the held-out scores and the styles."""

    train: EncodedSplit
    valid: EncodedSplit
    valid_scores: list
    styles: list[str]


def build_form_corpus(
    source,
    tokenizer,
    max_files=None,
    forms=FORMS,
    pieces_per_form=8,
    valid_pieces_per_form=1,
    bars_per_section=4,
    seed=0,
):
    """Read ``source``, split its pieces, and assemble each split into pieces of ``forms``, per style.

    Args:
        source: a data-source string (see :mod:`musickit.data.sources`).
        seed: the seed of the split (:func:`musickit.data.pieces.load_pieces`) and of the synthesis.
        tokenizer: a :class:`~musickit.representations.remi.REMITokenizer`.
        max_files: pieces read per source (each part of ``"bach,essen"``).
        pieces_per_form: training pieces of each form and style.
        valid_pieces_per_form: held-out pieces of each form and style.
    """
    pieces = load_pieces(source, seed=seed, max_files=max_files)
    by_style, skipped = {}, 0
    # valid and test are both held out
    for side, chosen in (("train", pieces.train), ("valid", pieces.held_out)):
        for piece in chosen:
            try:
                tokenizer.encode(piece.score)
            except Exception as error:  # noqa: BLE001 - one odd score (a 4/1 metre, ...) must not stop a corpus
                logger.warning("skipped %s: could not encode it (%s)", piece.name, error)
                skipped += 1
                continue
            style = piece.score.metadata.get("style") or "unknown"
            by_style.setdefault(style, {"train": [], "valid": []})[side].append(piece.score)
    if skipped:
        total = len(pieces.train) + len(pieces.held_out)
        logger.warning(
            "%s: kept %d of %d pieces, skipped %d the tokenizer cannot encode", source, total - skipped, total, skipped
        )
    train, valid = [], []
    for offset, (style, scores) in enumerate(sorted(by_style.items())):
        if not scores["train"] or not scores["valid"]:
            raise UsageError(
                f"{source}: too few {style} pieces to hold some out ({sum(map(len, scores.values()))}); "
                f"read more files (--max-files)"
            )
        train += synthesize_corpus(
            scores["train"], forms, pieces_per_form, bars_per_section, style=style, seed=seed + 2 * offset
        )
        valid += synthesize_corpus(
            scores["valid"], forms, valid_pieces_per_form, bars_per_section, style=style, seed=seed + 2 * offset + 1
        )
    return FormCorpus(encode_sectioned(train, tokenizer), encode_sectioned(valid, tokenizer), valid, sorted(by_style))
