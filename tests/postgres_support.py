"""A real PostgreSQL server for the feedback-store tests: a throw-away cluster started once per test
session on a free local port, and stopped (its files removed) at the end.

`postgres_url` is the session fixture (registered in conftest.py, so that one cluster serves every
test module). Its value is a `postgresql+psycopg://` URL of an empty server; `fresh_database`
creates a new database on it for a test that needs its own tables.

- `NETRALITAS_TEST_POSTGRES_URL` set: that server is used and nothing is started.
- Otherwise the server binaries (`initdb`, `pg_ctl`) are looked up on PATH and in Debian's
  `/usr/lib/postgresql/*/bin`; `make test` installs them (`apt-get install postgresql`) when it
  can. Missing binaries or a missing `psycopg` skip the PostgreSQL tests, with the reason.
- PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user that Debian's
  package creates (`runuser -u postgres`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .serve_support import free_port

ENV_URL = "NETRALITAS_TEST_POSTGRES_URL"
HOW_TO_GET = (
    "`make test` installs them (Debian: apt-get install postgresql; venv: pip install -e "
    "'.[dev,postgres]'), or set NETRALITAS_TEST_POSTGRES_URL=postgresql+psycopg://... to use a "
    "running server"
)


def find_bindir() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: PATH first, then the newest Debian version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    candidates.sort(key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    for initdb in reversed(candidates):
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").is_file():
            return bindir
    return None


class Cluster:
    """initdb + pg_ctl into a temporary folder; `start()` returns the server's URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user: str | None = None
        account = None
        if os.geteuid() == 0:  # initdb and postgres refuse root
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip(
                    "PostgreSQL tests: running as root and there is no `postgres` user to run "
                    f"the server as; {HOW_TO_GET}"
                )
            self.user = "postgres"
        self.root = Path(tempfile.mkdtemp(prefix="netralitas-pg-"))
        if account is not None:
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()

    def _run(self, *command: str, timeout: float = 120) -> None:
        argv = [str(self.bindir / command[0]), *command[1:]]
        if self.user is not None:
            argv = ["runuser", "-u", self.user, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                f"\n{log}"
            )

    def start(self) -> str:
        # --no-sync skips only initdb's own flush of the new files; the server runs with its
        # defaults (fsync on, synchronous_commit on), so a commit is on disk when acknowledged.
        initdb = ("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self._run(*initdb, "--locale=C.UTF-8", "--no-sync")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash: no shutdown checkpoint) and wait for it to be gone."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the PostgreSQL server {pid} did not die")

    def restart(self) -> None:
        """Start again on the same port after `kill()`: PostgreSQL replays its WAL (crash recovery).
        Retried while the killed server's children still hold its shared memory."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        deadline = time.monotonic() + 30
        while True:
            try:
                start = ("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options)
                self._run(*start, "-w", "start")
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL server: NETRALITAS_TEST_POSTGRES_URL, or a cluster started here."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip(f"PostgreSQL tests: the psycopg driver is not installed; {HOW_TO_GET}")
    if url := os.environ.get(ENV_URL):
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            f"PostgreSQL tests: no PostgreSQL server binaries (initdb, pg_ctl); {HOW_TO_GET}"
        )
    cluster = Cluster(bindir)
    started = time.monotonic()
    try:
        url = cluster.start()
        print(f"\nPostgreSQL {bindir} on port {cluster.port}: {time.monotonic() - started:.1f} s")
        yield url
    finally:
        cluster.stop()


@contextlib.contextmanager
def own_cluster() -> Iterator[tuple[Cluster, str]]:
    """A cluster of the test's own (one it may kill), skipping like `postgres_url` does; never the
    server of NETRALITAS_TEST_POSTGRES_URL."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip(f"PostgreSQL tests: the psycopg driver is not installed; {HOW_TO_GET}")
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            f"PostgreSQL tests: no PostgreSQL server binaries (initdb, pg_ctl); {HOW_TO_GET}"
        )
    cluster = Cluster(bindir)
    try:
        yield cluster, cluster.start()
    finally:
        cluster.stop()


def fresh_database(url: str, prefix: str = "netralitas") -> str:
    """Create an empty database on the server of `url`; returns its URL."""
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sql(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)
