"""Load benchmark of the scoring API: N concurrent clients x M single-item requests each.

Starts `netralitas serve MODEL_DIR` on 127.0.0.1 (once with micro-batching on, once off) or targets
a running server (`--url`, `--key`), and prints requests/s, p50 and p99 latency, errors and the
mean model batch size (from /metrics). `--workers 1 2` starts each server once per worker count
(`netralitas serve --workers N`). `--offline` also times `predict_proba` in this process on
batches of `--offline-batch` items, and the whole Scorer path (`Scorer.score`, what the API runs
per item, without HTTP): the ceilings that micro-batching and workers should approach.

    python benchmarks/api_load.py --model-dir artifacts/default --clients 1 16 --requests 200
    python benchmarks/api_load.py --model-dir artifacts/default --batching on --workers 1 2 --offline
    python benchmarks/api_load.py --url http://127.0.0.1:8000 --key KEY --clients 16

The client is a minimal keep-alive HTTP/1.1 client on asyncio streams, so that on a small machine
the measuring side costs as little CPU as possible. Only 127.0.0.1 is ever started or targeted by
default; every run is bounded by its request count and a per-request timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

FALLBACK_TEXTS = [
    "Ayo coblos nomor 2, Pak Hendro paling peduli sama guru honorer!",
    "Apel pagi hari ini diundur jam 8 karena hujan deras",
    "Siap pak, gas terus! Menang satu putaran 💪",
    "KPU umumkan jadwal debat kandidat Sabtu malam di gedung serbaguna",
]
TIMEOUT_S = 60.0


@dataclass
class RunResult:
    mode: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    mean_batch: float | None

    def row(self) -> str:
        lat = sorted(self.latencies) or [float("nan")]
        p50 = lat[len(lat) // 2] * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        batch = f"{self.mean_batch:.1f}" if self.mean_batch is not None else "-"
        return (
            f"{self.mode:<12} {self.clients:>7} {self.requests:>8} {self.errors:>6} "
            f"{self.requests / self.seconds:>8.1f} {p50:>8.1f} {p99:>8.1f} {batch:>10}"
        )


HEADER = (
    f"{'batch/wrk':<12} {'clients':>7} {'requests':>8} {'errors':>6} "
    f"{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean batch':>10}"
)


class RawClient:
    """One keep-alive connection; `post` returns (status, body)."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        body = await self.reader.readexactly(length)
        if close:
            await self.close()
        return int(status_line.split()[1]), body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def run_clients(url: str, key: str, texts: list[str], clients: int, requests: int):
    """`clients` concurrent loops of `requests` single-item requests; latencies and errors."""
    parts = urlsplit(url)
    latencies: list[float] = []
    errors = 0

    async def one(c: int) -> None:
        nonlocal errors
        client = RawClient(parts.hostname or "127.0.0.1", parts.port or 80, key)
        try:
            for r in range(requests):
                text = texts[(c * requests + r) % len(texts)]
                payload = json.dumps({"items": [{"id": f"{c}-{r}", "text": text}]}).encode()
                start = time.perf_counter()
                try:
                    status, _ = await asyncio.wait_for(client.post("/v1/score", payload), TIMEOUT_S)
                except (TimeoutError, OSError, asyncio.IncompleteReadError):
                    status = 0
                    await client.close()
                latencies.append(time.perf_counter() - start)
                errors += status != 200
        finally:
            await client.close()

    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(clients)))
    return latencies, errors, time.perf_counter() - start


def batch_counters(url: str, key: str) -> tuple[float, float] | None:
    """(model calls, items) so far, from /metrics; None without an admin-scoped key."""
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {key}"})
    try:
        text = urllib.request.urlopen(request, timeout=10).read().decode()
    except OSError:
        return None
    count = re.search(r"^netralitas_batch_size_items_count ([0-9.e+]+)$", text, re.M)
    total = re.search(r"^netralitas_batch_size_items_sum ([0-9.e+]+)$", text, re.M)
    return (float(count.group(1)), float(total.group(1))) if count and total else None


def warm_up(url: str, key: str, texts: list[str], clients: int, seconds: float) -> None:
    """Send requests for at least `seconds` (at most 200 rounds): freshly loaded weights can be
    slow for a while (page cache, allocator), which is not what a long-running server sees."""
    deadline = time.monotonic() + seconds
    for _ in range(200):
        asyncio.run(run_clients(url, key, texts, min(clients, 4), 2))
        if time.monotonic() >= deadline:
            break


def measure(url: str, key: str, mode: str, texts: list[str], clients: int, requests: int):
    before = batch_counters(url, key)
    latencies, errors, seconds = asyncio.run(run_clients(url, key, texts, clients, requests))
    after = batch_counters(url, key)
    mean_batch = None
    if before and after and after[0] > before[0]:
        mean_batch = (after[1] - before[1]) / (after[0] - before[0])
    return RunResult(mode, clients, clients * requests, errors, seconds, latencies, mean_batch)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    model_dir: str,
    batching: bool,
    workdir: Path,
    key_entry: str,
    extra: list[str],
    workers: int = 1,
):
    from netralitas.serve.settings import ServeSettings  # noqa: F401  (fails early if missing)

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETRALITAS_")}
    env |= {
        "NETRALITAS_API_KEYS": key_entry,
        "NETRALITAS_BATCHING": str(batching).lower(),
        "NETRALITAS_FEEDBACK_DB": str(workdir / "feedback.sqlite3"),
        "NETRALITAS_QUEUE_SIZE": "1024",
    }
    env |= dict(item.split("=", 1) for item in extra)
    command = [sys.executable, "-m", "netralitas.cli.main", "serve", model_dir]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    log = open(workdir / f"server-{port}.log", "wb")  # noqa: SIM115 (closed with the process)
    print(f"server log: {workdir / f'server-{port}.log'}", file=sys.stderr)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {(workdir / f'server-{port}.log').read_text()}")
        try:
            if urllib.request.urlopen(f"{url}/readyz", timeout=2).status == 200:
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server not ready within 300 s")


def offline_throughput(
    model_dir: str, texts: list[str], batch: int, rounds: int, warmup_s: float
) -> float:
    """Items per second of `predict_proba` on batches of `batch` items (the same texts the
    clients send, in turn), in this process."""
    from netralitas.model.loading import load_classifier

    model = load_classifier(model_dir)
    _set_torch_threads()
    batches = [[texts[(r * batch + i) % len(texts)] for i in range(batch)] for r in range(rounds)]
    deadline = time.monotonic() + warmup_s
    while time.monotonic() < deadline:
        model.predict_proba(batches[-1])  # warm-up
    start = time.perf_counter()
    for items in batches:
        model.predict_proba(items)
    return batch * rounds / (time.perf_counter() - start)


def offline_scorer_throughput(model_dir: str, texts: list[str], batch: int, n: int) -> float:
    """Posts per second of `Scorer.score` (model, calibration, decision; no explanation) over `n`
    posts cycled from `texts`, `batch` per model call, in this process."""
    from netralitas.model.records import Record
    from netralitas.model.scorer import Scorer

    scorer = Scorer.from_pretrained(model_dir)
    _set_torch_threads()
    records = [Record(id=str(i), text=texts[i % len(texts)]) for i in range(n)]
    for _ in scorer.score(records[:batch], batch_size=batch):  # warm-up
        pass
    start = time.perf_counter()
    for _ in scorer.score(records, batch_size=batch):
        pass
    return n / (time.perf_counter() - start)


def _set_torch_threads() -> None:
    # The servers' NETRALITAS_TORCH_THREADS (--set), for a like-for-like offline number: on 2 busy
    # cores, 2 threads ran e5-small at ~20 posts/s and 1 thread at ~150-190.
    threads = os.environ.get("NETRALITAS_TORCH_THREADS")
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))


def load_texts(path: str | None) -> list[str]:
    candidates = [path] if path else ["data/starter/test.jsonl", "data/examples.jsonl"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            lines = Path(candidate).read_text(encoding="utf-8").splitlines()
            texts = [json.loads(line)["text"] for line in lines if line.strip()]
            if texts:
                return texts
    return FALLBACK_TEXTS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--model-dir", help="start servers for this artifact on 127.0.0.1")
    target.add_argument("--url", help="target a running server instead")
    parser.add_argument("--key", help="API key for --url (score scope; admin for batch sizes)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--requests", type=int, default=200, help="requests per client")
    parser.add_argument("--batching", choices=["both", "on", "off"], default="both")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="worker processes")
    parser.add_argument(
        "--data", help="JSONL with a 'text' field (default data/starter/test.jsonl)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NETRALITAS_X=V")
    parser.add_argument("--warmup-s", type=float, default=3.0, help="warm-up seconds per server")
    parser.add_argument("--offline", action="store_true", help="also time predict_proba batches")
    parser.add_argument("--offline-batch", type=int, default=64)
    args = parser.parse_args(argv)
    texts = load_texts(args.data)
    os.environ.update(item.split("=", 1) for item in args.set)  # the offline runs read them too
    results: list[RunResult] = []
    if args.url:
        if not args.key:
            parser.error("--url needs --key")
        results += [
            measure(args.url, args.key, "server", texts, c, args.requests) for c in args.clients
        ]
    else:
        from netralitas.serve.auth import hash_key

        key = secrets.token_urlsafe(24)
        entry = f"bench:score,admin:{hash_key(key)}"
        modes = {"both": [True, False], "on": [True], "off": [False]}[args.batching]
        for batching, workers in [(b, w) for b in modes for w in args.workers]:
            with tempfile.TemporaryDirectory() as tmp:
                process, url = start_server(
                    args.model_dir, batching, Path(tmp), entry, args.set, workers
                )
                try:
                    warm_up(url, key, texts, max(args.clients), args.warmup_s)
                    for clients in args.clients:
                        mode = f"{'on' if batching else 'off'}/w{workers}"
                        results.append(measure(url, key, mode, texts, clients, args.requests))
                        print(results[-1].row(), file=sys.stderr, flush=True)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
    print(HEADER)
    for result in results:
        print(result.row())
    if args.offline and args.model_dir:
        rate = offline_throughput(
            args.model_dir, texts, args.offline_batch, rounds=5, warmup_s=args.warmup_s
        )
        print(f"offline predict_proba, batches of {args.offline_batch}: {rate:.1f} items/s")
        n = max(args.clients) * args.requests
        rate = offline_scorer_throughput(args.model_dir, texts, args.offline_batch, n)
        print(
            f"offline Scorer.score, {n} posts, batches of {args.offline_batch}: {rate:.1f} posts/s"
        )


if __name__ == "__main__":
    main()
