"""The camscan.toml config file, read once for every section: [[onvif]], [[snmp]], [[site]] and [history].

Errors name the file, the line and the key, in one line: ``camscan.toml line 12: [[site]] "hq": profile: …``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from camscan.inputs import InputError, read_text

MAX_CONFIG_BYTES = 256 * 1024
SECTIONS = frozenset({"onvif", "snmp", "site", "history"})
APP = "camscan"
CONFIG_NAME = "camscan.toml"
HISTORY_NAME = "history.sqlite"

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(?:#.*)?$")
_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


class ConfigError(InputError):
    """A config file that cannot be used; str() is one line naming the file, line and key."""


def default_config_path() -> Path:
    """Where `camscan sweep` looks without --config: the user's config directory (platformdirs)."""
    return platformdirs.user_config_path(APP) / CONFIG_NAME


def default_history_path() -> Path:
    """The SQLite history database without --db or [history] db: the user's data directory (platformdirs)."""
    return platformdirs.user_data_path(APP) / HISTORY_NAME


def _read_capped(path: Path) -> str:
    return read_text(path, "config", MAX_CONFIG_BYTES, error=ConfigError)


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """A parsed config file, with its text kept to say on which line a bad key sits."""

    path: Path
    text: str = field(repr=False)
    data: dict[str, Any] = field(repr=False)

    def entries(self, section: str) -> list[Any]:
        """The `[[section]]` array of tables (empty when absent)."""
        items = self.data.get(section, [])
        if not isinstance(items, list):
            raise self.error(section, None, None, f"must be an array of tables ([[{section}]])")
        return items

    def table(self, section: str) -> dict[str, Any]:
        """A plain `[section]` table (empty when absent)."""
        item = self.data.get(section, {})
        if not isinstance(item, dict):
            raise self.error(section, None, None, f"must be a table ([{section}])")
        return item

    def line_of(self, section: str, index: int | None, key: str | None) -> int | None:
        """The line of `key` (dotted for sub-tables) in entry `index` (1-based) of `section`, best effort."""
        return _locate(self.text.splitlines(), section, index, key)

    def error(
        self, section: str, index: int | None, key: str | None, problem: str, label: str | None = None
    ) -> ConfigError:
        """One line: file, line, section (entry label or number), key, problem."""
        line = self.line_of(section, index, key)
        where = f"{self.path} line {line}" if line else str(self.path)
        what = f"[{section}]" if index is None else f"[[{section}]] {label or f'entry {index}'}"
        return ConfigError(f"{where}: {what}: {key + ': ' if key else ''}{problem}")


def load(path: Path) -> ConfigFile:
    """Read and parse a config file (size-capped, UTF-8, TOML, only known sections)."""
    text = _read_capped(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        where = f"{path} line {found.group(1)}" if found else str(path)
        raise ConfigError(f"{where}: not valid TOML ({_TOML_LINE.sub('', str(exc)).strip()})") from None
    config = ConfigFile(path, text, data)
    for name in data:
        if name not in SECTIONS:
            line = next((n for n, s in _headers(text.splitlines()) if s.split(".")[0] == name), None)
            line = line or _key_line(text.splitlines(), name, 0, len(text.splitlines()))
            where = f"{path} line {line}" if line else str(path)
            known = ", ".join(sorted(SECTIONS))
            raise ConfigError(f"{where}: unknown section {name!r} (known: {known})")
    return config


def _headers(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(line number, dotted name) of every table header; array headers keep their name."""
    for number, line in enumerate(lines, 1):
        match = _HEADER.match(line)
        if match:
            yield number, match.group(2).replace('"', "").replace("'", "").replace(" ", "")


def _key_line(lines: list[str], key: str, start: int, end: int) -> int | None:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number in range(start, end):
        if pattern.match(lines[number]):
            return number + 1
    return None


def _locate(lines: list[str], section: str, index: int | None, key: str | None) -> int | None:
    """Find the entry's header, then the key in it (or in its `[section.sub]` table for 'sub.key')."""
    headers = list(_headers(lines))
    count, start = 0, None
    for position, (_number, name) in enumerate(headers):
        if name == section:
            count += 1
            if index is None or count == index:
                start = position
                break
    if start is None:
        return None
    header_line = headers[start][0]
    block = [headers[start]]
    for number, name in headers[start + 1 :]:
        if not name.startswith(section + "."):
            break
        block.append((number, name))
    ends = [n for n, _ in headers[start + 1 :]] + [len(lines) + 1]
    if key is None:
        return header_line
    head, _, last = key.rpartition(".")
    for number, name in block:
        sub = name[len(section) + 1 :] if name != section else ""
        if sub == head:
            following = next(e for e in ends if e > number)
            found = _key_line(lines, last, number, following - 1)
            if found:
                return found
    first_end = next(e for e in ends if e > header_line) - 1
    return _key_line(lines, key.partition(".")[0], header_line, first_end) or header_line
