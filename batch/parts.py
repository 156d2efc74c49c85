"""The parts of a batch run: which input files, where each one's output goes, and its fingerprint.

An input is a file, a directory (every Parquet, JSON Lines or CSV file under it, recursively), or a
glob (`posts/*/part-*.parquet`; `*` also matches across folders); local paths or URLs that pyarrow
reads (`s3://bucket/posts/`, `gs://...`). Files whose name starts with `.` or `_` are skipped
(`_SUCCESS` markers, our own temporary files). One output part per input part, at the same
relative path under the output directory, the suffix replaced by the output format's:

    posts/date=2030-05-01/part-0.jsonl  ->  scores/date=2030-05-01/part-0.parquet

The fingerprint says "this output was written from exactly this input, with this model and these
options". It hashes the input's path, size and modification time (nanoseconds) rather than its
content: every pyarrow filesystem gives those for free from a listing (hashing tens of gigabytes of
Parquet on S3 would mean downloading it all again on every resume), and a file rewritten by a
crawler gets a new modification time. With it go the model (name, version, and a hash of the
artifact's `netralitas.json`, which changes with every training or recalibration), the inference
mode, the election profiles read, the column mapping and the output columns, so a different model
or reading re-scores the part instead of skipping it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import posixpath
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from netralitas.data.errors import DataError

__all__ = [
    "INPUT_FORMATS",
    "OUTPUT_SUFFIXES",
    "Part",
    "fingerprint",
    "is_remote",
    "local_model",
    "model_key",
    "plan_parts",
    "resolve",
]

INPUT_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
}
OUTPUT_SUFFIXES = {"parquet": ".parquet", "jsonl": ".jsonl", "csv": ".csv", "tsv": ".tsv"}
_GLOB = set("*?[")


@dataclass(frozen=True)
class Part:
    """One input file and the output file scored from it (paths or URLs pyarrow opens)."""

    source: str
    name: str  # relative to the input root, e.g. "date=2030-05-01/part-0.jsonl"
    format: str  # parquet, jsonl or csv
    size: int
    mtime_ns: int
    output: str
    output_format: str  # parquet, jsonl, csv or tsv

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_remote(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def resolve(location: str):
    """`(pyarrow filesystem, path on it)` for a local path or a URL (`s3://...`)."""
    from pyarrow import fs

    if location.startswith("file://"):
        location = location[len("file://") :]
    if not is_remote(location):
        return fs.LocalFileSystem(), str(Path(location).expanduser().resolve())
    return fs.FileSystem.from_uri(location)


def _join(root: str, relative: str) -> str:
    return posixpath.join(root.rstrip("/"), relative) if relative else root


def _uri(location: str, path: str) -> str:
    """The location of `path` written the way the user wrote `location` (URL or local path)."""
    if is_remote(location):
        scheme = location.split("://", 1)[0]
        return f"{scheme}://{path}"
    return path


def _input_format(name: str, forced: str) -> str | None:
    if forced in ("parquet", "jsonl", "csv"):
        return forced
    return INPUT_FORMATS.get(posixpath.splitext(name)[1].lower())


def _hidden(relative: str) -> bool:
    return any(piece.startswith((".", "_")) for piece in relative.split("/"))


def _listing(filesystem, base: str) -> list[tuple[str, Any]]:
    from pyarrow import fs

    infos = filesystem.get_file_info(fs.FileSelector(base, recursive=True))
    return sorted(
        (posixpath.relpath(info.path, base), info)
        for info in infos
        if info.type == fs.FileType.File
    )


def plan_parts(
    input: str, output: str, output_format: str, *, input_format: str = "auto"
) -> list[Part]:
    """The parts of `input` (a file, a directory or a glob) and their outputs under the
    directory `output`; `DataError` naming what was found when there is nothing to score."""
    from pyarrow import fs

    if output_format not in OUTPUT_SUFFIXES:
        raise DataError(
            f"--output-format {output_format!r}: expected one of {', '.join(OUTPUT_SUFFIXES)}"
        )
    pattern = None
    base_location = input
    if any(c in _GLOB for c in input):
        pieces = input.split("/")
        first = next(i for i, p in enumerate(pieces) if any(c in _GLOB for c in p))
        base_location = "/".join(pieces[:first]) or "."
        pattern = "/".join(pieces[first:])
    filesystem, base = resolve(base_location)
    out_fs, out_root = resolve(output)
    info = filesystem.get_file_info(base)
    if info.type == fs.FileType.NotFound:
        raise DataError(
            f"{input}: no such file or directory; expected a data file, a directory of Parquet, "
            "JSON Lines or CSV files, or a glob such as 'posts/*.parquet' (quote it in the shell)"
        )
    if info.type == fs.FileType.File and pattern is None:
        files = [(posixpath.basename(base), info)]
        base = posixpath.dirname(base)
    else:
        files = _listing(filesystem, base)
        if pattern is not None:
            files = [(rel, i) for rel, i in files if fnmatch.fnmatchcase(rel, pattern)]
        if type(filesystem) is type(out_fs) and (
            out_root == base or out_root.startswith(base.rstrip("/") + "/")
        ):
            raise DataError(
                f"--output {output} is inside the input {input}: a rerun would read the scores "
                "as posts. Write the output beside the input, e.g. --output "
                f"{posixpath.dirname(base.rstrip('/'))}/scores"
            )
        files = [(rel, i) for rel, i in files if not _hidden(rel)]
    parts: list[Part] = []
    other: list[str] = []
    for rel, file_info in files:
        fmt = _input_format(rel, input_format)
        if fmt is None:
            other.append(rel)
            continue
        stem = posixpath.splitext(rel)[0]
        parts.append(
            Part(
                source=_uri(base_location, file_info.path),
                name=rel,
                format=fmt,
                size=int(file_info.size or 0),
                mtime_ns=int(file_info.mtime_ns or 0),
                output=_uri(output, _join(out_root, stem + OUTPUT_SUFFIXES[output_format])),
                output_format=output_format,
            )
        )
    if not parts:
        found = (
            f"found {len(other)} other file(s), e.g. {', '.join(other[:3])}"
            if other
            else "found no files"
        )
        raise DataError(
            f"{input}: nothing to score: expected Parquet (.parquet), JSON Lines (.jsonl) or CSV "
            f"(.csv, .tsv) files, {found}. Point at the folder or glob of the crawl's parts, or "
            "pass --format to read files with another suffix"
        )
    _check_unique(parts)
    return parts


def _check_unique(parts: Sequence[Part]) -> None:
    seen: dict[str, str] = {}
    for part in parts:
        if part.output in seen:
            raise DataError(
                f"{seen[part.output]} and {part.name} would both be written to {part.output}; "
                "rename one of them (one output part per input part, named after it)"
            )
        seen[part.output] = part.name


def local_model(model_dir: str | Path) -> str:
    """`model_dir` itself, or a local copy of an artifact on object storage (`s3://...`):
    the model loaders read local files."""
    if not is_remote(str(model_dir)):
        return str(model_dir)
    import tempfile

    from pyarrow import fs

    target = tempfile.mkdtemp(prefix="netralitas-model-")
    source_fs, source = resolve(str(model_dir))
    fs.copy_files(source, target, source_filesystem=source_fs)
    return target


def model_key(model_dir: str | Path, profiles: Sequence[str | Path] = (), inference: str = "auto"):
    """What identifies the model for a fingerprint: name, version, a hash of the artifact's
    metadata file, the profiles read instead of the stored ones, and the inference mode."""
    location = str(model_dir).rstrip("/") + "/netralitas.json"
    try:
        filesystem, path = resolve(location)
        with filesystem.open_input_stream(path) as fh:
            raw = fh.read()
        meta = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{model_dir}: not a netralitas model (cannot read {location}: {exc}); pass the folder "
            "that `netralitas train` wrote"
        ) from exc
    return {
        "name": meta.get("name"),
        "version": meta.get("version"),
        "metadata_sha256": hashlib.sha256(raw).hexdigest(),
        "profiles": [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in profiles],
        "inference": inference,
    }


def fingerprint(part: Part, model: dict[str, Any], options: dict[str, Any]) -> str:
    """The sha256 that a finished output part stores: input (path, size, mtime), model, options."""
    payload = {
        "input": {"path": part.source, "size": part.size, "mtime_ns": part.mtime_ns},
        "output_format": part.output_format,
        "model": model,
        "options": options,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()
