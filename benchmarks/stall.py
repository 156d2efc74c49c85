"""Can one expensive request stall everyone else? The stall test of issue 15.

Starts `netralitas serve MODEL_DIR` on 127.0.0.1 with the cost limits raised so that the heavy
request is admitted (by default it is a 413), sends one request of `--items` explained items of
5,000-character texts with 5,000-character contexts, and meanwhile sends one-item requests back to
back on another connection: their latencies (p50, p99, max) are what a monitoring tool sees while
the heavy request runs. Then the same with a client that gives up on the heavy request after
`--give-up-s` seconds (its connection closed): its work must be dropped.

    python benchmarks/stall.py --model-dir artifacts/default --items 32 --probe-s 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import RawClient, start_server

HEAVY_LIMITS = [
    "NETRALITAS_MAX_REQUEST_TOKENS=100000000",
    "NETRALITAS_MAX_INFLIGHT_TOKENS=100000000",
    "NETRALITAS_EXPLAIN_MAX_WORDS=1000000",
    "NETRALITAS_REQUEST_TIMEOUT_S=900",
    "NETRALITAS_MAX_BODY_BYTES=10000000",
    "NETRALITAS_RATE_REQUESTS_PER_MINUTE=0",  # the probe sends more than 1,200 a minute
    "NETRALITAS_RATE_ITEMS_PER_MINUTE=0",
]


def heavy_body(items: int) -> bytes:
    words = "Ayo dukung Pak Hendro nomor dua demi Garut maju sejahtera bersama rakyat kecil".split()
    text = " ".join(words[i % len(words)] for i in range(900))[:5000]
    item = {"text": text, "context": text}
    return json.dumps({"items": [item] * items, "explain": True}).encode()


async def probe(url: str, key: str, seconds: float, until: asyncio.Task | None) -> list[float]:
    """One-item requests back to back for `seconds` (or until `until` finishes)."""
    parts = urlsplit(url)
    client = RawClient(parts.hostname, parts.port, key)
    body = json.dumps({"items": [{"text": "Siap pak, gas terus!", "context": "Coblos 2"}]})
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not (until is not None and until.done()):
            start = time.perf_counter()
            status, _ = await client.post("/v1/score", body.encode())
            latencies.append(time.perf_counter() - start)
            assert status == 200, status
    finally:
        await client.close()
    return latencies


async def heavy(url: str, key: str, items: int, give_up_s: float | None) -> tuple[int, float]:
    parts = urlsplit(url)
    client = RawClient(parts.hostname, parts.port, key)
    start = time.perf_counter()
    try:
        status, _ = await asyncio.wait_for(client.post("/v1/score", heavy_body(items)), give_up_s)
    except TimeoutError:
        status = 0  # the client gave up; closing its connection tells the server
    finally:
        await client.close()
    return status, time.perf_counter() - start


def summary(name: str, latencies: list[float]) -> str:
    lat = sorted(latencies)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return (
        f"{name}: {len(lat)} one-item requests, p50 {statistics.median(lat) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
    )


async def scenario(url: str, key: str, items: int, probe_s: float, give_up_s: float | None):
    task = asyncio.create_task(heavy(url, key, items, give_up_s))
    await asyncio.sleep(0.3)  # the heavy request is in the model's hands
    latencies = await probe(url, key, probe_s, task if give_up_s is None else None)
    status, took = await task
    return latencies, status, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--probe-s", type=float, default=30.0, help="longest probing time")
    parser.add_argument("--give-up-s", type=float, default=1.0)
    parser.add_argument("--set", action="append", default=[], metavar="NETRALITAS_X=V")
    args = parser.parse_args()
    key = secrets.token_urlsafe(32)
    from netralitas.serve.auth import hash_key

    entry = f"bench:score:{hash_key(key)}"
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(args.model_dir, True, Path(tmp), entry, HEAVY_LIMITS + args.set)
        try:
            asyncio.run(probe(url, key, 3.0, None))  # warm-up
            quiet = asyncio.run(probe(url, key, 5.0, None))
            print(summary("alone", quiet))
            latencies, status, took = asyncio.run(
                scenario(url, key, args.items, args.probe_s, None)
            )
            print(summary(f"beside {args.items} explained items", latencies))
            print(f"  the heavy request: status {status} after {took:.1f} s")
            latencies, status, took = asyncio.run(
                scenario(url, key, args.items, 10.0, args.give_up_s)
            )
            print(summary(f"after a client gave up at {args.give_up_s} s", latencies))
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
