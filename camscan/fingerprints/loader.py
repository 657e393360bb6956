"""Parse one fingerprint TOML file into entries, rejecting anything structurally wrong."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from camscan.fields import FIELDS
from camscan.fingerprints.linear import FLAGS, LinearPattern, PatternError
from camscan.fingerprints.model import Example, Fingerprint, FingerprintError
from camscan.inputs import read_bytes
from camscan.models import STRENGTHS
from camscan.tomltables import TableReader

MAX_FILE_BYTES = 1 << 20
MAX_PATTERN_CHARS = 2000
MAX_EXAMPLE_CHARS = 65536
MAX_TELL_CHARS = 120
MAX_ENTRIES = 10_000  # per file
MAX_EXAMPLES = 1000  # examples, and counterexamples, per entry

_FIELD_RE = re.compile(r"^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_FILE_KEYS = frozenset({"field", "fingerprint"})
_REQUIRED = ("id", "pattern", "claims", "strength", "source")
_OPTIONAL = frozenset({"flags", "examples", "counterexamples", "tell"})
_EXAMPLE_KEYS = frozenset({"value", "expect"})

_READ = TableReader(FingerprintError)


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
    doc = _READ.load(origin, text)
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
    entries = _READ.tables(origin, doc, "fingerprint", limit=MAX_ENTRIES)
    return [_entry(e, field, origin, n) for n, e in enumerate(entries, 1)]


def _entry(table: Mapping[str, Any], field: str, origin: str, number: int) -> Fingerprint:
    raw_id = table.get("id")
    if not isinstance(raw_id, str) or not _ID_RE.match(raw_id):
        raise FingerprintError(
            origin, f"entry #{number}: 'id' must be a lowercase slug (a-z 0-9 . _ -), at most 80 characters"
        )
    fid = raw_id
    where = f"{origin}: fingerprint '{fid}'"
    _READ.check_keys(where, table, _OPTIONAL, _REQUIRED)
    pattern = _READ.text(where, table, "pattern", limit=MAX_PATTERN_CHARS)
    flags = table.get("flags", "")
    if not isinstance(flags, str) or any(ch not in FLAGS for ch in flags):
        raise _READ.fail(where, f"'flags' must be a string of {''.join(FLAGS)}")
    try:
        compiled = LinearPattern(pattern, flags)
    except PatternError as exc:
        raise _READ.fail(where, f"pattern does not compile: {exc}") from None
    strength = table["strength"]
    if strength not in STRENGTHS:
        raise _READ.fail(where, f"strength must be one of {', '.join(STRENGTHS)}, not {strength!r}")
    counterexamples = _READ.strings(where, table, "counterexamples", max_items=MAX_EXAMPLES, line=False) or ()
    return Fingerprint(
        id=fid,
        field=field,
        pattern=compiled,
        claims=dict(_READ.pairs(where, table, "claims", line=False)),
        strength=strength,
        source=_READ.text(where, table, "source", limit=1000),
        examples=tuple(
            _example(where, e) for e in _READ.tables(where, table, "examples", limit=MAX_EXAMPLES)
        ),
        counterexamples=tuple(_example_text(where, c) for c in counterexamples),
        origin=origin,
        tell=_READ.text(where, table, "tell", limit=MAX_TELL_CHARS) if "tell" in table else None,
    )


def _example_text(where: str, text: str) -> str:
    if not text or len(text) > MAX_EXAMPLE_CHARS:
        raise _READ.fail(
            where, f"an example must be a non-empty string of at most {MAX_EXAMPLE_CHARS} characters"
        )
    return text


def _example(where: str, value: Mapping[str, Any]) -> Example:
    if "value" not in value or set(value) - _EXAMPLE_KEYS or not isinstance(value["value"], str):
        raise _READ.fail(
            where, 'each example must be a table { value = "..." } with an optional expect = { ... }'
        )
    return Example(
        value=_example_text(where, value["value"]),
        expect=dict(_READ.pairs(where, value, "expect", line=False)),
    )
