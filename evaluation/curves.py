"""Curves of the "takes a side" score: precision-recall, ROC, reliability, threshold sweep.

Every function takes the side score `scores` (shape `(n,)`, `1 - p(neutral)`) and boolean `positive`
(shape `(n,)`, the true label is not neutral), so the same code serves two-label and finer schemes.
Curves are thinned to at most `max_points` points so that `eval.json` stays small on large sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "average_precision",
    "brier_score",
    "calibration",
    "curves",
    "expected_calibration_error",
    "pr_curve",
    "roc_auc",
    "roc_curve",
    "threshold_sweep",
]

MAX_POINTS = 200
SWEEP = tuple(round(t, 2) for t in np.arange(0.05, 0.951, 0.05))


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision) of the side score.

    Sum of precision times the recall gained at each distinct score cut; tied scores are cut
    together, so the result does not depend on the order of tied rows (as in scikit-learn).
    """
    if not positive.any():
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order]
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(y)[last]
    precision = tp / np.arange(1, len(y) + 1)[last]
    recall_gain = np.diff(np.r_[0, tp]) / y.sum()
    return float(np.sum(precision * recall_gain))


def _thin(*columns: np.ndarray, max_points: int) -> list[list[float]]:
    """Keep at most `max_points` evenly spaced points (first and last always kept), rounded."""
    n = len(columns[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int)) if n else []
    return [[round(float(c[i]), 5) for i in keep] for c in columns]


def pr_curve(
    scores: np.ndarray, positive: np.ndarray, max_points: int = MAX_POINTS
) -> dict[str, Any]:
    """Precision and recall at every distinct score cut, from the highest cut down."""
    if not positive.any():
        return {"precision": [], "recall": [], "threshold": [], "average_precision": float("nan")}
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order]
    last = np.r_[s[1:] != s[:-1], True]  # only the last row of a run of ties is a reachable cut
    tp = np.cumsum(y)[last]
    k = np.arange(1, len(s) + 1)[last]
    precision, recall, threshold = _thin(tp / k, tp / y.sum(), s[last], max_points=max_points)
    return {
        "precision": precision,
        "recall": recall,
        "threshold": threshold,
        "average_precision": average_precision(scores, positive),
    }


def roc_curve(
    scores: np.ndarray, positive: np.ndarray, max_points: int = MAX_POINTS
) -> dict[str, Any]:
    """False and true positive rates at every distinct cut, starting at (0, 0); AUC included."""
    if positive.all() or not positive.any():
        return {"fpr": [], "tpr": [], "threshold": [], "auc": float("nan")}
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order]
    last = np.r_[s[1:] != s[:-1], True]
    tpr = np.r_[0.0, np.cumsum(y)[last] / y.sum()]
    fpr = np.r_[0.0, np.cumsum(~y)[last] / (~y).sum()]
    threshold = np.r_[1.0, s[last]]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoidal rule
    fpr_t, tpr_t, thr_t = _thin(fpr, tpr, threshold, max_points=max_points)
    return {"fpr": fpr_t, "tpr": tpr_t, "threshold": thr_t, "auc": auc}


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    return roc_curve(scores, positive, max_points=2)["auc"]


def brier_score(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mean squared error of the side score against 0/1 truth (lower is better)."""
    return float(np.mean((scores - positive.astype(float)) ** 2)) if len(scores) else float("nan")


def calibration(scores: np.ndarray, positive: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Reliability curve on `n_bins` equal-width bins, expected calibration error and Brier score.

    ECE is the bin-size-weighted mean gap between the mean score and the observed share of
    positives in each bin: a model whose "0.8" posts take a side 80% of the time has ECE near 0.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(scores, edges[1:-1]), 0, n_bins - 1)
    rows, ece = [], 0.0
    for b in range(n_bins):
        in_bin = bins == b
        count = int(in_bin.sum())
        if count:
            confidence = float(scores[in_bin].mean())
            observed = float(positive[in_bin].mean())
            ece += count / len(scores) * abs(observed - confidence)
            rows.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "count": count,
                    "mean_score": confidence,
                    "observed": observed,
                }
            )
    return {
        "bins": rows,
        "ece": float(ece) if len(scores) else float("nan"),
        "brier": brier_score(scores, positive),
    }


def expected_calibration_error(scores: np.ndarray, positive: np.ndarray, n_bins: int = 10) -> float:
    """ECE of the side score on `n_bins` equal-width bins (see `calibration`)."""
    return calibration(scores, positive, n_bins)["ece"]


def threshold_sweep(
    scores: np.ndarray, positive: np.ndarray, thresholds: tuple[float, ...] = SWEEP
) -> list[dict[str, float]]:
    """Precision, recall, F1 and share flagged when flagging `score >= t`, for each t."""
    rows = []
    for t in thresholds:
        flagged = scores >= t
        tp = float(np.sum(flagged & positive))
        precision = tp / flagged.sum() if flagged.any() else 0.0
        recall = tp / positive.sum() if positive.any() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "threshold": float(t),
                "precision": float(precision),
                "recall": float(recall),
                "f1": float(f1),
                "flagged": int(flagged.sum()),
            }
        )
    return rows


def curves(scores: np.ndarray, positive: np.ndarray) -> dict[str, Any]:
    """Everything the report plots: PR and ROC curves, reliability and the threshold sweep."""
    scores = np.asarray(scores, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    return {
        "pr": pr_curve(scores, positive),
        "roc": roc_curve(scores, positive),
        "calibration": calibration(scores, positive),
        "threshold_sweep": threshold_sweep(scores, positive),
    }
