"""The artifact format: a directory holding a model's files and `netralitas.json`.

Layout (every backend)::

    netralitas.json      metadata below (written last: a directory without it is not an artifact)
    profiles/<id>.json   the election profiles the model reads with (validated on load)
    ...                  backend files (tfidf.safetensors + vocabulary.json for TF-IDF;
                         safetensors + tokenizer for a transformer)

Saving is atomic: files go to a temporary sibling directory that is renamed into place, so a crash
never leaves a half-written artifact that loads, and an existing artifact is replaced only once the
new one is complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netralitas.model.calibration import Calibration
from netralitas.model.registry import backend_kinds
from netralitas.model.text.profiles import ElectionProfile

__all__ = [
    "FORMAT_VERSION",
    "METADATA_FILE",
    "ArtifactError",
    "ArtifactMetadata",
    "CalibrationSummary",
    "EvaluationSummary",
    "Recalibration",
    "SplitSummary",
    "Thresholds",
    "atomic_directory",
    "read_metadata",
    "read_profiles",
    "write_metadata",
    "write_profiles",
]

# 3: calibration map, cross-fitted thresholds, split hashes, recalibrations; 2: TF-IDF stored as
# safetensors + vocabulary.json (1: skops), typed summary. Older versions still load.
FORMAT_VERSION = 3
METADATA_FILE = "netralitas.json"


class ArtifactError(RuntimeError):
    """An artifact directory is missing, incomplete, corrupt or from a newer format."""


class Thresholds(BaseModel):
    """Cut-offs on the calibrated "takes a side" score (1 - p(neutral)).

    `flag`: the lowest score whose precision reaches the target on the posts the thresholds were
    chosen on (`fitted_on`); where none does, `fallback` names the documented rule used instead.
    `review`: lower bound of the band sent to human review, below `flag` so that the band is never
    empty (training/thresholds.py says how it is chosen).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    flag: float = Field(ge=0.0, le=1.0)
    review: float = Field(ge=0.0, le=1.0)
    precision_target: float = Field(ge=0.0, le=1.0)
    precision_target_met: bool
    fallback: str | None = Field(
        default=None, description="the rule that chose `flag` when the target was not met"
    )
    fitted_on: str | None = Field(default=None, description="the posts they were chosen on")
    review_share: float | None = Field(
        default=None, ge=0, le=1, description="share of those posts in the review band"
    )
    # What the choice rests on, on the posts it was made on (None in older artifacts): their
    # number, how many take a side, and precision and recall at `flag` with bootstrap 95% intervals.
    n: int | None = Field(default=None, ge=1)
    positives: int | None = Field(default=None, ge=0)
    precision: float | None = None
    precision_ci95: tuple[float, float] | None = None
    recall: float | None = None
    recall_ci95: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.flag:
            raise ValueError(f"review ({self.review}) must not exceed flag ({self.flag})")
        return self


class SplitSummary(BaseModel):
    """Headline figures of one labelled split, at the stored flag threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int = Field(ge=0)
    # None where a figure is undefined on the split (e.g. PR-AUC without a positive row).
    macro_f1: float | None
    macro_f1_ci95: tuple[float | None, float | None]
    macro_f1_argmax: float | None
    precision: float | None = Field(description="of 'takes a side' at the flag threshold")
    recall: float | None = Field(description="of 'takes a side' at the flag threshold")
    pr_auc: float | None = None


class CalibrationSummary(BaseModel):
    """How the probabilities were calibrated, and what it did on the data it was fitted on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["temperature"] = "temperature"
    temperature: float = Field(gt=0)
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float


class Recalibration(BaseModel):
    """One `netralitas recalibrate`: on which posts, and what it replaced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: dt.datetime
    data: str = Field(description="the labelled file it was fitted on")
    data_fingerprint: str
    n: int = Field(ge=1)
    previous_version: str
    previous_thresholds: Thresholds
    previous_calibration: Calibration | None = None


class EvaluationSummary(BaseModel):
    """What the model card and `/v1/model` readers need to trust a model, typed.

    The full evaluation record (per class, per tag, curves) stays in `metrics`; this is the part
    that other code reads by name, so its keys can never drift from what training writes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    validation: SplitSummary | None = None
    # Every training post scored by a fold model that did not see it (cross-fitted thresholds).
    out_of_fold: SplitSummary | None = None
    test: SplitSummary | None = None
    calibration: CalibrationSummary | None = None  # format 2: a transformer's own temperature


class ArtifactMetadata(BaseModel):
    """Everything needed to load and trust a model, stored as `netralitas.json`."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    format_version: int
    kind: str = Field(description="the backend that reads it; a key of model/registry.py")
    name: str
    version: str
    labels: tuple[str, ...] = Field(min_length=2)
    neutral_label: str
    thresholds: Thresholds
    # Applied by the backend to every prediction (model/calibration.py); None: the model's own.
    calibration: Calibration | None = None
    recalibrations: tuple[Recalibration, ...] = ()
    mask_profiles: bool = True
    profiles: tuple[str, ...] = ()
    training_config: dict[str, Any] = {}
    data_fingerprint: str = ""
    data_counts: dict[str, dict[str, int]] = {}
    # The posts of each split `train` used, as `record_key` hashes (`evaluate --split test`).
    split_keys: dict[str, tuple[str, ...]] = {}
    metrics: dict[str, Any] = {}
    summary: EvaluationSummary = EvaluationSummary()
    package_version: str
    created_at: dt.datetime
    extra: dict[str, Any] = {}

    @field_validator("kind")
    @classmethod
    def _registered(cls, kind: str) -> str:
        if kind not in backend_kinds():
            raise ValueError(
                f"no backend of kind {kind!r} is registered (known: {', '.join(backend_kinds())})"
            )
        return kind

    def positive_labels(self) -> tuple[str, ...]:
        return tuple(label for label in self.labels if label != self.neutral_label)


def write_metadata(directory: Path, metadata: ArtifactMetadata) -> None:
    (directory / METADATA_FILE).write_text(metadata.model_dump_json(indent=2), encoding="utf-8")


def read_metadata(directory: str | Path, kind: str | None = None) -> ArtifactMetadata:
    """Read and check `netralitas.json` (and, if given, that it holds a `kind` model); every
    failure says what to do about it."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(
            f"model directory {directory} does not exist; pass the folder written by "
            "`netralitas train` (e.g. artifacts/default)"
        )
    path = directory / METADATA_FILE
    if not path.is_file():
        raise ArtifactError(
            f"{directory} has no {METADATA_FILE}: it is not a netralitas artifact or its saving "
            "was interrupted; retrain it with `netralitas train`"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is corrupt ({exc}); retrain or restore the artifact") from exc
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format_version {version}, newer than this netralitas reads "
            f"({FORMAT_VERSION}); upgrade netralitas to load it"
        )
    try:
        metadata = ArtifactMetadata.model_validate(raw)
    except ValidationError as exc:
        raise ArtifactError(f"{path} is not valid artifact metadata: {exc}") from exc
    if kind is not None and metadata.kind != kind:
        raise ArtifactError(f"{directory} holds a {metadata.kind!r} model, not {kind!r}")
    return metadata


def write_profiles(directory: Path, profiles: tuple[ElectionProfile, ...]) -> None:
    """Store the election profiles the model reads with, as validated JSON, beside the model."""
    target = directory / "profiles"
    target.mkdir(exist_ok=True)
    for profile in profiles:
        (target / f"{profile.id}.json").write_text(profile.model_dump_json(indent=2), "utf-8")


def read_profiles(directory: Path, ids: tuple[str, ...]) -> tuple[ElectionProfile, ...]:
    profiles = []
    for pid in ids:
        path = directory / "profiles" / f"{pid}.json"
        if not path.is_file():
            raise ArtifactError(f"{directory} lists profile {pid!r} but {path} is missing")
        try:
            profiles.append(ElectionProfile.model_validate_json(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            raise ArtifactError(f"{path} is not a valid election profile: {exc}") from exc
    return tuple(profiles)


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces `target` only if the block completes.

    On error the temporary directory is removed and any existing `target` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        backup = None
        if target.exists():
            backup = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(backup)
        tmp.rename(target)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
