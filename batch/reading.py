"""Reading one input part in bounded memory: a cheap first look, then rows a batch at a time.

The rows of a batch are mapped exactly as `load_table` maps a whole file (`data/table.py`), which
needs three facts about the whole file before the first batch: its columns (which column is the
text, the id, ...; JSON Lines objects may add keys late), whether its ids are text (rows without
an id are then numbered "7" rather than 7) and, for CSV, whether the id cells are all whole
numbers (read as integers). `scan` learns them: from the footer for Parquet (plus the id column
alone), in one pass that keeps nothing but those facts for JSON Lines and CSV. Then `batches`
yields lists of at most `batch_rows` rows: memory is bounded by a batch (and, for Parquet, by a
row group, which writers keep to about 128 MiB) whatever the size of the file.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from netralitas.batch.parts import Part, resolve
from netralitas.data.columns import ReadOptions
from netralitas.data.errors import DataError
from netralitas.data.readers import csv_rows, jsonl_rows, text_encoding
from netralitas.data.table import ids_as_integers, resolve_roles, whole_number_ids

__all__ = ["PartShape", "batches", "scan"]

Row = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class PartShape:
    """What mapping a batch needs to know about the whole part."""

    columns: list[str]
    roles: dict[str, str]
    notes: list[str]
    rows: int | None  # known for Parquet and JSON Lines, else None
    text_ids: bool
    integer_ids: bool  # CSV: the id cells are whole numbers, read as integers
    types: dict[str, Any] = field(default_factory=dict)  # column -> its Arrow type, if known
    text_columns: frozenset[str] = frozenset()  # JSON Lines: values of mixed types, written as text
    id_type: Any = None  # JSON Lines: the Arrow type of the output's id column (None: text)


@contextlib.contextmanager
def _text(part: Part, encoding: str | None = None) -> Iterator[io.TextIOWrapper]:
    filesystem, path = resolve(part.source)
    with filesystem.open_input_file(path) as raw:
        if encoding is None:
            encoding = text_encoding(raw.read(4)) if part.format == "csv" else "utf-8-sig"
            raw.seek(0)
        # newline="" for CSV: the csv module reads line ends inside quoted cells itself.
        newline = "" if part.format == "csv" else None
        yield io.TextIOWrapper(raw, encoding=encoding, newline=newline)


def _suffix(part: Part) -> str:
    return posixpath.splitext(part.name)[1].lower()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value != value


def _decode_error(part: Part, exc: UnicodeDecodeError) -> DataError:
    return DataError(f"{part.source}: not UTF-8 text ({exc.reason}); re-save the file as UTF-8")


def scan(part: Part, options: ReadOptions) -> PartShape:
    """The columns, roles and id rules of `part`, without keeping its rows."""
    id_name = options.columns.id or "id"
    types: dict[str, Any] = {}
    text_columns: frozenset[str] = frozenset()
    id_type = None
    try:
        if part.format == "parquet":
            columns, rows, text_ids, integer_ids, types = _scan_parquet(part, id_name)
        elif part.format == "jsonl":
            columns, rows, text_ids, integer_ids, kinds = _scan_jsonl(part, id_name)
            types, text_columns = _jsonl_types(kinds)
            # Output ids: the file's, and row numbers (text when the file's ids are) for the rest.
            ids = {"id": kinds.get(id_name, set()) | {str if text_ids else int}}
            id_types, _ = _jsonl_types(ids)
            id_type = id_types.get("id")
        else:
            columns, rows, text_ids, integer_ids = _scan_csv(part, id_name)
    except UnicodeDecodeError as exc:
        raise _decode_error(part, exc) from exc
    if rows == 0 or not columns:
        raise DataError(
            f"{part.source}: no records found; expected at least one row with a "
            f"{options.columns.text!r} column"
        )
    roles, notes = resolve_roles(columns, options, part.source, require_label=False)
    if "id" not in roles:
        text_ids, integer_ids = False, False
    return PartShape(
        columns, roles, notes, rows, text_ids, integer_ids, types, text_columns, id_type
    )


def _scan_parquet(part: Part, id_name: str):
    import pyarrow.parquet as pq

    filesystem, path = resolve(part.source)
    with filesystem.open_input_file(path) as fh:
        pf = pq.ParquetFile(fh)
        columns = list(pf.schema_arrow.names)
        text_ids = False
        if id_name in columns:
            for batch in pf.iter_batches(batch_size=65536, columns=[id_name]):
                if any(isinstance(v, str) and v.strip() for v in batch.column(0).to_pylist()):
                    text_ids = True
                    break
        types = {f.name: f.type for f in pf.schema_arrow}
        return columns, pf.metadata.num_rows, text_ids, False, types


def _scan_jsonl(part: Part, id_name: str):
    kinds: dict[str, set[type]] = {}  # column -> the Python types of its values, in file order
    rows = 0
    text_ids = False
    with _text(part) as fh:
        for _, obj in jsonl_rows(fh, part.source):
            rows += 1
            for key, value in obj.items():
                kinds.setdefault(key, set()).add(type(value))
            value = obj.get(id_name)
            if isinstance(value, str) and value.strip():
                text_ids = True
    return list(kinds), rows, text_ids, False, kinds


_ARROW = {str: "string", int: "int64", float: "float64", bool: "bool_"}


def _jsonl_types(kinds: dict[str, set[type]]) -> tuple[dict[str, Any], frozenset[str]]:
    """The Arrow type the whole-file writer would give each JSON Lines column (`arrow_table`
    infers it from every value), where the first batch alone could get it wrong: a column of
    whole numbers with a decimal later is float64; one that mixes kinds (numbers and text, as
    ids often do) is text. Nested values are left to the writer."""
    import pyarrow as pa

    types: dict[str, Any] = {}
    text: set[str] = set()
    for column, seen in kinds.items():
        seen = seen - {type(None)}
        if not seen:
            types[column] = pa.null()
        elif seen <= {int, float}:
            types[column] = pa.float64() if float in seen else pa.int64()
        elif len(seen) == 1 and next(iter(seen)) in _ARROW:
            types[column] = getattr(pa, _ARROW[next(iter(seen))])()
        elif len(seen) > 1:
            text.add(column)
    return types, frozenset(text)


def _scan_csv(part: Part, id_name: str):
    with _text(part) as fh:
        columns, rows = csv_rows(fh, part.source, _suffix(part))
        if id_name not in columns:
            return columns, None, False, False
        whole, any_id, count, chunk = True, False, 0, []
        for _, row in rows:
            count += 1
            chunk.append(row.get(id_name))
            if len(chunk) == 65536:
                whole = whole and whole_number_ids(chunk)
                any_id = any_id or any(not _blank(v) for v in chunk)
                chunk = []
        whole = whole and whole_number_ids(chunk)
        any_id = any_id or any(not _blank(v) for v in chunk)
    return columns, count, any_id and not whole, whole


def batches(part: Part, shape: PartShape, batch_rows: int) -> Iterator[list[Row]]:
    """The rows of `part` as read, `batch_rows` at a time (CSV ids already integers when the
    scan found them all whole numbers)."""
    if batch_rows < 1:
        raise DataError(f"--batch-rows {batch_rows}: expected a positive number of rows")
    try:
        if part.format == "parquet":
            yield from _parquet_batches(part, batch_rows)
            return
        with _text(part) as fh:
            if part.format == "jsonl":
                rows: Iterator[Row] = jsonl_rows(fh, part.source)
            else:
                _, rows = csv_rows(fh, part.source, _suffix(part))
            chunk: list[Row] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) == batch_rows:
                    yield _ids(chunk, shape)
                    chunk = []
            if chunk:
                yield _ids(chunk, shape)
    except UnicodeDecodeError as exc:
        raise _decode_error(part, exc) from exc


def _ids(chunk: list[Row], shape: PartShape) -> list[Row]:
    if shape.integer_ids:
        ids_as_integers(chunk, shape.roles["id"])
    return chunk


def _parquet_batches(part: Part, batch_rows: int) -> Iterator[list[Row]]:
    import pyarrow.parquet as pq

    filesystem, path = resolve(part.source)
    number = 0
    with filesystem.open_input_file(path) as fh:
        for batch in pq.ParquetFile(fh).iter_batches(batch_size=batch_rows):
            rows = batch.to_pylist()
            yield [(f"row {number + i}", row) for i, row in enumerate(rows, 1)]
            number += len(rows)
