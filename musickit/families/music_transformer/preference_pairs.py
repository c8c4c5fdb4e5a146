"""Preference pairs for DPO alignment of a Music Transformer: sampled and scored, or labelled by a person.

Scored pairs (:func:`build_pairs`): for each prompt (the sections' openings
of a held-out piece, :func:`opening_prompts`), sample ``num_candidates``
continuations with the family's generation (:func:`generate_pieces`, under
the REMI sampling rules), drop the ones that copy a training piece
(:func:`training_overlap` above ``max_training_overlap``), score the rest
with the heuristic scorer (:mod:`musickit.metrics.preference_score`), and keep
the best as *chosen* and the worst as *rejected*, unless their totals are
less than ``min_score_gap`` apart (too close to call). ``pairs_per_prompt``
above 1 (or ``None``: every pair) also keeps the next widest-apart pairs of the
same candidates (second best against second worst, best against second worst,
...), each at least ``min_score_gap`` apart: one best-versus-worst pair per
prompt is too few for DPO to learn the scorer's preference rather than the
pairs themselves (benchmarks/RESULTS.md), and the extra pairs cost no sampling.

Labelled pairs (:func:`load_labelled_pairs`) come from a JSON file a person
filled in (``musickit pairs`` writes one to label)::

    {
      "format": "musickit-preference-pairs",
      "version": 1,
      "pairs": [
        {"prompt": [4, 6, 20, 21, 5], "a": [30, 31, 40], "b": [30, 33, 41],
         "preferred": "a", "style": "bach", "a_midi": "pair_1_a.mid", "b_midi": "pair_1_b.mid"}
      ]
    }

``prompt``, ``a`` and ``b`` are token ids of the run's tokenizer (the
continuations follow ``PROMPT_END``; a style token opens them when the run
has styles); ``preferred`` is ``"a"``, ``"b"`` or ``null`` (not labelled yet:
skipped); ``style`` and the ``*_midi`` files (for listening) are optional.

Example::

    prompts = opening_prompts(data, config, count=8)
    pairs, summary = build_pairs(model, data.tokenizer, prompts, config.sampling, num_candidates=4,
                                 training_pieces=list(data.splits["train"]), style="bach", styles=data.styles)
"""

import dataclasses
import json
import os

from musickit.errors import UsageError
from musickit.families.music_transformer.generation import generate_pieces, prompt_from_sections
from musickit.generation.prompts import piece_snippets
from musickit.metrics.diversity import ngrams, score_tokens
from musickit.metrics.preference_score import ScorerSettings, score_piece
from musickit.runs.samples import decode_token_piece

PAIRS_FORMAT = "musickit-preference-pairs"


@dataclasses.dataclass
class PreferencePair:
    """One prompt with its chosen and rejected continuation (token ids), their scores and the style asked for."""

    prompt: list
    chosen: list
    rejected: list
    chosen_score: dict = None
    rejected_score: dict = None
    style: str = None

    @property
    def score_gap(self):
        if not self.chosen_score or not self.rejected_score:
            return None
        return self.chosen_score["total"] - self.rejected_score["total"]


def opening_prompts(data, config, count):
    """Up to ``count`` prompts: the section openings of the test pieces, then of the validation pieces."""
    pieces = []
    for split in ("test", "valid"):
        part = data.splits[split]
        pieces += list(zip(part, part.metadata or [{} for _ in part]))
    return [
        prompt_from_sections(
            piece_snippets(piece, item, config.form), data.tokenizer, config.form, config.snippet_length
        )
        for piece, item in pieces[:count]
    ]


def training_overlap(score, training_ngram_sets, n=4):
    """The largest share of ``score``'s note n-grams found in one training piece (0 when it has none).

    ``training_ngram_sets`` is a list of :func:`~musickit.metrics.diversity.ngrams`
    sets of the training pieces' :func:`~musickit.metrics.diversity.score_tokens`.
    """
    own = ngrams(score_tokens(score), n)
    if not own:
        return 0.0
    return max((len(own & other) / len(own) for other in training_ngram_sets), default=0.0)


def build_pairs(
    model,
    tokenizer,
    prompts,
    sampling,
    num_candidates=4,
    scorer=None,
    min_score_gap=0.05,
    training_pieces=(),
    max_training_overlap=0.8,
    style=None,
    styles=(),
    seed=0,
    candidates=None,
    pairs_per_prompt=1,
):
    """Sample, score and pair continuations of ``prompts`` (see the module docstring); return ``(pairs, summary)``.

    Prompt ``i`` is sampled with seed ``seed + i``; ``candidates``, a list,
    receives every prompt's sampled pieces (the reference's "before" samples
    at no extra cost).

    ``summary`` counts the prompts, the candidates dropped as copies of
    training pieces and the pairs dropped as too close, and holds the mean
    score of the chosen and rejected continuations per scorer component.
    A prompt's pairs follow one another in ``pairs`` (:func:`ranked_pairs`).
    """
    if num_candidates < 2:
        raise UsageError(f"--num-candidates must be >= 2 to pick a best and a worst, got {num_candidates}")
    scorer = scorer or ScorerSettings()
    training_sets = [ngrams(score_tokens(decode_token_piece(tokenizer, piece)), 4) for piece in training_pieces]
    pairs, copies, close = [], 0, 0
    for number, prompt in enumerate(prompts):
        pieces = generate_pieces(
            model, tokenizer, prompt, num_candidates, sampling, seed=seed + number, style=style, styles=styles
        )
        if candidates is not None:
            candidates.append([[int(token) for token in piece] for piece in pieces])
        scored = []
        for piece in pieces:
            piece = [int(token) for token in piece]
            score = decode_token_piece(tokenizer, piece)
            if training_sets and training_overlap(score, training_sets) > max_training_overlap:
                copies += 1
                continue
            scored.append((piece, score_piece(score, scorer, piece, tokenizer.grammar).as_dict()))
        if len(scored) < 2:
            continue
        ranked = ranked_pairs([score["total"] for _, score in scored], min_score_gap, pairs_per_prompt)
        if not ranked:
            close += 1
            continue
        for better, worse in ranked:
            (chosen, chosen_score), (rejected, rejected_score) = scored[better], scored[worse]
            pairs.append(PreferencePair(list(prompt), chosen, rejected, chosen_score, rejected_score, style))
    summary = {
        "prompts": len(prompts),
        "candidates_per_prompt": num_candidates,
        "pairs": len(pairs),
        "dropped_training_copies": copies,
        "dropped_close_pairs": close,
        "chosen_mean": _mean_scores([pair.chosen_score for pair in pairs]),
        "rejected_mean": _mean_scores([pair.rejected_score for pair in pairs]),
    }
    return pairs, summary


def ranked_pairs(totals, min_score_gap=0.0, limit=1):
    """``(better, worse)`` index pairs of ``totals`` at least ``min_score_gap`` apart, the widest gap first.

    ``limit`` pairs at most (``None``: all of them); ties in the gap keep the
    order of the indices. The first pair is always the best against the worst.

    >>> ranked_pairs([0.6, 1.0, 0.0], min_score_gap=0.3, limit=None)
    [(1, 2), (0, 2), (1, 0)]
    >>> ranked_pairs([0.6, 1.0, 0.0], min_score_gap=0.3)
    [(1, 2)]
    """
    candidates = [
        (first, second) if totals[first] >= totals[second] else (second, first)
        for first in range(len(totals))
        for second in range(first + 1, len(totals))
    ]
    candidates = [(better, worse) for better, worse in candidates if totals[better] - totals[worse] >= min_score_gap]
    candidates.sort(key=lambda pair: totals[pair[1]] - totals[pair[0]])
    return candidates if limit is None else candidates[:limit]


def _mean_scores(scores):
    names = sorted({name for score in scores for name in score})
    return {name: sum(score.get(name, 0.0) for score in scores) / len(scores) for name in names} if scores else {}


def pairs_to_json(pairs, midi_files=None):
    """The JSON object of the labelled-pairs format for ``pairs`` (``preferred`` left ``null`` to label).

    Which continuation is ``a`` alternates, so a labeller cannot learn that
    the first is the scorer's favourite; ``scorer_preferred`` records it.
    """
    entries = []
    for number, pair in enumerate(pairs):
        first, second = (pair.chosen, pair.rejected) if number % 2 == 0 else (pair.rejected, pair.chosen)
        entry = {"prompt": pair.prompt, "a": first, "b": second, "preferred": None, "style": pair.style}
        entry["scorer_preferred"] = "a" if number % 2 == 0 else "b"
        if midi_files:
            entry["a_midi"], entry["b_midi"] = midi_files[number]
        entries.append(entry)
    return {"format": PAIRS_FORMAT, "version": 1, "pairs": entries}


def load_labelled_pairs(path):
    """The labelled :class:`PreferencePair` s in a pairs JSON file, and how many were not labelled yet.

    Returns ``(pairs, unlabelled)``. A file of another format, or a pair with
    a ``preferred`` other than ``"a"``, ``"b"`` or ``null``, is a one-line
    :class:`~musickit.errors.UsageError` naming the file and the pair.
    """
    try:
        with open(path) as handle:
            content = json.load(handle)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the preference pairs {path}: {error}") from None
    if not isinstance(content, dict) or content.get("format") != PAIRS_FORMAT:
        raise UsageError(f"{path} is not a preference-pairs file (its 'format' must be {PAIRS_FORMAT!r})")
    pairs, unlabelled = [], 0
    for number, entry in enumerate(content.get("pairs", []), start=1):
        preferred = entry.get("preferred") if isinstance(entry, dict) else "?"
        if preferred is None:
            unlabelled += 1
            continue
        if preferred not in ("a", "b") or not all(isinstance(entry.get(key), list) for key in ("prompt", "a", "b")):
            raise UsageError(
                f"{os.path.basename(path)} pair {number}: needs token-id lists 'prompt', 'a', 'b' and "
                f'\'preferred\' set to "a", "b" or null'
            )
        chosen, rejected = (entry["a"], entry["b"]) if preferred == "a" else (entry["b"], entry["a"])
        pairs.append(PreferencePair(entry["prompt"], chosen, rejected, style=entry.get("style")))
    return pairs, unlabelled
