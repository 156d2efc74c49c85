"""Cross-fitting: a score for every training post from a model that did not learn from it.

Thresholds and calibration chosen on a small validation split rest on a few dozen posts taking a
side (50 validation posts gave a flag threshold of 0.843 and a model that missed most partisan
posts of a later election). Cross-fitting uses all the labelled training data instead: the posts
are cut into k folds (stratified by label, groups and near-duplicates kept together), a model is
fitted on every k-1 folds through the backend's own recipe and scores the fold it did not see.
The out-of-fold scores carry the calibration and the thresholds; the shipped model is then fitted
once more on everything (`train`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from netralitas.data.records import DataError
from netralitas.data.split import record_groups
from netralitas.model.records import Record
from netralitas.training.recipes import FitJob, Recipe

__all__ = ["CrossFit", "cross_fit", "fold_ids", "inner_split"]


@dataclass
class CrossFit:
    """Out-of-fold raw probabilities (rows in `records` order) and what each fold model chose
    (`Fitted.report`; the models themselves are not kept)."""

    records: list[Record]
    proba: np.ndarray  # (n, n_labels), columns in `labels` order
    labels: tuple[str, ...]
    fold: np.ndarray  # (n,) the fold of each record
    reports: list[dict[str, Any]]
    seconds: float


def fold_ids(records: Sequence[Record], k: int, seed: int) -> np.ndarray:
    """The fold (0..k-1) of each record: stratified by label, groups kept together."""
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.array([r.label for r in records])
    smallest = min(np.unique(labels, return_counts=True)[1])
    if not 2 <= k <= smallest:
        raise DataError(
            f"{k} folds need at least {k} rows of every label; the smallest label has {smallest}. "
            "Use fewer folds (thresholds.folds / --folds) or more data"
        )
    fold = np.empty(len(records), dtype=int)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, idx) in enumerate(
        splitter.split(np.zeros(len(records)), labels, record_groups(records))
    ):
        fold[idx] = i
    return fold


def inner_split(
    records: Sequence[Record], validation_fraction: float, seed: int
) -> tuple[list[Record], list[Record]]:
    """Train and validation rows for a fold model's own choices (early stopping, a grid of C),
    split the way folds are (stratified, groups together), so the held-out fold stays unseen."""
    k = max(2, round(1 / validation_fraction))
    smallest = min(np.unique([r.label for r in records], return_counts=True)[1])
    fold = fold_ids(records, min(k, int(smallest)), seed)
    return (
        [r for r, f in zip(records, fold, strict=True) if f != 0],
        [r for r, f in zip(records, fold, strict=True) if f == 0],
    )


def cross_fit(
    recipe: Recipe,
    job: FitJob,
    records: Sequence[Record],
    k: int,
    seed: int,
    validation_fraction: float = 0.1,
) -> CrossFit:
    """Fit `k` fold models of `job.settings` on `records` and score each held-out fold."""
    records = list(records)
    fold = fold_ids(records, k, seed)
    proba: np.ndarray | None = None
    labels: tuple[str, ...] | None = None
    reports: list[dict[str, Any]] = []
    started = time.perf_counter()
    for i in range(k):
        held = np.flatnonzero(fold == i)
        rest = [r for r, f in zip(records, fold, strict=True) if f != i]
        train, validation = inner_split(rest, validation_fraction, seed + i)
        job.log(f"cross-fit fold {i + 1}/{k}: fitting on {len(rest)} posts, scoring {len(held)}")
        fold_job = dataclasses.replace(
            job, train=train, validation=validation, log=_indented(job.log)
        )
        result = recipe.fit(fold_job)
        model = result.model
        if labels is None:
            labels = model.labels
            proba = np.zeros((len(records), len(labels)))
        elif model.labels != labels:
            raise DataError(
                f"fold {i + 1} learned the labels {model.labels}, fold 1 {labels}: a label is too "
                "rare to appear in every fold. Label more posts of it or use fewer folds"
            )
        held_records = [records[j] for j in held]
        proba[held] = model.raw_proba(
            [r.text for r in held_records], [r.context for r in held_records]
        )
        reports.append(result.report)
        del model, result  # a fine-tuned network is large: one at a time
    assert proba is not None and labels is not None
    return CrossFit(records, proba, labels, fold, reports, time.perf_counter() - started)


def _indented(log):
    return lambda message: log(f"  {message}")
