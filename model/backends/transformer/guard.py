"""The accuracy guard: a faster inference path is used by default only where it agrees with fp32.

A quantised network is an approximation. Before "auto" scores with it, the fast path and fp32 score
the same posts (the validation split at the end of training, or any labelled or unlabelled file
later with `netralitas validate-fast`), and the artifact records how often the reported label and
the review decision agree and how far any probability moved. "auto" then uses the fast path only
when the label agreement reaches `MIN_AGREEMENT`; otherwise it stays on fp32 and says why.

The record lives in `netralitas.json` under `extra.inference_guard`::

    {"path": "int8", "n": 381, "label_agreement": 0.997, "decision_agreement": 0.992,
     "max_abs_diff": 0.021, "min_agreement": 0.99, "passed": true, ...}
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netralitas.model.artifact import METADATA_FILE, ArtifactError, ArtifactMetadata, read_metadata
from netralitas.model.decision import decide

__all__ = [
    "GUARD_KEY",
    "MIN_AGREEMENT",
    "InferenceGuard",
    "check_fast_path",
    "compare_probabilities",
    "read_guard",
    "with_guard",
    "write_guard",
]

GUARD_KEY = "inference_guard"
# One post in a hundred may change label between fp32 and the fast path; measured int8 agreement
# on trained models is well above this (README, "Fast scoring").
MIN_AGREEMENT = 0.99


class InferenceGuard(BaseModel):
    """How a fast path compared with fp32 on `n` posts (stored in the artifact metadata)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Literal["int8", "bf16", "fp16"]
    n: int = Field(ge=1)
    label_agreement: float = Field(ge=0.0, le=1.0)
    decision_agreement: float = Field(ge=0.0, le=1.0)
    max_abs_diff: float = Field(ge=0.0)
    min_agreement: float = Field(ge=0.0, le=1.0)
    passed: bool
    data: str = ""
    torch_version: str = ""
    checked_at: dt.datetime


def compare_probabilities(
    reference: np.ndarray, fast: np.ndarray, metadata: ArtifactMetadata
) -> dict[str, float]:
    """Agreement of the decided labels and decisions, and the largest |p_fast - p_fp32|."""
    if reference.shape != fast.shape:
        raise ValueError(f"shapes differ: fp32 {reference.shape}, fast {fast.shape}")
    ref_labels, ref_decisions = decide(reference, metadata)
    fast_labels, fast_decisions = decide(fast, metadata)
    return {
        "label_agreement": float(np.mean(np.array(ref_labels) == np.array(fast_labels))),
        "decision_agreement": float(np.mean(np.array(ref_decisions) == np.array(fast_decisions))),
        "max_abs_diff": float(np.abs(reference - fast).max()),
    }


def check_fast_path(
    model: Any,
    texts: Sequence[str],
    contexts: Sequence[str | None] | None = None,
    *,
    path: str = "int8",
    reference: np.ndarray | None = None,
    min_agreement: float = MIN_AGREEMENT,
    data: str = "",
) -> InferenceGuard:
    """Score `texts` with fp32 and with `path`; say whether `path` may be the default.

    `model` is a TransformerClassifier with `metadata_` (its thresholds decide the labels);
    `reference` reuses fp32 probabilities already computed for the same posts.
    """
    import torch

    if len(texts) == 0:
        raise ValueError("the accuracy guard needs at least one post; give the validation split")
    if reference is None:
        reference = model.with_inference("fp32").predict_proba(texts, contexts)
    fast = model.with_inference(path).predict_proba(texts, contexts)
    figures = compare_probabilities(reference, fast, model.metadata_)
    return InferenceGuard(
        path=path,  # type: ignore[arg-type]  # validated by the model
        n=len(texts),
        min_agreement=min_agreement,
        passed=figures["label_agreement"] >= min_agreement,
        data=data,
        torch_version=torch.__version__,
        checked_at=dt.datetime.now(dt.UTC),
        **figures,
    )


def read_guard(metadata: ArtifactMetadata | None) -> InferenceGuard | None:
    """The artifact's guard record, None when it has none; a damaged record is an error."""
    raw = metadata.extra.get(GUARD_KEY) if metadata is not None else None
    if raw is None:
        return None
    try:
        return InferenceGuard.model_validate(raw)
    except ValidationError as exc:
        raise ArtifactError(
            f"{METADATA_FILE} extra.{GUARD_KEY} is not a valid accuracy-guard record ({exc}); "
            "run `netralitas validate-fast MODEL_DIR DATA` to write it again"
        ) from exc


def with_guard(metadata: ArtifactMetadata, guard: InferenceGuard) -> ArtifactMetadata:
    """`metadata` with `guard` recorded (replacing an earlier record)."""
    extra = {**metadata.extra, GUARD_KEY: guard.model_dump(mode="json")}
    return metadata.model_copy(update={"extra": extra})


def write_guard(directory: str | Path, guard: InferenceGuard) -> ArtifactMetadata:
    """Record `guard` in an existing artifact's `netralitas.json`, atomically.

    The new file is written beside the old one and renamed over it: a crash leaves either the old
    metadata or the new, never a torn file (the weights are not touched).
    """
    directory = Path(directory)
    metadata = with_guard(read_metadata(directory), guard)
    tmp = directory / f".{METADATA_FILE}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(metadata.model_dump_json(indent=2))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / METADATA_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    return metadata
