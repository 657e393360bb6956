"""What the fingerprint database covers: makers, OEM labels, entries and fields (pure; the CLI prints it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from camscan import fields
from camscan.fingerprints.db import FingerprintDB
from camscan.models import SURVEILLANCE_TYPES
from camscan.vendors import VendorDB

NAMED_BY = ("manufacturer", "brand")


@dataclass(frozen=True, slots=True)
class FieldStats:
    """One observed field: its entries, the vendors they name, and its role in the vocabulary."""

    field: str
    role: str
    entries: int
    vendors: int
    generic: int


@dataclass(frozen=True, slots=True)
class Stats:
    """Coverage of one fingerprint database."""

    entries: int
    examples: int
    counterexamples: int
    makers: tuple[str, ...]  # surveillance makers some entry names
    labels: tuple[str, ...]  # surveillance brands (OEM labels, group brands) some entry names
    others: tuple[str, ...]  # non-surveillance vendors named (printers, routers…)
    generic: int  # entries that say camera, DVR or NVR without naming anyone
    formats: int  # entries on a maker's own value formats (firmware, serial, model numbers)
    fields: tuple[FieldStats, ...]
    name_rule_fields: tuple[str, ...]  # fields whose values are resolved by vendor name, entry or not
    vendor_names: int  # vendors such a name can resolve to


def compute(db: FingerprintDB, vendors: VendorDB) -> Stats:
    """Count what the database recognises."""
    entries = db.entries()
    named: set[str] = set()
    per_field: dict[str, list[int]] = {}
    field_vendors: dict[str, set[str]] = {}
    generic = formats = 0
    for fp in entries:
        names = {fp.claims[k] for k in NAMED_BY if fp.claims.get(k)}
        named |= names
        is_generic = not names and fp.claims.get("device_type") in SURVEILLANCE_TYPES
        generic += is_generic
        formats += bool(names) and fields.role(fp.field) == "format"
        counts = per_field.setdefault(fp.field, [0, 0])
        counts[0] += 1
        counts[1] += is_generic
        field_vendors.setdefault(fp.field, set()).update(names)
    known = [v for v in sorted(named) if v in vendors.ids()]
    surveillance = [v for v in known if vendors.get(v).surveillance]
    name_rules = tuple(sorted(f for f, rule in fields.CLAIM_RULES.items() if rule.kind == "name"))
    return Stats(
        entries=len(entries),
        examples=sum(len(fp.examples) for fp in entries),
        counterexamples=sum(len(fp.counterexamples) for fp in entries),
        makers=tuple(v for v in surveillance if vendors.get(v).kind == "maker"),
        labels=tuple(v for v in surveillance if vendors.get(v).kind != "maker"),
        others=tuple(v for v in known if not vendors.get(v).surveillance),
        generic=generic,
        formats=formats,
        fields=tuple(
            FieldStats(f, fields.role(f), n, len(field_vendors[f]), g)
            for f, (n, g) in sorted(per_field.items())
        ),
        name_rule_fields=name_rules,
        vendor_names=len(vendors.ids()),
    )


def render(stats: Stats, list_vendors: bool = False) -> list[str]:
    """The stats as lines of text."""
    lines = [
        f"{stats.entries} fingerprints, {stats.examples} examples, {stats.counterexamples} counterexamples",
        f"makers: {len(stats.makers)} surveillance makers and {len(stats.labels)} OEM labels named"
        f" ({len(stats.others)} other vendors)",
        f"generic: {stats.generic} entries say camera, DVR or NVR and name no maker",
        f"formats: {stats.formats} entries recognise a maker by its own value formats",
        f"fields: {len(stats.fields)} with fingerprints",
    ]
    roles = Counter(f.role for f in stats.fields)
    lines.append("  by role: " + ", ".join(f"{role} {n}" for role, n in sorted(roles.items())))
    width = max((len(f.field) for f in stats.fields), default=0)
    for f in stats.fields:
        extra = f", {f.generic} generic" if f.generic else ""
        lines.append(
            f"  {f.field:<{width}}  {f.role:<6}  {f.entries:>3} entries, {f.vendors:>3} vendors{extra}"
        )
    lines.append(
        f"by name: {', '.join(stats.name_rule_fields)} resolve to any of {stats.vendor_names} vendors"
        " (camscan/data/vendors.toml aliases)"
    )
    if list_vendors:
        lines.append("makers: " + " ".join(stats.makers))
        lines.append("labels: " + " ".join(stats.labels))
        lines.append("others: " + " ".join(stats.others))
    return lines
