"""A throw-away PostgreSQL server from Debian's `postgresql` package for the history tests (root only).

`pg_server` (session) runs initdb and pg_ctl as the `postgres` user in a temporary directory on a free
loopback port; `pg_url` gives each test a fresh database on it. Both are skipped for a non-root user (with the
reason) and fail under CI=true when the server cannot be started.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_USER = "postgres"  # the system user Debian's postgresql package creates
DB_USER = "camscan"
SOCKETS: dict[str, str] = {}  # the running server's socket directory and port, for clients in other netns


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _cannot(reason: str) -> None:
    if _ci():
        pytest.fail(f"PostgreSQL unavailable under CI: {reason}")
    pytest.skip(reason)


def pg_bindir() -> Path | None:
    """The newest Debian PostgreSQL server's bin directory (/usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def pg_unavailable() -> str | None:
    """Why a throw-away server cannot be started here, or None."""
    if os.geteuid() != 0:
        return "the PostgreSQL tests start a server as the postgres user, which needs root"
    if pg_bindir() is None:
        return "Debian's postgresql package is not installed (apt-get install postgresql; make setup does it)"
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        return "there is no postgres system user (Debian's postgresql package creates it)"
    if shutil.which("runuser") is None:
        return "runuser (util-linux) is not installed"
    return None


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> None:
    proc = subprocess.run(["runuser", "-u", PG_USER, "--", *args], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed: {(proc.stderr or proc.stdout).strip()[-400:]}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The server's base URL (postgresql://camscan@127.0.0.1:PORT); stopped and removed at the end."""
    reason = pg_unavailable()
    if reason:
        _cannot(reason)
    bindir = pg_bindir()
    assert bindir is not None
    home = Path(tempfile.mkdtemp(prefix="camscan-pg-"))
    data, sockets = home / "data", home / "sock"
    sockets.mkdir()
    entry = pwd.getpwnam(PG_USER)
    for path in (home, sockets):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    try:
        _as_postgres(
            str(bindir / "initdb"), "-D", str(data), "-U", DB_USER, "-A", "trust", "--no-sync", "-E", "UTF8"
        )
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        _as_postgres(
            str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"
        )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(home, ignore_errors=True)
        _cannot(f"cannot start PostgreSQL: {exc}")
    SOCKETS.update(dir=str(sockets), port=str(port))
    try:
        yield f"postgresql://{DB_USER}@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                PG_USER,
                "--",
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(home, ignore_errors=True)


def create_database(base: str) -> str:
    """A new empty database on the server; its URL."""
    name = "t" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://") + "/postgres")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return f"{base}/{name}"


def socket_url(url: str) -> str:
    """The same database over the server's Unix socket: reachable from a network namespace the test built."""
    name = url.rsplit("/", 1)[1]
    return f"postgresql://{DB_USER}@/{name}?host={SOCKETS['dir']}&port={SOCKETS['port']}"


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database for one test."""
    return create_database(pg_server)
