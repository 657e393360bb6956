"""Pure RTSP response parsing (status line, headers, body); only RtspParseError escapes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from camscan import caps

# RTSP peers sometimes answer in HTTP (a web server on 554); the caller decides what that means.
_STATUS_LINE = re.compile(r"(RTSP|HTTP)/(\d)\.(\d)[ \t]+(\d{3})(?:[ \t]+(.*))?")
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
MAX_HEADERS = caps.RTSP_HEADERS
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


class RtspParseError(ValueError):
    """The bytes are not a well-formed RTSP (or HTTP) response."""


class Headers:
    """Case-insensitive, multi-valued, ordered header list."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name`, or `default`."""
        key = name.lower()
        return next((v for k, v in self._items if k.lower() == key), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of `name`, in order."""
        key = name.lower()
        return [v for k, v in self._items if k.lower() == key]

    def items(self) -> tuple[tuple[str, str], ...]:
        """All (name, value) pairs as received."""
        return self._items

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"


@dataclass(frozen=True, slots=True)
class RtspResponse:
    """One parsed response; `version` is "RTSP/1.0" (or "HTTP/1.1" from a web server on the port)."""

    version: str
    status: int
    reason: str
    headers: Headers
    body: bytes
    content_length: int = 0  # as announced; len(body) is smaller when the data was cut short

    @property
    def is_rtsp(self) -> bool:
        """True when the peer spoke RTSP, not HTTP."""
        return self.version.startswith("RTSP/")


def find_header_end(data: bytes | bytearray) -> int | None:
    """Offset just past the blank line that ends the header block, or None if it is not there yet."""
    m = _BLANK_LINE.search(data)
    return m.end() if m else None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _header_lines(block: bytes) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for raw in block.split(b"\n"):
        line = _text(raw.rstrip(b"\r"))
        if not line.strip():
            continue
        if line[0] in " \t" and items:  # obsolete line folding
            name, value = items[-1]
            items[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not _NAME.fullmatch(name.strip()):
            continue  # odd firmware lines are skipped, not fatal
        items.append((name.strip(), value.strip()))
        if len(items) > MAX_HEADERS:
            raise RtspParseError(f"more than {MAX_HEADERS} header lines")
    return items


def parse_response(data: bytes, cap: int) -> RtspResponse:
    """Parse one response from the first `cap` bytes of `data`; raise RtspParseError if it is not one."""
    data = data[:cap]
    end = find_header_end(data)
    if end is None:
        raise RtspParseError(f"no complete header block in {len(data)} bytes")
    head = data[:end]
    line, _, rest = head.partition(b"\n")
    m = _STATUS_LINE.fullmatch(_text(line.rstrip(b"\r")).strip())
    if m is None:
        raise RtspParseError(f"not an RTSP status line: {_text(line[:60])!r}")
    proto, major, minor, code, reason = m.groups()
    headers = Headers(_header_lines(rest))
    length = 0
    raw_length = headers.get("Content-Length")
    if raw_length is not None:
        if not (raw_length.isascii() and raw_length.isdigit()) or len(raw_length) > 12:
            raise RtspParseError(f"bad Content-Length: {raw_length[:40]!r}")
        length = int(raw_length)
    return RtspResponse(
        version=f"{proto}/{major}.{minor}",
        status=int(code),
        reason=(reason or "").strip(),
        headers=headers,
        body=data[end : end + length],
        content_length=length,
    )
