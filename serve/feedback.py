"""Reviewer feedback: stored durably, one verdict per (item id, reviewer), with an audit trail.

SQLite is the default (a file; WAL journal so readers never block the writer, `synchronous=FULL`
so a committed verdict survives a power cut or `kill -9`); PostgreSQL is used when the setting is a
`postgresql+psycopg://` URL. Everything goes through SQLAlchemy Core, so both speak the same code.

A verdict records the API key that wrote it (`key_name`) and the reviewer it was written for, whose
name is normalised (`normalize_reviewer`: `Rina`, ` rina` and `rina` are one reviewer). A repeated
(id, reviewer) replaces that reviewer's label and note (reviewers correct themselves) but never the
text: an id stored with another text is a client bug, answered with a conflict.

Every created or changed verdict, and every adjudication, appends a row to `feedback_audit` in the
same transaction; the store never updates or deletes those rows (on SQLite, triggers refuse it).
An adjudication (`feedback_adjudication`, one per item) settles an item whose reviewers disagree.

`create()` also upgrades a database written by an older version in place: new tables are added and
new columns are added as nullable, so every stored row stays as it was.

`feedback_export.py` turns the stored verdicts into training data.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
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
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

__all__ = [
    "FeedbackConflict",
    "FeedbackEntry",
    "FeedbackNotFound",
    "FeedbackStore",
    "FeedbackStoreError",
    "database_url",
    "despite_others",
    "normalize_reviewer",
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
    # Added after the first release: NULL on rows written before (see `_ADDED_COLUMNS`).
    Column("key_name", String(64)),
)
audit_table = Table(
    "feedback_audit",
    _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("key_name", String(64)),
    Column("reviewer", String(120)),
    Column("item_id", String(200), nullable=False, index=True),
    Column("action", String(16), nullable=False),  # created, updated, adjudicated
    Column("old_label", String(64)),
    Column("new_label", String(64), nullable=False),
    Column("note", Text),
)
adjudication_table = Table(
    "feedback_adjudication",
    _metadata,
    Column("item_id", String(200), primary_key=True),
    Column("label", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("key_name", String(64), nullable=False),
    Column("adjudicated_at", DateTime(timezone=True), nullable=False),
)
# Columns added to existing tables since the first release; `create()` adds missing ones.
_ADDED_COLUMNS = (feedback_table.c.key_name,)
_APPEND_ONLY_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS feedback_audit_no_{op.lower()} BEFORE {op} ON feedback_audit "
    "BEGIN SELECT RAISE(ABORT, 'feedback_audit is append-only: rows are never changed'); END"
    for op in ("UPDATE", "DELETE")
]


class FeedbackConflict(ValueError):
    """The item id is stored with another text."""


class FeedbackNotFound(LookupError):
    """No verdict is stored for the item id."""


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


def normalize_reviewer(name: str) -> str:
    """The one spelling of a reviewer's name: whitespace collapsed and trimmed, casefolded.

    >>> normalize_reviewer("  Rina  Wati ")
    'rina wati'
    """
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class FeedbackEntry:
    item_id: str
    reviewer: str
    text: str
    label: str
    context: str | None = None
    note: str | None = None
    model_version: str | None = None
    key_name: str | None = None  # the API key that wrote it; None from the command line


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _insert(engine: Engine, table: Table):
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
    return insert(table)


def despite_others(change: Callable[[], None], done: Callable[[], bool], tries: int = 6) -> None:
    """Run the schema `change`; when it fails, accept that another process made it (`done`), or
    try again after a short wait (up to ~1.6 s in all) before letting the error through."""
    for attempt in range(tries):
        try:
            change()
            return
        except DBAPIError:
            if done():
                return
            if attempt == tries - 1:
                raise
            time.sleep(0.05 * 2**attempt)


def _audit(conn: Connection, **row: Any) -> None:
    conn.execute(audit_table.insert().values(**row))


class FeedbackStore:
    """The feedback tables behind a SQLAlchemy engine; `create()` makes or upgrades them."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def create(self) -> FeedbackStore:
        """Create missing tables and add missing columns (nullable: old rows keep their values).

        Several workers open one database at once: creating a table checks, then creates, so
        another process may create it in between (SQLite says the table exists or, while the
        other's transaction is open, that the database is locked; PostgreSQL reports a unique
        violation in its catalogue). A table that exists afterwards is fine; otherwise the
        creation is tried again, a few times."""
        for table in _metadata.sorted_tables:
            despite_others(
                lambda t=table: t.create(self.engine, checkfirst=True),
                lambda t=table: inspect(self.engine).has_table(t.name),
            )
        for column in _ADDED_COLUMNS:
            self._add_column(column)
        if self.engine.dialect.name == "sqlite":
            with self.engine.begin() as conn:
                for ddl in _APPEND_ONLY_TRIGGERS:
                    conn.execute(sql(ddl))
        return self

    def _columns(self, table: Table) -> set[str]:
        return {c["name"] for c in inspect(self.engine).get_columns(table.name)}

    def _add_column(self, column: Column) -> None:
        table = column.table
        if column.name in self._columns(table):
            return
        kind = column.type.compile(dialect=self.engine.dialect)

        def add() -> None:
            with self.engine.begin() as conn:
                conn.execute(sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))

        # Another process opening the same database may be adding it at the same moment.
        despite_others(add, lambda: column.name in self._columns(table))

    def close(self) -> None:
        self.engine.dispose()

    def save(self, entry: FeedbackEntry) -> SaveStatus:
        """Insert or replace this reviewer's verdict, with its audit row; committed (and synced)
        before returning."""
        now = dt.datetime.now(dt.UTC)
        reviewer = normalize_reviewer(entry.reviewer)
        row = {
            "item_id": entry.item_id,
            "reviewer": reviewer,
            "text": entry.text,
            "context": entry.context,
            "label": entry.label,
            "note": entry.note,
            "model_version": entry.model_version,
            "key_name": entry.key_name,
            "created_at": now,
            "updated_at": now,
        }
        c = feedback_table.c
        key = (c.item_id == entry.item_id) & (c.reviewer == reviewer)
        audit = {
            "at": now,
            "key_name": entry.key_name,
            "reviewer": reviewer,
            "item_id": entry.item_id,
            "new_label": entry.label,
            "note": entry.note,
        }
        # Write first: the INSERT takes the write lock at once, so two writers never deadlock
        # upgrading a read lock (SQLite), and a repeat never creates a second row.
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
            insert = _insert(self.engine, feedback_table).values(**row).on_conflict_do_nothing()
            created = conn.execute(insert.returning(c.item_id)).first() is not None
            other = conn.execute(
                select(c.reviewer).where((c.item_id == entry.item_id) & (c.text != entry.text))
            ).first()
            if other is not None:  # raising rolls the insert back
                raise FeedbackConflict(
                    f"item {entry.item_id!r} is already stored with a different text (reviewed by "
                    f"{other.reviewer!r}); an item id must identify one text: send the stored "
                    "text, or use a new id for this one"
                )
            if created:
                _audit(conn, action="created", old_label=None, **audit)
                return "created"
            old = conn.execute(select(feedback_table).where(key)).mappings().one()
            fields = ("context", "label", "note", "model_version")
            if all(old[f] == row[f] for f in fields):
                return "unchanged"
            changes = {f: row[f] for f in (*fields, "key_name")}
            conn.execute(update(feedback_table).where(key).values(**changes, updated_at=now))
            _audit(conn, action="updated", old_label=old["label"], **audit)
            return "updated"

    def adjudicate(
        self, item_id: str, label: str, note: str, key_name: str
    ) -> tuple[SaveStatus, str | None]:
        """Settle an item with `label` (replacing an earlier adjudication); returns the status and
        the label adjudicated before, if any. Raises FeedbackNotFound for an item never reviewed."""
        now = dt.datetime.now(dt.UTC)
        row = {
            "item_id": item_id,
            "label": label,
            "note": note,
            "key_name": key_name,
            "adjudicated_at": now,
        }
        a = adjudication_table.c
        audit = {"at": now, "key_name": key_name, "reviewer": None, "item_id": item_id}
        with self.engine.begin() as conn:
            insert = _insert(self.engine, adjudication_table).values(**row).on_conflict_do_nothing()
            created = conn.execute(insert.returning(a.item_id)).first() is not None
            reviewed = conn.execute(
                select(feedback_table.c.item_id).where(feedback_table.c.item_id == item_id)
            ).first()
            if reviewed is None:  # raising rolls the insert back
                raise FeedbackNotFound(
                    f"no verdict is stored for item {item_id!r}; only a reviewed item can be "
                    "adjudicated: check the id (GET /v1/feedback/{id}/audit lists its history)"
                )
            action = {"action": "adjudicated", "new_label": label, "note": note}
            if created:
                _audit(conn, old_label=None, **action, **audit)
                return "created", None
            old = conn.execute(select(adjudication_table).where(a.item_id == item_id)).one()
            if (old.label, old.note) == (label, note):
                return "unchanged", old.label
            conn.execute(update(adjudication_table).where(a.item_id == item_id).values(**row))
            _audit(conn, old_label=old.label, **action, **audit)
            return "updated", old.label

    def audit(self, item_id: str | None = None) -> list[dict[str, Any]]:
        """The audit rows of one item (or of every item), oldest first."""
        query = select(audit_table).order_by(audit_table.c.seq)
        if item_id is not None:
            query = query.where(audit_table.c.item_id == item_id)
        with self.engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(query).mappings()]
        for row in rows:  # SQLite hands back naive datetimes; every stored time is UTC
            if row["at"].tzinfo is None:
                row["at"] = row["at"].replace(tzinfo=dt.UTC)
        return rows

    def reviewed(self, item_id: str) -> bool:
        query = select(feedback_table.c.item_id).where(feedback_table.c.item_id == item_id)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def adjudications(self) -> dict[str, dict[str, Any]]:
        """Every adjudication, by item id."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(adjudication_table)).mappings()
            return {row["item_id"]: dict(row) for row in rows}

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every stored verdict, ordered by item id then reviewer."""
        query = select(feedback_table).order_by(feedback_table.c.item_id, feedback_table.c.reviewer)
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                yield dict(row)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(feedback_table)).scalar_one()
