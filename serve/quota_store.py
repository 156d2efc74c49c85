"""Per-key quota buckets in a database, so that several worker processes share one quota.

With `netralitas serve --workers N`, each worker is its own process with its own memory: buckets
kept in memory would give every key N times its quota (and a different answer depending on the
worker a connection lands on). `SqlBuckets` keeps them in one table instead:

- a SQLite file for the workers of one machine (`netralitas serve --workers N` makes one in its run
  directory unless `NETRALITAS_RATE_LIMIT_STORE` names another); each charge is one short
  `BEGIN IMMEDIATE` transaction, serialised by SQLite's write lock across processes;
- a PostgreSQL URL (`postgresql+psycopg://...`) for several machines behind one load balancer; the
  rows are locked with `SELECT ... FOR UPDATE` for the length of the charge.

The state is disposable (a lost bucket starts full again), so SQLite does not sync it to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import make_url

from netralitas.serve.admission import Bucket, BucketChange
from netralitas.serve.feedback import despite_others

__all__ = ["SqlBuckets", "buckets_table"]

_metadata = MetaData()
buckets_table = Table(
    "netralitas_rate_buckets",
    _metadata,
    Column("key_name", String(64), primary_key=True),
    Column("bucket", String(16), primary_key=True),
    # NULL until first charged (the row exists first, so that it can be locked).
    Column("tokens", Float),
    Column("updated", Float),  # seconds since the epoch (time.time())
)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE (pysqlite would begin lazily, at the
    # first write, after the read that the charge depends on).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class SqlBuckets:
    """Quota buckets in a database table (a `BucketStore`); `url` is a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        backend = make_url(url).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"the quota store {url!r} is a {backend} database; expected a SQLite path or a "
                "postgresql+psycopg:// URL (NETRALITAS_RATE_LIMIT_STORE)"
            )
        self.url = url
        self.sqlite = backend == "sqlite"
        self.engine = create_engine(url, pool_pre_ping=True)
        if self.sqlite:
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        # Every worker opens the store at start: another may be creating the table meanwhile.
        despite_others(
            lambda: buckets_table.create(self.engine, checkfirst=True),
            lambda: inspect(self.engine).has_table(buckets_table.name),
        )

    def update(self, key: str, names: Sequence[str], change: BucketChange) -> None:
        """Read `key`'s buckets, apply `change` and write its result, in one transaction that
        holds the buckets' lock, so that two processes never spend the same tokens."""
        t = buckets_table
        query = select(t.c.bucket, t.c.tokens, t.c.updated).where(
            t.c.key_name == key, t.c.bucket.in_(list(names))
        )
        if not self.sqlite:  # SQLite's BEGIN IMMEDIATE already holds the database's write lock
            query = query.with_for_update()
        with self.engine.begin() as conn:
            # Rows first, so that there is something to lock when two processes meet a new key.
            conn.execute(
                self._insert()
                .values([{"key_name": key, "bucket": name} for name in names])
                .on_conflict_do_nothing()
            )
            rows = {
                r.bucket: Bucket(r.tokens, r.updated) if r.tokens is not None else None
                for r in conn.execute(query)
            }
            new = change({name: rows.get(name) for name in names})
            for name, bucket in (new or {}).items():
                conn.execute(
                    t.update()
                    .where(t.c.key_name == key, t.c.bucket == name)
                    .values(tokens=bucket.tokens, updated=bucket.updated)
                )

    def _insert(self):
        if self.sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(buckets_table)

    def close(self) -> None:
        self.engine.dispose()
