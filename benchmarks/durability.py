"""Acknowledged = stored: verdicts posted by many clients to `serve --workers N`, SIGKILLed mid-flight.

Starts `netralitas serve MODEL_DIR --workers N` (its own process group) with the feedback store on
SQLite (a file here) or on PostgreSQL (a throw-away cluster started like the tests do, or
`--postgres-url`), sends verdicts from `--clients` concurrent clients, SIGKILLs the whole group
(parent and workers) after `--kill-after-s` seconds while requests are in flight, and counts: the
verdicts acknowledged (201/200), those stored, and acknowledged ones missing (must be 0).

    python benchmarks/durability.py --model-dir artifacts/baseline --store sqlite --workers 2
    python benchmarks/durability.py --model-dir artifacts/baseline --store postgres --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def post_until_killed(url: str, key: str, clients: int, acked: set[str]) -> int:
    import httpx

    sent = 0
    limits = httpx.Limits(max_keepalive_connections=0)  # new connections: every worker answers

    async def client(c: int) -> None:
        nonlocal sent
        async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as http:
            for i in range(1_000_000):
                item = f"c{c}-{i}"
                body = {"id": item, "text": f"Ayo coblos nomor 2 #{item}", "label": "supportive"}
                sent += 1
                try:
                    response = await http.post(
                        "/v1/feedback", json=body, headers={"Authorization": f"Bearer {key}"}
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code in (200, 201):
                    acked.add(item)

    await asyncio.gather(*(client(c) for c in range(clients)))
    return sent


def stored_ids(url: str) -> set[str]:
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql

    from netralitas.serve.feedback import database_url

    engine = create_engine(database_url(url))
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(sql("SELECT item_id FROM feedback"))}
    finally:
        engine.dispose()


def run(model_dir: str, db: str, workers: int, clients: int, kill_after_s: float) -> None:
    from netralitas.serve.auth import hash_key

    key = secrets.token_urlsafe(32)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETRALITAS_")}
    env |= {"NETRALITAS_API_KEYS": f"bench:feedback:{hash_key(key)}", "NETRALITAS_FEEDBACK_DB": db}
    command = [sys.executable, "-m", "netralitas.cli.main", "serve", model_dir, "--port", str(port)]
    command += ["--host", "127.0.0.1", "--workers", str(workers)]
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, server)
        acked: set[str] = set()

        async def scenario() -> int:
            task = asyncio.create_task(post_until_killed(url, key, clients, acked))
            await asyncio.sleep(kill_after_s)
            os.killpg(server.pid, signal.SIGKILL)  # the parent and every worker, mid-flight
            return await task

        sent = asyncio.run(scenario())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    stored = stored_ids(db)
    lost = acked - stored
    print(
        f"{workers} workers, {clients} clients, killed after {kill_after_s} s: {sent} sent, "
        f"{len(acked)} acknowledged, {len(stored)} stored, {len(lost)} acknowledged but lost, "
        f"{len(stored - acked)} stored without an answer (in flight at the kill)"
    )
    if lost:
        raise SystemExit(f"LOST: {sorted(lost)[:10]}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before it was ready")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{url}/readyz", timeout=2).status == 200:
                return
        time.sleep(0.2)
    raise SystemExit("the server was not ready within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", help="an existing server (default: start a cluster)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--kill-after-s", type=float, default=3.0)
    args = parser.parse_args()
    if args.store == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            run(
                args.model_dir,
                str(Path(tmp) / "f.sqlite3"),
                args.workers,
                args.clients,
                args.kill_after_s,
            )
    elif args.postgres_url:
        from tests.postgres_support import fresh_database

        url = fresh_database(args.postgres_url, "durability")
        run(args.model_dir, url, args.workers, args.clients, args.kill_after_s)
    else:
        from tests.postgres_support import Cluster, find_bindir, fresh_database

        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("no PostgreSQL binaries (apt-get install postgresql)")
        cluster = Cluster(bindir)
        try:
            url = fresh_database(cluster.start(), "durability")
            run(args.model_dir, url, args.workers, args.clients, args.kill_after_s)
        finally:
            cluster.stop()
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
