"""Parse one fingerprint TOML file into entries, rejecting anything structurally wrong."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import cast

from camscan.fields import FIELDS
from camscan.fingerprints.linear import FLAGS, LinearPattern, PatternError
from camscan.fingerprints.model import Example, Fingerprint, FingerprintError
from camscan.inputs import read_bytes
from camscan.models import STRENGTHS

MAX_FILE_BYTES = 1 << 20
MAX_PATTERN_CHARS = 2000
MAX_EXAMPLE_CHARS = 65536
MAX_TELL_CHARS = 120

_FIELD_RE = re.compile(r"^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_FILE_KEYS = frozenset({"field", "fingerprint"})
_REQUIRED = ("id", "pattern", "claims", "strength", "source")
_OPTIONAL = frozenset({"flags", "examples", "counterexamples", "tell"})
_EXAMPLE_KEYS = frozenset({"value", "expect"})

_Fail = Callable[[str], FingerprintError]


def read_file(path: Path) -> list[Fingerprint]:
    """Read a user's fingerprint file from disk (size-capped) and parse it."""
    return parse_bytes(
        read_bytes(path, "fingerprint file", MAX_FILE_BYTES, error=FingerprintError), str(path)
    )


def parse_bytes(raw: bytes, origin: str) -> list[Fingerprint]:
    """Parse the bytes of one fingerprint file; origin names it in errors."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FingerprintError(origin, f"not UTF-8 text (byte {exc.start})") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FingerprintError(origin, f"invalid TOML: {exc}") from exc
    unknown = sorted(set(doc) - _FILE_KEYS)
    if unknown:
        what = f"unknown top-level key '{unknown[0]}' (expected 'field' and [[fingerprint]])"
        raise FingerprintError(origin, what)
    field = doc.get("field")
    if not isinstance(field, str) or not _FIELD_RE.match(field):
        raise FingerprintError(origin, "'field' must name an observed field, e.g. field = \"http.server\"")
    if field not in FIELDS:
        # An entry for a field no probe emits would silently never match: refuse it.
        close = difflib.get_close_matches(field, sorted(FIELDS), n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}?" if close else "see camscan/fields.py for the vocabulary"
        raise FingerprintError(origin, f"unknown field {field!r} ({hint})")
    entries = doc.get("fingerprint", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise FingerprintError(origin, "'fingerprint' must be an array of tables ([[fingerprint]])")
    return [_entry(cast(dict[str, object], e), field, origin, n) for n, e in enumerate(entries, 1)]


def _entry(table: dict[str, object], field: str, origin: str, number: int) -> Fingerprint:
    raw_id = table.get("id")
    if not isinstance(raw_id, str) or not _ID_RE.match(raw_id):
        raise FingerprintError(
            origin, f"entry #{number}: 'id' must be a lowercase slug (a-z 0-9 . _ -), at most 80 characters"
        )
    fid = raw_id

    def fail(what: str) -> FingerprintError:
        return FingerprintError(origin, what, fid)

    for key in _REQUIRED:
        if key not in table:
            raise fail(f"missing '{key}'")
    unknown = sorted(set(table) - set(_REQUIRED) - _OPTIONAL)
    if unknown:
        raise fail(f"unknown key '{unknown[0]}'")
    pattern = _text(table["pattern"], "pattern", fail, MAX_PATTERN_CHARS)
    flags = table.get("flags", "")
    if not isinstance(flags, str) or any(ch not in FLAGS for ch in flags):
        raise fail(f"'flags' must be a string of {''.join(FLAGS)}")
    try:
        compiled = LinearPattern(pattern, flags)
    except PatternError as exc:
        raise fail(f"pattern does not compile: {exc}") from None
    strength = table["strength"]
    if strength not in STRENGTHS:
        raise fail(f"strength must be one of {', '.join(STRENGTHS)}, not {strength!r}")
    return Fingerprint(
        id=fid,
        field=field,
        pattern=compiled,
        claims=_str_table(table["claims"], "claims", fail),
        strength=strength,
        source=_text(table["source"], "source", fail, 1000),
        examples=tuple(_example(e, fail) for e in _list(table.get("examples", []), "examples", fail)),
        counterexamples=tuple(
            _text(c, "counterexample", fail, MAX_EXAMPLE_CHARS)
            for c in _list(table.get("counterexamples", []), "counterexamples", fail)
        ),
        origin=origin,
        tell=_text(table["tell"], "tell", fail, MAX_TELL_CHARS) if "tell" in table else None,
    )


def _text(value: object, name: str, fail: _Fail, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise fail(f"'{name}' must be a non-empty string")
    if len(value) > limit:
        raise fail(f"'{name}' is longer than {limit} characters")
    return value


def _list(value: object, name: str, fail: _Fail) -> list[object]:
    if not isinstance(value, list):
        raise fail(f"'{name}' must be an array")
    return value


def _str_table(value: object, name: str, fail: _Fail) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise fail(f"'{name}' must be a table of string values, e.g. {{ manufacturer = \"axis\" }}")
    return dict(value)


def _example(value: object, fail: _Fail) -> Example:
    if not isinstance(value, dict) or "value" not in value or set(value) - _EXAMPLE_KEYS:
        raise fail('each example must be a table { value = "..." } with an optional expect = { ... }')
    text = value["value"]
    if not isinstance(text, str) or not text or len(text) > MAX_EXAMPLE_CHARS:
        raise fail("an example 'value' must be a non-empty string")
    return Example(value=text, expect=_str_table(value.get("expect", {}), "expect", fail))
