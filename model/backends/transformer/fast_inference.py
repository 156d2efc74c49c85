"""How the transformer backend computes when it scores: precision, quantisation, threads, batches.

The `inference` setting names a path:

- "fp32": the network as trained; the reference every other path is checked against.
- "int8": dynamic int8 quantisation of every `nn.Linear` (weights int8, activations quantised per
  batch), on the CPU. About 3x fp32 on an AVX-512 VNNI CPU for an IndoBERT-base-shaped model
  (benchmarks/throughput.py). Activations share one scale per batch, so a post's probabilities
  can move by about 0.01 with the posts it is batched with; the accuracy guard measures how far
  from fp32 they move on real data (model/backends/transformer/guard.py).
- "bf16": bfloat16 weights and activations; on a CPU only where it has native bf16 instructions
  (AVX-512 BF16 or AMX), or on a CUDA GPU.
- "fp16": half precision, CUDA only.
- "auto" (default): on CUDA bf16 (fp16 where the GPU lacks bf16); on a CPU the path the
  artifact's accuracy guard validated (normally int8) when the guard passed, else fp32.

Every path sorts inputs by length and batches them (less padding; rows are put back in input
order); the CPU batch size is capped at `CPU_BATCH_SIZE`, CUDA batches grow to `CUDA_BATCH_SIZE`.
The quantised or cast network is a copy made when the model is loaded: the artifact on disk always
holds the fp32 safetensors weights. Importing this module imports no torch.
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from netralitas.model.inference import (
    InferenceError,
    InferencePlan,
    ScoringPath,
    check_inference,
)

if TYPE_CHECKING:
    from netralitas.model.backends.transformer.guard import InferenceGuard

logger = logging.getLogger(__name__)

__all__ = [
    "GuardedInference",
    "ScoringNetwork",
    "configure_threads",
    "path_available",
    "prepare_network",
    "resolve_plan",
    "scoring_network",
    "usable_cpus",
]


# -- what this machine offers ---------------------------------------------------------------------
def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, lowered by a cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(n, quota) if quota else n)


def _cgroup_cpu_quota(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> int | None:
    """`docker --cpus=N` and Kubernetes CPU limits: cgroup v2 `cpu.max` ("quota period")."""
    try:
        quota, period = path.read_text(encoding="utf-8").split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def configure_threads() -> int:
    """Size torch's intra-op thread pool to the CPUs this process may use; return the count.

    torch sizes its pool to the whole machine; in a container limited to 2 of 64 cores, 32
    threads would fight over 2 cores, and every parallel region would wait for a descheduled
    thread. A lower count set by the user (OMP_NUM_THREADS, torch.set_num_threads) is kept.
    """
    import torch

    threads = min(usable_cpus(), torch.get_num_threads())
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads


def _int8_available() -> bool:
    import torch

    engines = torch.backends.quantized.supported_engines
    quantization = getattr(torch.ao, "quantization", None)
    return hasattr(quantization, "quantize_dynamic") and bool({"x86", "fbgemm"} & set(engines))


def _cpu_bf16_available() -> bool:
    import torch

    return bool(
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def path_available(path: str, device: str) -> str | None:
    """None when `path` can run on `device` here; otherwise why not, and what to use instead."""
    import torch

    if path == "fp32":
        return None
    if path == "int8":
        return (
            None
            if _int8_available()
            else (
                "int8 needs torch's x86/fbgemm quantised kernels, which this torch build lacks; "
                "use fp32"
            )
        )
    if path == "fp16":
        return (
            None
            if device == "cuda"
            else (
                "fp16 is for CUDA GPUs (on a CPU it is slower than fp32); use int8 or bf16 on a CPU"
            )
        )
    if device == "cuda":
        return None if torch.cuda.is_bf16_supported() else "this GPU has no bf16; use fp16"
    return (
        None
        if _cpu_bf16_available()
        else (
            "this CPU has no native bf16 instructions (AVX-512 BF16 or AMX), where bf16 is slower "
            "than fp32; use int8"
        )
    )


# -- choosing and preparing -----------------------------------------------------------------------
def resolve_plan(requested: str, device: str, guard: InferenceGuard | None) -> InferencePlan:
    """The path to score with. Raises InferenceError for an unknown or unavailable path.

    `device` is where the network lives ("cpu" or "cuda"); `guard` is the artifact's accuracy
    guard record, if any.
    """
    mode = check_inference(requested)
    if mode == "auto":
        return _auto(device, guard)
    problem = path_available(mode, device)
    if problem:
        raise InferenceError(f"inference={mode!r} cannot run here: {problem}")
    target = "cpu" if mode == "int8" else device
    checked = _guard_summary(guard) if guard and guard.path == mode else "not validated"
    return InferencePlan(mode, target, f"{mode} (asked for; accuracy guard: {checked})")


def _auto(device: str, guard: InferenceGuard | None) -> InferencePlan:
    if device == "cuda":
        path: ScoringPath = "bf16" if path_available("bf16", "cuda") is None else "fp16"
        return InferencePlan(path, "cuda", f"{path} on CUDA (auto)")
    if guard is None:
        return InferencePlan(
            "fp32",
            "cpu",
            "fp32: this artifact records no accuracy guard for a faster path; run "
            "`netralitas validate-fast MODEL_DIR VALIDATION_DATA` to enable int8",
        )
    if not guard.passed:
        return InferencePlan(
            "fp32", "cpu", f"fp32: the {guard.path} accuracy guard failed ({_guard_summary(guard)})"
        )
    problem = path_available(guard.path, "cpu")
    if problem:
        return InferencePlan("fp32", "cpu", f"fp32: {problem}")
    return InferencePlan(
        guard.path, "cpu", f"{guard.path}: accuracy guard passed ({_guard_summary(guard)})"
    )


def _guard_summary(guard: InferenceGuard) -> str:
    return (
        f"label agreement {guard.label_agreement:.4f} (minimum {guard.min_agreement:.2f}), "
        f"max |dp| {guard.max_abs_diff:.4f} on {guard.n} posts"
    )


def prepare_network(network: Any, plan: InferencePlan) -> Any:
    """The network to score with under `plan`: `network` itself for fp32, else a new copy.

    The copy never replaces the fp32 network: saving, fine-tuning and the accuracy guard use that.
    """
    import torch

    if plan.path == "fp32":
        return network
    if plan.path == "int8":
        source = network if _device_type(network) == "cpu" else copy.deepcopy(network).cpu()
        with warnings.catch_warnings():
            # torch 2.13 marks eager quantisation deprecated in favour of torchao, whose CPU
            # int8 path needs torch.compile; the eager kernels still ship and are what we
            # measured. Filtered here, narrowly, so callers that treat warnings as errors work.
            warnings.filterwarnings("ignore", r"torch\.ao\.quantization is deprecated")
            warnings.filterwarnings("ignore", r"torch\.quantize_per_tensor, .* are deprecated")
            return torch.ao.quantization.quantize_dynamic(
                source, {torch.nn.Linear}, dtype=torch.qint8, inplace=source is not network
            ).eval()
    dtype = torch.bfloat16 if plan.path == "bf16" else torch.float16
    return _cast_copy(network, dtype).eval()


def _cast_copy(network: Any, dtype: Any) -> Any:
    """A copy of `network` with its floating-point weights in `dtype`, made without first copying
    them in float32 (`deepcopy(network).to(dtype)` does: half the time of a load goes there).

    Each floating-point parameter and buffer is cast once and handed to `deepcopy` through its
    memo, so tied weights stay tied and everything else is copied as usual.
    """
    import torch

    memo: dict[int, Any] = {}
    for tensor in itertools.chain(network.parameters(), network.buffers()):
        if tensor.is_floating_point() and id(tensor) not in memo:
            cast = tensor.detach().to(dtype)
            if isinstance(tensor, torch.nn.Parameter):
                cast = torch.nn.Parameter(cast, requires_grad=tensor.requires_grad)
            memo[id(tensor)] = cast
    return copy.deepcopy(network, memo)


@dataclass(frozen=True)
class ScoringNetwork:
    """The network that scores (the fp32 network itself, or its quantised or cast copy)."""

    source: Any  # the fp32 network it was made from
    key: tuple[str, Any]  # (inference setting, accuracy-guard record) it was resolved for
    plan: InferencePlan
    network: Any

    def fits(self, source: Any, key: tuple[str, Any]) -> bool:
        """Still valid for this fp32 network, setting and guard record?"""
        return self.source is source and self.key == key


def scoring_network(
    network: Any, key: tuple[str, Any], guard: InferenceGuard | None
) -> ScoringNetwork:
    """Resolve the setting `key[0]` for `network`; size the threads; quantise or cast a copy."""
    plan = resolve_plan(key[0], _device_type(network), guard)
    if plan.device == "cpu":
        configure_threads()
    return ScoringNetwork(network, key, plan, prepare_network(network, plan))


class GuardedInference:
    """The `inference` setting of a backend that computes with a torch network (the transformer,
    the frozen encoder): resolved for this machine and the artifact's accuracy-guard record when
    the model is loaded, and again only if the network, the setting or the record changed.

    A subclass sets `inference` in its constructor and says which fp32 network scores
    (`_inference_network`, which raises if there is none yet); it reads `self._scoring.network`.
    """

    inference: str
    _scoring: ScoringNetwork | None = None

    def _inference_network(self) -> Any:
        raise NotImplementedError

    @property
    def inference_plan(self) -> InferencePlan:
        """The path this model computes with, and why (see `inference`)."""
        return self.prepare_inference()

    def prepare_inference(self) -> InferencePlan:
        """Resolve `inference` for this model on this machine; build the network it needs.

        Called when the model is loaded, so that quantising or casting (seconds for a base-size
        model) is not paid by the first request. Raises InferenceError for a path this machine
        cannot run.
        """
        from netralitas.model.backends.transformer.guard import GUARD_KEY, read_guard

        network = self._inference_network()
        metadata = getattr(self, "metadata_", None)
        key = (self.inference, metadata.extra.get(GUARD_KEY) if metadata is not None else None)
        if self._scoring is None or not self._scoring.fits(network, key):
            self._scoring = scoring_network(network, key, read_guard(metadata))
            logger.info("scoring with %s", self._scoring.plan.reason)
        return self._scoring.plan

    def with_inference(self, inference: str) -> Self:
        """The same model computing through another path; the fp32 network is shared."""
        other = copy.copy(self)
        other.inference = check_inference(inference)
        other.prepare_inference()
        return other


def _device_type(network: Any) -> str:
    return next(network.parameters()).device.type
