"""What the `netralitas serve`, `netralitas feedback export` and `netralitas api-key` commands do.

The command line (cli/main.py) imports this module only inside those commands, so no other
command pays for FastAPI, uvicorn or SQLAlchemy.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from netralitas.serve.settings import ServeSettings

__all__ = ["api_key", "audit", "export", "serve", "worker_app"]


def serve(
    model_dir: str,
    host: str,
    port: int,
    profiles: Sequence[str] = (),
    workers: int | None = None,
) -> int:
    """Check the artifact and the settings, then run uvicorn: one app (one model in memory) per
    worker process; `workers` (or NETRALITAS_WORKERS) above 1 runs that many sharing the port."""
    import uvicorn

    from netralitas.model.artifact import read_metadata
    from netralitas.model.text.profiles import load_profiles
    from netralitas.serve.app import create_app
    from netralitas.serve.settings import ServeSettings

    read_metadata(model_dir)  # a bad artifact fails here, with its own message, not in a traceback
    if profiles:
        load_profiles(list(profiles))
    overrides = {"model_dir": model_dir} | ({"profiles": tuple(profiles)} if profiles else {})
    overrides |= {"workers": workers} if workers is not None else {}
    try:
        settings = ServeSettings(**overrides)
        app = create_app(settings, load_in_background=True)
    except (ValidationError, ValueError) as exc:
        print(f"error: invalid NETRALITAS_* settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    if settings.workers > 1:
        return _serve_workers(settings, host, port)
    config = uvicorn.Config(app, host=host, port=port, **_uvicorn_options(settings))
    server = uvicorn.Server(config)
    # The model loads after the port opens; if it fails, the app stops the server this way (a
    # graceful exit, then status 1 for a supervisor to restart it).
    app.state.stop_server = lambda: setattr(server, "should_exit", True)
    server.run()
    if getattr(app.state, "load_failed", False):
        return 1
    return 0 if server.started else 3  # 3: uvicorn's own "failed to start"


_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _uvicorn_options(settings: ServeSettings) -> dict[str, Any]:
    from netralitas.serve.http_protocol import HeaderTimeoutProtocol

    return {
        # h11 with a deadline for every request's headers (serve/http_protocol.py).
        "http": functools.partial(
            HeaderTimeoutProtocol, header_timeout_s=settings.header_timeout_s
        ),
        "access_log": False,  # it would repeat our request log line (which has the request id)
        "timeout_graceful_shutdown": 10,
        # One caller must not stall the server: idle connections close, the number of open
        # connections and tasks has a ceiling (503 beyond it), and h11 buffers at most this much
        # of a request line and headers.
        "timeout_keep_alive": settings.keep_alive_s,
        "limit_concurrency": settings.limit_concurrency,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }


def _serve_workers(settings: ServeSettings, host: str, port: int) -> int:
    """Run `settings.workers` uvicorn processes on one socket (uvicorn's supervisor).

    Each worker is a fresh (spawned) interpreter that builds its app with `worker_app`, from the
    same NETRALITAS_* variables, and loads the model in its lifespan before it accepts a
    connection. A directory made for this run (removed at exit) holds their Prometheus metrics
    (set before the workers import prometheus_client; `/metrics` sums them) and, unless
    NETRALITAS_RATE_LIMIT_STORE names a database, the SQLite file of the per-key quotas that they
    share. The in-flight budget stays per worker: each worker has its own model and queue.

    Killing this parent with SIGKILL leaves its workers running on the port: stop it with SIGTERM,
    or kill its process group (what systemd or a container runtime does).
    """
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    os.environ["NETRALITAS_MODEL_DIR"] = str(settings.model_dir)
    os.environ["NETRALITAS_PROFILES"] = json.dumps(list(settings.profiles))
    run_dir = tempfile.mkdtemp(prefix="netralitas-run-")
    metrics_dir = os.path.join(run_dir, "metrics")
    os.mkdir(metrics_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    if not settings.rate_limit_store:  # one quota per key across the workers, not one per worker
        os.environ["NETRALITAS_RATE_LIMIT_STORE"] = os.path.join(run_dir, "quotas.sqlite3")
    try:
        config = uvicorn.Config(
            "netralitas.serve.run:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            **_uvicorn_options(settings),
        )
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    # A worker whose model failed to load exits with uvicorn's start-up failure, which stops the
    # parent (uvicorn does not restart it): exit 1, as the single-process server does.
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return 1 if failed else 0


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory): settings from NETRALITAS_* variables,
    the model loaded in the lifespan, so a worker takes connections only once it can score."""
    from netralitas.serve.app import create_app
    from netralitas.serve.settings import get_settings

    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    return create_app(get_settings())


def export(db: str, output: str) -> int:
    from netralitas.serve.feedback import FeedbackStoreError
    from netralitas.serve.feedback_export import export_feedback

    try:
        summary = export_feedback(db, output)
    except FeedbackStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {summary.written} reviewed item(s) to {summary.path} ({summary.adjudicated} "
        f"with an adjudicated label); left out {summary.disagreements} item(s) whose reviewers "
        f"disagree (settle them with POST /v1/feedback/ID/adjudicate), {summary.repeated} "
        f"repeated text(s) with the same label, and {summary.conflicting_texts} text(s) "
        f"({summary.conflicting_items} item(s)) labelled differently under different ids"
    )
    return 0


def audit(
    db: str,
    item: str | None,
    key_name: str | None,
    reviewer: str | None,
    since: str | None,
    output: str | None,
) -> int:
    """Print (or write) the audit trail of the feedback store, oldest first."""
    import datetime as dt

    from netralitas.data.output import output_format, write_rows
    from netralitas.serve.feedback import FeedbackStoreError
    from netralitas.serve.feedback_export import audit_trail

    try:
        start = dt.datetime.fromisoformat(since) if since else None
    except ValueError:
        print(
            f"error: --since {since!r} is not a date; expected e.g. 2029-06-01 or "
            "2029-06-01T08:00+07:00",
            file=sys.stderr,
        )
        return 2
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)  # stored times are UTC
    try:
        if output:
            output_format(output)  # an unknown suffix fails before the database is read
        rows = audit_trail(db, item, key_name, reviewer, start)
    except (FeedbackStoreError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = [row | {"at": row["at"].isoformat()} for row in rows]
    if output:
        write_rows(rows, output)
        print(f"wrote {len(rows)} audit row(s) to {output}", file=sys.stderr)
    else:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    return 0


def api_key(name: str, scopes: str, key: str | None) -> int:
    """Print a new key (once) and the hashed entry to configure; or hash a given key, if strong."""
    from netralitas.serve.auth import check_key_strength, hash_key, new_key, parse_key_entry

    secret = key if key is not None else new_key()
    try:
        check_key_strength(secret)
        entry = parse_key_entry(f"{name}:{scopes}:{hash_key(secret)}").entry()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if key is None:
        print(f"key (give it to the client; it is not stored anywhere): {secret}")
    print(f"entry (add to NETRALITAS_API_KEYS or the keys file): {entry}")
    return 0
