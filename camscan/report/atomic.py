"""Where reports go: checked before the scan starts, and written so a reader never sees half of one."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from camscan.inputs import InputError


class OutputError(InputError):
    """An output the scan could not write; known before the first packet, it is bad input (exit 2)."""


def _resolved(target: str) -> Path:
    """The file a path names: a symlink (or a chain of them) leads to its target, the one written."""
    return Path(os.path.realpath(target))


def _is_stream(path: Path) -> bool:
    """A FIFO or a character device (a terminal, /dev/stdout, /dev/null): written in place, not replaced."""
    try:
        mode = os.stat(path).st_mode  # through symlinks: /dev/stdout is one
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def check_output(target: str, option: str) -> None:
    """Refuse, before any packet, an output that cannot be written: an empty path, a folder, a missing or
    read-only folder, a file that is not ours to replace."""
    if target == "-":
        return
    if not target.strip():
        raise OutputError(f"{option}: an empty path (use - for standard output)")
    try:
        _check_path(target, option)
    except OSError as exc:  # a folder on the way we may not look into, a broken mount...
        raise OutputError(f"{option} {target}: {exc.strerror or exc}") from None


def _check_path(target: str, option: str) -> None:
    if _is_stream(Path(target)):
        if not os.access(target, os.W_OK):
            raise OutputError(f"{option} {target}: not writable")
        return
    path = _resolved(target)
    if path.is_dir():
        raise OutputError(f"{option} {target}: a folder, not a file")
    if path.exists() and not path.is_file():
        raise OutputError(f"{option} {target}: not a regular file, a FIFO or a device")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"{option} {target}: the folder {folder} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{option} {target}: the file is read-only")
    try:  # the real test: root passes os.access on a read-only mount
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=folder)
    except OSError as exc:
        raise OutputError(f"{option} {target}: cannot write in {folder}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)


def _same_as_stdout(target: str) -> bool:
    try:
        here, there = os.stat(target), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError):
        return False
    return _is_stream(Path(target)) and (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def check_outputs(outputs: Sequence[tuple[str, str | None]]) -> None:
    """Check each (option, path) and refuse two outputs that would land in the same place."""
    seen: dict[str, str] = {}
    for option, target in outputs:
        if target is None:
            continue
        check_output(target, option)
        where = "standard output" if target == "-" or _same_as_stdout(target) else str(_resolved(target))
        if where in seen:
            raise OutputError(f"{seen[where]} and {option} both write to {where}: give each its own place")
        seen[where] = option


def write_atomic(target: str, text: str) -> None:
    """Write `text` to `target` so a reader never sees half of it.

    "-" is standard output. A symlink is followed and its target replaced (the link stays). A FIFO or a
    character device is written in place. A regular file is written to a temporary file in the same folder
    and renamed over it; the temporary file goes on any failure or signal (KeyboardInterrupt included)."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if _is_stream(Path(target)):  # /dev/stdout resolves to /proc/self/fd/1: open the name as given
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        return
    path = _resolved(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
