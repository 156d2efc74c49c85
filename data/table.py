"""A data file as read: which column is each record field, label values mapped, rows validated.

`load_table` reads a file (`readers.py`), maps its columns and label values with one `ReadOptions`
(`columns.py`: the same for every command and config), validates every row and raises one
`DataError` listing the problems (file, line or row, field, what was expected, what was found), so a
bad file never produces a half-loaded dataset. Columns the record schema does not name are the
user's: they are kept in `Record.extra`, never an error. The `DataTable` also keeps each row as it
was in the file (names and value types), which `score` carries to its output.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netralitas.data.columns import ColumnMap, ReadOptions, map_label
from netralitas.data.errors import DataError
from netralitas.data.labels import check_label_spellings
from netralitas.data.readers import read_raw
from netralitas.model.records import Record

__all__ = [
    "ROLES",
    "DataTable",
    "ids_as_integers",
    "load_table",
    "resolve_roles",
    "table_of_rows",
    "whole_number_ids",
]

MAX_ERRORS_SHOWN = 20
ROLES = ("text", "label", "context", "id")  # record fields read from a column the user may name
SCHEMA_FIELDS = tuple(f for f in Record.model_fields if f != "extra")
_OWN_NAME = tuple(f for f in SCHEMA_FIELDS if f not in ROLES)  # platform, action, ... by name
_FLAGS = {
    "text": "--text-column (data.columns.text in a training config)",
    "label": "--label-column (data.columns.label)",
    "context": "--context-column (data.columns.context)",
    "id": "--id-column (data.columns.id)",
}
# Column names that usually hold the posts or the labels in exports (for "perhaps ..." hints).
_USUAL = {
    "text": {"tweet", "teks", "isi", "konten", "content", "post", "postingan", "caption"}
    | {"komentar", "comment", "status", "message", "pesan", "kalimat", "full_text", "text tweet"},
    "label": {"kelas", "class", "kategori", "category", "stance", "sikap", "target", "anotasi"}
    | {"annotation", "labels", "label_final", "sentimen", "sentiment"},
}
_WHOLE_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)")

Log = Callable[[str], None]


@dataclass
class DataTable:
    """A file as read: its records, and each record's row as it was in the file."""

    path: Path
    records: list[Record]
    rows: list[dict[str, Any]]  # original column names and value types (what `score` carries)
    columns: list[str]  # the file's columns, in file order
    roles: dict[str, str]  # record field -> the column it was read from ("text" -> "tweet")
    label_values: Counter[str] = field(default_factory=Counter)  # as read, before the map
    dropped: Counter[str] = field(default_factory=Counter)  # rows dropped by the map, per value
    label_map: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # A batch of a file read in parts (batch scoring): the 1-based number of its first row, and
    # whether the file's ids are text (None: decided from these rows, as for a whole file).
    first_row: int = 1
    text_ids: bool | None = None

    @property
    def extra_columns(self) -> list[str]:
        used = set(self.roles.values())
        return [c for c in self.columns if c not in used and c not in _OWN_NAME]

    def ids(self) -> list[Any]:
        """Each row's id as read (an integer stays one), or its 1-based row number when it has
        none: a number, or text when the file's other ids are text."""
        column = self.roles.get("id")
        given = [row.get(column) if column else None for row in self.rows]
        given = [None if _blank(v) else v for v in given]
        as_text = any(isinstance(v, str) for v in given) if self.text_ids is None else self.text_ids
        return [
            v if v is not None else (str(i) if as_text else i)
            for i, v in enumerate(given, self.first_row)
        ]

    def describe(self) -> list[str]:
        """What reading did beyond the schema: columns mapped or not used, labels mapped."""
        parts = [f"{role} from column {col!r}" for role, col in self.roles.items() if role != col]
        mapped: Counter[str] = Counter()
        for value, n in self.label_values.items():
            target = map_label(value, self.label_map)
            if target != value and value not in self.dropped:
                mapped[f"{value!r} -> {target}"] += n
        if mapped:
            parts.append("labels " + ", ".join(f"{k} ({n})" for k, n in mapped.items()))
        if self.dropped:
            parts.append(
                "dropped by the label map: "
                + ", ".join(f"{v!r} ({n} rows)" for v, n in self.dropped.items())
            )
        if self.extra_columns:
            parts.append(
                f"{len(self.extra_columns)} other column(s) kept but not used by the model: "
                + ", ".join(self.extra_columns)
            )
        return parts + self.notes

    def summary(self) -> str:
        """One line on what was read, or '' when the file was read exactly as the schema says."""
        parts = self.describe()
        return f"{self.path}: {len(self.records)} rows; " + "; ".join(parts) if parts else ""


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _guess(role: str, name: str, columns: Sequence[str]) -> str:
    """'--text-column tweet' when a column looks like the one meant, else ''."""
    if role not in _FLAGS:
        return ""
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    usual = [c for c in columns if c.lower() in _USUAL.get(role, set())]
    found = close or usual
    return f"{_FLAGS[role].split()[0]} {found[0]}" if found else ""


def _resolve(
    columns: Sequence[str],
    names: ColumnMap,
    path: Path,
    require_label: bool,
    schema_fallback: bool,
) -> tuple[dict[str, str], list[str]]:
    """Which column each role is read from; a named column that is missing is an error."""
    roles: dict[str, str] = {}
    notes: list[str] = []
    wanted = {
        "text": names.text,
        "label": names.label,
        "context": names.context or "context",
        "id": names.id or "id",
    }
    # A file of likes and reactions may have no text column at all (they have no text of their
    # own); every row is still checked: a post without text is an error naming its row.
    text_optional = names.text == "text" and "action" in columns
    required = {
        "text": not text_optional,
        "label": require_label,
        "context": names.context is not None,
    }
    required["id"] = names.id is not None
    for role, name in wanted.items():
        if name in columns:
            roles[role] = name
        elif schema_fallback and name != role and role in columns:
            # One of several files already in the record schema (e.g. a feedback export).
            roles[role] = role
            notes.append(f"no column {name!r}: read {role!r} as the {role}")
        elif required[role]:
            found = ", ".join(repr(c) for c in columns) or "none"
            guess = _guess(role, name, columns)
            guess = f" Perhaps {guess}?" if guess else ""
            what = "the posts" if role == "text" else f"the {role}s"
            raise DataError(
                f"{path}: expected a {role} column named {name!r}, found columns {found}. Name "
                f"the column that holds {what} with {_FLAGS[role]}.{guess}"
            )
    return roles, notes


def whole_number_ids(values: Sequence[Any]) -> bool:
    """Whether CSV id cells are all whole numbers (no leading zeros, or blank) that fit 64 bits:
    then they are read as integers, so that ids come back as the numbers they were in the
    spreadsheet."""
    values = [None if _blank(v) else v for v in values]
    return all(
        v is None or (isinstance(v, str) and _WHOLE_NUMBER.fullmatch(v) and abs(int(v)) < 2**63)
        for v in values
    )


def ids_as_integers(rows: Sequence[tuple[str, dict[str, Any]]], column: str) -> None:
    """Turn the CSV id cells of `rows` into integers (blank cells into None), in place."""
    for _, row in rows:
        value = row.get(column)
        row[column] = None if _blank(value) else int(value)


def _whole_numbers(rows: list[tuple[str, dict[str, Any]]], column: str) -> None:
    if whole_number_ids([row.get(column) for _, row in rows]):
        ids_as_integers(rows, column)


def _describe(err: dict[str, Any], roles: dict[str, str], extra: dict[str, Any]) -> str:
    field_name = ".".join(str(p) for p in err["loc"]) or "<row>"
    column = roles.get(field_name)
    named = f"field {field_name!r}" + (
        f" (column {column!r})" if column and column != field_name else ""
    )
    if err["type"] == "missing":
        guess = _guess(field_name, field_name, list(extra))
        return f"{named} is required but missing" + (f" (perhaps {guess}?)" if guess else "")
    return f"{named}: {err['msg']} (found {err.get('input')!r})"


def _fields(
    raw: dict[str, Any], roles: dict[str, str], used: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record fields of a raw row and its other columns."""
    fields = {role: raw[column] for role, column in roles.items() if column in raw}
    fields.update({name: raw[name] for name in _OWN_NAME if name in raw and name not in used})
    extra = {k: v for k, v in raw.items() if k not in used and k not in _OWN_NAME}
    return fields, extra


def _validate(
    rows: Sequence[tuple[str, dict[str, Any]]],
    path: Path,
    require_label: bool,
    roles: dict[str, str] | None = None,
) -> list[Record]:
    """Records from rows of record fields, or one `DataError` listing every bad row."""
    roles = roles if roles is not None else {role: role for role in ROLES}
    records: list[Record] = []
    errors: list[str] = []
    for where, fields in rows:
        try:
            record = Record.model_validate(fields)
        except ValidationError as exc:
            errors.extend(
                f"{path}, {where}: {_describe(e, roles, fields.get('extra') or {})}"
                for e in exc.errors()
            )
            continue
        if require_label and record.label is None:
            column = roles.get("label", "label")
            named = "field 'label'" + (f" (column {column!r})" if column != "label" else "")
            guess = _guess("label", "label", list(record.extra))
            errors.append(
                f"{path}, {where}: {named} is required for training and evaluation"
                + (f" (perhaps {guess}?)" if guess else "")
            )
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
    return records


def resolve_roles(
    columns: Sequence[str],
    options: ReadOptions,
    path: str | Path,
    *,
    require_label: bool = True,
    schema_fallback: bool = False,
) -> tuple[dict[str, str], list[str]]:
    """Which column of a file with `columns` each record field is read from (and notes on
    fallbacks); `DataError` when a named or required column is missing."""
    return _resolve(columns, options.columns, Path(path), require_label, schema_fallback)


def table_of_rows(
    path: str | Path,
    raw_rows: Sequence[tuple[str, dict[str, Any]]],
    columns: list[str],
    roles: dict[str, str],
    options: ReadOptions,
    *,
    require_label: bool = True,
    notes: Sequence[str] = (),
    first_row: int = 1,
    text_ids: bool | None = None,
) -> DataTable:
    """Map and validate rows as read (all of a file, or one batch of it read in parts): the
    record fields from `roles`, label values through the map; one `DataError` listing every bad
    row. `first_row` and `text_ids` number a batch's rows without an id as the whole file would.
    """
    path = Path(path)
    used = set(roles.values())
    label_map = options.label_map
    mapped: list[tuple[str, dict[str, Any]]] = []
    rows: list[dict[str, Any]] = []
    values: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for where, row in raw_rows:
        fields, extra = _fields(row, roles, used)
        label = fields.get("label")
        if not _blank(label):
            value = label if isinstance(label, str) else str(label)
            values[value] += 1
            fields["label"] = map_label(value, label_map)
            if not fields["label"]:  # VALUE= in the map: drop from labelled data
                if require_label:
                    dropped[value] += 1
                    continue
                fields["label"] = None
        mapped.append((where, {**fields, "extra": extra}))
        rows.append(row)
    records = _validate(mapped, path, require_label, roles)
    return DataTable(
        path,
        records,
        rows,
        list(columns),
        roles,
        values,
        dropped,
        dict(label_map),
        list(notes),
        first_row,
        text_ids,
    )


def load_table(
    path: str | Path,
    options: ReadOptions | None = None,
    *,
    require_label: bool = True,
    log: Log | None = None,
    schema_fallback: bool = False,
) -> DataTable:
    """Read, map and validate every row of a file; raise `DataError` before returning anything.

    `schema_fallback`: a file without the configured text (label, ...) column but with one of
    the schema's own name is read with that one (one of several training files, e.g. a feedback
    export beside a differently named export). `log` gets one summary line when columns were
    mapped or ignored or labels mapped.
    """
    path = Path(path)
    options = options or ReadOptions()
    raw = read_raw(path, options.format)
    if not raw.rows:
        raise DataError(
            f"{path}: no records found; expected at least one row with a "
            f"{options.columns.text!r} column"
        )
    roles, notes = _resolve(raw.columns, options.columns, path, require_label, schema_fallback)
    if raw.format == "csv" and "id" in roles:
        _whole_numbers(raw.rows, roles["id"])
    table = table_of_rows(
        path, raw.rows, raw.columns, roles, options, require_label=require_label, notes=notes
    )
    if require_label:
        check_label_spellings(table.label_values, options.label_map, str(path))
    if not table.records:
        raise DataError(f"{path}: every row was dropped by the label map ({dict(table.dropped)})")
    if log is not None and table.summary():
        log(table.summary())
    return table
