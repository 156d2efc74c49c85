"""Error analysis: the worst false positives and negatives, why the model scored them so, and where
errors concentrate (by tag and slice).

Explanations are the Scorer's (model/scorer.py): the same rule as the API's, so a reviewer and a
researcher see the same words for the same post.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from netralitas.evaluation.evaluate import Evaluation
from netralitas.model.backend import Classifier
from netralitas.model.records import Record
from netralitas.model.scorer import Scorer

__all__ = ["error_rates", "explain", "worst_errors"]

ErrorKind = Literal["false_positive", "false_negative"]


def explain(
    model: Classifier, text: str, context: str | None = None, top: int = 5, max_spans: int = 64
) -> list[tuple[str, float]]:
    """The words that pushed the post towards "takes a side", with how much: the API's
    explanation rule, from the same Scorer (model/scorer.py), for any post (cleared ones too).

    >>> explain(model, "Coblos nomor 2, Pak Hendro juara!")  # doctest: +SKIP
    [('Coblos', 0.21), ('juara', 0.08), ...]
    """
    scorer = Scorer(model, top_k=top, max_spans=max_spans)
    spans = scorer.explain_one(Record.model_construct(text=text, context=context))
    return [(a.text, round(a.weight, 4)) for a in spans]


def worst_errors(
    evaluation: Evaluation,
    kind: ErrorKind,
    k: int = 10,
    model: Classifier | None = None,
    top_words: int = 5,
) -> list[dict[str, Any]]:
    """The `k` most confident errors of one kind, with an explanation when `model` is given.

    False positives (neutral posts flagged) are sorted by score, highest first: they are the
    false accusations. False negatives (side-taking posts not flagged) lowest score first.
    """
    meta = evaluation.metadata
    y = np.asarray(evaluation.labels, dtype=object)
    decided = np.asarray(evaluation.decided, dtype=object)
    scores = evaluation.scores
    neutral = meta.neutral_label
    if kind == "false_positive":
        rows = np.flatnonzero((y == neutral) & (decided != neutral))
        rows = rows[np.argsort(-scores[rows], kind="stable")]
    elif kind == "false_negative":
        rows = np.flatnonzero((y != neutral) & (decided == neutral))
        rows = rows[np.argsort(scores[rows], kind="stable")]
    else:
        raise ValueError(f"kind must be 'false_positive' or 'false_negative', found {kind!r}")
    out = []
    for i in rows[:k]:
        record = evaluation.records[i]
        row = {
            "id": record.id,
            "text": record.text,
            "context": record.context,
            "label": record.label,
            "predicted": decided[i],
            "score": round(float(scores[i]), 4),
            "tag": record.tag,
        }
        row.update({dim: values[i] for dim, values in evaluation.slice_keys.items()})
        if model is not None:
            row["explanation"] = explain(model, record.text, record.context, top_words)
        out.append(row)
    return out


def error_rates(evaluation: Evaluation, dimension: str) -> list[dict[str, Any]]:
    """False positive and false negative counts and rates per slice of one dimension.

    The false positive rate is over the slice's neutral posts (how often they would be wrongly
    flagged); the false negative rate over its side-taking posts.
    """
    if dimension not in evaluation.slice_keys:
        raise ValueError(
            f"no slice dimension {dimension!r}; this evaluation has {sorted(evaluation.slice_keys)}"
        )
    neutral = evaluation.metadata.neutral_label
    y = np.asarray(evaluation.labels, dtype=object)
    decided = np.asarray(evaluation.decided, dtype=object)
    keys = np.asarray(evaluation.slice_keys[dimension], dtype=object)
    too_small = evaluation.result.get("min_slice_size", 0)
    rows = []
    for name in sorted(set(keys)):
        in_slice = keys == name
        neg, pos = in_slice & (y == neutral), in_slice & (y != neutral)
        fp, fn = int(np.sum(neg & (decided != neutral))), int(np.sum(pos & (decided == neutral)))
        rows.append(
            {
                "slice": name,
                "n": int(in_slice.sum()),
                "too_small": int(in_slice.sum()) < too_small,
                "false_positives": fp,
                "false_positive_rate": fp / neg.sum() if neg.any() else None,
                "false_negatives": fn,
                "false_negative_rate": fn / pos.sum() if pos.any() else None,
            }
        )
    return rows
