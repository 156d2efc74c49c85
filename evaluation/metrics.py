"""Evaluation metrics for a trained classifier on labelled records.

Small evaluation sets (the gold dev set has 500 posts) need intervals: macro-F1 and every per-class
precision, recall and F1 come with a seeded percentile-bootstrap 95% interval, all from the same
resamples. Metrics are computed at the stored thresholds (the decisions the product makes) and, for
reference, at the plain argmax. Curves (PR, ROC, reliability, threshold sweep) are in `curves.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from netralitas.data.records import DataError
from netralitas.evaluation.curves import (
    average_precision,
    brier_score,
    expected_calibration_error,
    roc_auc,
)
from netralitas.model.artifact import (
    ArtifactMetadata,
    EvaluationSummary,
    SplitSummary,
)
from netralitas.model.decision import decide, side_scores

__all__ = [
    "at_threshold",
    "bootstrap_interval",
    "bootstrap_macro_f1",
    "bootstrap_per_class",
    "check_labels",
    "evaluate_predictions",
    "macro_f1",
    "wilson_interval",
]

# Resampled rows held in memory at once by the vectorised bootstrap (about 16 MB of int64 indices).
_BOOTSTRAP_CHUNK = 2_000_000


def _encode(y: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Labels as integer codes in `labels` order; anything else is -1 (never matches a class)."""
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter((index.get(v, -1) for v in y), dtype=np.int64, count=len(y))


def _counts(t: np.ndarray, p: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """True positives, predicted and true counts per class over the last axis: each `(..., k)`."""
    tp = np.stack([np.sum((t == c) & (p == c), axis=-1) for c in range(k)], axis=-1)
    pred = np.stack([np.sum(p == c, axis=-1) for c in range(k)], axis=-1)
    true = np.stack([np.sum(t == c, axis=-1) for c in range(k)], axis=-1)
    return tp, pred, true


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (the convention of the point estimates below)."""
    return np.divide(num, den, out=np.zeros(np.shape(num), dtype=float), where=den > 0)


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean of the per-class F1 (a class never predicted nor present counts 0)."""
    t = _encode(np.asarray(y_true, dtype=object), labels)
    p = _encode(np.asarray(y_pred, dtype=object), labels)
    tp, pred, true = _counts(t, p, len(labels))
    return float(np.mean(_ratio(2 * tp, pred + true)))


def _resamples(n_rows: int, n: int, seed: int):
    """Yield chunks of bootstrap row indices, `(chunk, n_rows)`, `n` rows in all, bounded memory."""
    rng = np.random.default_rng(seed)
    rows = max(1, _BOOTSTRAP_CHUNK // max(1, n_rows))
    for start in range(0, n, rows):
        yield rng.integers(0, n_rows, size=(min(rows, n - start), n_rows))


def _resampled_counts(
    t: np.ndarray, p: np.ndarray, k: int, n: int, seed: int
) -> tuple[np.ndarray, ...]:
    """Per-class counts in `n` bootstrap resamples, each `(n, k)`."""
    parts = [_counts(t[idx], p[idx], k) for idx in _resamples(len(t), n, seed)]
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def _interval(stats: np.ndarray) -> list[float]:
    low, high = np.percentile(stats, [2.5, 97.5])
    return [float(low), float(high)]


def bootstrap_macro_f1(
    y_true: Sequence[str],
    predictions: Sequence[Sequence[str]],
    labels: Sequence[str],
    n: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Macro-F1 of each prediction list on the same `n` resamples: shape `(n, len(predictions))`.

    Sharing the resamples is what makes a paired comparison of two models possible.
    """
    t = _encode(np.asarray(y_true, dtype=object), labels)
    preds = [_encode(np.asarray(p, dtype=object), labels) for p in predictions]
    chunks = []
    for idx in _resamples(len(t), n, seed):
        columns = []
        for p in preds:
            tp, pred, true = _counts(t[idx], p[idx], len(labels))
            columns.append(_ratio(2 * tp, pred + true).mean(axis=1))
        chunks.append(np.stack(columns, axis=1))
    return np.concatenate(chunks)


def bootstrap_interval(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str], n: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of macro-F1 (rows resampled with replacement)."""
    low, high = _interval(bootstrap_macro_f1(y_true, [y_pred], labels, n, seed)[:, 0])
    return low, high


def bootstrap_per_class(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str], n: int = 1000, seed: int = 0
) -> dict[str, dict[str, list[float]]]:
    """95% intervals of each class's precision, recall and F1 (same resamples as macro-F1)."""
    t, p = _encode(np.asarray(y_true), labels), _encode(np.asarray(y_pred), labels)
    tp, pred, true = _resampled_counts(t, p, len(labels), n, seed)
    stats = {
        "precision": _ratio(tp, pred),
        "recall": _ratio(tp, true),
        "f1": _ratio(2 * tp, pred + true),
    }
    return {
        label: {f"{name}_ci95": _interval(values[:, i]) for name, values in stats.items()}
        for i, label in enumerate(labels)
    }


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


def at_threshold(score: np.ndarray, positive: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision, recall and F1 of "takes a side" when flagging `score >= threshold`."""
    flagged = score >= threshold
    tp = int(np.sum(flagged & positive))
    precision = tp / int(flagged.sum()) if flagged.any() else 0.0
    recall = tp / int(positive.sum()) if positive.any() else 0.0
    return {
        "threshold": threshold,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "flagged": int(flagged.sum()),
    }


def wilson_interval(successes: int, n: int, z: float = 1.96) -> list[float]:
    """Wilson score 95% interval of a proportion; sensible for small n and for 0 or n successes."""
    if n == 0:
        return [float("nan"), float("nan")]
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def check_labels(y: np.ndarray, labels: Sequence[str]) -> None:
    """Raise `DataError` when the data has labels the model cannot predict (they would count wrong)."""
    unknown = sorted(set(y) - set(labels))
    if unknown:
        raise DataError(
            f"the data has labels {unknown} that the model does not know ({list(labels)}); "
            "map them to the model's labels before evaluating"
        )


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
    check_labels(y, labels)
    decided, decisions = decide(proba, metadata)
    y_dec = np.asarray(decided, dtype=object)
    y_arg = np.asarray([labels[i] for i in proba.argmax(axis=1)], dtype=object)
    score = side_scores(proba, labels, metadata.neutral_label)
    positive = y != metadata.neutral_label
    low, high = bootstrap_interval(y, y_dec, labels, seed=seed)
    per_class = _per_class(y, y_dec, labels)
    for label, intervals in bootstrap_per_class(y, y_dec, labels, seed=seed).items():
        per_class[label].update(intervals)
    result: dict[str, Any] = {
        "n": len(y),
        "label_counts": {label: int(np.sum(y == label)) for label in labels},
        "macro_f1": macro_f1(y, y_dec, labels),
        "macro_f1_ci95": [low, high],
        "macro_f1_argmax": macro_f1(y, y_arg, labels),
        "per_class": per_class,
        "confusion_matrix": {
            "labels": labels,
            "rows_true_cols_pred": [
                [int(np.sum((y == t) & (y_dec == p))) for p in labels] for t in labels
            ],
        },
        "pr_auc": average_precision(score, positive),
        "roc_auc": roc_auc(score, positive),
        "brier": brier_score(score, positive),
        "ece": expected_calibration_error(score, positive),
        "at_threshold": at_threshold(score, positive, metadata.thresholds.flag),
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


def summarize(metrics: dict[str, Any]) -> EvaluationSummary:
    """The typed summary stored in an artifact, from `evaluate_predictions` results per split
    (`metrics["validation"]`, `metrics["out_of_fold"]`, `metrics["test"]`). The calibration map
    is the artifact's own `calibration`."""

    def finite(x: Any) -> float | None:  # JSON has no NaN: an undefined figure is null
        return float(x) if x is not None and np.isfinite(x) else None

    def split(m: dict[str, Any] | None) -> SplitSummary | None:
        if m is None:
            return None
        at = m["at_threshold"]
        low, high = m["macro_f1_ci95"]
        return SplitSummary(
            n=m["n"],
            macro_f1=finite(m["macro_f1"]),
            macro_f1_ci95=(finite(low), finite(high)),
            macro_f1_argmax=finite(m["macro_f1_argmax"]),
            precision=finite(at["precision"]),
            recall=finite(at["recall"]),
            pr_auc=finite(m.get("pr_auc")),
        )

    return EvaluationSummary(
        validation=split(metrics.get("validation")),
        out_of_fold=split(metrics.get("out_of_fold")),
        test=split(metrics.get("test")),
    )
