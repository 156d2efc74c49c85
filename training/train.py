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

from netralitas.model.artifact import FORMAT_VERSION, ArtifactMetadata, Thresholds
from netralitas.model.classifier import Classifier, side_scores
from netralitas.model.profiles import ElectionProfile, load_profiles
from netralitas.model.tfidf import TfidfClassifier

from .config import TfidfSettings, TrainConfig
from .metrics import evaluate_predictions
from .records import DataError, Record, load_records
from .split import split_records
from .thresholds import choose_thresholds

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


def _fit_tfidf(
    settings: TfidfSettings,
    profiles: tuple[ElectionProfile, ...],
    mask: bool,
    splits: Splits,
    log: Log,
) -> TfidfClassifier:
    """Fit one model per value of C and keep the best by validation macro-F1 (argmax rule)."""
    from sklearn.metrics import f1_score

    texts, contexts, labels = _columns(splits.train)
    v_texts, v_contexts, v_labels = _columns(splits.validation)
    grid = settings.C if isinstance(settings.C, tuple) else (settings.C,)
    best, best_f1 = None, -1.0
    params = settings.model_dump(exclude={"kind", "C"})
    for c in grid:
        model = TfidfClassifier(profiles=profiles, mask_profiles=mask, C=c, **params)
        model.fit(texts, labels, contexts)
        pred = np.asarray(model.labels)[model.predict_proba(v_texts, v_contexts).argmax(axis=1)]
        f1 = f1_score(v_labels, pred, average="macro")
        log(f"  C={c:g}: validation macro-F1 {f1:.3f}")
        if f1 > best_f1:
            best, best_f1 = model, f1
    assert best is not None
    return best


def _fit_model(
    config: TrainConfig, profiles: tuple[ElectionProfile, ...], splits: Splits, log: Log
) -> Classifier:
    """Fit the backend named by `config.model.kind` (the one place that knows the backends)."""
    if config.model.kind == "tfidf":
        return _fit_tfidf(config.model, profiles, config.profiles.mask, splits, log)
    if config.model.kind == "transformer":
        from .finetune import finetune  # transformer-only code, loaded when one is trained

        return finetune(config.model, config, profiles, splits.train, splits.validation, log)
    raise NotImplementedError(f"model.kind {config.model.kind!r}")


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
    if config.model.kind == "transformer":
        from .base_model import resolve_base_model

        # An unreachable base model should stop training before any data is read.
        resolve_base_model(config.model.base_model, timeout=config.model.hub_timeout)
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
    model = _fit_model(config, profiles, splits, log)

    v_texts, v_contexts, v_labels = _columns(splits.validation)
    v_proba = model.predict_proba(v_texts, v_contexts)
    thresholds = choose_thresholds(
        side_scores(v_proba, model.labels, neutral),
        np.asarray(v_labels) != neutral,
        config.thresholds.precision_target,
        config.thresholds.review_recall,
    )
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
    metrics.update(getattr(model, "training_metrics_", {}))
    model.metadata_ = metadata.model_copy(update={"metrics": metrics})
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun / accelerate launch: rank 0 saves
        return output
    if config.model.kind == "transformer":  # may "auto" score with int8? (README "Fast scoring")
        from .fast_check import guard_trained_model

        guard_trained_model(model, v_texts, v_contexts, v_proba, log)
    model.save_pretrained(output)
    _log_summary(metrics, thresholds, log)
    log(f"saved {output}")
    return output


def _log_summary(metrics: dict, thresholds: Thresholds, log: Log) -> None:
    log(f"flag threshold {thresholds.flag:.3f} (review from {thresholds.review:.3f})")
    for split, m in metrics.items():
        if split not in ("validation", "test"):
            continue
        low, high = m["macro_f1_ci95"]
        log(
            f"{split}: macro-F1 {m['macro_f1']:.3f} [{low:.3f}, {high:.3f}] at threshold, "
            f"{m['macro_f1_argmax']:.3f} at argmax; precision {m['at_threshold']['precision']:.3f}, "
            f"recall {m['at_threshold']['recall']:.3f}"
        )
