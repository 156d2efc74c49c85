"""`netralitas train`: from a config to a saved, thresholded, evaluated artifact."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np

from netralitas.data.records import DataError, load_records
from netralitas.data.split import split_records
from netralitas.evaluation.metrics import evaluate_predictions, summarize
from netralitas.model.artifact import (
    FORMAT_VERSION,
    ArtifactMetadata,
    EvaluationSummary,
    Thresholds,
)
from netralitas.model.decision import side_scores
from netralitas.model.records import Record
from netralitas.model.text.profiles import load_profiles
from netralitas.training.config import TrainConfig
from netralitas.training.recipes import FitJob, recipe_for
from netralitas.training.thresholds import MIN_POSITIVES, choose_thresholds

__all__ = ["Splits", "fingerprint", "load_splits", "train"]

Log = Callable[[str], None]


@dataclass
class Splits:
    train: list[Record]
    validation: list[Record]
    test: list[Record]


def load_splits(config: TrainConfig, log: Log = print) -> Splits:
    """Read the configured data; split one file automatically, or read fixed split files."""
    data = config.data

    def read(path: str) -> list[Record]:
        records = load_records(path, format=data.format)
        if not data.include_weak:
            records = [r for r in records if not r.weak]
        return records

    if data.path is not None:
        result = split_records(
            read(data.path),
            data.validation_fraction,
            data.test_fraction,
            seed=config.seed,
            source=data.path,
        )
        log(
            f"split {data.path}: dropped {result.duplicates_dropped} duplicates; {result.groups} groups"
        )
        return Splits(result.train, result.validation, result.test)
    train = read(data.train)
    if data.validation is None:
        result = split_records(
            train, data.validation_fraction, data.test_fraction, seed=config.seed
        )
        log(f"no validation file: split {len(result.validation)} rows off {data.train}")
        return Splits(
            result.train + result.test, result.validation, read(data.test) if data.test else []
        )
    return Splits(train, read(data.validation), read(data.test) if data.test else [])


def fingerprint(records: Sequence[Record]) -> str:
    """A sha256 over the training-relevant fields, independent of row order."""
    lines = sorted(json.dumps([r.text, r.context, r.label], ensure_ascii=False) for r in records)
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _columns(records: Sequence[Record]) -> tuple[list[str], list[str | None], list[str]]:
    return [r.text for r in records], [r.context for r in records], [r.label or "" for r in records]


def _counts(splits: Splits) -> dict[str, dict[str, int]]:
    return {
        name: dict(Counter(r.label or "" for r in records))
        for name, records in (
            ("train", splits.train),
            ("validation", splits.validation),
            ("test", splits.test),
        )
        if records
    }


def train(config: TrainConfig, output_dir: str | Path | None = None, log: Log = print) -> Path:
    """Train, choose thresholds on validation, evaluate, and save the artifact atomically."""
    output = Path(output_dir or config.output_dir)
    # The resolved config names the folder actually written (checkpoints are kept beside it).
    config = config.model_copy(update={"output_dir": str(output)})
    recipe = recipe_for(config.model.kind)
    recipe.check(config.model, log)  # e.g. an unreachable base model: before any data is read
    splits = load_splits(config, log)
    neutral = config.data.neutral_label
    labels = sorted({r.label for r in splits.train if r.label})
    if neutral not in labels:
        raise DataError(
            f"data.neutral_label is {neutral!r} but the training labels are {labels}; set "
            "data.neutral_label to the label that means 'takes no side'"
        )
    profiles = load_profiles(config.profiles.paths)
    log(
        f"training {config.model.kind} on {len(splits.train)} rows "
        f"(validation {len(splits.validation)}, test {len(splits.test)}); labels {labels}; "
        f"{len(profiles)} election profile(s), masking {'on' if config.profiles.mask else 'off'}"
    )
    job = FitJob(config.model, config, profiles, splits.train, splits.validation, log)
    fitted = recipe.fit(job)
    model = fitted.model

    v_texts, v_contexts, v_labels = _columns(splits.validation)
    v_proba = model.predict_proba(v_texts, v_contexts)
    thresholds = choose_thresholds(
        side_scores(v_proba, model.labels, neutral),
        np.asarray(v_labels) != neutral,
        config.thresholds.precision_target,
        config.thresholds.review_recall,
    )
    _log_uncertainty(thresholds, log)
    if not thresholds.precision_target_met:
        log(
            f"warning: no threshold reaches precision {thresholds.precision_target:.2f} on validation; "
            f"using the most precise one ({thresholds.flag:.3f})"
        )
    metadata = ArtifactMetadata(
        format_version=FORMAT_VERSION,
        kind=config.model.kind,
        name=config.name,
        version=config.version or dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S"),
        labels=model.labels,
        neutral_label=neutral,
        thresholds=thresholds,
        mask_profiles=config.profiles.mask,
        profiles=tuple(p.id for p in profiles),
        training_config=config.model_dump(mode="json"),
        data_fingerprint=fingerprint(splits.train + splits.validation),
        data_counts=_counts(splits),
        package_version=package_version("netralitas"),
        created_at=dt.datetime.now(dt.UTC),
        extra={"settings": model.get_settings()},
    )
    metrics = {
        "validation": evaluate_predictions(
            v_proba, v_labels, metadata, [r.tag for r in splits.validation]
        )
    }
    if splits.test:
        t_texts, t_contexts, t_labels = _columns(splits.test)
        metrics["test"] = evaluate_predictions(
            model.predict_proba(t_texts, t_contexts),
            t_labels,
            metadata,
            [r.tag for r in splits.test],
        )
    # What fitting measured besides the splits (a transformer's calibration report).
    if fitted.calibration is not None:
        metrics["calibration"] = fitted.calibration
    metrics.update(fitted.report)
    summary = summarize(metrics, fitted.calibration)
    model.metadata_ = metadata.model_copy(update={"metrics": metrics, "summary": summary})
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun / accelerate launch: rank 0 saves
        return output
    recipe.finish(fitted, job, v_proba)
    model.save_pretrained(output)
    _log_summary(summary, thresholds, log)
    log(f"saved {output}")
    return output


def _log_uncertainty(thresholds: Thresholds, log: Log) -> None:
    """What the flag threshold rests on; a warning when too few positives back it."""
    t = thresholds
    if t.precision is not None and t.precision_ci95 is not None:
        low, high = t.precision_ci95
        log(
            f"flag threshold {t.flag:.3f}: validation precision {t.precision:.3f} "
            f"[{low:.3f}, {high:.3f}], recall {t.recall:.3f} on {t.n} posts ({t.positives} "
            "taking a side)"
        )
    if t.positives is not None and t.positives < MIN_POSITIVES:
        log(
            f"warning: only {t.positives} validation posts take a side (fewer than "
            f"{MIN_POSITIVES}); the precision promised at the flag threshold is uncertain. Label "
            "more posts, or give a larger validation split"
        )


def _log_summary(summary: EvaluationSummary, thresholds: Thresholds, log: Log) -> None:
    def fmt(x: float | None) -> str:
        return f"{x:.3f}" if x is not None else "n/a"

    log(f"flag threshold {thresholds.flag:.3f} (review from {thresholds.review:.3f})")
    for split, m in (("validation", summary.validation), ("test", summary.test)):
        if m is None:
            continue
        low, high = m.macro_f1_ci95
        log(
            f"{split}: macro-F1 {fmt(m.macro_f1)} [{fmt(low)}, {fmt(high)}] at threshold, "
            f"{fmt(m.macro_f1_argmax)} at argmax; precision {fmt(m.precision)}, "
            f"recall {fmt(m.recall)}"
        )
