"""What the `netralitas serve`, `netralitas feedback export` and `netralitas api-key` commands do.

The command line (cli/main.py) imports this module only inside those commands, so no other
command pays for FastAPI, uvicorn or SQLAlchemy.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

__all__ = ["api_key", "export", "serve"]


def serve(model_dir: str, host: str, port: int, profiles: Sequence[str] = ()) -> int:
    """Check the artifact and the settings, then run uvicorn with one app (one model in memory)."""
    import uvicorn

    from netralitas.model.artifact import read_metadata
    from netralitas.model.text.profiles import load_profiles
    from netralitas.serve.app import create_app
    from netralitas.serve.settings import ServeSettings

    read_metadata(model_dir)  # a bad artifact fails here, with its own message, not in a traceback
    if profiles:
        load_profiles(list(profiles))
    overrides = {"model_dir": model_dir} | ({"profiles": tuple(profiles)} if profiles else {})
    try:
        settings = ServeSettings(**overrides)
        app = create_app(settings, load_in_background=True)
    except (ValidationError, ValueError) as exc:
        print(f"error: invalid NETRALITAS_* settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # it would repeat our request log line (which has the request id)
        timeout_graceful_shutdown=10,
        # One caller must not stall the server: idle connections close, the number of open
        # connections and tasks has a ceiling (503 beyond it), and h11 buffers at most this much
        # of a request line and headers. uvicorn has no header-read timeout of its own.
        timeout_keep_alive=settings.keep_alive_s,
        limit_concurrency=settings.limit_concurrency,
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
    server = uvicorn.Server(config)
    # The model loads after the port opens; if it fails, the app stops the server this way (a
    # graceful exit, then status 1 for a supervisor to restart it).
    app.state.stop_server = lambda: setattr(server, "should_exit", True)
    server.run()
    if getattr(app.state, "load_failed", False):
        return 1
    return 0 if server.started else 3  # 3: uvicorn's own "failed to start"


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
