"""One sweep of a site at a time: a file lock beside an SQLite database, an advisory lock in PostgreSQL.

Both are released by the operating system or the server when the sweep's process dies, however it dies, so a
killed sweep never blocks the next one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from camscan.history import schema as t
from camscan.history.database import Target
from camscan.history.read import stamp


class SweepLocked(Exception):
    """Another sweep of the same site holds its lock; str() says who, when known."""


def lock_key(site: str) -> int:
    """The site's PostgreSQL advisory lock key (a signed 64-bit number derived from its name)."""
    return int.from_bytes(hashlib.sha256(f"camscan-sweep:{site}".encode()).digest()[:8], "big", signed=True)


def _holder(engine: Engine, site: str) -> str:
    query = (
        sa.select(t.sweeps.c.id, t.sweeps.c.scanner, t.sweeps.c.started_at)
        .where((t.sweeps.c.site == site) & (t.sweeps.c.status == "running"))
        .order_by(t.sweeps.c.id.desc())
        .limit(1)
    )
    try:
        with engine.connect() as conn:
            row = conn.execute(query).first()
    except sa.exc.SQLAlchemyError:
        row = None
    if row is None:
        return ""
    return f" (sweep {row.id} by {row.scanner}, started {stamp(row.started_at)})"


@contextmanager
def _file_lock(target: Target, site: str) -> Iterator[None]:
    if target.path is None:
        raise ValueError("a file lock needs an SQLite file")
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", site)
    path = target.path.with_name(f"{target.path.name}.{slug}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepLocked(f"a sweep of site {site!r} is already running") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock (so does the process dying)


@contextmanager
def _advisory_lock(engine: Engine, site: str) -> Iterator[None]:
    key = lock_key(site)
    with engine.connect() as conn:
        got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar()
        conn.commit()  # a session lock outlives the transaction; no transaction stays open for the sweep
        if not got:
            raise SweepLocked(f"a sweep of site {site!r} is already running")
        try:
            yield
        finally:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
            conn.commit()


@contextmanager
def site_lock(engine: Engine, target: Target, site: str) -> Iterator[None]:
    """Hold the site's sweep lock, or raise SweepLocked at once naming the running sweep."""
    lock = _file_lock(target, site) if target.path is not None else _advisory_lock(engine, site)
    try:
        with lock:
            yield
    except SweepLocked as exc:
        raise SweepLocked(f"{exc}{_holder(engine, site)}") from None
