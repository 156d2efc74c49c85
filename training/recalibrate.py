"""`netralitas recalibrate`: re-fit a model's calibration and thresholds on real labelled posts.

A model trained on one distribution keeps its precision promise only on that distribution: the
default, trained on authored posts, promised 0.90 and reached 0.77 on real 2019 posts. A
monitoring team has the posts it actually sees, labelled by its reviewers (`netralitas feedback
export`). Recalibrating fits a new calibration map and new thresholds on them, exactly as
training does on held-out scores (`fit_decisions`), without touching the weights, and writes a
new artifact version that records on which posts it was calibrated and what it replaced.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from netralitas.data.records import DataError
from netralitas.evaluation.metrics import evaluate_predictions
from netralitas.model.actions import training_view
from netralitas.model.artifact import (
    FORMAT_VERSION,
    ArtifactError,
    ArtifactMetadata,
    Recalibration,
    atomic_directory,
    write_metadata,
)
from netralitas.model.loading import load_classifier
from netralitas.model.records import Record
from netralitas.training.config import ThresholdSettings
from netralitas.training.train import fingerprint, fit_decisions

__all__ = ["recalibrate"]

Log = Callable[[str], None]


def recalibrate(
    model_dir: str | Path,
    records: Sequence[Record],
    output: str | Path,
    data_name: str,
    overrides: dict[str, object] | None = None,
    log: Log = print,
) -> Path:
    """Write a copy of the artifact at `model_dir` to `output` with calibration and thresholds
    fitted on the labelled `records` (named `data_name` in the record).

    The threshold settings are the ones the model was trained with, updated by `overrides`
    (e.g. `{"precision_target": 0.95}`). `output` must not exist yet (nothing stored is lost).
    """
    model_dir, output = Path(model_dir), Path(output)
    if output.exists():
        raise ArtifactError(
            f"{output} already exists; recalibrate writes a new artifact and never replaces one. "
            "Choose another --output or remove the old folder first"
        )
    model = load_classifier(model_dir, inference="fp32")  # the reference path: fitted exactly
    metadata = model.metadata_
    if metadata.kind == "cascade":
        raise ArtifactError(
            "a cascade has no calibration of its own: recalibrate its screen and its model "
            "separately, then build the cascade again (`netralitas cascade`)"
        )
    labelled = [r for r in records if r.label is not None]
    if not labelled:
        raise DataError(
            f"{data_name} has no labelled rows; recalibration needs posts with a label "
            f"({', '.join(metadata.labels)}), e.g. from `netralitas feedback export`"
        )
    trained = metadata.training_config.get("thresholds", {})
    settings = ThresholdSettings.model_validate({**trained, **(overrides or {})})
    fitted_on = f"{len(labelled)} labelled posts of {data_name} (recalibrate)"
    # Read as training reads them (model/actions.py): a labelled like is its liked post.
    views = [training_view(r) for r in labelled]
    raw = model.raw_proba([r.text for r in views], [r.context for r in views])
    labels = [r.label or "" for r in labelled]
    calibration, thresholds = fit_decisions(
        raw, labels, model.labels, metadata.neutral_label, settings, fitted_on, log=log
    )
    now = dt.datetime.now(dt.UTC)
    history = Recalibration(
        at=now,
        data=data_name,
        data_fingerprint=fingerprint(labelled),
        n=len(labelled),
        previous_version=metadata.version,
        previous_thresholds=metadata.thresholds,
        previous_calibration=metadata.calibration,
    )
    updated = metadata.model_copy(
        update={
            "format_version": FORMAT_VERSION,
            "version": f"{metadata.version}+recal.{now:%Y%m%d%H%M%S}",
            "calibration": calibration,
            "thresholds": thresholds,
            "recalibrations": (*metadata.recalibrations, history),
            "training_config": {
                **metadata.training_config,
                "thresholds": settings.model_dump(mode="json"),
            },
        }
    )
    neutral = model.labels.index(metadata.neutral_label)
    updated = updated.model_copy(
        update={
            "metrics": {
                **metadata.metrics,
                "recalibration": evaluate_predictions(
                    calibration.apply(raw, neutral), labels, updated, [r.tag for r in labelled]
                ),
            }
        }
    )
    _write(model_dir, output, updated)
    log(
        f"recalibrated {model_dir} on {len(labelled)} posts: flag {metadata.thresholds.flag:.3f} "
        f"-> {thresholds.flag:.3f}, review {metadata.thresholds.review:.3f} -> "
        f"{thresholds.review:.3f}; saved {output} (version {updated.version})"
    )
    return output


def _write(source: Path, output: Path, metadata: ArtifactMetadata) -> None:
    """Copy the artifact, then replace its metadata (and model card) — atomically."""
    from netralitas.model.model_card import render_model_card

    with atomic_directory(output) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        write_metadata(tmp, metadata)
        if (tmp / "README.md").is_file():
            (tmp / "README.md").write_text(render_model_card(metadata), encoding="utf-8")
