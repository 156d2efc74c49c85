"""Helpers for the scoring API tests: keys, an in-process client, a real uvicorn server.

The real server always listens on 127.0.0.1 on a free port and is stopped (or killed) by the
context manager that started it, whatever the test did.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from netralitas.serve.auth import hash_key

# name -> (scopes, secret). Secrets live only in the tests; the service sees their digests.
KEYS = {
    "ops": ("score,feedback,admin", "kunci-ops-rahasia"),
    "scorer": ("score", "kunci-skor-rahasia"),
    "reviewer": ("feedback", "kunci-reviu-rahasia"),
    "admin": ("admin", "kunci-admin-rahasia"),
}


def key_entries() -> str:
    return ";".join(
        f"{name}:{scopes}:{hash_key(secret)}" for name, (scopes, secret) in KEYS.items()
    )


def auth(name: str = "ops") -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name][1]}"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _environment(settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETRALITAS_")}
    env["NETRALITAS_API_KEYS"] = key_entries()
    env.update(settings)
    return env


def start_server(
    model_dir: Path,
    workdir: Path,
    settings: dict[str, str] | None = None,
    args: Sequence[str] = (),
    new_session: bool = False,
) -> Server:
    """Launch `netralitas serve MODEL_DIR [args]` on 127.0.0.1 in a subprocess; does not wait.

    `new_session`: the server leads a process group of its own (with its worker processes), so
    that a test can kill them all with `os.killpg`.
    """
    port = free_port()
    log = workdir / f"server-{port}.log"
    command = [sys.executable, "-m", "netralitas.cli.main", "serve", str(model_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port), *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            env=_environment(settings or {}),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    return Server(f"http://127.0.0.1:{port}", process, log)


def stop_server(server: Server) -> None:
    """SIGTERM (graceful), then SIGKILL if it does not stop; a no-op if it already exited."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=15)


@contextlib.contextmanager
def running_servers(
    model_dir: Path, workdir: Path, *settings: dict[str, str], timeout: float = 90
) -> Iterator[list[Server]]:
    """Start one server per settings dict at once (start-up overlaps), wait for all, stop all."""
    servers: list[Server] = []
    try:
        for one in settings:
            servers.append(start_server(model_dir, workdir, one))
        for server in servers:
            wait_ready(server, timeout)
        yield servers
    finally:
        for server in servers:
            stop_server(server)


@contextlib.contextmanager
def running_server(
    model_dir: Path, workdir: Path, settings: dict[str, str] | None = None, timeout: float = 90
) -> Iterator[Server]:
    with running_servers(model_dir, workdir, settings or {}, timeout=timeout) as (server,):
        yield server


def wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {server.process.returncode}:\n{server.output()}"
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {timeout} s:\n{server.output()}")
