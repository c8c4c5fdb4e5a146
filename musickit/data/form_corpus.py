"""A corpus of pieces in known forms, one group per style, split by source piece.

What the hierarchical model and its baselines train and are judged on: the
real pieces of a source (``"bach"``, or several styles such as
``"bach,essen"``) are split into training and held-out pieces first (70/30 by
name: the valid and test splits of :func:`~musickit.data.splits.assign_splits`
together), so no phrase of a held-out piece is ever seen in training; each
side is then assembled into synthetic pieces of the requested forms
(:func:`musickit.data.form_synthesis.synthesize_corpus`), style by style, so
every piece is one style and every style has every form.

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> corpus = build_form_corpus("bach,essen", REMITokenizer(), max_files=8, forms=("AB",), pieces_per_form=2)  # doctest: +SKIP
>>> corpus.styles, len(corpus.train), corpus.train.metadata[0]["form"]  # doctest: +SKIP
(['bach', 'essen'], 4, 'AB')
"""

import dataclasses
import logging
from typing import List

from musickit.data.dataset import EncodedSplit
from musickit.data.form_synthesis import FORMS, synthesize_corpus
from musickit.data.sections import encode_sectioned
from musickit.data.sources import read_scores
from musickit.data.splits import assign_splits
from musickit.errors import UsageError

logger = logging.getLogger("musickit.data")


@dataclasses.dataclass
class FormCorpus:
    """Encoded training and held-out pieces (:class:`EncodedSplit`), the held-out scores and the styles."""

    train: EncodedSplit
    valid: EncodedSplit
    valid_scores: List
    styles: List[str]


def build_form_corpus(source, tokenizer, max_files=None, forms=FORMS, pieces_per_form=8, valid_pieces_per_form=1,
                      bars_per_section=4, seed=0):  # fmt: skip
    """Read ``source``, split its pieces, and assemble each split into pieces of ``forms``, per style.

    Args:
        source: a data-source string (see :mod:`musickit.data.sources`).
        tokenizer: a :class:`~musickit.representations.remi.REMITokenizer`.
        max_files: pieces read per source (each part of ``"bach,essen"``).
        pieces_per_form: training pieces of each form and style.
        valid_pieces_per_form: held-out pieces of each form and style.
    """
    collection = read_scores(source, max_files=max_files)
    assignment = assign_splits([piece.name for piece in collection.pieces], seed=seed)
    by_style, skipped = {}, 0
    for piece in collection.pieces:
        try:
            tokenizer.encode(piece.score)
        except Exception as error:  # noqa: BLE001 - one odd score (a 4/1 metre, ...) must not stop a corpus
            logger.warning("skipped %s: could not encode it (%s)", piece.name, error)
            skipped += 1
            continue
        style = piece.score.metadata.get("style") or "unknown"
        side = "train" if assignment[piece.name] == "train" else "valid"  # valid and test are both held out
        by_style.setdefault(style, {"train": [], "valid": []})[side].append(piece.score)
    if skipped:
        logger.warning("%s: kept %d of %d pieces, skipped %d the tokenizer cannot encode", source,
                       len(collection.pieces) - skipped, len(collection.pieces), skipped)  # fmt: skip
    train, valid = [], []
    for offset, (style, scores) in enumerate(sorted(by_style.items())):
        if not scores["train"] or not scores["valid"]:
            raise UsageError(f"{source}: too few {style} pieces to hold some out ({sum(map(len, scores.values()))}); "
                             f"read more files (--max-files)")  # fmt: skip
        train += synthesize_corpus(scores["train"], forms, pieces_per_form, bars_per_section, style=style,
                                   seed=seed + 2 * offset)  # fmt: skip
        valid += synthesize_corpus(scores["valid"], forms, valid_pieces_per_form, bars_per_section, style=style,
                                   seed=seed + 2 * offset + 1)  # fmt: skip
    return FormCorpus(encode_sectioned(train, tokenizer), encode_sectioned(valid, tokenizer), valid, sorted(by_style))
