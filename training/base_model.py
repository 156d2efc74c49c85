"""Finding the base checkpoint to fine-tune: a local directory, a model built here, the Hugging
Face cache, or the hub.

Training machines are often offline. A hub id is looked up in the local cache first; only if it is
not there is the hub asked, with a short timeout, and when neither works training stops at once
with a message that names the model and says how to supply a local copy. It never falls back to
another model or to random weights.

A name in `BUILDABLE` (`multilingual-e5-small`) that is not a local directory is built offline
from weights shipped in an installed package (`training/base_models/`), on first use, into the
netralitas cache, and read from there afterwards.

Weights are always loaded from a local directory: for a hub id that directory is the cached
snapshot. Loading a hub id directly would make transformers start a background request to convert
`.bin` weights to safetensors on the hub, and would hide which revision was used.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netralitas.training.base_models.cache import BUILDERS, get_base_model
from netralitas.training.base_models.errors import BaseModelError

__all__ = ["BUILDABLE", "BaseModelError", "ResolvedModel", "resolve_base_model"]

# Names built here from an installed package rather than downloaded: name -> builder.
BUILDABLE = BUILDERS

# What fine-tuning needs from a repository: config, tokenizer files and one copy of the weights.
_CONFIG_PATTERNS = ["*.json", "*.txt", "*.model"]
_SAFETENSORS = ["*.safetensors"]
_PYTORCH_BIN = ["pytorch_model*.bin"]


@dataclass(frozen=True)
class ResolvedModel:
    """A base model on local disk: `path` holds config.json, tokenizer files and weights."""

    name: str
    path: Path
    revision: str | None


def _how_to_fix(name: str) -> str:
    return (
        f"Download it on a machine with internet access, e.g. `hf download {name} "
        f"--local-dir models/{name.split('/')[-1]}` (older huggingface_hub: `huggingface-cli "
        "download ...`), copy that folder here and set model.base_model to the folder; or point "
        "HF_HOME at a Hugging Face cache that already holds it."
    )


def _offline() -> bool:
    """HF_HUB_OFFLINE as it is now (huggingface_hub reads it only once, at import)."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.HF_HUB_OFFLINE or flag.strip().lower() in {"1", "true", "yes", "on"}


def _local_directory(path: Path) -> ResolvedModel:
    if not (path / "config.json").is_file():
        raise BaseModelError(
            f"base model directory {path} has no config.json; expected a Hugging Face model "
            "folder (config.json, tokenizer files such as vocab.txt, and model.safetensors or "
            "pytorch_model.bin)"
        )
    return ResolvedModel(name=str(path), path=path, revision=None)


def _looks_like_a_path(name: str) -> bool:
    """A hub id is `name` or `owner/name`; anything else the user meant as a folder."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _built(name: str, log: Callable[[str], None]) -> ResolvedModel:
    """The cached build of `name`, building it first when there is no current one (logged: what,
    from where, how long)."""
    built = get_base_model(name, log=log)
    source = built.record["source"]
    revision = f"{source['package']} {source['version']} sha256:{source['sha256'][:16]}"
    return ResolvedModel(name=name, path=built.path, revision=revision)


def resolve_base_model(
    name: str, timeout: float = 10.0, log: Callable[[str], None] = _stderr
) -> ResolvedModel:
    """Return a local copy of `name`: a directory, a model built here (`BUILDABLE`; built on
    first use, which logs a line through `log`), or a hub id that is cached or downloadable.

    Raises `BaseModelError` within about `timeout` seconds when the model cannot be found (a
    first build of a buildable model takes longer: about half a minute).

    >>> resolve_base_model("models/indobert-base-p1").path  # doctest: +SKIP
    PosixPath('models/indobert-base-p1')
    """
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    path = Path(name).expanduser()
    if path.is_dir():
        return _local_directory(path)
    if name in BUILDABLE:
        return _built(name, log)
    if _looks_like_a_path(name):
        raise BaseModelError(
            f"base model {name!r} is not an existing directory; check the path (relative paths "
            "are read from the current directory)"
        )
    try:
        cached = snapshot_download(name, local_files_only=True)
        return ResolvedModel(name=name, path=Path(cached), revision=Path(cached).name)
    except HFValidationError as exc:
        raise BaseModelError(
            f"base model {name!r} is neither a directory nor a valid hub id ({exc})"
        ) from exc
    except LocalEntryNotFoundError:
        pass  # not cached: ask the hub below
    if _offline():
        raise BaseModelError(
            f"base model {name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is "
            f"set, so it cannot be downloaded. {_how_to_fix(name)}"
        )
    try:
        info = HfApi().model_info(name, timeout=timeout)
    except Exception as exc:  # network down, DNS, timeout, unknown or gated repository
        raise BaseModelError(
            f"base model {name!r} is not in the local Hugging Face cache and the hub could not "
            f"be reached or does not serve it within {timeout:g} s ({type(exc).__name__}: {exc}). "
            f"{_how_to_fix(name)}"
        ) from exc
    files = [s.rfilename for s in info.siblings or []]
    weights = _SAFETENSORS if any(f.endswith(".safetensors") for f in files) else _PYTORCH_BIN
    local = snapshot_download(
        name, revision=info.sha, allow_patterns=_CONFIG_PATTERNS + weights, etag_timeout=timeout
    )
    return ResolvedModel(name=name, path=Path(local), revision=info.sha)
