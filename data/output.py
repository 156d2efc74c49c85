"""The rows `netralitas score` writes, and writing them as JSON Lines, CSV or Parquet by suffix.

One flat row per input row, in input order: `id` (the input's id with its type, or the 1-based row
number), `label`, `decision`, `score`, `score_<label>` for every model label, `truncated`,
`obfuscation` (when the scorer reports it); when the file has an `action` column, `action`,
`judged` (what the model read: `post`, `comment`, `caption`, `shared post`, `liked post`;
model/actions.py) and `judged_field` (`text` or `context`: the field read, which explanation spans
index); the file's `account`, `posted_at` and `url` when it has those columns; with `explain`,
`explanation` (a list of `{start, end, weight, text, field}`, empty for cleared posts);
`model_name`, `model_version`, then the input's columns chosen by `--keep-columns` (default all;
one named like an output column is written as `input_<name>`, e.g. the true `label` of a labelled
file becomes `input_label`; `action`, `account`, `posted_at` and `url`, written already, are not
repeated). Which columns appear depends on the file's columns only, never on its rows, so every
batch of a file read in parts has the same columns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netralitas.data.atomic import atomic_file
from netralitas.data.errors import DataError
from netralitas.data.records import DataTable, json_default

if TYPE_CHECKING:
    from netralitas.model.scorer import ScoredPost

__all__ = [
    "OUTPUT_FORMATS",
    "arrow_table",
    "csv_cell",
    "keep_columns",
    "output_format",
    "scored_rows",
    "write_rows",
]

OUTPUT_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
}
# Record fields read from columns of these names: written from the record (normalised: a blank
# cell is null, an action lower-cased), instead of as the input's own column.
_RECORD_COLUMNS = ("action", "account", "posted_at", "url")


def output_format(path: str | Path) -> str:
    """The format `path`'s suffix asks for; `DataError` naming the supported ones otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise DataError(
            f"{path}: cannot tell the output format from the suffix {suffix!r}; name the file "
            f"with one of {', '.join(OUTPUT_FORMATS)} (JSON Lines, CSV, tab-separated, Parquet)"
        )
    return OUTPUT_FORMATS[suffix]


def keep_columns(spec: str, table: DataTable) -> list[str]:
    """The input columns `--keep-columns` names: `all` (every one but the id, which is `id`),
    `none`, or `COL,COL,...` (each must be in the file)."""
    id_column = table.roles.get("id")
    if spec.strip() == "all":
        return [c for c in table.columns if c != id_column]
    if spec.strip() == "none":
        return []
    wanted = [c.strip() for c in spec.split(",") if c.strip()]
    missing = [c for c in wanted if c not in table.columns]
    if missing or not wanted:
        raise DataError(
            f"--keep-columns {spec!r}: {', '.join(repr(c) for c in missing) or 'no column'} not "
            f"in {table.path}; its columns are {', '.join(repr(c) for c in table.columns)}. "
            "Use all, none, or a comma-separated list of those"
        )
    return [c for c in wanted if c != id_column]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def scored_rows(
    table: DataTable,
    posts: Sequence[ScoredPost],
    labels: Sequence[str],
    keep: Sequence[str],
    *,
    explain: bool = False,
) -> list[dict[str, Any]]:
    """Flat output rows for `posts` (one per row of `table`, same order): a whole file, or one
    batch of a file read in parts (`table.first_row` numbers its rows without an id)."""
    if len(posts) != len(table.rows):
        raise ValueError(f"{len(posts)} scored posts for {len(table.rows)} rows")
    with_actions = "action" in table.columns
    present = [c for c in _RECORD_COLUMNS if c in table.columns and c not in table.roles.values()]
    keep = [c for c in keep if c not in present]
    out = []
    for row_id, post, raw, record in zip(
        table.ids(), posts, table.rows, table.records, strict=True
    ):
        row: dict[str, Any] = {
            "id": row_id,
            "label": post.label,
            "decision": post.decision,
            "score": post.score,
            **{f"score_{label}": post.scores[label] for label in labels},
            "truncated": post.truncated,
        }
        if hasattr(post, "obfuscation"):
            row["obfuscation"] = _as_list(post.obfuscation)
        if with_actions:
            row["action"] = record.action
            row["judged"] = getattr(post, "judged", "post")
            row["judged_field"] = getattr(post, "judged_field", "text")
        for name in present:
            row[name] = getattr(record, name)  # "action" is there already: same value
        if explain:
            row["explanation"] = _explanation(post)
        row["model_name"] = post.model_name
        row["model_version"] = post.model_version
        for column in keep:
            name = column
            while name in row:
                name = f"input_{name}"
            row[name] = raw.get(column)
        out.append(row)
    return out


def _explanation(post: ScoredPost) -> list[dict[str, Any]]:
    field = getattr(post, "judged_field", "text")
    return [
        {"start": a.start, "end": a.end, "weight": a.weight, "text": a.text, "field": field}
        for a in getattr(post, "explanation", None) or ()
    ]


def csv_cell(value: Any) -> Any:
    """A CSV cell for `value`: lists of scalars joined with "; ", nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=json_default)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def arrow_table(rows: Sequence[dict[str, Any]], columns: list[str]):
    """A pyarrow table, one typed column per key; a column of mixed types (ids that are text in
    some rows and numbers in others) is written as text."""
    import pyarrow as pa

    arrays = {}
    for name in columns:
        values = [row.get(name) for row in rows]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            array = pa.array(
                [
                    None
                    if v is None
                    else json.dumps(v, ensure_ascii=False, default=json_default)
                    if isinstance(v, dict | list)
                    else str(v)
                    for v in values
                ],
                type=pa.string(),
            )
        if pa.types.is_list(array.type) and pa.types.is_null(array.type.value_type):
            array = array.cast(pa.list_(pa.string()))  # e.g. obfuscation, empty in every row
        arrays[name] = array
    return pa.table(arrays)


def write_rows(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Write `rows` in the format of `path`'s suffix, atomically (a temporary file, renamed):
    whatever was at `path` stays until the new file is complete.

    CSV is UTF-8 with a byte-order mark, so Excel reads Indonesian text and emoji correctly;
    lists are joined with "; ", nested values written as JSON.
    """
    path = Path(path)
    fmt = output_format(path)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_file(path) as tmp:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(arrow_table(rows, columns), tmp)
        elif fmt == "jsonl":
            with open(tmp, "w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False, default=json_default) + "\n")
        else:
            with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.writer(fh, delimiter="\t" if fmt == "tsv" else ",")
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([csv_cell(row.get(c)) for c in columns])
