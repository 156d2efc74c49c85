"""Scoring one part: read a batch, map it as `netralitas score` maps a file, score, write; repeat.

`score_part` is the one per-part function of both engines (the local loop and every Ray actor), so
they write the same rows in the same order. Each batch becomes a `DataTable` through the same
mapping as a whole file (`data/table.py`: `--text-column`, `--map`, ... and the columns kept), is
scored by `Scorer.score` and turned into output rows by `data/output.py`'s `scored_rows`: a part
scored in batches is row for row the file `netralitas score FILE --output OUT` writes whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netralitas.batch.parts import Part, fingerprint
from netralitas.batch.reading import PartShape, batches, scan
from netralitas.batch.sink import PartSink, read_stamp
from netralitas.data.columns import ReadOptions
from netralitas.data.errors import DataError
from netralitas.data.output import keep_columns, scored_rows
from netralitas.data.table import table_of_rows

if TYPE_CHECKING:
    from netralitas.model.scorer import Scorer

__all__ = ["BATCH_ROWS", "Job", "ScoreOptions", "score_part"]

# Rows read, mapped and scored together: a multiple of the Scorer's 256-post model calls, so the
# model sees the same batches as when a whole file is scored.
BATCH_ROWS = 8192

OnBatch = Callable[[int, float | None], None]  # (rows in the batch, share of the part done)


@dataclass(frozen=True)
class ScoreOptions:
    """How every part is read and what its output rows carry (the same for the whole run)."""

    read: ReadOptions = field(default_factory=ReadOptions)
    keep: str = "all"  # --keep-columns
    batch_rows: int = BATCH_ROWS

    def identity(self) -> dict[str, Any]:
        """What changes the output (the batch size does not)."""
        return {"read": self.read.model_dump(mode="json"), "keep": self.keep}


@dataclass(frozen=True)
class Job:
    """A batch run: its parts, how they are read, and the model's key (`parts.model_key`)."""

    parts: Sequence[Part]
    options: ScoreOptions
    model: dict[str, Any]

    def fingerprint(self, part: Part) -> str:
        return fingerprint(part, self.model, self.options.identity())

    def pending(self, log: Callable[[str], None]) -> list[tuple[Part, str]]:
        """The parts still to score, with their fingerprints; a finished part whose stamp matches
        is skipped (and said so in `log`); one with another fingerprint is scored again."""
        todo = []
        for part in self.parts:
            fp = self.fingerprint(part)
            stamp = read_stamp(part.output, part.output_format)
            if stamp is not None and stamp.get("fingerprint") == fp:
                log(f"skip {part.name}: {part.output} is done (same input, model and options)")
                continue
            if stamp is not None:
                log(
                    f"rescore {part.name}: its input, model or options changed since it was written"
                )
            todo.append((part, fp))
        return todo


def score_part(
    scorer: Scorer,
    part: Part,
    options: ScoreOptions,
    fp: str,
    *,
    on_batch: OnBatch | None = None,
    log: Callable[[str], None] | None = None,
    marker: bool = True,
) -> int:
    """Score every row of `part` into `part.output`, a batch at a time; the number of rows.

    The part appears whole or not at all (`PartSink`); a bad row raises `DataError` naming its
    line or row, and nothing of the part is written. `marker=False`: no done marker beside a
    JSON Lines or CSV output (a single output file, not a part of a resumable run).
    """
    shape = scan(part, options.read)
    meta = scorer.metadata
    stamp = {
        "fingerprint": fp,
        "source": part.source,
        "model": {"name": meta.name, "version": meta.version},
    }
    keep: list[str] | None = None
    first_row = 1
    with PartSink(part.output, part.output_format, stamp, marker=marker) as sink:
        for raw in batches(part, shape, options.batch_rows):
            table = table_of_rows(
                part.source,
                raw,
                shape.columns,
                shape.roles,
                options.read,
                require_label=False,
                notes=shape.notes,
                first_row=first_row,
                text_ids=shape.text_ids,
            )
            if keep is None:
                keep = keep_columns(options.keep, table)
                if log is not None and table.describe():
                    log(f"{part.source}: " + "; ".join(table.describe()))
            posts = list(scorer.score(table.records))
            rows = scored_rows(table, posts, meta.labels, keep)
            if sink.rows == 0 and rows:
                _column_types(sink, shape, part.format, _carried(rows, table.rows, keep))
            sink.write(rows)
            first_row += len(raw)
            if on_batch is not None:
                on_batch(len(raw), (first_row - 1) / shape.rows if shape.rows else None)
        if sink.rows == 0:
            raise DataError(
                f"{part.source}: no records found; expected at least one row with a "
                f"{options.read.columns.text!r} column"
            )
        sink.commit()
    return sink.rows


def _carried(
    rows: Sequence[dict[str, Any]], raws: Sequence[dict[str, Any]], keep: Sequence[str]
) -> dict[str, str]:
    """Output column -> the input column whose values it carries, checked on the first batch:
    a kept column keeps its name, or becomes input_<name> when an output column has it."""
    out = {}
    for name in rows[0]:
        if f"input_{name}" in rows[0]:
            continue  # an output column of ours; the input's is the input_ one
        column = name
        while column not in keep and column.startswith("input_"):
            column = column.removeprefix("input_")
        if column in keep and all(
            row.get(name) == raw.get(column) for row, raw in zip(rows, raws, strict=True)
        ):
            out[name] = column
    return out


def _column_types(
    sink: PartSink, shape: PartShape, input_format: str, carried: dict[str, str]
) -> None:
    """Tell the sink the output types the whole input implies (see `batch/sink.py`)."""
    import pyarrow as pa

    if input_format == "jsonl":
        sink.column_types = {o: shape.types[c] for o, c in carried.items() if c in shape.types}
        sink.text_columns = {o for o, c in carried.items() if c in shape.text_columns}
        if shape.id_type is None:
            sink.text_columns.add("id")
        elif not pa.types.is_null(shape.id_type):
            sink.column_types["id"] = shape.id_type
    else:
        sink.null_types = {o: shape.types[c] for o, c in carried.items() if c in shape.types}
