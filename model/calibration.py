"""Calibration: honest probabilities from a model's own scores, stored beside the thresholds.

A reviewer reading "0.97" must be able to trust it, and the flag threshold promises a precision
that only holds if the scores mean the same on the posts being scored as on the posts the
threshold was chosen on. So calibration is a small map fitted *after* the model, on scores the
model did not learn from (out-of-fold scores of the training data, a validation split, or
reviewers' labels through `netralitas recalibrate`), and applied to every prediction of the
loaded model, whatever its backend. It lives in the artifact's metadata, so recalibrating a model
on real posts never touches its weights.

Two maps, chosen by held-out negative log-likelihood (`netralitas.training.calibration`):

- `temperature`: softmax(log p / T). One number; keeps the ranking of posts; any label scheme.
- `isotonic`: a monotone map of the side score s = 1 - p(neutral) (the score every decision
  reads), as knots joined linearly; the non-neutral probabilities keep their proportions. Fits
  any monotone distortion, so it suits models trained on another distribution than the one they
  score, given enough labelled posts.

Numpy only: scoring never needs scikit-learn or scipy for it.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["EPSILON", "Calibration", "apply_temperature"]

# Calibrated side scores are kept inside [EPSILON, 1 - EPSILON]: a calibrated "certainly" from a
# few hundred labelled posts would be a claim the data cannot back.
EPSILON = 1e-3


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the temperature scaling of probabilities (of logits, up to a shift)."""
    log_p = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)) / temperature
    log_p -= log_p.max(axis=1, keepdims=True)
    p = np.exp(log_p)
    return p / p.sum(axis=1, keepdims=True)


class Calibration(BaseModel):
    """A fitted calibration map and what it rests on (shown in the model card)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["none", "temperature", "isotonic"]
    temperature: float = Field(default=1.0, gt=0, description="temperature: T")
    knots_x: tuple[float, ...] = Field(default=(), description="isotonic: side scores, rising")
    knots_y: tuple[float, ...] = Field(default=(), description="isotonic: calibrated scores")
    fitted_on: str = Field(description="the posts it was fitted on, in words")
    n: int = Field(ge=1)
    positives: int = Field(ge=0, description="posts taking a side among them")
    # On the posts it was fitted on: negative log-likelihood and expected calibration error of
    # the side score, before and after; and how each candidate did held out (why it was chosen).
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float
    heldout_nll: dict[str, float] = {}

    @model_validator(mode="after")
    def _knots(self) -> Self:
        if self.method != "isotonic":
            return self
        x, y = np.asarray(self.knots_x), np.asarray(self.knots_y)
        if len(x) == 0 or len(x) != len(y):
            raise ValueError(
                f"isotonic calibration needs knots_x and knots_y of equal, non-zero length; "
                f"found {len(x)} and {len(y)}"
            )
        if np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0):
            raise ValueError("isotonic knots must be non-decreasing in both x and y")
        if x.min() < 0 or x.max() > 1 or y.min() < 0 or y.max() > 1:
            raise ValueError("isotonic knots must lie in [0, 1]")
        return self

    def apply(self, proba: np.ndarray, neutral_index: int) -> np.ndarray:
        """Calibrated probabilities, same shape and column order as `proba` `(n, n_labels)`."""
        proba = np.asarray(proba, dtype=np.float64)
        if self.method == "none" or len(proba) == 0:
            return proba
        if self.method == "temperature":
            proba = apply_temperature(proba, self.temperature)
            new_side = 1.0 - proba[:, neutral_index]
        else:
            new_side = np.interp(1.0 - proba[:, neutral_index], self.knots_x, self.knots_y)
        new_side = np.clip(new_side, EPSILON, 1.0 - EPSILON)
        side = 1.0 - proba[:, neutral_index]
        out = np.empty_like(proba)
        others = [k for k in range(proba.shape[1]) if k != neutral_index]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = proba[:, others] / side[:, None]
        # A post with side score 0 has no proportions to keep: split the side score evenly.
        share = np.where(side[:, None] > 0, share, 1.0 / len(others))
        out[:, others] = share * new_side[:, None]
        out[:, neutral_index] = 1.0 - new_side
        return out

    def describe(self) -> str:
        """One line for logs and the model card."""
        what = {
            "none": "no calibration map (the model's own probabilities)",
            "temperature": f"temperature scaling, T = {self.temperature:.3f}",
            "isotonic": f"isotonic map of the side score ({len(self.knots_x)} knots)",
        }[self.method]
        return (
            f"{what}; fitted on {self.fitted_on} ({self.n} posts, {self.positives} taking a "
            f"side); NLL {self.nll_before:.4f} -> {self.nll_after:.4f}, ECE {self.ece_before:.4f}"
            f" -> {self.ece_after:.4f}"
        )
