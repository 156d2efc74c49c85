"""Running the accuracy guard of the fast inference path: after training, and on demand.

`choose_fast_path` is called by the recipes of the backends that have inference paths (transformer,
embedding) at the end of training, on the validation split, with the fp32 probabilities already
computed: it checks int8, then bf16 where this CPU has native bf16, and records the first that
passes (or the last one checked). `validate_fast` is `netralitas validate-fast MODEL_DIR DATA`, for
artifacts trained before the guard existed, a new torch, or another data set. Both write the record
`auto` reads (model/backends/transformer/guard.py).

A pretrained encoder is more sensitive to int8 than one might hope: the int8 guard failed for both
multilingual-e5-small models measured here (label agreement 0.90 fine-tuned, 0.95 frozen), while
bf16 kept 0.997.
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

__all__ = [
    "FAST_PATHS",
    "choose_fast_path",
    "describe_guard",
    "guard_trained_model",
    "validate_fast",
]

# The CPU paths `auto` may use, cheapest first, and the backends that have them.
FAST_PATHS = ("int8", "bf16")
GUARDED_KINDS = ("transformer", "embedding")

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


def choose_fast_path(
    model,
    texts: Sequence[str],
    contexts: Sequence[str | None],
    reference: np.ndarray,
    log: Log = print,
    paths: Sequence[str] = FAST_PATHS,
) -> None:
    """Guard each of `paths` in turn (skipping any but the first that this CPU cannot run) until
    one passes; the record in `model.metadata_` is the passing one, or the last one checked."""
    from netralitas.model.backends.transformer.fast_inference import path_available
    from netralitas.model.backends.transformer.guard import read_guard

    for i, path in enumerate(paths):
        if i > 0 and path_available(path, "cpu") is not None:
            continue
        guard_trained_model(model, texts, contexts, reference, log, path=path)
        guard = read_guard(model.metadata_)
        if guard is not None and guard.passed:
            return


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
    from netralitas.model.loading import load_classifier

    kind = read_metadata(model_dir).kind
    if kind not in GUARDED_KINDS:
        hint = f" (run it on {Path(model_dir) / 'model'})" if kind == "cascade" else ""
        raise ArtifactError(
            f"{model_dir} holds a {kind!r} model; the accuracy guard is for the backends with "
            f"inference paths ({', '.join(GUARDED_KINDS)}){hint}"
        )
    records = load_records(data, require_label=False, format=format)
    model = load_classifier(model_dir, inference="fp32")
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
