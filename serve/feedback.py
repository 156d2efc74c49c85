"""Reviewer feedback: stored durably, one verdict per (item id, reviewer), exported for training.

SQLite is the default (a file; WAL journal so readers never block the writer, `synchronous=FULL`
so a committed verdict survives a power cut or `kill -9`); PostgreSQL is used when the setting is a
`postgresql+psycopg://` URL. Everything goes through SQLAlchemy Core, so both speak the same code.

A repeated (id, reviewer) replaces that reviewer's label and note (reviewers correct themselves)
but never the text: the same id with another text is a client bug, answered with a conflict.

`export_feedback` writes JSON Lines with the field names the training loaders read (`id`, `text`,
`context`, `label`, `source`), one row per item on which every reviewer agrees, so that
`netralitas train` can use reviewed cases directly.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine

__all__ = [
    "ExportSummary",
    "FeedbackConflict",
    "FeedbackEntry",
    "FeedbackStore",
    "FeedbackStoreError",
    "database_url",
    "export_feedback",
]

SaveStatus = Literal["created", "updated", "unchanged"]

_metadata = MetaData()
feedback_table = Table(
    "feedback",
    _metadata,
    Column("item_id", String(200), primary_key=True),
    Column("reviewer", String(120), primary_key=True),
    Column("text", Text, nullable=False),
    Column("context", Text),
    Column("label", String(64), nullable=False),
    Column("note", Text),
    Column("model_version", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class FeedbackConflict(ValueError):
    """The (id, reviewer) pair is stored with another text."""


class FeedbackStoreError(RuntimeError):
    """The feedback database is missing or holds no feedback table."""


def database_url(value: str) -> str:
    """A SQLAlchemy URL from a URL or a bare path (a bare path is a SQLite file).

    >>> database_url("postgresql+psycopg://bawaslu@db/netralitas")
    'postgresql+psycopg://bawaslu@db/netralitas'
    """
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


@dataclass(frozen=True)
class FeedbackEntry:
    item_id: str
    reviewer: str
    text: str
    label: str
    context: str | None = None
    note: str | None = None
    model_version: str | None = None


@dataclass(frozen=True)
class ExportSummary:
    written: int
    disagreements: int
    path: Path


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _insert(engine: Engine):
    """The dialect's INSERT, which offers ON CONFLICT DO NOTHING on SQLite and PostgreSQL."""
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise ValueError(
            f"feedback store: unsupported database {engine.dialect.name!r}; use a SQLite file "
            "path or a postgresql+psycopg:// URL"
        )
    return insert(feedback_table)


class FeedbackStore:
    """The feedback table behind a SQLAlchemy engine; `create()` makes the table if needed."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def create(self) -> FeedbackStore:
        _metadata.create_all(self.engine)
        return self

    def close(self) -> None:
        self.engine.dispose()

    def save(self, entry: FeedbackEntry) -> SaveStatus:
        """Insert or replace this reviewer's verdict; committed (and synced) before returning."""
        now = dt.datetime.now(dt.UTC)
        row = {
            "item_id": entry.item_id,
            "reviewer": entry.reviewer,
            "text": entry.text,
            "context": entry.context,
            "label": entry.label,
            "note": entry.note,
            "model_version": entry.model_version,
            "created_at": now,
            "updated_at": now,
        }
        key = (feedback_table.c.item_id == entry.item_id) & (
            feedback_table.c.reviewer == entry.reviewer
        )
        # Write first: the INSERT takes the write lock at once, so two writers never deadlock
        # upgrading a read lock (SQLite), and a repeat never creates a second row.
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
            insert = _insert(self.engine).values(**row).on_conflict_do_nothing()
            if conn.execute(insert.returning(feedback_table.c.item_id)).first() is not None:
                return "created"
            old = conn.execute(select(feedback_table).where(key)).mappings().one()
            if old["text"] != entry.text:
                raise FeedbackConflict(
                    f"item {entry.item_id!r} was already reviewed by {entry.reviewer!r} with a "
                    "different text; item ids must identify one text (use a new id)"
                )
            fields = ("context", "label", "note", "model_version")
            if all(old[f] == row[f] for f in fields):
                return "unchanged"
            conn.execute(
                update(feedback_table)
                .where(key)
                .values(**{f: row[f] for f in fields}, updated_at=now)
            )
            return "updated"

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every stored verdict, ordered by item id then reviewer."""
        query = select(feedback_table).order_by(feedback_table.c.item_id, feedback_table.c.reviewer)
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                yield dict(row)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(feedback_table)).scalar_one()


def _record(group: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The training record for one item, or None when its reviewers disagree."""
    if len({(r["label"], r["text"], r["context"]) for r in group}) != 1:
        return None
    first = group[0]
    record = {"id": first["item_id"], "text": first["text"], "label": first["label"]}
    if first["context"] is not None:
        record["context"] = first["context"]
    record["source"] = "feedback"
    return record


def export_feedback(url: str, output: str | Path) -> ExportSummary:
    """Write the reviewed items as training JSONL (atomically); items in dispute are left out."""
    url = database_url(url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise FeedbackStoreError(
            f"feedback database {url.removeprefix('sqlite:///')} does not exist; pass the file "
            "named by NETRALITAS_FEEDBACK_DB (default feedback.sqlite3) or a database URL"
        )
    store = FeedbackStore(url)
    if not inspect(store.engine).has_table(feedback_table.name):
        store.close()
        raise FeedbackStoreError(f"{url} has no {feedback_table.name!r} table: nothing to export")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    written = disagreements = 0
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for _, rows in itertools.groupby(store.rows(), key=lambda r: r["item_id"]):
                record = _record(list(rows))
                if record is None:
                    disagreements += 1
                    continue
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(output)
    finally:
        store.close()
        tmp.unlink(missing_ok=True)
    return ExportSummary(written, disagreements, output)
