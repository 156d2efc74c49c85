"""`netralitas serve --workers 2`: two processes on one port share the feedback store (verdicts
survive SIGKILL of the whole process group), one `/metrics` that counts both workers' requests, and
one per-key quota (not one per worker)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import httpx

from .postgres_support import fresh_database
from .sample_data import NEUTRAL, SUPPORTIVE
from .serve_support import auth, start_server, stop_server, wait_ready

N_VERDICTS = 40


def _verdict(i: int) -> dict:
    text = (SUPPORTIVE + NEUTRAL)[i % 40] + f" #{i}"
    return {"id": f"w{i}", "text": text, "label": "supportive", "reviewer": "rina"}


async def _post_verdicts(url: str) -> list[int]:
    # No keep-alive: each request is a new connection, which either worker may accept.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> int:
            async with sem:
                response = await client.post("/v1/feedback", json=_verdict(i), headers=auth())
                return response.status_code

        return await asyncio.gather(*(one(i) for i in range(N_VERDICTS)))


def _feedback_requests(metrics: str) -> float:
    pattern = r'^netralitas_http_requests_total\{([^}]*route="/v1/feedback"[^}]*)\} ([0-9.e+]+)$'
    return sum(float(m.group(2)) for m in re.finditer(pattern, metrics, re.M))


def _run_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("netralitas-run-*"))


async def _score_statuses(url: str, n: int) -> list[int]:
    limits = httpx.Limits(max_keepalive_connections=0)  # new connections: both workers answer
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        body = {"items": [{"text": "Pilih nomor 2 demi Garut"}]}
        responses = await asyncio.gather(
            *(client.post("/v1/score", json=body, headers=auth()) for _ in range(n))
        )
    return [r.status_code for r in responses]


def _pids_counting_requests(metrics_dir: Path) -> set[int]:
    # prometheus_client keeps one counter file per process: counter_<pid>.db
    return {int(p.stem.split("_")[1]) for p in metrics_dir.glob("counter_*.db")}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_two_workers_share_feedback_and_metrics_and_survive_sigkill(tfidf_artifact, tmp_path):
    db = tmp_path / "shared.sqlite3"
    tmp = tmp_path / "tmp"  # where the server makes its metrics directory (tempfile's TMPDIR)
    tmp.mkdir()
    env = {
        "NETRALITAS_FEEDBACK_DB": str(db),
        "TMPDIR": str(tmp),
        "NETRALITAS_RATE_REQUESTS_PER_MINUTE": "10",
    }
    server = start_server(tfidf_artifact, tmp_path, env, args=["--workers", "2"], new_session=True)
    try:
        wait_ready(server, 60)
        (run_dir,) = _run_dirs(tmp)
        metrics_dir = run_dir / "metrics"
        assert asyncio.run(_post_verdicts(server.url)) == [201] * N_VERDICTS
        # 10 score requests a minute for the key, whichever worker answers: of 20 sent at once,
        # 10 pass (11 if a token refilled meanwhile; one per 6 s), the rest get 429. The workers
        # keep the quota in the run's SQLite file (test_serve_quota_store.py shows that processes
        # sharing it never spend more than the allowance; the kernel may hand every connection
        # here to one worker, so this test checks the wiring).
        statuses = asyncio.run(_score_statuses(server.url, 20))
        assert set(statuses) == {200, 429} and 10 <= statuses.count(200) <= 11, statuses
        quotas = sqlite3.connect(run_dir / "quotas.sqlite3")
        buckets = quotas.execute("SELECT key_name, bucket FROM netralitas_rate_buckets").fetchall()
        assert sorted(buckets) == [("ops", "items"), ("ops", "requests")]
        metrics = httpx.get(f"{server.url}/metrics", headers=auth("admin")).text
        assert _feedback_requests(metrics) == N_VERDICTS  # counted once each, over both workers
        assert 'netralitas_model_info{kind="tfidf",name="uji",version="1.0"} 1.0' in metrics
        workers = _pids_counting_requests(metrics_dir)
        assert len(workers) == 2 and server.process.pid not in workers, server.output()
        os.killpg(server.process.pid, signal.SIGKILL)  # the parent and its workers
        server.process.wait(timeout=15)
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in workers), "a worker outlived the process group kill"
    finally:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=15)
    rows = sqlite3.connect(db).execute("SELECT item_id FROM feedback").fetchall()
    assert sorted(r[0] for r in rows) == sorted(f"w{i}" for i in range(N_VERDICTS))

    restarted = start_server(tfidf_artifact, tmp_path, env, args=["--workers", "2"])
    try:
        wait_ready(restarted, 60)
        assert len(_run_dirs(tmp)) == 2  # a fresh one; SIGKILL left the old one behind
        again = httpx.post(f"{restarted.url}/v1/feedback", json=_verdict(3), headers=auth())
        assert again.status_code == 200 and again.json()["status"] == "unchanged"
    finally:
        stop_server(restarted)  # SIGTERM: the parent stops its workers and removes its directory
    assert restarted.process.returncode == 0, restarted.output()
    assert _run_dirs(tmp) == [run_dir]


def test_workers_with_a_model_that_cannot_load_exit_1_and_clean_up(tfidf_artifact, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tfidf_artifact, broken)
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"not safetensors")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"NETRALITAS_FEEDBACK_DB": str(tmp_path / "f.db"), "TMPDIR": str(tmp)}
    server = start_server(broken, tmp_path, env, args=["--workers", "2"], new_session=True)
    try:
        assert server.process.wait(timeout=60) == 1, server.output()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
    assert "failed to start" in server.output()  # uvicorn does not restart it in a loop
    assert _run_dirs(tmp) == []


def test_two_workers_on_postgres_keep_every_acknowledged_verdict_across_sigkill(
    tfidf_artifact, tmp_path, postgres_url
):
    """The store several machines share: feedback and quotas in one PostgreSQL database."""
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql

    url = fresh_database(postgres_url, "workers")
    env = {
        "NETRALITAS_FEEDBACK_DB": url,
        "NETRALITAS_RATE_LIMIT_STORE": url,
        "NETRALITAS_RATE_REQUESTS_PER_MINUTE": "10",
    }
    server = start_server(tfidf_artifact, tmp_path, env, args=["--workers", "2"], new_session=True)
    try:
        wait_ready(server, 60)
        assert asyncio.run(_post_verdicts(server.url)) == [201] * N_VERDICTS
        statuses = asyncio.run(_score_statuses(server.url, 20))
        assert 10 <= statuses.count(200) <= 11 and statuses.count(429) >= 9, statuses
        os.killpg(server.process.pid, signal.SIGKILL)  # right after the last acknowledgement
        server.process.wait(timeout=15)
    finally:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=15)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = [r[0] for r in conn.execute(sql("SELECT item_id FROM feedback"))]
            buckets = conn.execute(sql("SELECT key_name, bucket FROM netralitas_rate_buckets"))
            assert sorted(map(tuple, buckets)) == [("ops", "items"), ("ops", "requests")]
    finally:
        engine.dispose()
    assert sorted(stored) == sorted(f"w{i}" for i in range(N_VERDICTS))
