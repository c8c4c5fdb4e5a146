"""A heuristic preference scorer: which of two generated continuations is the better music, by the metrics.

DPO alignment (:mod:`musickit.losses.preference`) needs a chosen and a
rejected continuation per prompt; without human labels, this scorer ranks the
samples. It adds one reward and subtracts six penalties, each a metric from
:mod:`musickit.metrics` on the continuation's :class:`~musickit.music.Score`,
and reports every component, so a benchmark can say which one alignment moved:

==============  =======================================================  ======
component       value                                                     sign
==============  =======================================================  ======
``in_scale``    share of notes in the piece's estimated key's scale       \\+
                (:func:`~musickit.metrics.pitch.in_scale_ratio`)
``repetition``  repeated-bar ratio above ``repetition_allowance``         \\-
                (:func:`~musickit.metrics.repetition.repeated_bar_ratio`;
                chorales repeat some phrases, so a little is free)
``loop``        1 - distinct-4 ratio of the piece's own note n-grams      \\-
                (:func:`~musickit.metrics.diversity.distinct_ngram_ratio`
                over :func:`~musickit.metrics.diversity.score_tokens`):
                a model stuck in a loop repeats 4-note figures
``density``     distance of the note density (notes per 16th step) from  \\-
                ``density_range``, over the range's width, capped at 1
``polyphony``   the same for the mean number of sounding keys             \\-
                (:func:`~musickit.metrics.texture.polyphony`)
``clashes``     share of sounding time with a minor second or ninth       \\-
                (:func:`~musickit.metrics.features.semitone_clash_fraction`)
``grammar``     1 - share of token transitions the tokenizer's grammar    \\-
                allows (:func:`grammar_validity`); only when token ids and
                a grammar are given
==============  =======================================================  ======

``total = sum(weight * signed value)``. A component that does not exist for
a piece (an empty continuation has no scale) takes its worst value (0
reward, penalty 1), so an empty piece always loses. Ranges default to the
Bach chorales' usual values; :meth:`ScorerSettings.fitted_to_corpus` takes
them from the training pieces instead (their 10th to 90th percentiles).

Example:

>>> from musickit.music.score import Note, Score
>>> notes = [Note(pitch, 90, 0.5 * index, 0.5 * index + 0.5) for index, pitch in enumerate([60, 62, 64, 65])]
>>> result = score_piece(Score(notes=notes), ScorerSettings(density_range=(0.2, 0.3), polyphony_range=(1, 2)))
>>> result.components["in_scale"], result.components["density"], result.total
(1.0, 0.0, 1.0)
"""

import dataclasses
import math

import numpy as np

from musickit.metrics.diversity import distinct_ngram_ratio, score_tokens
from musickit.metrics.features import semitone_clash_fraction
from musickit.metrics.pitch import in_scale_ratio
from musickit.metrics.repetition import repeated_bar_ratio
from musickit.metrics.texture import note_density, polyphony
from musickit.representations.grammar import OTHER

COMPONENTS = ("in_scale", "repetition", "loop", "density", "polyphony", "clashes", "grammar")
#: +1 for a reward, -1 for a penalty.
SIGNS = {"in_scale": 1.0, "repetition": -1.0, "loop": -1.0, "density": -1.0, "polyphony": -1.0, "clashes": -1.0}
SIGNS["grammar"] = -1.0


@dataclasses.dataclass(frozen=True)
class ScorerSettings:
    """The scorer's ranges, allowance and weights (see the module docstring)."""

    density_range: tuple = (0.5, 1.5)  # notes per 16th step; four-voice chorales in quarters are about 1
    polyphony_range: tuple = (3.0, 4.0)  # mean sounding keys
    repetition_allowance: float = 0.25
    loop_ngram: int = 4
    weights: dict = dataclasses.field(
        default_factory=lambda: {
            "in_scale": 1.0,
            "repetition": 1.0,
            "loop": 1.0,
            "density": 1.0,
            "polyphony": 1.0,
            "clashes": 2.0,
            "grammar": 2.0,
        }
    )

    def fitted_to_corpus(self, scores, low=10, high=90):
        """These settings with the density and polyphony ranges of ``scores`` (their percentiles ``low``-``high``).

        >>> from musickit.music.score import Note, Score
        >>> pieces = [Score(notes=[Note(60, 90, 0.0, 0.5 * n)]) for n in (1, 2)]  # 1 note over 4 or 8 steps
        >>> ScorerSettings().fitted_to_corpus(pieces, low=0, high=100).density_range
        (0.125, 0.25)
        """
        densities = _finite([note_density(score) for score in scores])
        polyphonies = _finite([polyphony(score) for score in scores])
        changes = {}
        if densities:
            changes["density_range"] = (float(np.percentile(densities, low)), float(np.percentile(densities, high)))
        if polyphonies:
            changes["polyphony_range"] = (
                float(np.percentile(polyphonies, low)),
                float(np.percentile(polyphonies, high)),
            )
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass
class PieceScore:
    """One piece's ``total`` and its ``components`` (the values before weights and signs)."""

    total: float
    components: dict

    def as_dict(self):
        return {"total": self.total, **self.components}


def grammar_validity(token_ids, grammar):
    """Share of adjacent token pairs in ``token_ids`` whose order ``grammar.follows`` allows (1.0 when unordered).

    ``grammar`` is a tokenizer's :class:`~musickit.representations.grammar.TokenGrammar`;
    ids past its vocabulary count as ``"other"``.

    >>> from musickit.representations.grammar import TokenGrammar
    >>> grammar = TokenGrammar(["other", "pitch", "duration"], [-1, 60, 4], {}, follows={"other": ("pitch",),
    ...     "pitch": ("duration",), "duration": ("pitch", "other")})
    >>> grammar_validity([1, 2, 1, 1, 2], grammar)  # pitch pitch is not allowed: 3 of 4
    0.75
    """
    ids = [int(token) for token in token_ids]
    if grammar is None or grammar.follows is None or len(ids) < 2:
        return 1.0
    # Kinds outside the order (style, section, special tokens) are "other" to it, as to the sampling rules.
    kinds = [grammar.kinds[token] if 0 <= token < len(grammar.kinds) else OTHER for token in ids]
    kinds = [kind if kind in grammar.follows else OTHER for kind in kinds]
    allowed = sum(after in grammar.follows.get(before, ()) for before, after in zip(kinds[:-1], kinds[1:]))
    return allowed / (len(kinds) - 1)


def range_penalty(value, bounds):
    """0 inside ``bounds``, else the distance to the nearer bound over the range's width (at least 1e-6), capped at 1.

    >>> range_penalty(5.0, (3.0, 4.0)), range_penalty(3.5, (3.0, 4.0)), range_penalty(2.5, (3.0, 4.0))
    (1.0, 0.0, 0.5)
    """
    low, high = bounds
    if not _is_finite(value):
        return 1.0
    distance = max(low - value, value - high, 0.0)
    return float(min(distance / max(high - low, 1e-6), 1.0))


def score_piece(score, settings=None, token_ids=None, grammar=None):
    """The :class:`PieceScore` of ``score`` (a continuation); ``token_ids`` and ``grammar`` add the grammar term."""
    settings = settings or ScorerSettings()
    in_scale = in_scale_ratio(score) if score.notes else math.nan
    repeated = repeated_bar_ratio(score) if score.notes else math.nan
    notes = score_tokens(score)
    distinct = distinct_ngram_ratio([notes], settings.loop_ngram) if len(notes) >= settings.loop_ngram else math.nan
    clashes = semitone_clash_fraction(score) if score.notes else math.nan
    components = {
        "in_scale": float(in_scale) if _is_finite(in_scale) else 0.0,
        "repetition": max(0.0, float(repeated) - settings.repetition_allowance) if _is_finite(repeated) else 1.0,
        "loop": 1.0 - float(distinct) if _is_finite(distinct) else 1.0,
        "density": range_penalty(note_density(score) if score.notes else math.nan, settings.density_range),
        "polyphony": range_penalty(polyphony(score) if score.notes else math.nan, settings.polyphony_range),
        "clashes": float(clashes) if _is_finite(clashes) else 1.0,
    }
    if token_ids is not None and grammar is not None:
        components["grammar"] = 1.0 - grammar_validity(token_ids, grammar)
    total = sum(settings.weights.get(name, 1.0) * SIGNS[name] * value for name, value in components.items())
    return PieceScore(total=float(total), components=components)


def _is_finite(value):
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _finite(values):
    return [float(value) for value in values if _is_finite(value)]
