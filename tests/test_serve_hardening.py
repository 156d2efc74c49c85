"""A service that one caller cannot stall (issue 15): bounded telemetry, readiness while the model
loads, key hygiene and revocation without restart, HTTP timeouts and caps, offline /docs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import string
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from netralitas.cli.main import main
from netralitas.model.scorer import Scorer
from netralitas.serve import app as app_module
from netralitas.serve.app import create_app
from netralitas.serve.auth import KeyFileRing, hash_key, new_key
from netralitas.serve.guards import BodyTimeoutMiddleware
from netralitas.serve.http_protocol import HeaderTimeoutProtocol
from netralitas.serve.settings import ServeSettings

from .serve_support import (
    KEYS,
    auth,
    key_entries,
    running_server,
    start_server,
    stop_server,
)

SCORE = {"items": [{"text": "Ayo coblos nomor 2!"}]}


@pytest.fixture(scope="module")
def client(tfidf_artifact, tmp_path_factory):
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=key_entries(),
        feedback_db=str(tmp_path_factory.mktemp("hardening") / "feedback.sqlite3"),
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _long_method(rng: random.Random, size: int = 12_000) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(size))


# -- 1. bounded telemetry ----------------------------------------------------------------------
def test_unknown_method_is_501_with_a_tiny_body_that_does_not_echo_it(client):
    method = _long_method(random.Random(0))
    response = client.request(method, "/v1/score", headers=auth())
    assert response.status_code == 501
    assert response.json()["error"]["code"] == "method_not_implemented"
    assert len(response.content) < 300
    assert method[:50] not in response.text
    assert "POST" in response.headers["allow"]


def test_long_methods_do_not_grow_metrics(client):
    """200 different 12 KB methods: one 'other' series, not 200 new 12 KB label values."""
    # The first unknown method and the first /metrics call create their (fixed) series.
    client.request("BOGUS", "/v1/score")
    client.get("/metrics", headers=auth("admin"))
    before = len(client.get("/metrics", headers=auth("admin")).content)
    rng = random.Random(1)
    statuses = {client.request(_long_method(rng), "/v1/score").status_code for _ in range(200)}
    after_text = client.get("/metrics", headers=auth("admin")).text
    assert statuses == {501}
    assert len(after_text) - before < 300, f"/metrics grew from {before} to {len(after_text)} B"
    assert 'method="other"' in after_text and 'route="unmatched"' in after_text


# -- 2. readiness --------------------------------------------------------------------------------
def test_port_opens_before_the_model_is_loaded(tfidf_artifact, tmp_path, monkeypatch):
    release = threading.Event()
    real = Scorer.from_pretrained(tfidf_artifact)

    def slow_loader(settings):
        assert release.wait(30), "the test never released the loader"
        return real

    monkeypatch.setattr(app_module, "_load_scorer", slow_loader)
    settings = ServeSettings(
        model_dir=str(tfidf_artifact), api_keys=key_entries(), feedback_db=str(tmp_path / "f.db")
    )
    with TestClient(create_app(settings, load_in_background=True)) as client:
        assert client.get("/healthz").status_code == 200
        loading = client.get("/readyz")
        assert (loading.status_code, loading.json()) == (503, {"status": "loading"})
        refused = client.post("/v1/score", json=SCORE, headers=auth("scorer"))
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "not_ready"
        assert refused.headers["retry-after"] == "1"
        release.set()
        deadline = time.monotonic() + 10
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "not ready 10 s after the loader returned"
            time.sleep(0.02)
        assert client.post("/v1/score", json=SCORE, headers=auth("scorer")).status_code == 200


def test_a_failed_background_load_stops_the_server(tfidf_artifact, tmp_path, monkeypatch):
    signals: list[int] = []

    def broken_loader(settings):
        raise OSError("disk gone")

    monkeypatch.setattr(app_module, "_load_scorer", broken_loader)
    monkeypatch.setattr(app_module.signal, "raise_signal", signals.append)
    settings = ServeSettings(model_dir=str(tfidf_artifact), feedback_db=str(tmp_path / "f.db"))
    app = create_app(settings, load_in_background=True)
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while not signals:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert client.get("/readyz").status_code == 503
    assert app.state.load_failed
    assert signals == [app_module.signal.SIGTERM]


# -- 3. key hygiene --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("kunci-pendek", "12 characters; at least 24"),
        ("a" * 40, "repeats a few characters"),
        ("passwordpasswordpassword", "repeats a few characters"),
        ("012345678901234567890123", "80 bits of entropy; at least 100"),
    ],
)
def test_api_key_refuses_weak_keys(capsys, key, match):
    assert main(["api-key", "tim", "--key", key]) == 2
    err = capsys.readouterr().err
    assert match in err and "leave out --key" in err
    assert key not in err


def test_api_key_accepts_strong_and_generated_keys(capsys):
    strong = "Xk3#pQ9v-Lm2@Zt7!Rw5$Hb8"
    assert main(["api-key", "tim", "--key", strong]) == 0
    assert hash_key(strong) in capsys.readouterr().out
    assert main(["api-key", "tim"]) == 0
    assert "ntr_" in capsys.readouterr().out


def _write_keys(path, names):
    path.write_text(
        "".join(f"{n}:{KEYS[n][0]}:{hash_key(KEYS[n][1])}\n" for n in names), encoding="utf-8"
    )
    stamp = time.time_ns() + 10**9 * len(names)  # a new mtime even on a coarse clock
    os.utime(path, ns=(stamp, stamp))


def test_a_key_removed_from_the_keys_file_stops_working_without_a_restart(tfidf_artifact, tmp_path):
    keys_file = tmp_path / "keys.txt"
    _write_keys(keys_file, ["scorer", "admin"])
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys_file=keys_file,
        feedback_db=str(tmp_path / "f.db"),
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/model", headers=auth("scorer")).status_code == 200
        _write_keys(keys_file, ["admin"])  # revoke "scorer"
        revoked = client.get("/v1/model", headers=auth("scorer"))
        assert revoked.status_code == 401
        assert revoked.json()["error"]["code"] == "invalid_key"
        assert client.get("/v1/model", headers=auth("admin")).status_code == 200
        # A broken edit keeps the keys in force rather than locking every client out.
        keys_file.write_text("not an entry\n", encoding="utf-8")
        assert client.get("/v1/model", headers=auth("admin")).status_code == 200
        assert client.get("/v1/model", headers=auth("scorer")).status_code == 401


def test_reload_re_reads_the_keys_file_even_when_its_stamp_is_unchanged(tmp_path):
    keys_file = tmp_path / "keys.txt"
    _write_keys(keys_file, ["scorer"])
    ring = KeyFileRing([], keys_file)
    stat = keys_file.stat()
    keys_file.write_text(
        f"admin:{KEYS['admin'][0]}:{hash_key(KEYS['admin'][1])}\n".ljust(
            len(keys_file.read_text())
        ),
        encoding="utf-8",
    )
    os.utime(keys_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    assert ring.find(KEYS["scorer"][1]) is not None  # the cheap check sees no change
    ring.reload()  # what SIGHUP does
    assert ring.find(KEYS["scorer"][1]) is None
    assert ring.find(KEYS["admin"][1]).name == "admin"


def test_a_missing_keys_file_is_an_error_at_start(tmp_path):
    settings = ServeSettings(api_keys_file=tmp_path / "none.txt")
    with pytest.raises(ValueError, match="does not exist; create it"):
        create_app(settings)


# -- 4. HTTP timeouts and caps -----------------------------------------------------------------
async def _call(app, receive) -> list[dict]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/score",
        "raw_path": b"/v1/score",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "root_path": "",
    }
    await app(scope, receive, send)
    return sent


def _slow_receive(first: bytes, pause: float):
    messages = [{"type": "http.request", "body": first, "more_body": True}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(pause)
        return {"type": "http.request", "body": b"}", "more_body": False}

    return receive


def test_a_body_that_arrives_too_slowly_is_408():
    read: list[bytes] = []

    async def reader(scope, receive, send):
        while True:
            message = await receive()
            read.append(message.get("body", b""))
            if not message.get("more_body"):
                break

    middleware = BodyTimeoutMiddleware(reader, seconds=0.2)
    start = time.perf_counter()
    sent = asyncio.run(_call(middleware, _slow_receive(b'{"items": [', pause=30)))
    assert time.perf_counter() - start < 5
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b'"code":"body_timeout"' in sent[1]["body"]
    assert read == [b'{"items": [']


def test_after_the_body_receive_is_not_timed():
    """Streaming responses wait on receive for the disconnect: no 408 once the body is in."""
    events: list[str] = []

    async def app(scope, receive, send):
        await receive()  # the whole body
        events.append((await receive())["type"])  # arrives after the timeout: still fine
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    messages = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(0.3)
        return {"type": "http.disconnect"}

    sent = asyncio.run(_call(BodyTimeoutMiddleware(app, seconds=0.1), receive))
    assert sent[0]["status"] == 200 and events == ["http.disconnect"]


def test_the_app_answers_408_to_a_slow_body_and_counts_it(tfidf_artifact, tmp_path):
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=key_entries(),
        feedback_db=str(tmp_path / "f.db"),
        body_timeout_s=0.2,
    )
    app = create_app(settings)
    sent = asyncio.run(_call(app, _slow_receive(b'{"items": [', pause=30)))
    assert sent[0]["status"] == 408
    counted = app.state.service.metrics.render().decode()
    assert 'method="POST"' in counted and 'status="408"} 1.0' in counted


def test_trusted_hosts(tfidf_artifact, tmp_path):
    settings = ServeSettings(
        feedback_db=str(tmp_path / "f.db"), trusted_hosts=("api.example.go.id", "*.bawaslu.go.id")
    )
    client = TestClient(create_app(settings))  # /healthz needs no lifespan
    assert client.get("/healthz").status_code == 400  # Host: testserver
    assert client.get("/healthz", headers={"Host": "api.example.go.id"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "jabar.bawaslu.go.id"}).status_code == 200
    with pytest.raises(ValidationError, match="a leading wildcard only"):
        ServeSettings(trusted_hosts=("api.*.go.id",))


def test_serve_passes_the_http_caps_to_uvicorn(tfidf_artifact, monkeypatch):
    import uvicorn

    seen = []

    def fake_run(server):
        seen.append(server.config)
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    for name, value in {
        "KEEP_ALIVE_S": "7",
        "LIMIT_CONCURRENCY": "64",
        "MAX_HEADER_BYTES": "8192",
        "HEADER_TIMEOUT_S": "3.5",
        "API_KEYS": key_entries(),
    }.items():
        monkeypatch.setenv(f"NETRALITAS_{name}", value)
    assert main(["serve", str(tfidf_artifact), "--port", "1"]) == 0
    (config,) = seen
    assert config.timeout_keep_alive == 7
    assert config.limit_concurrency == 64
    assert config.h11_max_incomplete_event_size == 8192
    assert config.http.func is HeaderTimeoutProtocol
    assert config.http.keywords == {"header_timeout_s": 3.5}


def _read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """What the server sends until it closes the connection, and how long that took."""
    start, received = time.monotonic(), b""
    sock.settimeout(limit_s)
    while chunk := sock.recv(4096):
        received += chunk
    return received, time.monotonic() - start


def test_headers_have_a_deadline_silent_and_slow_connections_get_408(tfidf_artifact, tmp_path):
    settings = {
        "NETRALITAS_FEEDBACK_DB": str(tmp_path / "f.db"),
        "NETRALITAS_HEADER_TIMEOUT_S": "1",
        "NETRALITAS_KEEP_ALIVE_S": "30",  # the header deadline, not keep-alive, must close these
    }
    with running_server(tfidf_artifact, tmp_path, settings) as server:
        host, port = server.url.removeprefix("http://").split(":")
        # A connection that never sends a byte (uvicorn alone would keep it open).
        with socket.create_connection((host, int(port))) as silent:
            received, took = _read_until_closed(silent, 10)
        assert received.startswith(b"HTTP/1.1 408") and 0.8 < took < 3, (received, took)
        # Slowloris: a request line, then one header byte every 0.2 s, never finishing.
        with socket.create_connection((host, int(port))) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            start = time.monotonic()
            with contextlib.suppress(OSError):
                while time.monotonic() - start < 5:
                    slow.sendall(b"X")
                    time.sleep(0.2)
            received, _ = _read_until_closed(slow, 10)
        assert b"408" in received and time.monotonic() - start < 3
        # A keep-alive connection: each request's headers get their own deadline.
        with socket.create_connection((host, int(port))) as kept:
            request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            for _ in range(2):
                kept.sendall(request)
                assert _one_response(kept).startswith(b"HTTP/1.1 200")
                time.sleep(0.7)  # 1.4 s on one connection: more than one header deadline
            kept.sendall(request)
            assert _one_response(kept).startswith(b"HTTP/1.1 200")


def _one_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body) from a keep-alive connection."""
    sock.settimeout(5)
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(4096)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def test_a_real_server_with_a_model_that_cannot_load_exits_1(tfidf_artifact, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tfidf_artifact, broken)
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"not safetensors")
    server = start_server(broken, tmp_path, {"NETRALITAS_FEEDBACK_DB": str(tmp_path / "f.db")})
    try:
        assert server.process.wait(timeout=60) == 1, server.output()
    finally:
        stop_server(server)
    assert "the model could not be loaded" in server.output()


# -- 5. offline /docs ----------------------------------------------------------------------------
def test_docs_load_nothing_from_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        response = client.get(f"/docs/static/{asset}")
        assert response.status_code == 200 and len(response.content) > 10_000
    assert client.get("/redoc").status_code == 404


def test_every_new_key_passes_the_strength_check():
    from netralitas.serve.auth import check_key_strength

    for _ in range(200):
        check_key_strength(new_key())


def test_sighup_reloads_the_keys_file_of_a_real_server(tfidf_artifact, tmp_path):
    secret = new_key()
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"rotasi:score:{hash_key(secret)}\n", encoding="utf-8")
    settings = {
        "NETRALITAS_FEEDBACK_DB": str(tmp_path / "f.db"),
        "NETRALITAS_API_KEYS_FILE": str(keys_file),
    }
    with running_server(tfidf_artifact, tmp_path, settings) as server:
        bearer = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{server.url}/v1/model", headers=bearer).status_code == 200
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "keys file" not in server.output():
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.05)
        assert server.process.poll() is None, "SIGHUP must not stop the server"
        assert httpx.get(f"{server.url}/v1/model", headers=bearer).status_code == 200
