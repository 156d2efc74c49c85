"""k-fold cross-validation of a training config on one labelled file (`netralitas cross-validate`).

Each fold trains through the same `train()` as `netralitas train`, on the other folds (split again
into train/validation/test by `data.path`, so thresholds are chosen exactly as in a real run), and
is scored on its held-out fold with the model's own thresholds. Folds are stratified by label with
groups and near-duplicates kept together, so a post and its near-copy never sit on both sides.

The result has per-fold figures (macro-F1 at the stored threshold and at argmax, precision and
recall of "takes a side" at the threshold, training time) and the pooled out-of-fold figures
(every post scored once, by the model that did not see it) with bootstrap 95% intervals.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netralitas.data.records import write_jsonl
from netralitas.evaluation.metrics import (
    at_threshold,
    bootstrap_interval,
    evaluate_predictions,
    macro_f1,
)
from netralitas.model.decision import decide, side_scores
from netralitas.model.loading import load_classifier
from netralitas.model.records import Record
from netralitas.training.config import DataSettings, TrainConfig
from netralitas.training.crossfit import fold_ids

__all__ = ["CrossValidation", "FoldResult", "config_records", "cross_validate", "fold_ids"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class FoldResult:
    fold: int
    n: int
    macro_f1: float  # at the fold model's stored threshold
    macro_f1_argmax: float
    precision: float  # of "takes a side" at the flag threshold
    recall: float
    train_seconds: float


@dataclass(frozen=True)
class CrossValidation:
    folds: list[FoldResult]
    pooled: dict[str, Any]  # n, macro_f1, macro_f1_ci95, precision, recall (out of fold)

    def summary(self) -> dict[str, Any]:
        """Mean and standard deviation over folds of each figure, and the pooled figures."""
        names = ("macro_f1", "macro_f1_argmax", "precision", "recall", "train_seconds")
        spread = {
            name: {
                "mean": statistics.mean(getattr(f, name) for f in self.folds),
                "sd": statistics.stdev(getattr(f, name) for f in self.folds),
            }
            for name in names
        }
        return {"folds": len(self.folds), **spread, "pooled_out_of_fold": self.pooled}


def config_records(config: TrainConfig, log: Callable[[str], None] | None = None) -> list[Record]:
    """The labelled rows a config names: its `data.path` files, or its train, validation and test
    files together (cross-validation makes its own splits), read with its columns and label map.
    A label with fewer than `data.min_label_count` rows is an error."""
    from collections import Counter

    from netralitas.data.labels import check_label_counts
    from netralitas.data.records import load_files

    data = config.data
    paths = [*data.path] if data.path else [*data.train, data.validation, data.test]
    paths = [p for p in paths if p]
    from netralitas.model.actions import training_view

    records = [training_view(r) for r in load_files(paths, data.read_options(), log=log)]
    counts = Counter(r.label for r in records if r.label is not None and not r.weak)
    check_label_counts(counts, data.min_label_count, ", ".join(paths))
    return records


def cross_validate(
    config: TrainConfig,
    records: Sequence[Record],
    k: int = 5,
    seed: int = 13,
    log: Log = print,
) -> CrossValidation:
    """Train and score `k` fold models of `config` on labelled `records` (weak rows left out)."""
    from netralitas.training.train import train

    records = [r for r in records if r.label is not None and not r.weak]
    fold = fold_ids(records, k, seed)
    results: list[FoldResult] = []
    y_all: list[str] = []
    decided_all: list[str] = []
    flagged_all: list[bool] = []
    neutral = config.data.neutral_label
    with tempfile.TemporaryDirectory(prefix="netralitas-cv-") as tmp:
        for i in range(k):
            train_file = Path(tmp) / f"train-{i}.jsonl"
            write_jsonl([r for r, f in zip(records, fold, strict=True) if f != i], train_file)
            held_out = [r for r, f in zip(records, fold, strict=True) if f == i]
            data = DataSettings(
                path=str(train_file), test_fraction=0.1, neutral_label=neutral, format="jsonl"
            )
            fold_config = config.model_copy(update={"data": data})
            started = time.perf_counter()
            model = load_classifier(
                train(fold_config, output_dir=Path(tmp) / f"model-{i}", log=lambda _: None)
            )
            seconds = time.perf_counter() - started
            proba = model.predict_proba([r.text for r in held_out], [r.context for r in held_out])
            meta = model.metadata_
            y = [r.label or "" for r in held_out]
            result = evaluate_predictions(proba, y, meta)
            at = result["at_threshold"]
            results.append(
                FoldResult(
                    i,
                    len(held_out),
                    result["macro_f1"],
                    result["macro_f1_argmax"],
                    at["precision"],
                    at["recall"],
                    seconds,
                )
            )
            y_all += y
            decided_all += decide(proba, meta)[0]
            scores = side_scores(proba, meta.labels, meta.neutral_label)
            flagged_all += list(scores >= meta.thresholds.flag)
            log(
                f"fold {i}: n={len(held_out)} macro-F1 {result['macro_f1']:.3f} at threshold, "
                f"{result['macro_f1_argmax']:.3f} at argmax; precision {at['precision']:.3f}, "
                f"recall {at['recall']:.3f}; trained in {seconds:.0f} s"
            )
    labels = list(meta.labels)
    y_arr = np.asarray(y_all, dtype=object)
    decided = np.asarray(decided_all, dtype=object)
    pooled = at_threshold(np.asarray(flagged_all, dtype=float), y_arr != neutral, 0.5)
    return CrossValidation(
        results,
        {
            "n": len(y_all),
            "macro_f1": macro_f1(y_arr, decided, labels),
            "macro_f1_ci95": list(bootstrap_interval(y_arr, decided, labels)),
            "precision": pooled["precision"],
            "recall": pooled["recall"],
        },
    )
