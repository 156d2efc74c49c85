"""Records from data files (JSONL, CSV, Parquet, Excel, Label Studio, doccano), and back to JSONL.

`load_records` and `load_files` read through `table.py` (columns and labels mapped with one
`ReadOptions`, every row validated, one `DataError` listing every problem: a bad file never produces
a half-loaded dataset). Columns the record schema does not name are kept in `Record.extra`:
training and evaluation ignore them, `score` carries them through, `write_jsonl` writes them back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netralitas.data.atomic import atomic_file
from netralitas.data.columns import ReadOptions
from netralitas.data.errors import DataError
from netralitas.data.labels import check_label_spellings
from netralitas.data.readers import FORMATS
from netralitas.data.table import DataTable, Log, load_table
from netralitas.model.records import Record

__all__ = [
    "FORMATS",
    "DataError",
    "DataTable",
    "json_default",
    "load_files",
    "load_records",
    "load_table",
    "write_jsonl",
]


def load_records(
    path: str | Path,
    options: ReadOptions | None = None,
    *,
    require_label: bool = True,
    format: str | None = None,
    log: Log | None = None,
) -> list[Record]:
    """The records of one file (`load_table` without the rows as read).

    `format` overrides `options.format` (kept for callers that only pass a format).
    """
    options = options or ReadOptions()
    if format is not None:
        options = options.model_copy(update={"format": format})
    return load_table(path, options, require_label=require_label, log=log).records


def load_files(
    paths: Sequence[str | Path],
    options: ReadOptions | None = None,
    *,
    require_label: bool = True,
    log: Log | None = None,
) -> list[Record]:
    """The records of the files of a training config, together, in order; a row without a
    `source` gets its file's path as given. A file without the configured columns but with the
    schema's own (`text`, `label`: a feedback export) is read with those. Label spellings are
    checked across the files too."""
    options = options or ReadOptions()
    tables = [
        load_table(p, options, require_label=require_label, log=log, schema_fallback=True)
        for p in paths
    ]
    if require_label and len(tables) > 1:
        values = sum((t.label_values for t in tables), Counter())
        check_label_spellings(values, options.label_map, ", ".join(str(p) for p in paths))
    return [
        r if r.source is not None else r.model_copy(update={"source": str(path)})
        for path, table in zip(paths, tables, strict=True)
        for r in table.records
    ]


def json_default(value: Any) -> Any:
    """JSON for cell values the json module does not know (dates from Parquet or Excel, ...)."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _as_row(record: Record) -> dict[str, Any]:
    """Every schema field, explicit nulls included; `weak` only when set; then the file's other
    columns (one named like a schema field is written as `input_<name>`)."""
    row = record.model_dump(exclude={"extra"})
    if not row["weak"]:
        del row["weak"]
    for key, value in record.extra.items():
        name = key
        while name in row:
            name = f"input_{name}"
        row[name] = value
    return row


def write_jsonl(records: Sequence[Record | dict[str, Any]], path: str | Path) -> None:
    """Write records as JSON Lines (UTF-8, one object per line), atomically (`atomic_file`)."""
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            obj = record if isinstance(record, dict) else _as_row(record)
            fh.write(json.dumps(obj, ensure_ascii=False, default=json_default) + "\n")
