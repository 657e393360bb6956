"""Pure parsers: bytes or text in, fields out; no I/O, safe on hostile input."""

from __future__ import annotations
