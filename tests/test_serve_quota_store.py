"""A key's quota is one quota across processes: `SqlBuckets` on SQLite (the workers of one
machine) and on PostgreSQL (several machines). Processes charge the same key at once; exactly the
allowance passes, never more (a quota kept per process would let each process spend all of it)."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from netralitas.serve.admission import RateLimited, RateLimiter
from netralitas.serve.feedback import database_url
from netralitas.serve.quota_store import SqlBuckets

from .postgres_support import fresh_database

PROCESSES, CHARGES, ALLOWANCE = 4, 15, 20


def _charge_many(url: str, start: float, out) -> None:
    limiter = RateLimiter(ALLOWANCE, 0, clock=lambda: start, store=SqlBuckets(url))
    passed = 0
    for _ in range(CHARGES):
        try:
            limiter.charge("client", 1)
            passed += 1
        except RateLimited:
            pass
    out.put(passed)


def _charge_from_processes(url: str) -> int:
    SqlBuckets(url).close()  # the table exists before the race on its rows starts
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start = time.time()  # one frozen clock: no token refills during the test
    processes = [
        context.Process(target=_charge_many, args=(url, start, out)) for _ in range(PROCESSES)
    ]
    for p in processes:
        p.start()
    passed = [out.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=30)
        assert p.exitcode == 0
    return sum(passed)


def test_processes_share_one_quota_in_sqlite(tmp_path):
    assert _charge_from_processes(database_url(str(tmp_path / "quotas.sqlite3"))) == ALLOWANCE


def test_processes_share_one_quota_in_postgres(postgres_url):
    assert _charge_from_processes(fresh_database(postgres_url, "quota")) == ALLOWANCE


def test_the_shared_store_refills_and_reports_like_memory(tmp_path):
    now = [1_000.0]
    shared = RateLimiter(
        2, 100, clock=lambda: now[0], store=SqlBuckets(database_url(str(tmp_path / "q.db")))
    )
    memory = RateLimiter(2, 100, clock=lambda: now[0])
    for limiter in (shared, memory):
        assert limiter.charge("a", 10).remaining == 1
        limiter.charge("a", 10)
        with pytest.raises(RateLimited) as refused:
            limiter.charge("a", 10)
        assert refused.value.retry_after_s == 30  # one request refills in 60 / 2 s
        assert limiter.charge("b", 10) is not None  # another key has its own buckets
    now[0] += 30
    assert shared.charge("a", 10).remaining == memory.charge("a", 10).remaining == 0
    assert shared.shared and not memory.shared


def test_an_unsupported_database_is_a_clear_error():
    with pytest.raises(ValueError, match="expected a SQLite path or a postgresql"):
        SqlBuckets("mysql+pymysql://u@localhost/db")
