"""Labelled records and the loaders that read them from JSONL, CSV, Parquet, Label Studio, doccano.

Every loader validates the whole file first and raises one `DataError` listing the problems (file,
line or row, field, what was expected, what was found), so a bad file never produces a half-loaded
dataset.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netralitas.model.records import Record

__all__ = ["FORMATS", "DataError", "load_records", "write_jsonl"]

FORMATS = ("auto", "jsonl", "csv", "parquet", "label-studio", "doccano")
MAX_ERRORS_SHOWN = 20


class DataError(ValueError):
    """A data file does not follow the record schema; the message lists each problem."""


def _describe(err: dict[str, Any]) -> str:
    field = ".".join(str(p) for p in err["loc"]) or "<row>"
    found = err.get("input")
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(Record.model_fields)
        return f"unknown field {field!r} (found {found!r}); allowed fields: {allowed}"
    if err["type"] == "missing":
        return f"field {field!r} is required but missing"
    return f"field {field!r}: {err['msg']} (found {found!r})"


def _validate(
    rows: Iterable[tuple[str, dict[str, Any]]], path: Path, require_label: bool
) -> list[Record]:
    records: list[Record] = []
    errors: list[str] = []
    for where, raw in rows:
        try:
            record = Record.model_validate(raw)
        except ValidationError as exc:
            errors.extend(f"{path}, {where}: {_describe(e)}" for e in exc.errors())
            continue
        if require_label and record.label is None:
            errors.append(f"{path}, {where}: field 'label' is required for training and evaluation")
        records.append(record)
    if errors:
        shown = "\n  ".join(errors[:MAX_ERRORS_SHOWN])
        more = (
            f"\n  ... and {len(errors) - MAX_ERRORS_SHOWN} more"
            if len(errors) > MAX_ERRORS_SHOWN
            else ""
        )
        raise DataError(
            f"{path}: {len(errors)} problem(s); nothing was loaded. Fix these rows:\n  {shown}{more}"
        )
    if not records:
        raise DataError(f"{path}: no records found; expected at least one row with a 'text' field")
    return records


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}, line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                    "each line must be one JSON object"
                ) from exc
            if not isinstance(obj, dict):
                raise DataError(
                    f"{path}, line {number}: expected a JSON object, found {type(obj).__name__}"
                )
            yield f"line {number}", obj


def _csv_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise DataError(
                f"{path}: expected a header row with a 'text' column, found {reader.fieldnames}"
            )
        for number, row in enumerate(reader, 2):  # line 1 is the header
            if None in row:
                raise DataError(f"{path}, line {number}: more values than header columns")
            yield f"line {number}", {k: v for k, v in row.items() if k}


def _parquet_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    import pyarrow.parquet as pq

    for number, row in enumerate(pq.read_table(path).to_pylist(), 1):
        yield f"row {number}", row


def _label_studio_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Label Studio JSON export: tasks with `data` and `annotations[].result[].value.choices`."""
    try:
        tasks = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not valid JSON ({exc}); expected a Label Studio JSON export"
        ) from exc
    if not isinstance(tasks, list):
        raise DataError(
            f"{path}: a Label Studio export is a JSON list of tasks, found {type(tasks).__name__}"
        )
    for number, task in enumerate(tasks, 1):
        data = dict(task.get("data", {})) if isinstance(task, dict) else {}
        row = {k: data[k] for k in Record.model_fields if k in data}
        row.setdefault(
            "id", str(task.get("id")) if isinstance(task, dict) and "id" in task else None
        )
        choices = [
            choice
            for ann in (task.get("annotations") or [] if isinstance(task, dict) else [])
            if not ann.get("was_cancelled")
            for result in ann.get("result", [])
            for choice in result.get("value", {}).get("choices", [])
        ]
        if choices:
            row["label"] = choices[-1]  # the latest annotation wins
        yield f"task {number}", row


def _doccano_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """doccano text-classification JSONL: `{"text": ..., "label": ["supportive"]}`."""
    for where, obj in _jsonl_rows(path):
        labels = obj.pop("label", obj.pop("labels", None))
        if isinstance(labels, list):
            if len(labels) > 1:
                raise DataError(f"{path}, {where}: expected one label per row, found {labels}")
            labels = labels[0] if labels else None
        row = {k: v for k, v in obj.items() if k in Record.model_fields}
        row["label"] = labels
        yield where, row


_READERS = {
    "jsonl": _jsonl_rows,
    "csv": _csv_rows,
    "parquet": _parquet_rows,
    "label-studio": _label_studio_rows,
    "doccano": _doccano_rows,
}


def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".json":
        return "label-studio"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise DataError(
        f"{path}: cannot tell the format from the suffix {suffix!r}; use .jsonl, .csv, .parquet or "
        f".json (Label Studio), or pass --format with one of {', '.join(FORMATS[1:])}"
    )


def _first_undecodable_line(path: Path) -> str:
    """Where a non-UTF-8 file first breaks (the decoder's own position counts from a buffer)."""
    for number, raw in enumerate(path.read_bytes().splitlines(), 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            return f"line {number}: not UTF-8 text (byte 0x{byte:02x} at column {exc.start + 1})"
    return "not UTF-8 text"


def load_records(
    path: str | Path, *, require_label: bool = True, format: str = "auto"
) -> list[Record]:
    """Read and validate every record of a file; raise `DataError` before returning anything."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"data file {path} does not exist; expected a .jsonl, .csv or .parquet file"
        )
    if format not in FORMATS:
        raise DataError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    fmt = _guess_format(path) if format == "auto" else format
    try:
        rows = list(_READERS[fmt](path))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}, {_first_undecodable_line(path)}; re-save the file as UTF-8"
        ) from exc
    return _validate(rows, path, require_label)


def _as_row(record: Record) -> dict[str, Any]:
    """Every schema field, explicit nulls included; `weak` only when set."""
    row = record.model_dump()
    if not row["weak"]:
        del row["weak"]
    return row


def write_jsonl(records: Sequence[Record | dict[str, Any]], path: str | Path) -> None:
    """Write records as JSON Lines (UTF-8, one object per line), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            obj = record if isinstance(record, dict) else _as_row(record)
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    tmp.replace(path)
