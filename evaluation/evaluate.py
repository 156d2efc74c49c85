"""One entry point for offline evaluation: a model and labelled records in, every number out.

`evaluate_model` predicts once and gathers the headline metrics (`metrics.py`), the curves
(`curves.py`), slices (`slices.py`), robustness and evasion flip rates (`robustness.py`,
`evasion.py`) into one JSON-ready dict, the content of `eval.json`. The CLI, the HTML report and the
notebooks all go through it, so they always show the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netralitas.data.records import DataError, load_records
from netralitas.evaluation.compare import compare_predictions
from netralitas.evaluation.curves import curves
from netralitas.evaluation.evasion import evasion_suite
from netralitas.evaluation.metrics import check_labels, evaluate_predictions
from netralitas.evaluation.robustness import default_perturbations, robustness
from netralitas.evaluation.slices import MIN_SLICE_SIZE, slice_keys, slice_metrics
from netralitas.model.actions import judged_proba, training_view
from netralitas.model.artifact import ArtifactMetadata
from netralitas.model.backend import Classifier
from netralitas.model.decision import decide, side_scores
from netralitas.model.loading import load_classifier
from netralitas.model.records import Record, record_key
from netralitas.model.scorer import Scorer
from netralitas.model.text.profiles import ElectionProfile

__all__ = [
    "Evaluation",
    "compare_evaluations",
    "cross_evaluate",
    "evaluate_model",
    "records_of_split",
]


@dataclass
class Evaluation:
    """The predictions behind a result: what error analysis and model comparison need."""

    records: list[Record]
    proba: np.ndarray  # (n, len(metadata.labels))
    metadata: ArtifactMetadata
    result: dict[str, Any]
    slice_keys: dict[str, list[str]] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [r.label or "" for r in self.records]

    @property
    def decided(self) -> list[str]:
        return decide(self.proba, self.metadata)[0]

    @property
    def scores(self) -> np.ndarray:
        """Side scores `(n,)`: the probability that each post takes a side."""
        return side_scores(self.proba, self.metadata.labels, self.metadata.neutral_label)


def records_of_split(
    records: Sequence[Record], metadata: ArtifactMetadata, split: str
) -> list[Record]:
    """The rows of `records` that were in the model's training split `split` (train,
    validation or test), matched by the keys the artifact stored; an error if none match."""
    stored = metadata.split_keys
    if not stored:
        raise DataError(
            f"{metadata.name} {metadata.version} records no training splits (trained before "
            "netralitas stored them, or recalibrated from such a model); evaluate it on a file"
        )
    if split not in stored:
        raise DataError(f"the model has no {split!r} split; it stored {', '.join(stored)}")
    keys = set(stored[split])
    chosen = []
    for r in records:  # a post once: training dropped its exact duplicates
        key = record_key(r.text, r.context)
        if key in keys:
            chosen.append(r)
            keys.discard(key)
    if not chosen:
        raise DataError(
            f"none of these {len(records)} rows was in the model's {split} split "
            f"({len(stored[split])} posts); pass the data file the model was trained on"
        )
    return chosen


def model_profiles(model: Classifier) -> tuple[ElectionProfile, ...]:
    """The election profiles a model reads with."""
    return tuple(model.profiles)


def evaluate_model(
    model: Classifier,
    records: Sequence[Record],
    *,
    seed: int = 0,
    min_slice_size: int = MIN_SLICE_SIZE,
    with_robustness: bool = True,
    profiles: Sequence[ElectionProfile] | None = None,
) -> Evaluation:
    """Evaluate `model` on labelled `records`; `profiles` defaults to the model's own.

    The result holds everything `evaluate_predictions` returns plus `curves`, `slices`,
    `robustness` and `evasion` (unless `with_robustness` is False), `seed` and `min_slice_size`.
    """
    records = list(records)
    meta = model.metadata_
    check_labels(np.asarray([r.label for r in records], dtype=object), meta.labels)
    profiles = model_profiles(model) if profiles is None else tuple(profiles)
    # Each post read as the Scorer reads it for its action (a like: the post it likes).
    proba = judged_proba(model, records)
    y = [r.label or "" for r in records]
    result = evaluate_predictions(proba, y, meta, [r.tag for r in records], seed=seed)
    scores = side_scores(proba, meta.labels, meta.neutral_label)
    result["curves"] = curves(scores, np.asarray(y, dtype=object) != meta.neutral_label)
    keys = slice_keys(records, profiles)
    decided = decide(proba, meta)[0]
    result["slices"] = slice_metrics(y, decided, scores, meta, keys, min_slice_size)
    if with_robustness:
        perturbations = default_perturbations(profiles, seed=seed)
        # Perturbed as read: a like's liked post (a share's caption with its shared post).
        views = [training_view(r) for r in records]
        result["robustness"] = robustness(model, views, proba, perturbations)
        scorer = Scorer(model)
        scored = scorer.decide(records, proba)
        result["evasion"] = evasion_suite(scorer, records, seed=seed, scored=scored)
    result["seed"] = seed
    result["min_slice_size"] = min_slice_size
    result["model"] = {
        "name": meta.name,
        "version": meta.version,
        "mask_profiles": meta.mask_profiles,
        "profiles": [p.id for p in profiles],
        "flag_threshold": meta.thresholds.flag,
        "precision_target_met": meta.thresholds.precision_target_met,
    }
    return Evaluation(records, proba, meta, result, keys)


def compare_evaluations(a: Evaluation, b: Evaluation, seed: int = 0) -> dict[str, Any]:
    """Paired tests of model A against model B; both must have scored the same posts."""
    if [r.text for r in a.records] != [r.text for r in b.records]:
        raise DataError(
            "the two evaluations are on different posts; evaluate both models on the same file"
        )
    if set(a.metadata.labels) != set(b.metadata.labels):
        raise DataError(
            f"the models predict different labels ({list(a.metadata.labels)} vs "
            f"{list(b.metadata.labels)}); paired tests need the same label set"
        )
    out = compare_predictions(a.labels, a.decided, b.decided, list(a.metadata.labels), seed=seed)
    out["model_a"] = a.result["model"]
    out["model_b"] = b.result["model"]
    return out


def cross_evaluate(
    runs: Sequence[tuple[str, str | Path, str | Path]], seed: int = 0
) -> list[dict[str, Any]]:
    """A cross-election table: one row per `(name, model_dir, data_path)` run.

    Each row: the run name, the model's training data counts and masking, the test file, n,
    macro-F1 with its interval, and precision/recall of "takes a side" at the stored threshold.
    """
    rows = []
    for name, model_dir, data_path in runs:
        model = load_classifier(model_dir)
        evaluation = evaluate_model(
            model, load_records(data_path), seed=seed, with_robustness=False
        )
        r = evaluation.result
        positive = np.asarray(evaluation.labels, dtype=object) != model.metadata_.neutral_label
        rows.append(
            {
                "run": name,
                "model": f"{model.metadata_.name} {model.metadata_.version}",
                "mask_profiles": model.metadata_.mask_profiles,
                "train_rows": sum(model.metadata_.data_counts.get("train", {}).values()),
                "test_data": str(data_path),
                "n": r["n"],
                "macro_f1": r["macro_f1"],
                "macro_f1_ci95": r["macro_f1_ci95"],
                "precision": r["at_threshold"]["precision"],
                "recall": r["at_threshold"]["recall"],
                # Where the test set has one label only (e.g. a stance set with no neutral posts),
                # recall is the one meaningful number; at 0.5 it does not depend on the threshold.
                "recall_at_0.5": float(np.mean(evaluation.scores[positive] >= 0.5))
                if positive.any()
                else None,
                "pr_auc": r["pr_auc"],
            }
        )
    return rows
