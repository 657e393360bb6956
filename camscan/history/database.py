"""Opening the history database: SQLite (a path) or PostgreSQL (a URL); its schema checked, migrated, refused.

A database that is corrupt, not camscan's, or from a newer camscan is reported and left exactly as it is.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from camscan.history.schema import HEAD, REVISIONS, TABLES, VERSION_TABLE

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000  # another site's sweep writing to the same SQLite file: wait, do not fail
MIGRATIONS = "camscan.history:migrations"


class HistoryError(Exception):
    """The history database cannot be used; str() is one line that names it (never its password)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the history lives: a SQLAlchemy URL, and the file for SQLite."""

    url: sa.URL
    path: Path | None  # the SQLite file

    @property
    def name(self) -> str:
        """For messages: the file, or the URL without its password."""
        return str(self.path) if self.path else self.url.render_as_string(hide_password=True)

    @property
    def kind(self) -> str:
        """'sqlite' or 'postgresql'."""
        return "sqlite" if self.path else "postgresql"


def parse_target(text: str) -> Target:
    """A path (SQLite) or a postgresql:// URL (psycopg 3)."""
    if "://" not in text:
        path = Path(text).expanduser().absolute()
        return Target(sa.URL.create("sqlite", database=str(path)), path)
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError:
        raise HistoryError(f"--db {text!r}: not a path or a database URL") from None
    if url.password is not None:
        raise HistoryError("--db: no password in the URL (others can read it): use ~/.pgpass or PGPASSWORD")
    if url.get_backend_name() != "postgresql":
        raise HistoryError(
            f"--db: {url.get_backend_name()!r} databases are not supported (a path, or postgresql://)"
        )
    return Target(url.set(drivername="postgresql+psycopg"), None)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")  # readers never block a sweep's writes, nor it theirs
    cursor.execute("PRAGMA synchronous = FULL")  # a committed sweep survives a power loss
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writing transaction takes the write lock at once: two sites' sweeps then queue instead of deadlocking.
    immediate = conn.get_execution_options().get("write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _check_sqlite_file(path: Path, create: bool) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        if not create:
            raise HistoryError(f"no history database at {path} (a sweep creates it)") from None
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return
    except OSError as exc:
        raise HistoryError(f"history database {path}: {exc.strerror or exc}") from None
    if head and head != SQLITE_MAGIC:
        raise HistoryError(f"history database {path} is not an SQLite database (corrupt?); left untouched")


def make_engine(target: Target, *, create: bool) -> Engine:
    """An engine for the target; SQLite files are checked (and their folder made) first."""
    if target.path is not None:
        _check_sqlite_file(target.path, create)
        engine = sa.create_engine(target.url, poolclass=sa.pool.NullPool)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(target.url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def migrate(conn: Connection) -> None:
    """Bring the schema to the newest revision with Alembic (its scripts are package data)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def schema_state(conn: Connection) -> str | None:
    """The database's schema revision; None for an empty database. Refuses foreign or newer databases."""
    inspector = sa.inspect(conn)
    names = set(inspector.get_table_names())
    if VERSION_TABLE not in names:
        ours = names & set(TABLES)
        if ours:
            raise HistoryError(
                f"has tables named {', '.join(sorted(ours))} but no {VERSION_TABLE}: not camscan's"
            )
        return None
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    rows = list(conn.execute(sa.select(version.c.version_num)).scalars())
    if len(rows) > 1:
        raise HistoryError(f"{VERSION_TABLE} names {len(rows)} schema revisions; camscan keeps one")
    current = rows[0] if rows else None
    if current is not None and current not in REVISIONS:
        raise HistoryError(
            f"its schema (revision {current}) is newer than this camscan knows ({HEAD}): "
            "upgrade camscan; the database was left untouched"
        )
    return current


def _describe(target: Target, exc: Exception) -> HistoryError:
    text = (
        str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if str(exc).strip()
        else type(exc).__name__
    )
    if (
        target.path is not None
        and isinstance(exc, DBAPIError)
        and ("not a database" in text or "malformed" in text)
    ):
        return HistoryError(f"history database {target.name} is corrupt ({text}); left untouched")
    return HistoryError(f"history database {target.name}: {text}")


@contextmanager
def reporting(target: Target) -> Iterator[None]:
    """Turn a database error into a HistoryError naming the database (and never its password)."""
    try:
        yield
    except HistoryError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise _describe(target, exc) from None


def open_engine(target: Target, *, create: bool) -> Engine:
    """Connect, check the schema; with `create` migrate it to the newest revision, else require it."""
    engine = make_engine(target, create=create)
    try:
        with reporting(target), engine.connect() as conn:
            current = schema_state(conn)
            conn.rollback()
            if current != HEAD:
                if not create:
                    raise HistoryError(
                        f"history database {target.name} is at schema {current or 'none'}, not "
                        f"{HEAD}: run a sweep to migrate it"
                    )
                migrate(conn)
                conn.commit()
    except HistoryError as exc:
        engine.dispose()
        message = str(exc)
        raise HistoryError(
            message if target.name in message else f"history database {target.name}: {message}"
        ) from None
    if target.path is not None and create:
        with contextlib.suppress(OSError):  # another user's file: leave its mode alone
            os.chmod(target.path, 0o600)  # device inventories are not for every local user
    return engine
