"""Fitting calibration maps (model/calibration.py) on scores the model did not learn from.

Models are usually over- or under-confident, and a model trained on one distribution (authored
posts) is miscalibrated on another (real posts); a reviewer reading "0.97" must be able to trust
it. `fit_calibration` chooses between no map, temperature scaling (Guo et al., 2017, "On
Calibration of Modern Neural Networks") and an isotonic map of the side score by their
cross-validated negative log-likelihood on those scores, then fits the winner on all of them.
The decision thresholds are chosen afterwards, on the calibrated scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netralitas.evaluation.curves import expected_calibration_error
from netralitas.model.calibration import EPSILON, Calibration

CALIBRATION_METHODS = ("none", "temperature", "isotonic")

__all__ = [
    "CALIBRATION_METHODS",
    "calibration_report",
    "centered_isotonic",
    "fit_calibration",
    "fit_temperature",
    "negative_log_likelihood",
]

# T is searched on a log scale in this range: wide enough for any sane model. Sharpening by more
# than 5x would come from scores that separate the calibration posts perfectly (few, or seen in
# training), not from a model that is really that unsure.
T_RANGE = (0.2, 20.0)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def negative_log_likelihood(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true classes `y` (integer codes, shape `(n,)`) under
    softmax(`logits` / `temperature`), `logits` of shape `(n, n_labels)`."""
    log_p = _log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
    return float(-np.mean(log_p[np.arange(len(y)), y]))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising validation NLL (a 1-d convex problem in 1/T; bounded search)."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if logits.ndim != 2 or len(logits) != len(y) or len(y) == 0:
        raise ValueError(
            f"need logits (n, n_labels) and y (n,) with n > 0, got {logits.shape} and {y.shape}"
        )
    low, high = np.log(T_RANGE)
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, y, float(np.exp(log_t))),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-4},
    )
    best = float(np.exp(result.x))
    # Never return a T that is worse than doing nothing (flat or degenerate validation sets).
    if negative_log_likelihood(logits, y, best) > negative_log_likelihood(logits, y, 1.0):
        return 1.0
    return best


def calibration_report(
    logits: np.ndarray, y: np.ndarray, temperature: float, neutral_index: int
) -> dict[str, Any]:
    """NLL and expected calibration error (of the side score 1 - p(neutral)) before and after."""
    positive = np.asarray(y) != neutral_index

    def side_ece(t: float) -> float:
        p_neutral = np.exp(_log_softmax(np.asarray(logits, dtype=np.float64) / t))[:, neutral_index]
        return float(expected_calibration_error(1.0 - p_neutral, positive))

    return {
        "temperature": float(temperature),
        "n": len(y),
        "nll_before": negative_log_likelihood(logits, y, 1.0),
        "nll_after": negative_log_likelihood(logits, y, temperature),
        "ece_before": side_ece(1.0),
        "ece_after": side_ece(temperature),
    }


def _fit_map(method: str, proba: np.ndarray, y: np.ndarray, neutral: int) -> dict[str, Any]:
    """The parameters of a `Calibration` of `method`, fitted on `proba` and true codes `y`."""
    if method == "temperature":
        return {"temperature": fit_temperature(np.log(np.clip(proba, 1e-12, 1.0)), y)}
    if method == "isotonic":
        knots_x, knots_y = centered_isotonic(1.0 - proba[:, neutral], y != neutral)
        return {"knots_x": knots_x, "knots_y": knots_y}
    return {}


def centered_isotonic(
    scores: np.ndarray, positive: np.ndarray
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Knots of a strictly increasing isotonic map of `scores` to P(positive): centred isotonic
    regression (Oron & Flournoy, 2017).

    Plain isotonic regression is a staircase: every post inside a step gets the same calibrated
    score, so two posts the model ranks apart would tie, and removing a word from a post (how
    explanations work) would often change nothing. Joining the centres of the steps instead keeps
    the fit monotone and strictly increasing; the ends are anchored at 0 -> EPSILON and
    1 -> 1 - EPSILON, so even the most and least partisan posts keep their order.
    """
    # Posts with the same score are one point (their share of positives), then pool adjacent
    # violators: blocks of (positives, posts, sum of scores).
    x, inverse, counts = np.unique(
        np.asarray(scores, dtype=np.float64), return_inverse=True, return_counts=True
    )
    hits = np.bincount(inverse, weights=np.asarray(positive, dtype=np.float64))
    blocks: list[list[float]] = []
    for xi, hit, n in zip(x, hits, counts, strict=True):
        blocks.append([hit, float(n), xi * n])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            t, m, sx = blocks.pop()
            blocks[-1][0] += t
            blocks[-1][1] += m
            blocks[-1][2] += sx
    # Inside [2 EPSILON, 1 - 2 EPSILON], so that the anchors stay below and above every centre.
    centres = [(sx / n, min(max(t / n, 2 * EPSILON), 1 - 2 * EPSILON)) for t, n, sx in blocks]
    if centres[0][0] > 0:
        centres.insert(0, (0.0, EPSILON))
    if centres[-1][0] < 1:
        centres.append((1.0, 1 - EPSILON))
    xs = tuple(float(cx) for cx, _ in centres)
    ys = tuple(float(cy) for _, cy in centres)
    return xs, ys


def _nll(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0))))


def _side_ece(proba: np.ndarray, y: np.ndarray, neutral: int) -> float:
    return float(expected_calibration_error(1.0 - proba[:, neutral], y != neutral))


def fit_calibration(
    proba: np.ndarray,
    y: np.ndarray,
    neutral: int,
    fitted_on: str,
    method: str = "auto",
    folds: int = 5,
    seed: int = 0,
) -> Calibration:
    """The calibration map for probabilities `proba` `(n, n_labels)` with true codes `y` `(n,)`.

    `method` "auto" tries every map in `CALIBRATION_METHODS` and keeps the one with the lowest
    negative log-likelihood held out (`folds`-fold, stratified); a tie keeps the simpler map. The
    held-out figures are recorded, so the artifact says why the map was chosen.
    """
    from sklearn.model_selection import StratifiedKFold

    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if proba.ndim != 2 or len(proba) != len(y) or len(y) == 0:
        raise ValueError(f"need proba (n, n_labels) and y (n,), got {proba.shape}, {y.shape}")
    if method != "auto" and method not in CALIBRATION_METHODS:
        raise ValueError(
            f"calibration method must be auto or one of {', '.join(CALIBRATION_METHODS)}, "
            f"found {method!r}"
        )
    candidates = CALIBRATION_METHODS if method == "auto" else (method,)
    heldout: dict[str, float] = {}
    counts = np.bincount(y)
    present = counts[counts > 0]
    smallest = int(present.min()) if len(present) > 1 else 0  # held-out folds need both sides
    if len(candidates) > 1 and smallest >= 2:
        splitter = StratifiedKFold(min(folds, smallest), shuffle=True, random_state=seed)
        for name in candidates:
            losses = []
            for fit_idx, held_idx in splitter.split(proba, y):
                params = _fit_map(name, proba[fit_idx], y[fit_idx], neutral)
                cal = _calibration(name, params, proba[fit_idx], y[fit_idx], neutral, "", {})
                losses.append(
                    _nll(cal.apply(proba[held_idx], neutral), y[held_idx]) * len(held_idx)
                )
            heldout[name] = float(sum(losses) / len(y))
        chosen = min(candidates, key=lambda name: (round(heldout[name], 4), candidates.index(name)))
    else:
        chosen = candidates[0] if len(candidates) == 1 else "none"
    params = _fit_map(chosen, proba, y, neutral)
    return _calibration(chosen, params, proba, y, neutral, fitted_on, heldout)


def _calibration(
    method: str,
    params: dict[str, Any],
    proba: np.ndarray,
    y: np.ndarray,
    neutral: int,
    fitted_on: str,
    heldout: dict[str, float],
) -> Calibration:
    """A `Calibration` with its before/after figures on the posts it was fitted on."""
    draft = Calibration(
        method=method,
        fitted_on=fitted_on or "-",
        n=len(y),
        positives=int(np.sum(y != neutral)),
        nll_before=0.0,
        nll_after=0.0,
        ece_before=0.0,
        ece_after=0.0,
        **params,
    )
    after = draft.apply(proba, neutral)
    return draft.model_copy(
        update={
            "nll_before": _nll(proba, y),
            "nll_after": _nll(after, y),
            "ece_before": _side_ece(proba, y, neutral),
            "ece_after": _side_ece(after, y, neutral),
            "heldout_nll": heldout,
        }
    )
