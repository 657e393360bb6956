"""Validation helpers for persona tables: every problem becomes one PersonaError line naming the place."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_SAFE_TEXT = re.compile(r"^[^\x00-\x08\x0a-\x1f\x7f]*$")  # no control characters but tab


class PersonaError(ValueError):
    """A persona file is missing, unreadable or invalid; the message is one line naming the file."""


def fail(where: str, problem: str) -> PersonaError:
    """The error for `problem` at `where` (to be raised by the caller)."""
    return PersonaError(f"{where}: {problem}")


def check_keys(where: str, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Refuse keys outside `allowed` (typos must not pass silently)."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise fail(where, f"unknown key(s) {', '.join(unknown)}")


def table(where: str, data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """An optional sub-table."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise fail(where, f"[{key}] must be a table")
    return value


def string(
    where: str, data: Mapping[str, Any], key: str, *, required: bool = False, line: bool = False
) -> str | None:
    """An optional (or required) string; `line` refuses control characters (datagram and header fields)."""
    value = data.get(key)
    if value is None:
        if required:
            raise fail(where, f"missing '{key}'")
        return None
    if not isinstance(value, str):
        raise fail(where, f"'{key}' must be a string")
    if line and not _SAFE_TEXT.match(value):
        raise fail(where, f"'{key}' contains a control character")
    return value


def flag(where: str, data: Mapping[str, Any], key: str, default: bool) -> bool:
    """An optional true/false."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise fail(where, f"'{key}' must be true or false")
    return value


def integer(where: str, data: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    """An optional integer within [low, high]."""
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise fail(where, f"'{key}' must be an integer {low}..{high}")
    return value


def port(where: str, data: Mapping[str, Any], key: str, default: int) -> int:
    """An optional TCP/UDP port number."""
    return integer(where, data, key, default, 1, 65535)


def strings(where: str, data: Mapping[str, Any], key: str, *, max_items: int = 64) -> tuple[str, ...] | None:
    """An optional list of single-line strings."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > max_items:
        raise fail(where, f"'{key}' must be a list of at most {max_items} strings")
    for item in value:
        if not _SAFE_TEXT.match(item):
            raise fail(where, f"'{key}' item {item[:40]!r} contains a control character")
    return tuple(value)


def pairs(where: str, data: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    """An optional table of string -> string, kept in file order."""
    raw = table(where, data, key)
    if raw is None:
        return ()
    out: list[tuple[str, str]] = []
    for name, value in raw.items():
        if not isinstance(value, str) or not _SAFE_TEXT.match(value) or not _SAFE_TEXT.match(name):
            raise fail(where, f"[{key}] values must be single-line strings ({name!r})")
        out.append((name, value))
    return tuple(out)
