"""Choosing the decision thresholds on the validation split.

A false accusation harms a real person, so the `flag` threshold is the lowest score whose
validation precision for "takes a side" reaches the configured target (default 0.90). Below it, a
`review` band catches most remaining positives for a human to look at.
"""

from __future__ import annotations

import numpy as np

from netralitas.model.artifact import Thresholds

__all__ = ["MIN_POSITIVES", "choose_thresholds", "threshold_uncertainty"]

# Below this many posts taking a side, the precision measured at the flag threshold is too
# uncertain to promise (with 50 positives a 0.90 precision has a 95% interval about 0.17 wide):
# training says so.
MIN_POSITIVES = 100


def choose_thresholds(
    scores: np.ndarray, positive: np.ndarray, precision_target: float, review_recall: float
) -> Thresholds:
    """Thresholds on side scores `scores` (shape `(n,)`) given true `positive` flags.

    `flag`: the lowest observed score t with precision(score >= t) >= precision_target. If no
    threshold reaches the target, the one with the highest precision is used and
    `precision_target_met` is False (the artifact then says so). `review`: the highest t that still
    keeps recall >= review_recall, never above `flag`.
    """
    scores = np.asarray(scores, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    if scores.shape != positive.shape or scores.ndim != 1 or len(scores) == 0:
        raise ValueError(
            f"scores and positive must be equal-length 1-d arrays, got {scores.shape}, {positive.shape}"
        )
    if not positive.any():
        raise ValueError(
            "the validation split has no positive (non-neutral) rows; thresholds need some"
        )
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order]
    tp = np.cumsum(y)
    k = np.arange(1, len(s) + 1)
    # Only the last index of a run of tied scores is a reachable cut.
    last = np.r_[s[1:] != s[:-1], True]
    precision = np.where(last, tp / k, -1.0)
    recall = tp / y.sum()
    ok = np.flatnonzero(precision >= precision_target)
    met = len(ok) > 0
    idx = ok[-1] if met else int(np.flatnonzero(precision == precision.max())[-1])
    flag = float(s[idx])
    reach = np.flatnonzero((recall >= review_recall) & last)
    review = float(s[reach[0]]) if len(reach) else float(s[-1])
    return Thresholds(
        flag=flag,
        review=min(review, flag),
        precision_target=precision_target,
        precision_target_met=met,
        **threshold_uncertainty(scores, positive, flag),
    )


def threshold_uncertainty(
    scores: np.ndarray, positive: np.ndarray, flag: float, n_boot: int = 1000, seed: int = 0
) -> dict:
    """Precision and recall of "takes a side" at `flag` on these posts, with percentile bootstrap
    95% intervals (posts resampled with replacement).

    The interval shows how much the figures move with the sample; it does not remove the optimism
    of measuring a threshold on the posts it was chosen on.
    """
    scores = np.asarray(scores, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    flagged = scores >= flag
    tp = int(np.sum(flagged & positive))
    idx = np.random.default_rng(seed).integers(0, len(scores), size=(n_boot, len(scores)))
    b_flagged, b_positive = flagged[idx], positive[idx]  # (n_boot, n)
    b_tp = np.sum(b_flagged & b_positive, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b_precision = b_tp / b_flagged.sum(axis=1)
        b_recall = b_tp / b_positive.sum(axis=1)

    def interval(values: np.ndarray) -> tuple[float, float] | None:
        values = values[np.isfinite(values)]
        if len(values) == 0:
            return None
        low, high = np.percentile(values, [2.5, 97.5])
        return float(low), float(high)

    return {
        "n": len(scores),
        "positives": int(positive.sum()),
        "precision": tp / int(flagged.sum()) if flagged.any() else None,
        "precision_ci95": interval(b_precision),
        "recall": tp / int(positive.sum()),
        "recall_ci95": interval(b_recall),
    }
