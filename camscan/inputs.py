"""What the user hands camscan: one error type for bad input (exit 2) and one way to read an input file."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import TypedDict, Unpack

# Bits that let someone other than the owner read a file: a secret readable by them is refused (as ssh does).
GROUP_OR_OTHER_READABLE = stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH


class InputError(ValueError):
    """Bad user input (a target, an option, a file): str() is one line for the user; the scan exits 2."""


def read_bytes(
    path: Path | str,
    what: str,
    limit: int,
    *,
    error: type[InputError] = InputError,
    secret: bool = False,
    allow_readable: bool = False,
) -> bytes:
    """The bytes of a user's file: a regular file (a symlink to one is fine), at most `limit` bytes.

    `-` reads standard input, with the same cap. A FIFO, a device (/dev/zero) or a directory is refused
    before anything is read: none of them can hang or exhaust the scan before its first packet. A `secret`
    that others may read is refused unless `allow_readable`.
    """
    if str(path) == "-":
        return _capped(sys.stdin.buffer.read(limit + 1), path, what, limit, error)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"{what} {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise error(f"{what} {path}: {kind}")
        if secret and mode & GROUP_OR_OTHER_READABLE and not allow_readable:
            raise error(
                f"{what} {path}: others can read or change it (mode {stat.S_IMODE(mode):04o}); "
                "chmod 600 it, or pass --allow-readable-secrets"
            )
        os.set_blocking(fd, True)
        raw = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise error(f"{what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return _capped(raw, path, what, limit, error)


class SecretOptions(TypedDict, total=False):
    """How `read_bytes` treats a secret file: refuse it when others can read it, unless allowed."""

    secret: bool
    allow_readable: bool


def read_text(
    path: Path | str,
    what: str,
    limit: int,
    *,
    error: type[InputError] = InputError,
    **opts: Unpack[SecretOptions],
) -> str:
    """A user's file as UTF-8 text, read as `read_bytes` reads it."""
    raw = read_bytes(path, what, limit, error=error, **opts)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path}: not UTF-8 text (byte {exc.start})") from None


def _capped(raw: bytes, path: Path | str, what: str, limit: int, error: type[InputError]) -> bytes:
    if len(raw) > limit:
        raise error(f"{what} {path}: larger than {limit:,} bytes")
    return raw


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(limit - size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
