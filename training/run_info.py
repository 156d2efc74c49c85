"""What a training run was: when, how long, on what machine, with which library versions and code.

Stored in every artifact (`extra["run"]` of netralitas.json), with or without an experiment
tracker (`model.report_to`), so that a model found on a disk still says where it came from:

>>> from datetime import UTC, datetime
>>> run = run_metadata(datetime.now(UTC))
>>> sorted(run)
['duration_s', 'finished_at', 'git', 'host', 'started_at', 'versions']

Nothing here imports torch: GPUs are listed only when the run already loaded torch (a TF-IDF run
has no use for them), and versions are read from the installed packages' metadata. No host name,
user name or path is recorded (artifacts travel); the git commit is that of the netralitas source
tree when it is a git checkout.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "run_metadata"]

# The libraries whose version can change a trained model's numbers.
PACKAGES = (
    "netralitas",
    "numpy",
    "scikit-learn",
    "scipy",
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "safetensors",
    "sastrawi",
)
SOURCE = Path(__file__).resolve().parents[1]


def run_metadata(started_at: datetime, finished_at: datetime | None = None) -> dict[str, Any]:
    """The run record: start and end (UTC, ISO 8601), duration, host, versions, git commit.

    `started_at` is when training began (take `datetime.now(UTC)` first thing); `finished_at`
    defaults to now. JSON-ready.
    """
    finished_at = finished_at or datetime.now(UTC)
    return {
        "started_at": started_at.astimezone(UTC).isoformat(timespec="seconds"),
        "finished_at": finished_at.astimezone(UTC).isoformat(timespec="seconds"),
        "duration_s": round((finished_at - started_at).total_seconds(), 1),
        "host": _host(),
        "versions": _versions(),
        "git": _git(SOURCE),
    }


def _host() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "gpus": _gpus(),
    }


def _cpu_model() -> str:
    """The CPU's model name ('AMD EPYC 7B13'), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _gpus() -> list[str] | None:
    """CUDA device names when torch is loaded (None: not asked, this run did not use torch)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(folder: Path) -> dict[str, Any] | None:
    """The commit of `folder`'s git checkout and whether it had uncommitted changes, or None."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=5
        )
        if done.returncode != 0:
            raise OSError(done.stderr.strip())
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):  # no git, or not a checkout
        return None
    return {"commit": commit, "dirty": dirty}
