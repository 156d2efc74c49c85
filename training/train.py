"""`netralitas train`: from a config to a saved, thresholded, evaluated artifact."""

from __future__ import annotations

import dataclasses
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

from netralitas.data.labels import check_label_counts, check_label_spellings
from netralitas.data.records import DataError, load_files
from netralitas.data.split import split_records
from netralitas.evaluation.metrics import evaluate_predictions, summarize
from netralitas.model.actions import training_view
from netralitas.model.artifact import (
    FORMAT_VERSION,
    ArtifactMetadata,
    EvaluationSummary,
    Thresholds,
)
from netralitas.model.calibration import Calibration
from netralitas.model.decision import side_scores
from netralitas.model.records import Record, record_key
from netralitas.model.text.profiles import load_profiles
from netralitas.training.calibration import fit_calibration
from netralitas.training.config import ThresholdSettings, TrainConfig
from netralitas.training.crossfit import cross_fit
from netralitas.training.recipes import FitJob, Fitted, Recipe, recipe_for
from netralitas.training.run_info import run_metadata
from netralitas.training.thresholds import MIN_POSITIVES, choose_thresholds

__all__ = [
    "HeldOutScores",
    "Splits",
    "fingerprint",
    "fit_decisions",
    "fit_model",
    "load_splits",
    "train",
]

Log = Callable[[str], None]


@dataclass
class Splits:
    train: list[Record]
    validation: list[Record]
    test: list[Record]


def load_splits(config: TrainConfig, log: Log = print) -> Splits:
    """Read the configured data; split one file (or several together) automatically, or read
    fixed split files. Every file is read with the config's columns and label map; a label with
    fewer than `data.min_label_count` training rows, or two labels that differ only in case,
    spaces or accents, are errors."""
    data = config.data
    options = data.read_options()

    def read(paths: Sequence[str]) -> list[Record]:
        # A like is fitted on the post it likes (model/actions.py: what the Scorer judges).
        records = [training_view(r) for r in load_files(paths, options, log=log)]
        if not data.include_weak:
            records = [r for r in records if not r.weak]
        return records

    def check(records: Sequence[Record], paths: Sequence[str]) -> None:
        counts = Counter(r.label for r in records if r.label is not None)
        check_label_counts(counts, data.min_label_count, ", ".join(paths))

    if data.path is not None:
        records = read(data.path)
        check(records, data.path)
        where = ", ".join(data.path)
        result = split_records(
            records, data.validation_fraction, data.test_fraction, seed=config.seed, source=where
        )
        log(
            f"split {where}: dropped {result.duplicates_dropped} duplicates; {result.groups} groups"
        )
        return Splits(result.train, result.validation, result.test)
    train = read(data.train)
    check(train, data.train)
    validation = read([data.validation]) if data.validation else []
    test = read([data.test]) if data.test else []
    files = [*data.train, *(f for f in (data.validation, data.test) if f)]
    every = Counter(r.label for r in [*train, *validation, *test] if r.label is not None)
    check_label_spellings(every, {}, ", ".join(files))
    if data.validation is None:
        result = split_records(
            train, data.validation_fraction, data.test_fraction, seed=config.seed
        )
        log(f"no validation file: split {len(result.validation)} rows off {', '.join(data.train)}")
        return Splits(result.train + result.test, result.validation, test)
    return Splits(train, validation, test)


def fingerprint(records: Sequence[Record]) -> str:
    """A sha256 over the training-relevant fields, independent of row order."""
    lines = sorted(json.dumps([r.text, r.context, r.label], ensure_ascii=False) for r in records)
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


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


@dataclass
class HeldOutScores:
    """Posts scored by a model that did not learn from them: what calibration and thresholds are
    fitted on. `proba` are the models' own (uncalibrated) probabilities."""

    name: str  # "out_of_fold" or "validation": the key of their figures in the metrics
    records: list[Record]
    proba: np.ndarray
    fitted_on: str  # in words, for the artifact and the model card


def fit_model(recipe: Recipe, job: FitJob, log: Log = print) -> tuple[Fitted, HeldOutScores]:
    """The shipped model and the held-out scores its calibration and thresholds rest on.

    `thresholds.method` "cross-fit": out-of-fold scores of all the training posts (train and
    validation splits), then the shipped model fitted on all of them with the settings the fold
    models settled on. "validation": one fit on the train split, scored on the validation split.
    """
    config = job.config
    settings = config.thresholds
    if settings.method == "validation":
        fitted = recipe.fit(job)
        proba = fitted.model.raw_proba(*_inputs(job.validation))
        return fitted, HeldOutScores(
            "validation", list(job.validation), proba, "the validation split"
        )
    pooled = [*job.train, *job.validation]
    crossed = cross_fit(
        recipe, job, pooled, settings.folds, config.seed, config.data.validation_fraction
    )
    log(f"cross-fit: {settings.folds} fold models in {crossed.seconds:.0f} s")
    settled = recipe.settle(job.settings, crossed.reports)
    if settled is None:
        log(
            f"{config.model.kind} needs a validation split to fit: the shipped model is fitted on "
            "the train split"
        )
        fitted = recipe.fit(job)
    else:
        log(f"fitting the shipped model on all {len(pooled)} training posts")
        fitted = recipe.fit(dataclasses.replace(job, settings=settled, train=pooled, validation=()))
    if fitted.model.labels != crossed.labels:
        raise DataError(
            f"the shipped model learned the labels {fitted.model.labels}, the fold models "
            f"{crossed.labels}; label more posts of the rarest label"
        )
    fitted.report["cross_fit"] = {
        "folds": settings.folds,
        "seconds": round(crossed.seconds, 1),
        "fold_reports": crossed.reports,
        "shipped_settings": settled.model_dump(mode="json") if settled is not None else None,
    }
    fitted_on = f"out-of-fold scores of the {len(pooled)} training posts ({settings.folds} folds)"
    return fitted, HeldOutScores("out_of_fold", pooled, crossed.proba, fitted_on)


def train(config: TrainConfig, output_dir: str | Path | None = None, log: Log = print) -> Path:
    """Train; calibrate and choose thresholds on held-out scores; evaluate; save atomically."""
    started = dt.datetime.now(dt.UTC)
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
        f"{len(profiles)} election profile(s), masking {'on' if config.profiles.mask else 'off'}; "
        f"thresholds by {config.thresholds.method}"
    )
    job = FitJob(config.model, config, profiles, splits.train, splits.validation, log)
    fitted, held = fit_model(recipe, job, log)
    model = fitted.model
    calibration, thresholds = fit_decisions(
        held.proba,
        [r.label or "" for r in held.records],
        model.labels,
        neutral,
        config.thresholds,
        held.fitted_on,
        seed=config.seed,
        log=log,
    )
    metadata = ArtifactMetadata(
        format_version=FORMAT_VERSION,
        kind=config.model.kind,
        name=config.name,
        version=config.version or dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S"),
        labels=model.labels,
        neutral_label=neutral,
        thresholds=thresholds,
        calibration=calibration,
        mask_profiles=config.profiles.mask,
        profiles=tuple(p.id for p in profiles),
        training_config=config.model_dump(mode="json"),
        data_fingerprint=fingerprint(splits.train + splits.validation),
        data_counts=_counts(splits),
        split_keys=_split_keys(splits),
        package_version=package_version("netralitas"),
        created_at=dt.datetime.now(dt.UTC),
        extra={"settings": model.get_settings()},
    )
    model.metadata_ = metadata  # from here on the model's probabilities are calibrated
    metrics = {
        held.name: evaluate_predictions(
            calibration.apply(held.proba, model.labels.index(neutral)),
            [r.label or "" for r in held.records],
            metadata,
            [r.tag for r in held.records],
        )
    }
    if splits.test:
        metrics["test"] = evaluate_predictions(
            model.predict_proba(*_inputs(splits.test)),
            [r.label or "" for r in splits.test],
            metadata,
            [r.tag for r in splits.test],
        )
    metrics.update(fitted.report)
    summary = summarize(metrics)
    model.metadata_ = metadata.model_copy(update={"metrics": metrics, "summary": summary})
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun / accelerate launch: rank 0 saves
        return output
    guard = _guard_sample(held.records, config.seed)
    recipe.finish(
        fitted, dataclasses.replace(job, validation=guard), model.predict_proba(*_inputs(guard))
    )
    run = {**model.metadata_.extra, "run": run_metadata(started)}  # when, where, with what
    model.metadata_ = model.metadata_.model_copy(update={"extra": run})
    model.save_pretrained(output)
    _log_summary(model.metadata_.summary, thresholds, log)
    log(f"saved {output}")
    return output


def fit_decisions(
    proba: np.ndarray,
    labels: Sequence[str],
    model_labels: Sequence[str],
    neutral: str,
    settings: ThresholdSettings,
    fitted_on: str,
    seed: int = 0,
    log: Log = print,
) -> tuple[Calibration, Thresholds]:
    """The calibration map and the thresholds for a model's own probabilities `proba` of posts
    with true `labels` it did not learn from (used by `train` and `recalibrate`)."""
    index = {label: i for i, label in enumerate(model_labels)}
    unknown = sorted({label for label in labels if label not in index})
    if unknown:
        raise DataError(
            f"labels {unknown} are not labels of the model ({list(model_labels)}); map them to "
            "the model's labels (--map VALUE=LABEL, or data.label_map in a config) or drop "
            "those posts"
        )
    y = np.array([index[label] for label in labels], dtype=np.int64)
    neutral_index = index[neutral]
    calibration = fit_calibration(
        proba, y, neutral_index, fitted_on, method=settings.calibration, seed=seed
    )
    log(f"calibration: {calibration.describe()}")
    if calibration.heldout_nll:
        log(
            "  held-out log-loss by map: "
            + ", ".join(f"{k} {v:.4f}" for k, v in calibration.heldout_nll.items())
        )
    thresholds = choose_thresholds(
        side_scores(calibration.apply(proba, neutral_index), model_labels, neutral),
        y != neutral_index,
        settings.precision_target,
        settings.review_recall,
        settings.review_min_share,
        fitted_on=fitted_on,
    )
    _log_uncertainty(thresholds, log)
    return calibration, thresholds


def _inputs(records: Sequence[Record]) -> tuple[list[str], list[str | None]]:
    return [r.text for r in records], [r.context for r in records]


def _split_keys(splits: Splits) -> dict[str, tuple[str, ...]]:
    return {
        name: tuple(record_key(r.text, r.context) for r in records)
        for name, records in (
            ("train", splits.train),
            ("validation", splits.validation),
            ("test", splits.test),
        )
        if records
    }


def _guard_sample(records: Sequence[Record], seed: int, size: int = 500) -> list[Record]:
    """Posts to check a fast inference path on (its agreement with fp32 on real inputs)."""
    if len(records) <= size:
        return list(records)
    keep = np.random.default_rng(seed).choice(len(records), size=size, replace=False)
    return [records[i] for i in sorted(keep)]


def _log_uncertainty(thresholds: Thresholds, log: Log) -> None:
    """What the flag threshold rests on; a warning when too few positives back it."""
    t = thresholds
    if t.precision is not None and t.precision_ci95 is not None:
        low, high = t.precision_ci95
        log(
            f"flag threshold {t.flag:.3f} on {t.fitted_on}: precision {t.precision:.3f} "
            f"[{low:.3f}, {high:.3f}], recall {t.recall:.3f} on {t.n} posts ({t.positives} "
            f"taking a side); review band from {t.review:.3f} ({t.review_share:.1%} of them)"
        )
    if not t.precision_target_met:
        log(
            f"warning: no threshold reaches precision {t.precision_target:.2f} on {t.fitted_on}; "
            f"flag falls back to {t.fallback} ({t.flag:.3f})"
        )
    if t.positives is not None and t.positives < MIN_POSITIVES:
        log(
            f"warning: only {t.positives} of the posts the thresholds rest on take a side (fewer "
            f"than {MIN_POSITIVES}); the precision promised at the flag threshold is uncertain. "
            'Label more posts, or use thresholds.method = "cross-fit" to use all of them'
        )


def _log_summary(summary: EvaluationSummary, thresholds: Thresholds, log: Log) -> None:
    def fmt(x: float | None) -> str:
        return f"{x:.3f}" if x is not None else "n/a"

    log(f"flag threshold {thresholds.flag:.3f} (review from {thresholds.review:.3f})")
    for split, m in (
        ("out of fold", summary.out_of_fold),
        ("validation", summary.validation),
        ("test", summary.test),
    ):
        if m is None:
            continue
        low, high = m.macro_f1_ci95
        log(
            f"{split}: macro-F1 {fmt(m.macro_f1)} [{fmt(low)}, {fmt(high)}] at threshold, "
            f"{fmt(m.macro_f1_argmax)} at argmax; precision {fmt(m.precision)}, "
            f"recall {fmt(m.recall)}"
        )
