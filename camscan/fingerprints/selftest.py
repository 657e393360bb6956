"""Recog-style self-test: every entry is checked against its own examples and the vocabularies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from camscan import fields
from camscan.fingerprints.model import BUILTIN_ORIGIN, Fingerprint, one_line
from camscan.models import CLAIM_KEYS, DEVICE_TYPES, STRENGTHS

if TYPE_CHECKING:
    from camscan.fingerprints.db import FingerprintDB

GROUP_KEYS = frozenset({"model", "firmware", "serial", "hostname"})
VENDOR_KEYS = ("manufacturer", "brand")
LONG_FIELDS = fields.LONG_FIELDS
_RANK = {strength: rank for rank, strength in enumerate(reversed(STRENGTHS))}  # weak 0 … strong 2


def self_test(db: FingerprintDB, vendor_ids: Collection[str]) -> list[str]:
    """Every defect in the database as one human-readable line each; [] means it passes."""
    failures: list[str] = []
    counts = Counter(fp.id for fp in db.entries())
    for fid, n in sorted(counts.items()):
        if n > 1:
            origins = sorted({fp.origin for fp in db.entries() if fp.id == fid})
            where = ", ".join(origins)
            failures.append(f"{where}: fingerprint '{fid}': id used {n} times (ids must be unique)")
    for fp in db.entries():
        failures.extend(f"{fp.origin}: fingerprint '{fp.id}': {p}" for p in check_entry(db, fp, vendor_ids))
    return failures


def check_entry(db: FingerprintDB, fp: Fingerprint, vendor_ids: Collection[str] | None) -> list[str]:
    """What is wrong with one entry, judged inside db (for shadowing); vendor_ids None skips that check."""
    problems = _vocabulary(fp, vendor_ids)
    if not fp.examples:
        problems.append("has no examples (each entry needs at least one)")
    for example in fp.examples:
        problems.extend(_example_problems(db, fp, example.value, example.expect))
    for counter in fp.counterexamples:
        if fp.pattern.search(counter[: db.cap(fp.field)]):
            problems.append(f"counterexample {_quote(counter)} matches the pattern")
    return [one_line(p) for p in problems]


def _vocabulary(fp: Fingerprint, vendor_ids: Collection[str] | None) -> list[str]:
    problems: list[str] = []
    groups = set(fp.pattern.groupindex)
    for key in sorted(set(fp.claims) - CLAIM_KEYS):
        problems.append(f"unknown claim key '{key}' (allowed: {', '.join(sorted(CLAIM_KEYS))})")
    for key in sorted(groups - GROUP_KEYS):
        problems.append(f"named group '{key}' is not one of {', '.join(sorted(GROUP_KEYS))}")
    for key in sorted(groups & set(fp.claims)):
        problems.append(f"'{key}' is both a static claim and a named group")
    if not fp.claims and not groups:
        problems.append("claims nothing (give claims or named groups)")
    if vendor_ids is not None:
        for key in VENDOR_KEYS:
            value = fp.claims.get(key)
            if value is not None and value not in vendor_ids:
                problems.append(f"unknown vendor id '{value}' in {key}")
    device_type = fp.claims.get("device_type")
    if device_type is not None and device_type not in DEVICE_TYPES:
        problems.append(f"unknown device_type '{device_type}' (allowed: {', '.join(sorted(DEVICE_TYPES))})")
    if fp.strength not in STRENGTHS:
        problems.append(f"strength must be one of {', '.join(STRENGTHS)}")
    declared = fields.get(fp.field)
    if declared is None:
        problems.append(f"unknown field {fp.field!r} (see camscan/fields.py)")
    elif fp.strength in _RANK and _RANK[fp.strength] > _RANK[declared.max_strength]:
        limit = "only be weak" if declared.max_strength == "weak" else f"be at most {declared.max_strength}"
        problems.append(f"entries for {fp.field} may {limit}")
    return problems


def _example_problems(db: FingerprintDB, fp: Fingerprint, value: str, expect: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    if not fp.pattern.search(value[: db.cap(fp.field)]):
        return [f"example {_quote(value)} does not match the pattern"]
    first = db.match(fp.field, value)
    if first is None or first.fingerprint != fp.id:
        other = first.fingerprint if first else "?"
        if _is_override(db, fp, other):
            return []
        return [f"example {_quote(value)} is shadowed: entry '{other}' matches it first"]
    for key, wanted in sorted(expect.items()):
        got = first.claims.get(key)
        if got != wanted:
            problems.append(f"example {_quote(value)} yields {key}={got!r}, expected {wanted!r}")
    return problems


def _is_override(db: FingerprintDB, shadowed: Fingerprint, winner_id: str) -> bool:
    """A user entry placed before a built-in one overrides it on purpose: not a defect."""
    winners = [fp for fp in db.entries() if fp.id == winner_id]
    return shadowed.origin.startswith(BUILTIN_ORIGIN) and all(
        not fp.origin.startswith(BUILTIN_ORIGIN) for fp in winners
    )


def _quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
