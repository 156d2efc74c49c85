"""Evaluation metrics for a trained classifier on labelled records.

Small evaluation sets (the gold dev set has 500 posts) need intervals: macro-F1 comes with a seeded
bootstrap 95% interval. Metrics are computed at the stored thresholds (the decisions the product
makes) and, for reference, at the plain argmax.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from netralitas.model.artifact import ArtifactMetadata
from netralitas.model.classifier import decide, side_scores

__all__ = ["bootstrap_interval", "evaluate_predictions"]


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> float:
    f1s = []
    for label in labels:
        tp = np.sum((y_pred == label) & (y_true == label))
        fp = np.sum((y_pred == label) & (y_true != label))
        fn = np.sum((y_pred != label) & (y_true == label))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(f1s))


def bootstrap_interval(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str], n: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of macro-F1 (rows resampled with replacement)."""
    rng = np.random.default_rng(seed)
    stats = [
        _macro_f1(y_true[idx], y_pred[idx], labels)
        for idx in (rng.integers(0, len(y_true), len(y_true)) for _ in range(n))
    ]
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high)


def _per_class(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    out = {}
    for label in labels:
        tp = int(np.sum((y_pred == label) & (y_true == label)))
        fp = int(np.sum((y_pred == label) & (y_true != label)))
        fn = int(np.sum((y_pred != label) & (y_true == label)))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        out[label] = {
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "support": int(np.sum(y_true == label)),
        }
    return out


def _average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision) of the side score."""
    if not positive.any():
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    y = positive[order]
    tp = np.cumsum(y)
    precision = tp / np.arange(1, len(y) + 1)
    return float(np.sum(precision * y) / y.sum())


def evaluate_predictions(
    proba: np.ndarray,
    y_true: Sequence[str],
    metadata: ArtifactMetadata,
    tags: Sequence[str | None] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """All headline metrics for probabilities `proba` (n, n_labels) against true labels."""
    labels = list(metadata.labels)
    y = np.asarray(list(y_true), dtype=object)
    unknown = sorted(set(y) - set(labels))
    if unknown:
        raise ValueError(
            f"the data has labels {unknown} that the model does not know ({labels}); "
            "map them to the model's labels before evaluating"
        )
    decided, decisions = decide(proba, metadata)
    y_dec = np.asarray(decided, dtype=object)
    y_arg = np.asarray([labels[i] for i in proba.argmax(axis=1)], dtype=object)
    score = side_scores(proba, labels, metadata.neutral_label)
    positive = y != metadata.neutral_label
    flagged = score >= metadata.thresholds.flag
    tp = int(np.sum(flagged & positive))
    low, high = bootstrap_interval(y, y_dec, labels, seed=seed)
    result: dict[str, Any] = {
        "n": len(y),
        "label_counts": {label: int(np.sum(y == label)) for label in labels},
        "macro_f1": _macro_f1(y, y_dec, labels),
        "macro_f1_ci95": [low, high],
        "macro_f1_argmax": _macro_f1(y, y_arg, labels),
        "per_class": _per_class(y, y_dec, labels),
        "confusion_matrix": {
            "labels": labels,
            "rows_true_cols_pred": [
                [int(np.sum((y == t) & (y_dec == p))) for p in labels] for t in labels
            ],
        },
        "pr_auc": _average_precision(score, positive),
        "at_threshold": {
            "threshold": metadata.thresholds.flag,
            "precision": tp / int(flagged.sum()) if flagged.any() else 0.0,
            "recall": tp / int(positive.sum()) if positive.any() else 0.0,
            "flagged": int(flagged.sum()),
        },
        "decisions": {d: decisions.count(d) for d in ("flag", "review", "clear")},
    }
    if tags is not None and any(t is not None for t in tags):
        tag_arr = np.asarray(list(tags), dtype=object)
        result["per_tag"] = {
            str(tag): {
                "n": int(np.sum(tag_arr == tag)),
                # For side-taking tags: share flagged (recall); for neutral tags: share cleared.
                "correct": float(np.mean(y_dec[tag_arr == tag] == y[tag_arr == tag])),
            }
            for tag in sorted({t for t in tag_arr if t is not None})
        }
    return result
