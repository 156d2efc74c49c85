"""k-fold cross-validation of a training config on one labelled file (e.g. the gold dev set).

    python benchmarks/cross_validate.py training/configs/baseline.toml ../shared/data/gold/dev-2019.jsonl \
        [--folds 5] [--set profiles.mask=false]

Each fold trains through the same `train()` as `netralitas train` on the other folds (which are split
again into train/validation for the C grid and the thresholds) and is scored on its held-out fold.
Folds are stratified by label with near-duplicates kept together. Prints macro-F1 per fold, at the
stored threshold and at argmax, then the mean and standard deviation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import tomllib
from pathlib import Path

import numpy as np

from netralitas.data.records import load_records, write_jsonl
from netralitas.data.split import _groups
from netralitas.evaluation.metrics import evaluate_predictions
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
    at_threshold, at_argmax = [], []
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
            model = load_classifier(
                train(config, output_dir=Path(tmp) / f"model-{i}", log=lambda _: None)
            )
            proba = model.predict_proba([r.text for r in held_out], [r.context for r in held_out])
            result = evaluate_predictions(proba, [r.label for r in held_out], model.metadata_)
            at_threshold.append(result["macro_f1"])
            at_argmax.append(result["macro_f1_argmax"])
            print(
                f"fold {i}: n={len(held_out)} macro-F1 {result['macro_f1']:.3f} at threshold, "
                f"{result['macro_f1_argmax']:.3f} at argmax",
                flush=True,
            )
    summary = {
        "macro_f1_at_threshold": [statistics.mean(at_threshold), statistics.stdev(at_threshold)],
        "macro_f1_at_argmax": [statistics.mean(at_argmax), statistics.stdev(at_argmax)],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
