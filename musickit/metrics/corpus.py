"""Generated pieces against held-out real ones, beside floors and a ceiling measured in the same run.

:func:`compare_to_corpus` answers "does this sound like the corpus?" with
numbers that cannot flatter noise:

* the reference is **held-out** real pieces, cut to the generated pieces'
  length (in quarters) and, when a representation is given, passed through
  it (encode then decode) so they face the same grid;
* two **floors** are drawn in the same run from the training pieces (the
  held-out ones when there are none): *random notes* (pitches from the
  corpus' pitch distribution, the corpus' note density and note lengths,
  onsets anywhere on the sixteenth grid) and a **per-key Markov chain**
  (:class:`~musickit.models.markov_baseline.PerKeyMarkovBaseline`) sampled
  frame by frame on a sixteenth-note piano roll;
* the **ceiling** is training pieces, cut the same way, against held-out.

For every feature of :mod:`musickit.metrics.features` each set gets the
Yang & Lerch overlap area against held-out (intra-held-out distances vs
distances between the set and held-out, :mod:`musickit.metrics.distribution`):
1 is indistinguishable from held-out pieces, 0 is unrelated. A feature on
which a floor scores within :data:`SEPARATION_MARGIN` of the ceiling cannot
tell noise from music on this corpus: it is flagged and left out of
``mean_overlap``.

Example:

>>> result = compare_to_corpus(samples, held_out, training, primer_quarters=8)  # doctest: +SKIP
>>> result["mean_overlap"]  # doctest: +SKIP
{'generated': 0.41, 'random_notes': 0.12, 'markov': 0.2, 'ceiling': 0.78}
"""

import math

import numpy as np

from musickit.metrics.distribution import compare_feature
from musickit.metrics.features import (
    duplicate_note_fraction,
    empty_bar_fraction,
    in_scale_ratio_estimated,
    inter_onset_histogram,
    key_drift,
    longest_pitch_stretch,
    max_polyphony,
    note_length_histogram,
    offbeat_sixteenth_fraction,
    onset_metrical_levels,
    semitone_clash_fraction,
    silence_fraction,
    voice_count_distribution,
    voice_count_fraction,
)
from musickit.metrics.floors import (
    KEYS,
    LOWEST_KEY,
    MARKOV_SMOOTHING,
    QPM,
    STEPS_PER_QUARTER,
    MarkovNotes,
    RandomNotes,
    cut_quarters,
    length_quarters,
    roll_to_score,
    score_to_roll,
    through_representation,
)
from musickit.metrics.form import section_contrast

# The floors (random notes, the per-key Markov chain) and the one time axis every piece is cut and rebuilt on
# live in musickit.metrics.floors; they stay importable from here.
__all__ = [
    "DISPLAY_UNITS",
    "FEATURES",
    "FORM_CONTRAST",
    "KEYS",
    "KEY_DRIFT",
    "LOWEST_KEY",
    "MARKOV_SMOOTHING",
    "MIN_COMPARED",
    "NEAR",
    "QPM",
    "SEPARATION_MARGIN",
    "SETS",
    "SET_TITLES",
    "STEPS_PER_QUARTER",
    "MarkovNotes",
    "RandomNotes",
    "compare_to_corpus",
    "cut_quarters",
    "display_value",
    "length_quarters",
    "piece_features",
    "roll_to_score",
    "score_to_roll",
    "through_representation",
    "usual_voice_count",
]

SETS = ("generated", "random_notes", "markov", "ceiling")
SET_TITLES = {
    "generated": "generated",
    "held_out": "held-out",
    "random_notes": "random floor",
    "markov": "Markov floor",
    "ceiling": "ceiling",
}
SEPARATION_MARGIN = 0.1
NEAR = 0.1  # an overlap within this of the ceiling is "near real"; of a floor, "near a floor"
MIN_COMPARED = 16  # floors and ceiling have at least this many pieces

# name -> (function of (score, context), short description, what the table shows for a vector)
FEATURES = {
    "semitone_clash_fraction": (lambda s, c: semitone_clash_fraction(s), "time with a minor 2nd/9th sounding"),
    "offbeat_sixteenth_fraction": (lambda s, c: offbeat_sixteenth_fraction(s), "onsets on an off-beat 16th"),
    "onset_metrical_levels": (lambda s, c: onset_metrical_levels(s), "onsets on beat / 8th / 16th / finer"),
    "usual_voice_fraction": (
        lambda s, c: voice_count_fraction(s, c["usual_voices"]),
        "time with the corpus' usual voice count",
    ),
    "voice_count_distribution": (lambda s, c: voice_count_distribution(s), "time with 1..8+ voices"),
    "max_polyphony": (lambda s, c: float(max_polyphony(s)), "most keys at once"),
    "duplicate_note_fraction": (lambda s, c: duplicate_note_fraction(s), "notes repeating a key and onset"),
    "silence_fraction": (lambda s, c: silence_fraction(s), "time with nothing sounding"),
    "empty_bar_fraction": (lambda s, c: empty_bar_fraction(s), "bars without an onset"),
    "inter_onset_histogram": (lambda s, c: inter_onset_histogram(s), "quarters between onsets"),
    "note_length_histogram": (lambda s, c: note_length_histogram(s), "note lengths in quarters"),
    "longest_pitch_stretch": (lambda s, c: longest_pitch_stretch(s), "quarters one pitch keeps sounding (drones)"),
    "in_scale_ratio": (lambda s, c: in_scale_ratio_estimated(s), "notes in the estimated key's scale"),
}
KEY_DRIFT = "key_drift"  # fifths between primer and continuation keys; only with a primer
FORM_CONTRAST = "section_contrast"  # only when generated pieces have section markers


# ---------------------------------------------------------------- features and overlaps


def piece_features(score, usual_voices=4, primer=None):
    """Every feature of :data:`FEATURES` for one piece (``key_drift`` too when ``primer`` is given)."""
    context = {"usual_voices": usual_voices}
    values = {name: function(score, context) for name, (function, _) in FEATURES.items()}
    if primer is not None:
        drift = key_drift(primer, score)["fifths"]
        values[KEY_DRIFT] = math.nan if drift is None else float(drift)
    if score.markers:
        values[FORM_CONTRAST] = section_contrast(score)
    return values


def usual_voice_count(scores):
    """The voice count (1..8) that fills most sounding time over ``scores`` (4 for Bach chorales)."""
    total = np.zeros(8)
    for score in scores:
        distribution = voice_count_distribution(score)
        if not np.isnan(distribution).any():
            total += distribution
    return int(np.argmax(total)) + 1 if total.any() else 1


def _values(pieces, names):
    """``{name: array (pieces,) or (pieces, dims)}`` from a list of feature dicts; NaN where missing."""
    result = {}
    for name in names:
        column = [piece.get(name, math.nan) for piece in pieces]
        dims = next((len(value) for value in column if np.ndim(value)), None)
        if dims:
            column = [value if np.ndim(value) else np.full(dims, math.nan) for value in column]
        result[name] = np.array(column, dtype=float)
    return result


def _summary(values):
    values = np.asarray(values, dtype=float)
    if not len(values):
        return {"mean": None, "std": None, "count": 0}
    rows = values.reshape(len(values), -1)
    finite = rows[~np.isnan(rows).any(axis=1)]
    if not len(finite):
        return {"mean": None, "std": None, "count": 0}
    mean, std = finite.mean(axis=0), finite.std(axis=0)
    if values.ndim == 1:
        return {"mean": float(mean[0]), "std": float(std[0]), "count": int(len(finite))}
    return {"mean": mean.tolist(), "std": std.tolist(), "count": int(len(finite))}


def display_value(name, summary):
    """One number for a table cell: the mean, or for a histogram the quantity people read from it."""
    mean = summary.get("mean")
    if mean is None:
        return None
    if not isinstance(mean, list):
        return mean
    if name == "onset_metrical_levels":
        return 1.0 - mean[0]  # off-beat share
    if name == "voice_count_distribution":
        return float(np.dot(np.arange(1, len(mean) + 1), mean))  # mean voices while sounding
    if name in ("inter_onset_histogram", "note_length_histogram"):
        from musickit.metrics.features import DURATION_BINS

        return float(np.dot(DURATION_BINS, mean))  # mean in quarters (longest bin counted as 4)
    return float(np.mean(mean))


DISPLAY_UNITS = {
    "onset_metrical_levels": "off-beat share",
    "voice_count_distribution": "mean voices",
    "inter_onset_histogram": "mean quarters",
    "note_length_histogram": "mean quarters",
}


def _mean_interval(values):
    """``{"mean", "low", "high", "pieces"}``: the mean and a normal 95% interval over the finite values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return {"mean": None, "low": None, "high": None, "pieces": 0}
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    mean = float(values.mean())
    return {"mean": mean, "low": mean - half, "high": mean + half, "pieces": int(len(values))}


def _overlap(values, reference):
    result = compare_feature(values, reference).summary()["overlap_area"]
    return None if result is None or not math.isfinite(result) else float(result)


def _verdict(name, overlaps, summaries, separates):
    generated, ceiling = overlaps.get("generated"), overlaps.get("ceiling")
    floors = {key: overlaps.get(key) for key in ("random_notes", "markov") if overlaps.get(key) is not None}
    shown = display_value(name, summaries["generated"])
    reference = display_value(name, summaries["held_out"])
    values = "" if shown is None or reference is None else f" ({shown:.3g} vs held-out {reference:.3g})"
    if generated is None:
        return "not measurable (undefined for the generated or held-out pieces)"
    if separates is False:
        lowest = min(floors.values()) if floors else None
        where = (
            "below both floors"
            if lowest is not None and generated < lowest - NEAR
            else ("near real" if ceiling is not None and generated >= ceiling - NEAR else "between")
        )
        return f"{where}; floors score like real pieces here, so left out of the mean{values}"
    if ceiling is not None and generated >= ceiling - NEAR:
        return f"near real{values}"
    if floors:
        worst, floor = max((value, key) for key, value in floors.items())
        if generated <= worst + NEAR:
            return f"near a floor ({SET_TITLES[floor]}){values}"
    return f"between the floors and real pieces{values}"


def compare_to_corpus(
    generated,
    held_out,
    training=None,
    seed=0,
    primer_quarters=None,
    primer_seconds=None,
    representation=None,
    usual_voices=None,
    length=None,
    compared_pieces=None,
):
    """Compare generated pieces with held-out ones, beside two floors and a ceiling (see the module docstring).

    Args:
        generated: list of :class:`Score`, the samples (primer included when
            ``primer_quarters``/``primer_seconds`` is given; it is removed).
        held_out: list of :class:`Score`, real pieces the model never saw.
        training: list of :class:`Score`, real training pieces: the ceiling,
            and what the floors are fitted on (held-out when None; no ceiling).
        seed: seeds the floors' sampling and the choice of ceiling pieces.
        primer_quarters: primer length in quarters at the start of each
            generated piece (``primer_seconds`` converts through each piece's
            tempo map). Reference pieces are then cut after the same primer,
            and ``key_drift`` (continuation key vs primer key) is measured.
        representation: passes every reference piece through ``encode`` and
            ``decode`` (the model's grid), e.g. a ``PianoRoll``.
        usual_voices: the corpus' usual voice count (estimated from held-out when None).
        length: quarters to cut reference pieces to (default: the generated
            continuations' median length).
        compared_pieces: pieces per floor and in the ceiling (default
            ``max(len(generated), 16)``).

    Returns:
        A JSON-safe dict (after :func:`~musickit.metrics.evaluation.json_safe`):
        ``features`` (names, in table order), ``descriptions``, ``sets``
        (per set: ``pieces`` and per-feature ``summary`` mean/std/count;
        sets ``generated``, ``held_out``, ``random_notes``, ``markov``,
        ``ceiling``), ``overlap`` (per feature, per set: the overlap area
        against held-out), ``separates`` (per feature: the ceiling beats
        both floors by :data:`SEPARATION_MARGIN`), ``verdict`` (one line per
        feature), ``mean_overlap`` (per set, over separating features),
        ``mean_over`` and ``left_out_of_mean`` (feature names),
        ``mean_overlap_all_features`` (per set, every feature),
        ``near_primer_key`` (with a primer: per set, the share of
        continuations within one fifth of their primer's key; else None),
        ``form_contrast`` (when generated pieces have section markers: for
        generated and held-out pieces the mean same-label minus
        different-label section similarity, its 95% interval and count),
        ``length_quarters``, ``primer_quarters``, ``usual_voices``,
        ``seed`` and ``notes``. ``_values`` (per set, per feature, one value
        per piece) is for plots and dropped by ``json_safe``.
    """
    generated, held_out, training = list(generated), list(held_out), list(training or [])
    if not generated:
        raise ValueError("compare_to_corpus needs at least one generated piece")
    if len(held_out) < 2:
        raise ValueError(f"compare_to_corpus needs at least two held-out pieces, got {len(held_out)}")
    rng = np.random.default_rng(seed)
    notes = []

    # Generated: primer off, one time axis.
    primers, continuations = [], []
    for score in generated:
        primer_length = primer_quarters
        if primer_length is None and primer_seconds is not None:
            primer_length = float(score.seconds_to_quarters(primer_seconds))
        primer_length = primer_length or 0.0
        primers.append(cut_quarters(score, 0.0, primer_length) if primer_length > 0 else None)
        continuations.append(cut_quarters(score, primer_length))
    primer_length = primer_quarters
    if primer_length is None and primer_seconds is not None:
        primer_length = float(np.median([float(s.seconds_to_quarters(primer_seconds)) for s in generated]))
    primer_length = float(primer_length or 0.0)
    if length is None:
        lengths = [length_quarters(score) for score in continuations if length_quarters(score) > 0]
        length = math.ceil(float(np.median(lengths)) * STEPS_PER_QUARTER) / STEPS_PER_QUARTER if lengths else 16.0
    length = float(length)

    # Reference pieces: primer and window, through the representation.
    def prepare(scores):
        pairs = []
        for score in scores:
            window = cut_quarters(score, primer_length, primer_length + length)
            window, note = through_representation(window, representation)
            if note and note not in notes:
                notes.append(note)
            primer = cut_quarters(score, 0.0, primer_length) if primer_length > 0 else None
            if length_quarters(window) > 0:
                pairs.append((primer, window))
        return pairs

    held_pairs = prepare(held_out)
    if len(held_pairs) < 2:
        raise ValueError("compare_to_corpus: fewer than two held-out pieces have notes after the primer")
    count = int(compared_pieces or max(len(generated), MIN_COMPARED))
    fit_scores = training or held_out
    training_pairs = []
    if training:
        chosen = rng.permutation(len(training))
        for index in chosen:
            training_pairs += prepare([training[index]])
            if len(training_pairs) >= count:
                break
    else:
        notes.append("no training pieces: floors fitted on held-out pieces, no ceiling")

    if usual_voices is None:
        usual_voices = usual_voice_count([window for _, window in held_pairs])

    # Floors, from the same corpus, in the same run.
    random_notes, markov = RandomNotes(fit_scores), MarkovNotes(fit_scores)
    random_pieces, markov_pieces = [], []
    for index in range(count):
        primer = held_pairs[index % len(held_pairs)][0]
        random_pieces.append((primer, random_notes.sample(length, rng)))
        start = score_to_roll(primer, steps=int(round(primer_length * STEPS_PER_QUARTER)))[-1] if primer else None
        markov_pieces.append((primer, markov.sample(length, rng, start)))
    sets = {
        "generated": list(zip(primers, continuations)),
        "held_out": held_pairs,
        "random_notes": random_pieces,
        "markov": markov_pieces,
        "ceiling": training_pairs,
    }

    features = {
        label: [piece_features(window, usual_voices, primer if primer_length > 0 else None) for primer, window in pairs]
        for label, pairs in sets.items()
    }
    names = list(FEATURES)
    if primer_length > 0:
        names.append(KEY_DRIFT)
    if any(FORM_CONTRAST in piece for piece in features["generated"]):
        names.append(FORM_CONTRAST)
    values = {label: _values(pieces, names) for label, pieces in features.items()}
    summaries = {label: {name: _summary(values[label][name]) for name in names} for label in sets}

    overlaps, separates, verdicts = {}, {}, {}
    for name in names:
        reference = values["held_out"][name]
        overlaps[name] = {
            label: (_overlap(values[label][name], reference) if len(values[label][name]) else None) for label in SETS
        }
        floors = [overlaps[name][label] for label in ("random_notes", "markov")]
        ceiling = overlaps[name]["ceiling"]
        if ceiling is None or any(floor is None for floor in floors):
            separates[name] = None
        else:
            separates[name] = bool(ceiling - max(floors) >= SEPARATION_MARGIN)
        verdicts[name] = _verdict(name, overlaps[name], {k: summaries[k][name] for k in summaries}, separates[name])
    mean_over = [name for name in names if separates[name] is not False and overlaps[name]["generated"] is not None]
    mean_overlap = {}
    for label in SETS:
        chosen = [overlaps[name][label] for name in mean_over if overlaps[name][label] is not None]
        mean_overlap[label] = float(np.mean(chosen)) if chosen else None
    mean_overlap_all = {}
    for label in SETS:
        chosen = [overlaps[name][label] for name in names if overlaps[name][label] is not None]
        mean_overlap_all[label] = float(np.mean(chosen)) if chosen else None
    near_primer_key = None
    if KEY_DRIFT in names:  # the share of continuations within one fifth of their primer's key
        near_primer_key = {}
        for label in ("held_out",) + SETS:
            drift = values[label][KEY_DRIFT]
            drift = drift[~np.isnan(drift)]
            near_primer_key[label] = float(np.mean(drift <= 1)) if len(drift) else None
    form_contrast = None
    if FORM_CONTRAST in names:  # mean over pieces with a 95% interval: is A closer to A than to B?
        form_contrast = {label: _mean_interval(values[label][FORM_CONTRAST]) for label in ("generated", "held_out")}
    return {
        "features": names,
        "descriptions": {name: (FEATURES[name][1] if name in FEATURES else _EXTRA[name]) for name in names},
        "display_units": {name: DISPLAY_UNITS.get(name, "mean") for name in names},
        "sets": {label: {"pieces": len(sets[label]), "summary": summaries[label]} for label in sets},
        "overlap": overlaps,
        "separates": separates,
        "verdict": verdicts,
        "mean_overlap": mean_overlap,
        "mean_over": mean_over,
        "mean_overlap_all_features": mean_overlap_all,
        "near_primer_key": near_primer_key,
        "form_contrast": form_contrast,
        "left_out_of_mean": [name for name in names if name not in mean_over],
        "length_quarters": length,
        "primer_quarters": primer_length,
        "usual_voices": usual_voices,
        "seed": seed,
        "notes": notes,
        "_values": values,
        "_pieces": {label: [window for _, window in pairs] for label, pairs in sets.items()},
    }


_EXTRA = {
    KEY_DRIFT: "fifths between primer key and continuation key",
    FORM_CONTRAST: "same-label minus different-label section similarity",
}
