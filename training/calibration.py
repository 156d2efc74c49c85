"""Temperature scaling: one scalar T fitted on validation logits so that softmax(logits / T)
gives honest probabilities (Guo et al., 2017, "On Calibration of Modern Neural Networks").

Fine-tuned transformers are usually over-confident; a reviewer reading "0.97" must be able to
trust it. T > 1 softens the probabilities, T < 1 sharpens them; the ranking of posts, and so
PR-AUC, is unchanged. The decision thresholds are chosen afterwards, on the calibrated scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netralitas.evaluation.curves import expected_calibration_error

__all__ = ["calibration_report", "fit_temperature", "negative_log_likelihood"]

# T is searched on a log scale in this range: wide enough for any sane network.
T_RANGE = (0.05, 20.0)


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
