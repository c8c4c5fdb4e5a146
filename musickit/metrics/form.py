"""Form: are sections with the same label alike, and different labels different?

Pieces with section markers (``score.markers`` texts such as ``"A"``,
``"B"``, ``"A'"``) are cut at the markers. Each section is summarised by
three histograms, and every pair of sections gets a similarity per
histogram (1 minus the total-variation distance, so 1 is identical):

* pitch classes, weighted by duration;
* melodic intervals of the top voice (the highest note at each onset),
  -12..+12 semitones, larger leaps clipped to an octave;
* inter-onset intervals on a sixteenth grid, 1..16 steps, longer ones
  clipped to a bar of 4/4.

Labels are compared by their letters only: ``"A'"`` and ``"A2"`` are the
same family as ``"A"``. A piece with a recognisable form has a positive
:func:`section_contrast`: A is closer to A' than to B.
"""

import dataclasses
import re

import numpy as np

from musickit.metrics.pitch import histogram_distance
from musickit.metrics.timeline import note_times
from musickit.metrics.undefined import undefined

FEATURES = ("pitch_class", "interval", "rhythm")


@dataclasses.dataclass
class Section:
    label: str
    start: float  # quarters
    end: float
    histograms: dict


@dataclasses.dataclass
class SectionSimilarity:
    """Pairwise section similarities of one piece.

    ``pairs`` holds one dict per pair: the two labels, whether they share a
    family, a similarity per feature and their mean. ``same_label`` and
    ``different_label`` average the mean similarity over pairs of each kind
    (NaN when there is no such pair); ``contrast`` is their difference.
    """

    sections: list
    pairs: list
    same_label: float
    different_label: float

    @property
    def contrast(self):
        return self.same_label - self.different_label


def label_family(text):
    """``"A'"`` -> ``"A"``, ``"b2"`` -> ``"B"``, ``"Verse 2"`` -> ``"VERSE"``."""
    letters = re.match(r"\s*([A-Za-z]+)", str(text))
    return letters.group(1).upper() if letters else str(text).strip()


def _histograms(notes):
    histograms = {}
    pitch_classes = np.zeros(12)
    for pitch, start, end in zip(notes.pitch, notes.start, notes.end):
        pitch_classes[pitch % 12] += max(end - start, 1e-6)
    histograms["pitch_class"] = pitch_classes
    # Group notes by their rounded onset and compare the rounded values exactly: a tolerance
    # relative to the onset (np.isclose) misses a note one tick after 0 and leaves an empty group.
    rounded = np.round(notes.start, 6)
    onsets = np.unique(rounded)
    top_voice = np.array([notes.pitch[rounded == onset].max() for onset in onsets], dtype=int)
    intervals = np.clip(np.diff(top_voice), -12, 12)
    histograms["interval"] = np.bincount(intervals + 12, minlength=25).astype(float)
    gaps = np.clip(np.round(np.diff(onsets) * 4).astype(int), 1, 16)
    histograms["rhythm"] = np.bincount(gaps - 1, minlength=16).astype(float)
    return histograms


def sections(score):
    """The marked sections of ``score`` as :class:`Section` objects (empty without markers)."""
    notes = note_times(score).pitched
    markers = sorted(score.markers, key=lambda marker: marker.time)
    if not markers or not len(notes):
        return []
    marker_quarters = [float(score.seconds_to_quarters(marker.time)) for marker in markers]
    bounds = marker_quarters + [max(notes.length, marker_quarters[-1])]
    result = []
    for marker, start, end in zip(markers, bounds[:-1], bounds[1:]):
        inside = notes.select((notes.start >= start - 1e-9) & (notes.start < end - 1e-9))
        if len(inside):
            result.append(Section(marker.text, start, end, _histograms(inside)))
    return result


def histogram_similarities(first, second):
    """``{feature: 1 - total variation distance, ..., "mean": their mean}`` of two sets of section histograms.

    A feature that one side lacks (no melodic interval in a one-note section) is NaN and left out of the mean.
    """
    similarities = {}
    for feature in FEATURES:
        if first[feature].sum() > 0 and second[feature].sum() > 0:
            similarities[feature] = 1.0 - histogram_distance(first[feature], second[feature])
        else:
            similarities[feature] = float("nan")
    values = [value for value in similarities.values() if not np.isnan(value)]
    return {**similarities, "mean": float(np.mean(values)) if values else float("nan")}


def section_similarity(score):
    """Similarity of every pair of marked sections; see :class:`SectionSimilarity`.

    >>> from musickit.music.score import Marker, Note, Score
    >>> a = [(60, 0.0), (64, 0.5), (67, 1.0)]
    >>> b = [(61, 0.0), (66, 0.25), (70, 0.75)]
    >>> notes = [Note(p, 90, start + t, start + t + 0.25) for start, part in ((0, a), (2, b), (4, a))
    ...          for p, t in part]
    >>> markers = [Marker(0.0, "A"), Marker(2.0, "B"), Marker(4.0, "A'")]
    >>> result = section_similarity(Score(notes=notes, markers=markers))
    >>> result.same_label > result.different_label
    True
    """
    found = sections(score)
    pairs = []
    for first_index, first in enumerate(found):
        for second in found[first_index + 1 :]:
            pairs.append(
                {
                    "first": first.label,
                    "second": second.label,
                    "same_family": label_family(first.label) == label_family(second.label),
                    **histogram_similarities(first.histograms, second.histograms),
                }
            )

    def average(same_family):
        values = [pair["mean"] for pair in pairs if pair["same_family"] == same_family and not np.isnan(pair["mean"])]
        return float(np.mean(values)) if values else float("nan")

    return SectionSimilarity(found, pairs, average(True), average(False))


def section_contrast(score):
    """Mean similarity of same-label section pairs minus that of different-label pairs.

    Positive when the form is audible (A is closer to A' than to B); NaN
    with a reason when the piece has no markers or lacks either kind of pair.
    """
    if not score.markers:
        return undefined("no section markers")
    result = section_similarity(score)
    if np.isnan(result.same_label) or np.isnan(result.different_label):
        return undefined("needs two sections with one label and one with another")
    return float(result.contrast)


def snippet_similarity(score, snippet_scores):
    """How close each marked section of ``score`` is to its own snippet, and to the other snippets.

    Args:
        score: a generated piece with section markers.
        snippet_scores: ``{label: Score}``, the snippets it was written from.

    Returns:
        ``(to_own, to_others)``: the mean histogram similarity (see
        :func:`histogram_similarities`) of sections to the snippet with their
        label family and to the snippets of other labels; NaN where there is
        no such pair. A piece that follows its snippets has ``to_own > to_others``.

    >>> from musickit.music.score import Marker, Note, Score
    >>> rising = [Note(60 + i, 90, i * 0.5, i * 0.5 + 0.5) for i in range(4)]
    >>> falling = [Note(72 - 3 * i, 90, i, i + 1.0) for i in range(4)]
    >>> piece = Score(notes=rising + [Note(n.pitch, 90, n.start + 2.0, n.end + 2.0) for n in falling],
    ...               markers=[Marker(0.0, "A"), Marker(2.0, "B")])
    >>> own, others = snippet_similarity(piece, {"A": Score(notes=rising), "B": Score(notes=falling)})
    >>> own > others
    True
    """
    references = {}
    for label, snippet in snippet_scores.items():
        notes = note_times(snippet).pitched
        if len(notes):
            references[label_family(label)] = _histograms(notes)
    own, others = [], []
    for section in sections(score):
        family = label_family(section.label)
        for label, histograms in references.items():
            value = histogram_similarities(section.histograms, histograms)["mean"]
            if not np.isnan(value):
                (own if label == family else others).append(value)
    return (float(np.mean(own)) if own else float("nan"), float(np.mean(others)) if others else float("nan"))


def snippet_embedding_cosines(encoder, generated, snippets, snippet_length, pad_id=0):
    """Encoder-embedding cosine of each generated section to its own snippet and to the other snippets.

    Args:
        encoder: anything with ``embed(ids)`` mapping ``(n, snippet_length)``
            token ids to ``(n, dim)`` vectors, such as a
            :class:`~musickit.layers.snippet_encoder.SnippetEncoder`.
        generated: ``{label: ids}``, the opening tokens of each generated
            section (:func:`musickit.data.sections.section_snippets`).
        snippets: ``{label: ids}``, the snippets the piece was written from.

    Returns:
        ``(to_own, to_others)`` mean cosines; NaN where there is no such pair.
    """
    from keras import ops

    labels = sorted(set(generated) & set(snippets))
    if not labels:
        return float("nan"), float("nan")
    names = sorted(snippets)

    def embed(sequences):
        batch = np.full((len(sequences), snippet_length), pad_id, "int32")
        for row, ids in enumerate(sequences):
            ids = np.asarray(ids).reshape(-1)[:snippet_length]
            batch[row, : len(ids)] = ids
        vectors = ops.convert_to_numpy(encoder.embed(batch)).astype(np.float64)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    cosines = embed([generated[label] for label in labels]) @ embed([snippets[name] for name in names]).T
    own = [cosines[row, names.index(label)] for row, label in enumerate(labels)]
    others = [
        cosines[row, column] for row, label in enumerate(labels) for column, name in enumerate(names) if name != label
    ]
    return float(np.mean(own)), float(np.mean(others)) if others else float("nan")
