"""k-fold cross-validation of a training config on one labelled file (e.g. the gold dev set).

    python benchmarks/cross_validate.py training/configs/baseline.toml ../shared/data/gold/dev-2019.jsonl \
        [--folds 5] [--set profiles.mask=false]

Each fold trains through the same `train()` as `netralitas train` on the other folds (which are split
again into train/validation for the C grid and the thresholds) and is scored on its held-out fold.
Folds are stratified by label with near-duplicates kept together. Prints, per fold, macro-F1 at the
stored threshold and at argmax, precision and recall of "takes a side" at the threshold and the
training time; then the mean and standard deviation over folds, and the pooled out-of-fold figures
(every post scored once, by the model that did not see it) with bootstrap 95% intervals.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

from netralitas.data.records import load_records, write_jsonl
from netralitas.data.split import _groups
from netralitas.evaluation.metrics import (
    at_threshold,
    bootstrap_interval,
    evaluate_predictions,
    macro_f1,
)
from netralitas.model.decision import decide, side_scores
from netralitas.model.loading import load_classifier
from netralitas.model.records import Record
from netralitas.training.config import TrainConfig, apply_overrides


def folds_of(records: list[Record], k: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.array([r.label for r in records])
    fold = np.empty(len(records), dtype=int)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, idx) in enumerate(
        splitter.split(np.zeros(len(records)), labels, _groups(records, 0.8))
    ):
        fold[idx] = i
    return fold


def main() -> None:
    from netralitas.training.train import train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()

    records = [r for r in load_records(args.data, require_label=True) if not r.weak]
    fold = folds_of(records, args.folds, args.seed)
    per_fold: list[dict[str, float]] = []
    y_all: list[str] = []
    decided_all: list[str] = []
    flagged_all: list[bool] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.folds):
            train_file = Path(tmp) / f"train-{i}.jsonl"
            write_jsonl([r for r, f in zip(records, fold, strict=True) if f != i], train_file)
            held_out = [r for r, f in zip(records, fold, strict=True) if f == i]
            raw = apply_overrides(tomllib.loads(Path(args.config).read_text()), args.set)
            raw["data"] = {
                "path": str(train_file),
                "test_fraction": 0.1,
                "neutral_label": raw.get("data", {}).get("neutral_label", "neutral"),
            }
            config = TrainConfig.model_validate(raw)
            started = time.perf_counter()
            model = load_classifier(
                train(config, output_dir=Path(tmp) / f"model-{i}", log=lambda _: None)
            )
            seconds = time.perf_counter() - started
            proba = model.predict_proba([r.text for r in held_out], [r.context for r in held_out])
            meta = model.metadata_
            y = [r.label or "" for r in held_out]
            result = evaluate_predictions(proba, y, meta)
            at = result["at_threshold"]
            per_fold.append(
                {
                    "macro_f1": result["macro_f1"],
                    "macro_f1_argmax": result["macro_f1_argmax"],
                    "precision": at["precision"],
                    "recall": at["recall"],
                    "train_seconds": seconds,
                }
            )
            y_all += y
            decided_all += decide(proba, meta)[0]
            scores = side_scores(proba, meta.labels, meta.neutral_label)
            flagged_all += list(scores >= meta.thresholds.flag)
            print(
                f"fold {i}: n={len(held_out)} macro-F1 {result['macro_f1']:.3f} at threshold, "
                f"{result['macro_f1_argmax']:.3f} at argmax; precision {at['precision']:.3f}, "
                f"recall {at['recall']:.3f}; trained in {seconds:.0f} s",
                flush=True,
            )
    labels = list(meta.labels)
    y_arr, flagged = np.asarray(y_all, dtype=object), np.asarray(flagged_all)
    positive = y_arr != meta.neutral_label
    pooled = at_threshold(flagged.astype(float), positive, 0.5)
    summary = {
        name: [
            statistics.mean(f[name] for f in per_fold),
            statistics.stdev(f[name] for f in per_fold),
        ]
        for name in per_fold[0]
    }
    summary["pooled_out_of_fold"] = {
        "n": len(y_all),
        "macro_f1": macro_f1(y_arr, np.asarray(decided_all, dtype=object), labels),
        "macro_f1_ci95": list(
            bootstrap_interval(y_arr, np.asarray(decided_all, dtype=object), labels)
        ),
        "precision": pooled["precision"],
        "recall": pooled["recall"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
