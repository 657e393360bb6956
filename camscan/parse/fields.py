"""Typed readers for text fields of discovery replies: a bad value becomes None, never an exception."""

from __future__ import annotations

import ipaddress
import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def text(value: str) -> str:
    """value with any lone surrogate (a JSON "\\ud800" escape) replaced by U+FFFD: writable as UTF-8."""
    return value if value.isascii() else _SURROGATE.sub("\ufffd", value)


def port(value: str | None) -> int | None:
    """A TCP/UDP port number from text, or None."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 5:
        return None
    number = int(value)
    return number if 0 < number < 65536 else None


def ipv4(value: str | None) -> str | None:
    """A dotted IPv4 address from text (normalised), or None."""
    if value is None:
        return None
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        return None
