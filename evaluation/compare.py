"""Comparing two models on the same labelled posts: paired bootstrap and McNemar's test.

Both tests are *paired*: they use the fact that the two models labelled the same posts, which is
far more sensitive than comparing two independent intervals (overlapping intervals do not mean
"no difference").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from netralitas.evaluation.metrics import bootstrap_macro_f1, macro_f1

__all__ = ["compare_predictions", "mcnemar", "paired_bootstrap"]

# Below this many discordant pairs the chi-square approximation is poor: use the exact binomial test.
EXACT_BELOW = 25


def paired_bootstrap(
    y_true: Sequence[str],
    pred_a: Sequence[str],
    pred_b: Sequence[str],
    labels: Sequence[str],
    n: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Macro-F1 of A minus macro-F1 of B, with a 95% interval from shared resamples.

    The same resampled rows score both models, so post difficulty cancels out. `p_value` is the
    two-sided bootstrap p-value: twice the share of resamples on the far side of zero.
    """
    samples = bootstrap_macro_f1(y_true, [pred_a, pred_b], labels, n, seed)  # (n, 2)
    d = samples[:, 0] - samples[:, 1]
    low, high = np.percentile(d, [2.5, 97.5])
    p = 2 * min(np.mean(d <= 0), np.mean(d >= 0))
    f1_a, f1_b = macro_f1(y_true, pred_a, labels), macro_f1(y_true, pred_b, labels)
    return {
        "macro_f1_a": f1_a,
        "macro_f1_b": f1_b,
        "difference": f1_a - f1_b,
        "difference_ci95": [float(low), float(high)],
        "p_value": float(min(1.0, p)),
        "resamples": n,
        "seed": seed,
    }


def mcnemar(y_true: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str]) -> dict[str, Any]:
    """McNemar's test on the posts exactly one model gets right.

    `a_only` (A right, B wrong) and `b_only` are the discordant pairs. With fewer than 25 of them
    the exact two-sided binomial test is used, otherwise the chi-square test with continuity
    correction (Edwards 1948).
    """
    from scipy import stats

    y = np.asarray(y_true, dtype=object)
    right_a = np.asarray(pred_a, dtype=object) == y
    right_b = np.asarray(pred_b, dtype=object) == y
    a_only, b_only = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    discordant = a_only + b_only
    if discordant == 0:
        method, statistic, p = "none (no discordant pairs)", 0.0, 1.0
    elif discordant < EXACT_BELOW:
        method, statistic = "exact binomial", float(min(a_only, b_only))
        p = stats.binomtest(a_only, discordant, 0.5).pvalue
    else:
        method = "chi-square with continuity correction"
        statistic = (abs(a_only - b_only) - 1) ** 2 / discordant
        p = stats.chi2.sf(statistic, df=1)
    return {
        "both_right": int(np.sum(right_a & right_b)),
        "both_wrong": int(np.sum(~right_a & ~right_b)),
        "a_only": a_only,
        "b_only": b_only,
        "method": method,
        "statistic": float(statistic),
        "p_value": float(p),
    }


def compare_predictions(
    y_true: Sequence[str],
    pred_a: Sequence[str],
    pred_b: Sequence[str],
    labels: Sequence[str],
    seed: int = 0,
) -> dict[str, Any]:
    """Both paired tests of model A against model B (decided labels on the same posts)."""
    if not len(y_true) == len(pred_a) == len(pred_b):
        raise ValueError(
            f"paired tests need one prediction per post from each model; found {len(y_true)} "
            f"labels, {len(pred_a)} and {len(pred_b)} predictions"
        )
    return {
        "paired_bootstrap": paired_bootstrap(y_true, pred_a, pred_b, labels, seed=seed),
        "mcnemar": mcnemar(y_true, pred_a, pred_b),
    }
