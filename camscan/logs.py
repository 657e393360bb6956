"""Structured logging for sweeps: one line per event on stderr, `key=value` text or JSON (`--log-json`)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LOGGER = "camscan"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/@+,")


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = "".join(
        c if c.isprintable() else f"\\x{ord(c):02x}" for c in text
    )  # no control chars on a terminal
    return text if text and set(text) <= _SAFE else json.dumps(text, ensure_ascii=False)


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        head = {"time": when, "level": record.levelname.lower(), "event": record.getMessage()}
        if self.as_json:
            return json.dumps({**head, **fields}, ensure_ascii=False, default=str)
        return " ".join(f"{k}={_text(v)}" for k, v in {**head, **fields}.items())


def setup(
    *, verbose: bool = False, as_json: bool = False, quiet: bool = False, stream: TextIO | None = None
) -> None:
    """Log events to stderr: warnings and up with --quiet, info by default, debug with --verbose."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter(as_json))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with its fields (never a secret: callers pass names and counts, not credentials)."""
    logging.getLogger(LOGGER).log(level, name, extra={"fields": fields})
