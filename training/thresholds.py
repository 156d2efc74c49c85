"""Choosing the decision thresholds on the validation split.

A false accusation harms a real person, so the `flag` threshold is the lowest score whose
validation precision for "takes a side" reaches the configured target (default 0.90). Below it, a
`review` band catches most remaining positives for a human to look at.
"""

from __future__ import annotations

import numpy as np

from netralitas.model.artifact import Thresholds

__all__ = ["choose_thresholds"]


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
    )
