"""Running the accuracy guard of the fast inference path: after training, and on demand.

`guard_trained_model` is called by `train()` for a transformer, on the validation split, with the
fp32 probabilities it has already computed; `validate_fast` is `netralitas validate-fast MODEL_DIR
DATA`, for artifacts trained before the guard existed, a new torch, or another data set. Both write
the record `auto` reads (model/backends/transformer/guard.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from netralitas.data.records import load_records
from netralitas.model.artifact import ArtifactError, read_metadata
from netralitas.model.backends.transformer.guard import (
    MIN_AGREEMENT,
    InferenceGuard,
    check_fast_path,
    with_guard,
    write_guard,
)

__all__ = ["describe_guard", "guard_trained_model", "validate_fast"]

Log = Callable[[str], None]


def describe_guard(guard: InferenceGuard) -> str:
    """One line for logs and the command line."""
    verdict = (
        f"passed: 'auto' scores with {guard.path} on a CPU"
        if guard.passed
        else f"failed (minimum {guard.min_agreement:.2f}): 'auto' stays on fp32"
    )
    return (
        f"{guard.path} vs fp32 on {guard.n} posts ({guard.data or 'given posts'}): label agreement "
        f"{guard.label_agreement:.4f}, decision agreement {guard.decision_agreement:.4f}, "
        f"max |dp| {guard.max_abs_diff:.4f}; {verdict}"
    )


def guard_trained_model(
    model,
    texts: Sequence[str],
    contexts: Sequence[str | None],
    reference: np.ndarray,
    log: Log = print,
    path: str = "int8",
) -> None:
    """Check `path` against the fp32 `reference` probabilities; record it in `model.metadata_`."""
    from netralitas.model.backends.transformer.fast_inference import path_available

    problem = path_available(path, "cpu")
    if problem:
        log(f"accuracy guard skipped: {problem}")
        return
    guard = check_fast_path(
        model, texts, contexts, path=path, reference=reference, data="validation split"
    )
    model.metadata_ = with_guard(model.metadata_, guard)
    log(describe_guard(guard))


def validate_fast(
    model_dir: str | Path,
    data: str | Path,
    path: str = "int8",
    min_agreement: float = MIN_AGREEMENT,
    format: str = "auto",
    write: bool = True,
) -> InferenceGuard:
    """Compare `path` with fp32 on the posts of `data` (labels not needed); record the result in
    the artifact's `netralitas.json` unless `write` is False."""
    from netralitas.model.backends.transformer.classifier import TransformerClassifier

    kind = read_metadata(model_dir).kind
    if kind != "transformer":
        hint = f" (run it on {Path(model_dir) / 'model'})" if kind == "cascade" else ""
        raise ArtifactError(
            f"{model_dir} holds a {kind!r} model; the accuracy guard is for transformer "
            f"artifacts{hint}"
        )
    records = load_records(data, require_label=False, format=format)
    model = TransformerClassifier.from_pretrained(model_dir, inference="fp32")
    guard = check_fast_path(
        model,
        [r.text for r in records],
        [r.context for r in records],
        path=path,
        min_agreement=min_agreement,
        data=str(data),
    )
    if write:
        write_guard(model_dir, guard)
    return guard
