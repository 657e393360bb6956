"""Checked reads of decoded TOML tables: a wrong key, type or value is one line that names its place.

Every data file camscan and its lab read (watchlists, fingerprints, vendors, lab personas) goes through one
TableReader, so a typo is never silently ignored and every message has the same shape:
"<where>: <what is wrong>", raised as the caller's own error type.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_SAFE_TEXT = re.compile(r"^[^\x00-\x08\x0a-\x1f\x7f]*$")  # no control characters but tab


def one_line(text: str) -> str:
    """Collapse line breaks and runs of white space, so a message or a value stays on one line."""
    return " ".join(text.split())


def _names(keys: Iterable[str]) -> str:
    return ", ".join(repr(k) for k in keys)


@dataclass(frozen=True, slots=True)
class TableReader:
    """Reads keys of TOML tables; every problem is raised as `error("<where>: <problem>")`."""

    error: Callable[[str], Exception]

    def fail(self, where: str, problem: str) -> Exception:
        """The error for `problem` at `where` (for the caller to raise)."""
        return self.error(one_line(f"{where}: {problem}"))

    def load(self, where: str, text: str) -> dict[str, Any]:
        """A whole TOML document."""
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise self.fail(where, f"invalid TOML ({exc})") from None

    def check_keys(
        self, where: str, data: Mapping[str, Any], allowed: Iterable[str], required: Iterable[str] = ()
    ) -> None:
        """Refuse a missing required key, and keys outside `allowed` and `required` (typos never pass)."""
        required = tuple(required)
        missing = [k for k in required if k not in data]
        if missing:
            raise self.fail(where, f"missing {_names(missing)}")
        unknown = sorted(set(data) - set(allowed) - set(required))
        if unknown:
            raise self.fail(where, f"unknown key{'s' if len(unknown) > 1 else ''} {_names(unknown)}")

    def table(self, where: str, data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
        """An optional sub-table."""
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(where, f"[{key}] must be a table")
        return value

    def tables(self, where: str, data: Mapping[str, Any], key: str, *, limit: int) -> list[Mapping[str, Any]]:
        """An optional array of tables ([[key]]), at most `limit` of them."""
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(where, f"'{key}' must be an array of tables ([[{key}]])")
        if len(value) > limit:
            raise self.fail(where, f"more than {limit} [[{key}]] entries")
        return value

    def string(
        self, where: str, data: Mapping[str, Any], key: str, *, required: bool = False, line: bool = False
    ) -> str | None:
        """An optional (or required) string; `line` refuses control characters (datagram, header fields)."""
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"missing '{key}'")
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"'{key}' must be a string")
        if line and not _SAFE_TEXT.match(value):
            raise self.fail(where, f"'{key}' contains a control character")
        return value

    def text(
        self, where: str, data: Mapping[str, Any], key: str, *, default: str | None = None, limit: int = 0
    ) -> str:
        """A string that is not blank (`default` when absent or empty), of at most `limit` characters."""
        value = data.get(key)
        if default is not None and (value is None or value == ""):
            return default
        if value is None:
            raise self.fail(where, f"missing '{key}'")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"'{key}' must be a non-empty string")
        if limit and len(value) > limit:
            raise self.fail(where, f"'{key}' is longer than {limit} characters")
        return value

    def optional_text(self, where: str, data: Mapping[str, Any], key: str) -> str | None:
        """A string that is not blank, or None when the key is absent."""
        return self.text(where, data, key) if key in data else None

    def flag(self, where: str, data: Mapping[str, Any], key: str, default: bool) -> bool:
        """An optional true/false."""
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(where, f"'{key}' must be true or false")
        return value

    def integer(
        self, where: str, data: Mapping[str, Any], key: str, default: int, low: int, high: int
    ) -> int:
        """An optional integer within [low, high] (true and false are not integers here)."""
        value = data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(where, f"'{key}' must be an integer {low}..{high}")
        return value

    def port(self, where: str, data: Mapping[str, Any], key: str, default: int) -> int:
        """An optional TCP/UDP port number."""
        return self.integer(where, data, key, default, 1, 65535)

    def strings(
        self,
        where: str,
        data: Mapping[str, Any],
        key: str,
        *,
        max_items: int = 64,
        line: bool = True,
        nonempty: bool = False,
    ) -> tuple[str, ...] | None:
        """An optional list of strings: single-line ones unless `line` is false, none empty if `nonempty`."""
        value = data.get(key)
        if value is None:
            return None
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) for v in value)
            or len(value) > max_items
        ):
            raise self.fail(where, f"'{key}' must be a list of at most {max_items} strings")
        if nonempty and (not value or not all(value)):
            raise self.fail(where, f"'{key}' must be a non-empty list of non-empty strings")
        for item in value:
            if line and not _SAFE_TEXT.match(item):
                raise self.fail(where, f"'{key}' item {item[:40]!r} contains a control character")
        return tuple(value)

    def pairs(
        self, where: str, data: Mapping[str, Any], key: str, *, line: bool = True
    ) -> tuple[tuple[str, str], ...]:
        """An optional table of string -> string in file order (single-line ones unless `line` is false)."""
        raw = self.table(where, data, key)
        if raw is None:
            return ()
        out: list[tuple[str, str]] = []
        for name, value in raw.items():
            ok = isinstance(value, str) and (not line or (_SAFE_TEXT.match(value) and _SAFE_TEXT.match(name)))
            if not ok:
                raise self.fail(
                    where, f"[{key}] values must be strings{' on one line' if line else ''} ({name!r})"
                )
            out.append((name, value))
        return tuple(out)
