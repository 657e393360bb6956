"""Fingerprint regexes compiled by RE2: a match takes time linear in the value, whatever the pattern.

Python's `re` backtracks: a pattern such as `^(\\d|\\d\\d)+ Camera$` or `\\d*\\d*\\d*\\d*\\d*x` (from a
user's file) and a value built for it (a device's title) hold the scan at 100 % CPU for minutes.
RE2 (google-re2) compiles to automata and never backtracks, so no static "is this pattern risky"
check is needed: every pattern that compiles is safe. The price is the features automata cannot
have, lookarounds and backreferences, which are refused when the fingerprint loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias

import re2

if TYPE_CHECKING:  # start(), end(), groupdict(): the subset of re.Match that fingerprints use
    LinearMatch: TypeAlias = re2._Match[str]

FLAGS = {"i": "ignore case", "s": "dot matches newline", "m": "multiline"}  # as RE2 inline flags
MAX_PROGRAM_MEMORY = 8 << 20  # bytes RE2 may use per pattern (program and DFA cache); over it, compile fails

_HINTS = (
    ("invalid perl operator: (?=", "lookaheads are not supported"),
    ("invalid perl operator: (?!", "lookaheads are not supported"),
    ("invalid perl operator: (?<", "lookbehinds are not supported"),
    ("invalid perl operator: (?>", "atomic groups are not supported"),
    ("invalid perl operator: (?(", "conditionals are not supported"),
    ("invalid named capture group", "named groups are written (?P<name>...)"),
    ("invalid escape sequence: \\1", "backreferences are not supported"),
    ("invalid escape sequence: \\2", "backreferences are not supported"),
    ("invalid escape sequence: \\g", "backreferences are not supported"),
    ("invalid perl operator: (?P", "backreferences (?P=name) are not supported"),
    ("bad repetition operator", "possessive quantifiers (*+, ++) are not supported"),
    ("pattern too large", "the pattern is too large (fewer or smaller counted repeats)"),
)


class PatternError(ValueError):
    """A pattern the linear-time engine refuses; str() is one line saying why."""


class LinearPattern:
    """A compiled fingerprint pattern: the source as written, its flags, and an RE2 program."""

    __slots__ = ("_regex", "flags", "pattern")

    def __init__(self, pattern: str, flags: str = "") -> None:
        unknown = sorted(set(flags) - set(FLAGS))
        if unknown:
            raise PatternError(f"unknown flag {unknown[0]!r} (allowed: {''.join(FLAGS)})")
        self.pattern = pattern
        self.flags = "".join(sorted(set(flags)))
        options = re2.Options()
        options.log_errors = False  # RE2 would print every refused pattern to stderr itself
        options.max_mem = MAX_PROGRAM_MEMORY
        source = _from_python(pattern)
        source = f"(?{self.flags}){source}" if self.flags else source
        try:
            self._regex = re2.compile(source, options)
        except re2.error as exc:
            raise PatternError(_explain(exc)) from None
        except UnicodeEncodeError:  # a lone surrogate: not text RE2 (or a TOML file) can hold
            raise PatternError("the pattern is not valid Unicode text (a lone surrogate)") from None

    @property
    def groupindex(self) -> Mapping[str, int]:
        """Named groups and their numbers."""
        return self._regex.groupindex

    def search(self, text: str) -> LinearMatch | None:
        """The first match anywhere in text, or None."""
        try:
            return self._regex.search(text)
        except UnicodeEncodeError:  # a lone surrogate (e.g. a JSON "\ud800" escape) cannot be UTF-8
            return self._regex.search(text.encode("utf-8", "replace").decode("utf-8"))

    def __repr__(self) -> str:
        return f"LinearPattern({self.pattern!r}, {self.flags!r})"


_HEX = frozenset("0123456789abcdefABCDEF")


def _from_python(pattern: str) -> str:
    """Python's escapes that RE2 spells otherwise: \\uXXXX and \\UXXXXXXXX -> \\x{...}, \\Z -> \\z."""
    if "\\" not in pattern:
        return pattern
    out: list[str] = []
    pos = 0
    while pos < len(pattern):
        ch = pattern[pos]
        if ch != "\\" or pos + 1 >= len(pattern):
            out.append(ch)
            pos += 1
            continue
        nxt = pattern[pos + 1]
        width = {"u": 4, "U": 8}.get(nxt, 0)
        digits = pattern[pos + 2 : pos + 2 + width]
        if width and len(digits) == width and set(digits) <= _HEX:
            out.append(f"\\x{{{digits}}}")
            pos += 2 + width
        else:
            out.append("\\z" if nxt == "Z" else ch + nxt)
            pos += 2
    return "".join(out)


def _explain(exc: Exception) -> str:
    """One line: what RE2 said, and what to write instead when we know."""
    raw = exc.args[0] if exc.args else exc
    error = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    for needle, hint in _HINTS:
        if needle in error:
            return f"the linear-time regex engine (RE2) refuses it: {hint} ({error})"
    return f"the linear-time regex engine (RE2) refuses it: {error}"
