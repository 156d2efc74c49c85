"""Writing one output part a batch at a time, atomically, with its fingerprint.

Rows go to a temporary sibling (`.NAME.tmp`, hidden from listings and from `plan_parts`), which
is renamed over the part only when every row is written: a reader, or a resumed run, never sees
half a part. On any error, Ctrl-C included, the temporary file is removed. Local files are synced
to disk before the rename, as `data/atomic.py` does.

How a finished part says which input and model it came from (the fingerprint, `parts.py`):

- Parquet: in the file's own schema metadata (`netralitas.batch`), so the part and its proof are
  one file that appears in one rename.
- JSON Lines and CSV have no metadata, so a sidecar `NAME.done.json` is written (atomically too)
  after the part's rename. A crash between the two renames leaves a part without its marker,
  which the next run scores again: never a part marked done that is not.

A Parquet file has one schema, fixed before the first batch is written, where the whole-file
writer infers each column's type from all its rows. For JSON Lines input the first look at the
part (`reading.scan`) says which type the whole file gives each column, numbers with a decimal
somewhere and mixed kinds (text) included; otherwise the first batch's types stand, a column empty
in it typed from the input's Parquet schema (else text). Later batches are cast to that schema.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import posixpath
from collections.abc import Sequence
from typing import Any

from netralitas.batch.parts import is_remote, resolve
from netralitas.data.errors import DataError
from netralitas.data.output import arrow_table, csv_cell
from netralitas.data.records import json_default

__all__ = ["METADATA_KEY", "PartSink", "done_marker", "read_stamp", "temporary"]

METADATA_KEY = b"netralitas.batch"


def done_marker(output: str) -> str:
    """The sidecar that marks a JSON Lines or CSV part finished."""
    return output + ".done.json"


def temporary(location: str) -> str:
    """The temporary sibling a part (or marker) is written to before its rename."""
    head, name = posixpath.split(location)
    return posixpath.join(head, f".{name}.tmp")


def read_stamp(output: str, output_format: str) -> dict[str, Any] | None:
    """The stamp (fingerprint, rows, ...) of a finished output part, or None when there is no
    finished part at `output`."""
    from pyarrow import fs

    filesystem, path = resolve(output)
    try:
        if output_format == "parquet":
            if filesystem.get_file_info(path).type != fs.FileType.File:
                return None
            import pyarrow.parquet as pq

            with filesystem.open_input_file(path) as fh:
                meta = pq.read_schema(fh).metadata or {}
            raw = meta.get(METADATA_KEY)
        else:
            marker = done_marker(path)
            infos = filesystem.get_file_info([path, marker])
            if any(i.type != fs.FileType.File for i in infos):
                return None
            with filesystem.open_input_stream(marker) as fh:
                raw = fh.read()
        return json.loads(raw) if raw else None
    except (OSError, ValueError):
        return None  # unreadable or half-written by something else: score it again


def _as_text(row: dict[str, Any], columns: set[str]) -> dict[str, Any]:
    """The values of `columns` as the whole-file writer writes a column of mixed kinds."""
    return {
        c: None
        if row.get(c) is None
        else json.dumps(row[c], ensure_ascii=False, default=json_default)
        if isinstance(row[c], dict | list)
        else str(row[c])
        for c in columns
        if c in row
    }


class PartSink:
    """A context manager: `write(rows)` per batch, `commit()` at the end; leaving the block
    without a commit removes the temporary file. `marker=False`: no done marker for JSON Lines
    and CSV (a single output file, which is always scored again, as `write_rows` would)."""

    def __init__(
        self,
        output: str,
        output_format: str,
        stamp: dict[str, Any],
        *,
        marker: bool = True,
    ) -> None:
        self.output = output
        self.marker = marker
        self.format = output_format
        self.stamp = stamp
        self.filesystem, self.path = resolve(output)
        self.tmp = temporary(self.path)
        # Set before the first write (`score_part`): a column's Arrow type when the whole input
        # says what it is (`column_types`), when the first batch has only nulls (`null_types`),
        # and the columns written as text (mixed kinds), as `arrow_table` does for a whole file.
        self.column_types: dict[str, Any] = {}
        self.null_types: dict[str, Any] = {}
        self.text_columns: set[str] = set()
        self.rows = 0
        self._stream = None
        self._writer = None
        self._schema = None
        self._columns: list[str] | None = None

    def __enter__(self) -> PartSink:
        self.filesystem.create_dir(posixpath.dirname(self.path), recursive=True)
        self._stream = self.filesystem.open_output_stream(self.tmp)
        if self.format in ("csv", "tsv"):
            self._stream.write(b"\xef\xbb\xbf")  # a byte-order mark: Excel reads UTF-8 right
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:  # not committed: an error or Ctrl-C
            try:
                self._close()
            finally:
                with contextlib.suppress(OSError):
                    self.filesystem.delete_file(self.tmp)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._columns is None:
            self._columns = list(dict.fromkeys(k for row in rows for k in row))
        if self.format == "parquet":
            self._write_parquet(rows)
        elif self.format == "jsonl":
            text = "".join(
                json.dumps(row, ensure_ascii=False, default=json_default) + "\n" for row in rows
            )
            self._stream.write(text.encode("utf-8"))
        else:
            buffer = io.StringIO()
            writer = csv.writer(buffer, delimiter="\t" if self.format == "tsv" else ",")
            if self.rows == 0:
                writer.writerow(self._columns)
            for row in rows:
                writer.writerow([csv_cell(row.get(c)) for c in self._columns])
            self._stream.write(buffer.getvalue().encode("utf-8"))
        self.rows += len(rows)

    def _write_parquet(self, rows: Sequence[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.text_columns:
            rows = [{**row, **_as_text(row, self.text_columns)} for row in rows]
        table = arrow_table(rows, self._columns)
        if self._writer is None:
            fields = [
                field.with_type(self.column_types[field.name])
                if field.name in self.column_types
                else field.with_type(self.null_types.get(field.name, pa.string()))
                if pa.types.is_null(field.type)
                else field
                for field in table.schema
            ]
            # The stamp goes in with the schema: the file is renamed into place only once
            # complete, so a part that carries it is a finished part.
            self._schema = pa.schema(fields, metadata={METADATA_KEY: json.dumps(self.stamp)})
            self._writer = pq.ParquetWriter(self._stream, self._schema)
        if not table.schema.equals(self._schema, check_metadata=False):
            try:
                table = table.cast(self._schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                changed = [
                    f"{f.name} ({f.type} -> {table.schema.field(f.name).type})"
                    for f in self._schema
                    if table.schema.field(f.name).type != f.type
                ]
                raise DataError(
                    f"{self.output}: a column changed type within the part after row "
                    f"{self.rows}: {', '.join(changed)} ({exc}); a Parquet column has one type. "
                    "Write JSON Lines instead (--output-format jsonl) or leave the column out "
                    "(--keep-columns)"
                ) from exc
        self._writer.write_table(table)

    def commit(self) -> None:
        """Finish the part: sync it, rename it into place (then write the marker, if any)."""
        if self.rows == 0:
            raise DataError(f"{self.output}: no rows to write")
        self._close()
        self._sync(self.tmp)
        self.filesystem.move(self.tmp, self.path)
        if self.format != "parquet" and self.marker:
            marker = done_marker(self.path)
            with self.filesystem.open_output_stream(temporary(marker)) as fh:
                fh.write(json.dumps({**self.stamp, "rows": self.rows}, indent=1).encode("utf-8"))
            self._sync(temporary(marker))
            self.filesystem.move(temporary(marker), marker)

    def _sync(self, path: str) -> None:
        if is_remote(self.output):
            return  # an object store makes an object visible only once it is complete
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
