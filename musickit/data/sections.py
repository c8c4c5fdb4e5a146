"""Encoding sectioned pieces for the hierarchical model: section snippets and sectioned splits.

Slicing a score into sections and finding sections where none are marked are
pure score functions and live with the music code
(:func:`musickit.music.sections.section_scores`,
:func:`musickit.music.sections.label_sections`); this module turns labelled
scores into what the data pipelines consume.

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> from musickit.music.score import Marker, Note, Score
>>> score = Score(notes=[Note(60, 90, 0.0, 2.0), Note(62, 90, 2.0, 4.0)], markers=[Marker(0.0, "A"), Marker(2.0, "B")])
>>> sorted(section_snippets(score, REMITokenizer(), snippet_length=4))
['A', 'B']
"""

import dataclasses

import numpy as np

from musickit.data.dataset import EncodedSplit
from musickit.data.labels import emotion_class, tempo_class

# label_sections and find_repeat moved to musickit.music.sections; they stay importable from here.
from musickit.music.sections import SECTION_LETTERS, find_repeat, label_sections, section_scores

__all__ = ["encode_sectioned", "find_repeat", "label_sections", "section_snippets"]


def section_snippets(score, tokenizer, snippet_length=256):
    """``{label: token ids}``: the first ``snippet_length`` tokens of the first section with each label.

    The score needs section markers (see :func:`label_sections`); a score
    without them gives its opening as ``"A"``.
    """
    snippets = {}
    parts = section_scores(score) or [("A", score)]
    for label, part in parts:
        if label not in snippets:
            part = dataclasses.replace(part, metadata={})  # no STYLE token inside a snippet
            snippets[label] = np.asarray(tokenizer.encode(part), dtype=np.int32)[:snippet_length]
    return snippets


def encode_sectioned(scores, tokenizer, label=True):
    """Encode labelled scores into an :class:`~musickit.data.dataset.EncodedSplit` for the pair pipeline.

    Each piece's metadata carries its ``style``, ``form`` and ``sections``:
    one ``(label, section tokens)`` pair per distinct label, first occurrence
    first, which is what
    :func:`musickit.data.pipelines.section_snippet_pairs` cuts snippets from.
    It also carries the ``emotion`` and ``tempo`` classes of
    :mod:`musickit.data.labels` (the score's own ``metadata["emotion"]`` /
    ``["tempo"]`` when set, else the heuristic estimate from its notes).
    With ``label`` scores without markers are labelled by :func:`label_sections` first.

    Example:

    >>> from musickit.representations.remi import REMITokenizer
    >>> from musickit.data.form_synthesis import extract_phrases, synthesize_piece
    >>> from musickit.music.score import Note, Score
    >>> notes = [Note(60 + bar, 90, bar * 2.0, bar * 2.0 + 2.0) for bar in range(4)]
    >>> piece = synthesize_piece(extract_phrases(Score(notes=notes), 2), "ABA", style="bach")
    >>> split = encode_sectioned([piece], REMITokenizer())
    >>> [label for label, _ in split.metadata[0]["sections"]], split.metadata[0]["form"]
    (['A', 'B'], 'ABA')
    >>> split.metadata[0]["tempo"], split.metadata[0]["emotion"]  # 120 qpm; C C# D D# reads as minor, slow onsets
    ('moderate', 'sad')
    """
    arrays, metadata = [], []
    for index, score in enumerate(scores):
        if label and not any(m.text.strip().upper()[:1] in SECTION_LETTERS for m in score.markers):
            score = label_sections(score)
        sections, seen = [], set()
        for section_label, part in section_scores(score):
            if section_label not in seen:
                seen.add(section_label)
                part = dataclasses.replace(part, metadata={})
                sections.append((section_label, np.asarray(tokenizer.encode(part), dtype=np.int32)))
        arrays.append(np.asarray(tokenizer.encode(score), dtype=np.int32))
        metadata.append(
            {
                "name": score.metadata.get("name") or f"piece{index}",
                "style": score.metadata.get("style"),
                "title": score.metadata.get("title"),
                "group": score.metadata.get("name") or f"piece{index}",
                "form": score.metadata.get("form")
                or "".join(m.text for m in score.markers if m.text in SECTION_LETTERS),
                "sections": sections,
                "emotion": emotion_class(score),
                "tempo": tempo_class(score),
            }
        )
    return EncodedSplit(arrays, metadata)
