"""Raw rows of a data file, by format: the file's own column names and value types, in file order.

Mapping columns to record fields and validating them is `records.py`'s job; here a file only has to
be readable. CSV: the separator (`,` `;` or tab) is sniffed from the header line; UTF-8 with or
without a byte-order mark (Excel's "CSV UTF-8") and UTF-16 with one (Excel's "Unicode text") are
read. Excel workbooks (`.xlsx`, the first sheet) need the optional `openpyxl`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from netralitas.data.errors import DataError

__all__ = [
    "FORMATS",
    "RawTable",
    "csv_rows",
    "guess_format",
    "jsonl_rows",
    "read_raw",
    "sniff_delimiter",
    "text_encoding",
]

FORMATS = ("auto", "jsonl", "csv", "parquet", "xlsx", "label-studio", "doccano")

Row = tuple[str, dict[str, Any]]  # (where, e.g. "line 3", the row as read)


@dataclass
class RawTable:
    """Every row of a file as read, and its columns in file order (first seen, for JSON Lines)."""

    format: str
    rows: list[Row]
    columns: list[str] = field(default_factory=list)


def jsonl_rows(fh: IO[str], path: Path | str) -> Iterator[Row]:
    """The rows of an open JSON Lines text stream, one at a time (`path` names it in errors)."""
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


def _jsonl(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig") as fh:
        yield from jsonl_rows(fh, path)


def text_encoding(head: bytes) -> str:
    """The encoding of a CSV file from its first bytes: UTF-16 with a byte-order mark, else UTF-8
    (with or without one)."""
    return "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"


def _text_encoding(path: Path) -> str:
    with open(path, "rb") as fh:
        return text_encoding(fh.read(4))


_QUOTED = re.compile(r'"[^"]*"')


def sniff_delimiter(header: str, suffix: str = "") -> str:
    """The separator of a CSV header line: the most frequent of `,` `;` tab outside quotes."""
    bare = _QUOTED.sub("", header)
    counts = {d: bare.count(d) for d in (",", ";", "\t")}
    if suffix == ".tsv" and counts["\t"]:
        return "\t"
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_rows(fh: IO[str], path: Path | str, suffix: str = "") -> tuple[list[str], Iterator[Row]]:
    """The columns of an open CSV text stream and a generator of its rows, one at a time.

    The separator is sniffed from the header line; `fh` must be at its start (a text stream that
    can seek back to it). Blank rows are skipped; a short row gets None for its missing cells.
    """
    csv.field_size_limit(1 << 24)  # long posts and articles exceed csv's 128 KiB default
    header_line = fh.readline()
    delimiter = sniff_delimiter(header_line, suffix)
    fh.seek(0)  # the decoder is reset and skips the byte-order mark again
    reader = csv.reader(fh, delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        return [], iter(())
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise DataError(
                f"{path}: column {name!r} appears twice in the header; rename one of them"
            )
        seen.add(name)

    def rows() -> Iterator[Row]:
        start = reader.line_num + 1
        for values in reader:
            where, start = f"line {start}", reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(names):
                raise DataError(
                    f"{path}, {where}: more values than header columns "
                    f"({len(values)} values, {len(names)} columns separated by {delimiter!r}); "
                    "quote cells that contain the separator"
                )
            row = {n: v for n, v in zip(names, values, strict=False) if n}
            row.update({n: None for n in names[len(values) :] if n})
            yield where, row

    return [n for n in names if n], rows()


def _csv(path: Path) -> RawTable:
    with open(path, encoding=_text_encoding(path), newline="") as fh:
        columns, rows = csv_rows(fh, path, path.suffix.lower())
        return RawTable("csv", list(rows), columns)


def _parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = [(f"row {number}", row) for number, row in enumerate(table.to_pylist(), 1)]
    return RawTable("parquet", rows, list(table.column_names))


def _xlsx(path: Path) -> RawTable:
    try:
        import openpyxl
    except ImportError as exc:
        raise DataError(
            f"{path}: reading Excel workbooks needs openpyxl: pip install 'netralitas[excel]' (or "
            "pip install openpyxl); or save the sheet as 'CSV UTF-8' and read that"
        ) from exc
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors alike
        raise DataError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    try:
        cells = book.worksheets[0].iter_rows(values_only=True)
        header = next(cells, None) or ()
        names = ["" if h is None else str(h).strip() for h in header]
        rows: list[Row] = []
        for number, values in enumerate(cells, 2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            row = {n: v for n, v in zip(names, values, strict=False) if n}
            rows.append((f"row {number}", row))
    finally:
        book.close()
    return RawTable("xlsx", rows, [n for n in names if n])


def _label_studio(path: Path) -> RawTable:
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
    rows: list[Row] = []
    for number, task in enumerate(tasks, 1):
        task = task if isinstance(task, dict) else {}
        row = dict(task.get("data") or {})
        if "id" in task:
            row.setdefault("id", str(task["id"]))
        choices = [
            choice
            for ann in task.get("annotations") or []
            if not ann.get("was_cancelled")
            for result in ann.get("result", [])
            for choice in result.get("value", {}).get("choices", [])
        ]
        if choices:
            row["label"] = choices[-1]  # the latest annotation wins
        rows.append((f"task {number}", row))
    return RawTable("label-studio", rows)


def _doccano(path: Path) -> RawTable:
    """doccano text-classification JSONL: `{"text": ..., "label": ["supportive"]}`."""
    rows: list[Row] = []
    for where, obj in _jsonl(path):
        labels = obj.pop("label", obj.pop("labels", None))
        if isinstance(labels, list):
            if len(labels) > 1:
                raise DataError(f"{path}, {where}: expected one label per row, found {labels}")
            labels = labels[0] if labels else None
        rows.append((where, {**obj, "label": labels}))
    return RawTable("doccano", rows)


def _columns_of(rows: list[Row]) -> list[str]:
    return list(dict.fromkeys(k for _, row in rows for k in row))


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".json":
        return "label-studio"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".xls":
        raise DataError(
            f"{path}: old-style Excel .xls files are not read; save the sheet as .xlsx or as "
            "'CSV UTF-8'"
        )
    raise DataError(
        f"{path}: cannot tell the format from the suffix {suffix!r}; use .jsonl, .csv, .tsv, "
        f".parquet, .xlsx or .json (Label Studio), or pass --format with one of "
        f"{', '.join(FORMATS[1:])}"
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


def read_raw(path: Path, format: str = "auto") -> RawTable:
    """Every row of `path` as read; `DataError` for a missing, unreadable or malformed file."""
    if not path.is_file():
        raise DataError(
            f"data file {path} does not exist; expected a .jsonl, .csv, .parquet or .xlsx file"
        )
    if format not in FORMATS:
        raise DataError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    fmt = guess_format(path) if format == "auto" else format
    try:
        if fmt == "csv":
            return _csv(path)
        if fmt == "parquet":
            return _parquet(path)
        if fmt == "xlsx":
            return _xlsx(path)
        if fmt == "label-studio":
            table = _label_studio(path)
        elif fmt == "doccano":
            table = _doccano(path)
        else:
            table = RawTable("jsonl", list(_jsonl(path)))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}, {_first_undecodable_line(path)}; re-save the file as UTF-8"
        ) from exc
    table.columns = _columns_of(table.rows)
    return table
