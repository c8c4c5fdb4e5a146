"""Judge pieces written in a form from snippets: form consistency and style accuracy, per piece and on average.

For each generated piece (token ids), the snippets it was written from and
the style it was asked for:

* ``form_contrast``: same-label minus different-label section similarity
  (:func:`musickit.metrics.form.section_contrast`; NaN without a repeated label);
* ``snippet_similarity_own`` / ``_other``: histogram similarity of each
  section to its own snippet and to the others (:func:`~musickit.metrics.form.snippet_similarity`);
* ``snippet_cosine_own`` / ``_other``: the same with the cosine of a snippet
  encoder's embeddings, when a ``judge_encoder`` is given;
* ``predicted_style``: a style classifier's verdict on the piece's sections,
  and over all pieces ``style_accuracy``, when a ``classifier`` is given.

Over all pieces, ``form_contrast_interval`` is the 95% confidence interval of
the mean form contrast (:func:`mean_interval`): positive at both ends when
same-label sections are measurably closer than different-label ones.

Example:

>>> report = judge_generated_pieces(pieces, tokenizer, snippet_length=128, classifier=classifier,
...                                 styles=["bach", "essen"])  # doctest: +SKIP
>>> report["style_accuracy"], report["mean"]["form_contrast"]  # doctest: +SKIP
(1.0, 0.12)
"""

import numpy as np

from musickit.metrics.form import section_similarity, snippet_embedding_cosines, snippet_similarity
from musickit.metrics.style import predict_styles, style_accuracy


def judge_generated_pieces(pieces, tokenizer, snippet_length, judge_encoder=None, classifier=None, styles=()):
    """``{"pieces": [per-piece dict], "mean": {measure: mean}, "style_accuracy": float or None}``.

    Args:
        pieces: ``[(ids, snippets, style), ...]``: generated REMI ids, the
            ``{label: ids}`` snippets they were written from, the requested style.
        tokenizer: the REMI tokenizer that decodes the ids.
        snippet_length: tokens of a section that the encoder and classifier read.
        judge_encoder: optional snippet encoder (``embed(ids)``) for the cosines.
        classifier: optional style classifier (``predict(ids)`` -> logits over ``styles``).
    """
    from musickit.data.sections import section_snippets

    rows, generated_sections = [], []
    for ids, snippets, style in pieces:
        score = tokenizer.decode([int(token) for token in ids])
        generated = section_snippets(score, tokenizer, snippet_length) if score.notes else {}
        generated_sections.append(generated)
        similarity = section_similarity(score)
        references = {label: tokenizer.decode([int(token) for token in tokens]) for label, tokens in snippets.items()}
        own, other = snippet_similarity(score, references)
        row = {
            "style": style,
            "sections": [section.label for section in similarity.sections],
            "form_contrast": similarity.contrast,
            "snippet_similarity_own": own,
            "snippet_similarity_other": other,
        }
        if judge_encoder is not None:
            row["snippet_cosine_own"], row["snippet_cosine_other"] = snippet_embedding_cosines(
                judge_encoder, generated, snippets, snippet_length, tokenizer.pad_id
            )
        rows.append(row)
    report = {"pieces": rows, "style_accuracy": None}
    if classifier is not None and rows:
        predicted = predict_styles(classifier, generated_sections, snippet_length, tokenizer.pad_id)
        for row, index in zip(rows, predicted):
            row["predicted_style"] = styles[index] if index >= 0 else None
        report["style_accuracy"] = style_accuracy(predicted, [row["style"] for row in rows], styles)
    measures = [name for name in (rows[0] if rows else {}) if name not in ("style", "sections", "predicted_style")]
    report["mean"] = {name: _nanmean([row[name] for row in rows]) for name in measures}
    report["form_contrast_interval"] = mean_interval([row["form_contrast"] for row in rows])
    return report


def mean_interval(values, confidence=0.95):
    """``(low, high)``: the Student-t confidence interval of the mean of ``values`` (NaNs left out);
    ``(nan, nan)`` with fewer than two values.

    >>> [round(bound, 3) for bound in mean_interval([0.1, 0.2, 0.3])]
    [-0.048, 0.448]
    """
    from scipy import stats

    values = np.asarray([value for value in values if value is not None and not np.isnan(value)], "float64")
    if len(values) < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return (float(values.mean() - half), float(values.mean() + half))


def _nanmean(values):
    values = [value for value in values if value is not None and not np.isnan(value)]
    return float(np.mean(values)) if values else float("nan")
