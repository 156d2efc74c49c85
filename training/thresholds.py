"""Choosing the decision thresholds on calibrated scores the model did not learn from.

A false accusation harms a real person, so the `flag` threshold is the lowest score whose
precision for "takes a side" reaches the configured target (default 0.90) on those scores. Where
no threshold reaches it, the data cannot support the promise: the artifact says so and `flag`
falls back to the threshold that maximises F0.5 (precision weighted twice as much as recall),
never to a degenerate cut that flags one post. Below `flag`, a `review` band for a person to look
at reaches the configured recall and is never empty: it holds at least `review_min_share` of the
posts (or every post below `flag` where fewer are left).
"""

from __future__ import annotations

import math

import numpy as np

from netralitas.model.artifact import Thresholds

__all__ = [
    "FALLBACK_RULE",
    "MIN_FLAGGED",
    "MIN_POSITIVES",
    "choose_thresholds",
    "threshold_uncertainty",
]

# Below this many posts taking a side, the precision measured at the flag threshold is too
# uncertain to promise (with 50 positives a 0.90 precision has a 95% interval about 0.17 wide):
# training says so.
MIN_POSITIVES = 100
# A cut that flags fewer posts than this cannot show a precision (one lucky post is "100%").
MIN_FLAGGED = 5
FALLBACK_RULE = "max F0.5: the precision target was not reached, so the cut that maximises F0.5"


def choose_thresholds(
    scores: np.ndarray,
    positive: np.ndarray,
    precision_target: float,
    review_recall: float,
    review_min_share: float = 0.05,
    fitted_on: str | None = None,
    min_flagged: int = MIN_FLAGGED,
) -> Thresholds:
    """Thresholds on side scores `scores` (shape `(n,)`) given true `positive` flags.

    `flag`: the lowest observed score t with precision(score >= t) >= precision_target among cuts
    that flag at least `min_flagged` posts (or all positives, where fewer); else `FALLBACK_RULE`
    and `precision_target_met` False. `review`: the lower of the highest t that keeps recall >=
    review_recall and the score that puts `review_min_share` of the posts into [review, flag);
    strictly below `flag` whenever a post scores below it.
    """
    scores = np.asarray(scores, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    if scores.shape != positive.shape or scores.ndim != 1 or len(scores) == 0:
        raise ValueError(
            f"scores and positive must be equal-length 1-d arrays, got {scores.shape}, {positive.shape}"
        )
    if not positive.any():
        raise ValueError(
            "the posts to choose thresholds on have no positive (non-neutral) rows; label some "
            "posts that take a side"
        )
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order]
    tp = np.cumsum(y)
    k = np.arange(1, len(s) + 1)
    # Only the last index of a run of tied scores is a reachable cut.
    last = np.r_[s[1:] != s[:-1], True]
    precision = tp / k
    recall = tp / y.sum()
    enough = k >= min(min_flagged, int(y.sum()))
    ok = np.flatnonzero(last & enough & (precision >= precision_target))
    met = len(ok) > 0
    if met:
        idx = int(ok[-1])
    else:
        f05 = np.where(
            last, 1.25 * precision * recall / np.maximum(0.25 * precision + recall, 1e-12), -1
        )
        idx = int(np.flatnonzero(f05 == f05.max())[-1])
    flag = float(s[idx])
    reach = np.flatnonzero((recall >= review_recall) & last)
    by_recall = float(s[reach[0]]) if len(reach) else float(s[-1])
    below = s[s < flag]  # descending
    if len(below):
        by_share = float(below[min(len(below), math.ceil(review_min_share * len(s))) - 1])
        review = min(by_recall, by_share)
    else:  # every post reaches flag: no score to place the band at, so it spans half of it
        review = flag / 2
    # Scores are reported to 6 decimals: a cut rounded down keeps every post that reaches it
    # at or above it as printed, too.
    flag, review = _floor6(flag), _floor6(review)
    in_band = float(np.mean((scores >= review) & (scores < flag)))
    return Thresholds(
        flag=flag,
        review=review,
        precision_target=precision_target,
        precision_target_met=met,
        fallback=None if met else FALLBACK_RULE,
        fitted_on=fitted_on,
        review_share=in_band,
        **threshold_uncertainty(scores, positive, flag),
    )


def _floor6(value: float) -> float:
    return math.floor(value * 1e6) / 1e6


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
