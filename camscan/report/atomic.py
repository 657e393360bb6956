"""Write an output file so a reader never sees half of it: temp file in the same folder, then rename."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def write_atomic(target: str, text: str) -> None:
    """Write `text` to `target` ("-" is stdout) atomically; the old file stays intact on any failure."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(target)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
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
