"""The linear head of the frozen-encoder backend: logistic regression, applied with numpy.

Fitting (scikit-learn) standardises the features on the training rows, fits a class-weighted
`LogisticRegression`, and folds the standardisation into the weights, so that scoring is one
`logits = X @ coef.T + intercept` on the raw features, then `[1 - sigmoid, sigmoid]` for two
labels and a softmax for more (what `LogisticRegression.predict_proba` computes). Standardising
first puts every feature on one scale, so a single grid of `C` values suits the embedding
dimensions (each of small variance on the unit sphere), the has-context flag and a stacked TF-IDF
logit alike.

Stored as `head.safetensors` (float64 "coef" of shape `(rows, features)`, one row for two labels,
else one per label; "intercept" of shape `(rows,)`) and `head.json` (labels and the feature
layout: `[{"name": ..., "size": ...}, ...]`, the features in column order).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netralitas.model.artifact import ArtifactError

__all__ = ["HEAD_FILE", "LAYOUT_FILE", "LinearHead", "fit_head"]

HEAD_FILE = "head.safetensors"
LAYOUT_FILE = "head.json"


@dataclass(frozen=True)
class LinearHead:
    """Labels, the feature layout `((name, size), ...)` and the linear layer over it."""

    labels: tuple[str, ...]
    layout: tuple[tuple[str, int], ...]
    coef: np.ndarray  # (rows, n_features) float64
    intercept: np.ndarray  # (rows,) float64

    def __post_init__(self) -> None:
        if len(self.labels) < 2 or list(self.labels) != sorted(set(self.labels)):
            raise ValueError(f"labels {list(self.labels)} are not at least two, sorted, distinct")
        rows = 1 if len(self.labels) == 2 else len(self.labels)
        width = self.n_features
        if self.coef.shape != (rows, width) or self.intercept.shape != (rows,):
            raise ValueError(
                f"coef {self.coef.shape} and intercept {self.intercept.shape} do not match "
                f"{len(self.labels)} labels and {width} features (expected ({rows}, {width}) and "
                f"({rows},))"
            )
        if not (np.isfinite(self.coef).all() and np.isfinite(self.intercept).all()):
            raise ValueError("the head has weights that are not finite")

    @property
    def n_features(self) -> int:
        return sum(size for _, size in self.layout)

    def proba(self, features: np.ndarray) -> np.ndarray:
        """Probabilities `(n, len(labels))` of the feature rows `(n, n_features)`."""
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise ValueError(f"features {features.shape}; the head reads {self.n_features}")
        logits = features.astype(np.float64, copy=False) @ self.coef.T + self.intercept
        if logits.shape[1] == 1:
            # sigmoid through tanh: no overflow in exp for large |logit|.
            p = 0.5 * (1.0 + np.tanh(0.5 * logits[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=1, keepdims=True)

    # -- persistence -----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        from safetensors.numpy import save

        tensors = {"coef": self.coef, "intercept": self.intercept}
        (directory / HEAD_FILE).write_bytes(
            save({k: np.ascontiguousarray(a, dtype=np.float64) for k, a in tensors.items()})
        )
        layout = {
            "labels": list(self.labels),
            "features": [{"name": name, "size": size} for name, size in self.layout],
        }
        (directory / LAYOUT_FILE).write_text(json.dumps(layout, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, retrain: str) -> LinearHead:
        """Read `head.safetensors` and `head.json`; every problem is an ArtifactError."""
        from safetensors.numpy import load_file

        for name in (HEAD_FILE, LAYOUT_FILE):
            if not (directory / name).is_file():
                raise ArtifactError(f"{directory} is incomplete: {name} is missing; {retrain}")
        try:
            tensors = load_file(directory / HEAD_FILE)
        except Exception as exc:  # safetensors raises its own error types for damaged files
            raise ArtifactError(
                f"{directory / HEAD_FILE} is corrupt or unreadable ({exc}); {retrain}"
            ) from exc
        try:
            raw = json.loads((directory / LAYOUT_FILE).read_text(encoding="utf-8"))
            labels = tuple(raw["labels"])
            layout = tuple((str(f["name"]), int(f["size"])) for f in raw["features"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(
                f"{directory / LAYOUT_FILE} is not a head layout (expected {{'labels': [str], "
                f"'features': [{{'name': str, 'size': int}}]}}: {exc}); {retrain}"
            ) from exc
        if set(tensors) != {"coef", "intercept"}:
            raise ArtifactError(
                f"{directory / HEAD_FILE} holds {sorted(tensors)}, expected coef and intercept; "
                f"{retrain}"
            )
        try:
            return cls(
                labels,
                layout,
                np.array(tensors["coef"], dtype=np.float64),
                np.array(tensors["intercept"], dtype=np.float64),
            )
        except ValueError as exc:
            raise ArtifactError(
                f"{directory}: {HEAD_FILE} and {LAYOUT_FILE} do not agree ({exc}); {retrain}"
            ) from exc


def fit_head(
    features: np.ndarray,
    labels: Sequence[str],
    layout: Sequence[tuple[str, int]],
    C: float,
    max_iter: int = 3000,
) -> tuple[LinearHead, dict[str, Any]]:
    """Standardise, fit a class-weighted logistic regression, fold the standardisation into it.

    Returns the head and a small report (iterations used, whether it converged).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(labels):
        raise ValueError(f"features {x.shape} for {len(labels)} labels")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0  # a constant column (e.g. no context in training) stays at 0
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit((x - mean) / scale, list(labels))
    coef = clf.coef_ / scale  # (rows, n_features)
    intercept = clf.intercept_ - coef @ mean
    head = LinearHead(tuple(str(c) for c in clf.classes_), tuple(layout), coef, intercept)
    converged = True
    for w in caught:  # only the convergence warning is ours to report; pass the others on
        if issubclass(w.category, ConvergenceWarning):
            converged = False
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return head, {"iterations": int(np.max(clf.n_iter_)), "converged": converged}
