"""The `inference` setting: how a model computes when it scores, named the same for every backend.

Only the transformer backend has choices (model/backends/transformer/fast_inference.py resolves
them); the names, the check and the resolved plan live here so that loading, the CLI and the API
can validate and report the setting without importing a backend or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

__all__ = [
    "CPU_BATCH_SIZE",
    "CUDA_BATCH_SIZE",
    "INFERENCE_MODES",
    "InferenceError",
    "InferenceMode",
    "InferencePlan",
    "ScoringPath",
    "check_inference",
]

InferenceMode = Literal["auto", "fp32", "int8", "bf16", "fp16"]
ScoringPath = Literal["fp32", "int8", "bf16", "fp16"]
INFERENCE_MODES: tuple[str, ...] = ("auto", "fp32", "int8", "bf16", "fp16")
# Measured on 2 AVX-512 cores with the IndoBERT-base-shaped model (posts of ~30 tokens): 12-16
# posts per batch were fastest for fp32, bf16 and int8 alike; larger batches fall out of cache.
CPU_BATCH_SIZE = 16
CUDA_BATCH_SIZE = 128


class InferenceError(ValueError):
    """An unknown `inference` setting, or a path this machine cannot run."""


def check_inference(value: str) -> InferenceMode:
    """Validate an `inference` setting (CLI flag, constructor, environment)."""
    if value not in INFERENCE_MODES:
        raise InferenceError(
            f"inference must be one of {', '.join(INFERENCE_MODES)}; found {value!r}. "
            "Use 'auto' unless you are measuring: it picks the fastest path validated for "
            "this model on this machine"
        )
    return cast(InferenceMode, value)


@dataclass(frozen=True)
class InferencePlan:
    """The resolved path for one model on one machine, and why it was chosen."""

    path: ScoringPath
    device: str  # "cpu" or "cuda"
    reason: str

    def batch_size(self, requested: int) -> int:
        """Rows per forward pass: the model's setting, capped on a CPU, raised on a GPU."""
        if self.device == "cuda":
            return max(requested, CUDA_BATCH_SIZE)
        return max(1, min(requested, CPU_BATCH_SIZE))
