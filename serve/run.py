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
        app = create_app(settings)
    except (ValidationError, ValueError) as exc:
        print(f"error: invalid NETRALITAS_* settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # uvicorn's access log would repeat our request log line (which has the request id).
    uvicorn.run(app, host=host, port=port, access_log=False, timeout_graceful_shutdown=10)
    return 0


def export(db: str, output: str) -> int:
    from netralitas.serve.feedback import FeedbackStoreError, export_feedback

    try:
        summary = export_feedback(db, output)
    except FeedbackStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {summary.written} reviewed item(s) to {summary.path}; left out "
        f"{summary.disagreements} item(s) whose reviewers disagree"
    )
    return 0


def api_key(name: str, scopes: str, key: str | None) -> int:
    """Print a new key (once) and the hashed entry to configure; or hash a given key."""
    from netralitas.serve.auth import hash_key, new_key, parse_key_entry

    secret = key or new_key()
    try:
        entry = parse_key_entry(f"{name}:{scopes}:{hash_key(secret)}").entry()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if key is None:
        print(f"key (give it to the client; it is not stored anywhere): {secret}")
    print(f"entry (add to NETRALITAS_API_KEYS or the keys file): {entry}")
    return 0
