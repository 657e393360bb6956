"""Canonical vendor ids, the names they go by, and who makes what for whom (data/vendors.toml)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from camscan.inputs import InputError
from camscan.tomltables import TableReader

KINDS = frozenset({"maker", "brand", "other"})
RELATIONS = frozenset({"subsidiary", "product-line", "oem", "former-subsidiary"})
# Relations that make a brand part of its parent's group (and so of a list entry's "affiliates").
AFFILIATE_RELATIONS = frozenset({"subsidiary", "product-line"})
CONFIDENCES = frozenset({"strong", "weak"})
NO_RELATION = "none"

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_RELATION_KEYS = frozenset({"parent", "relation", "relation_source", "relation_confidence"})
_KEYS = (
    frozenset({"name", "kind", "surveillance", "camera_oui", "camera_registrants", "aliases"})
    | _RELATION_KEYS
)
# Free text from devices is untrusted; names longer than this are cut before matching.
MAX_NAME = 256


class VendorError(InputError):
    """Vendor data is malformed (one-line message)."""


_READ = TableReader(VendorError)


@dataclass(frozen=True, slots=True)
class Vendor:
    """One canonical vendor and, for a brand, how it relates to its parent."""

    id: str
    name: str
    kind: str
    surveillance: bool
    aliases: tuple[str, ...]
    parent: str | None
    relation: str | None
    relation_source: str | None
    relation_confidence: str
    camera_oui: bool = False  # its MAC blocks are mostly surveillance gear, so a MAC alone suggests a camera
    camera_registrants: tuple[str, ...] = ()  # registrant names of its video-only blocks (regexes)

    @property
    def short_name(self) -> str:
        """The common name without the legal name in brackets: "Hikvision"."""
        return self.name.split(" (", 1)[0]


class VendorDB:
    """The vendor vocabulary with alias matching and OEM-relation queries."""

    def __init__(self, vendors: Mapping[str, Vendor]) -> None:
        self._vendors = dict(vendors)
        self._ids = frozenset(self._vendors)  # asked per evidence item by fusion: built once
        _check_parents(self._vendors)
        self._patterns = tuple(
            (vid, re.compile(alias, re.IGNORECASE)) for vid, v in self._vendors.items() for alias in v.aliases
        )
        self._from_name = lru_cache(maxsize=4096)(self._match_name)
        self._affiliates: dict[str, frozenset[str]] = {}  # asked per device and list entry: worked out once

    @classmethod
    def builtin(cls) -> VendorDB:
        """The vendor data shipped with camscan (parsed once)."""
        return _builtin()

    @classmethod
    def from_toml(cls, text: str, origin: str = "vendors.toml") -> VendorDB:
        """Parse vendor data in the vendors.toml format."""
        doc = _READ.load(origin, text)
        table = doc.get("vendor")
        if not isinstance(table, dict) or not table:
            raise VendorError(f"{origin}: no [vendor.<id>] tables")
        return cls({vid: _parse_vendor(origin, vid, body) for vid, body in table.items()})

    def ids(self) -> frozenset[str]:
        """Every known vendor id."""
        return self._ids

    def get(self, vid: str) -> Vendor:
        """The vendor with this id (KeyError if unknown)."""
        return self._vendors[vid]

    def from_name(self, text: str) -> str | None:
        """Map a registrant or free-text maker name to a vendor id; None if nothing matches."""
        cleaned = " ".join(text[:MAX_NAME].split())
        return self._from_name(cleaned) if cleaned else None

    def mac_suggests_camera(self, vid: str, registrant: str) -> bool:
        """Whether a MAC from this vendor's block named `registrant` points to surveillance gear."""
        vendor = self._vendors.get(vid)
        if vendor is None or not vendor.surveillance:
            return False
        return vendor.camera_oui or any(
            re.search(p, registrant, re.IGNORECASE) for p in vendor.camera_registrants
        )

    def maker_of(self, vid: str) -> str:
        """Follow the parent chain to its end: ezviz -> hikvision; a maker maps to itself."""
        return self._chain(vid)[-1]

    def affiliates_of(self, vid: str) -> frozenset[str]:
        """vid plus every vendor whose parent chain reaches it through subsidiary/product-line links only."""
        known = self._affiliates.get(vid)
        if known is None:
            known = self._affiliates[vid] = self._find_affiliates(vid)
        return known

    def _find_affiliates(self, vid: str) -> frozenset[str]:
        self.get(vid)
        found = {vid}
        for other in self._vendors:
            current = other
            while (v := self._vendors[current]).parent is not None and v.relation in AFFILIATE_RELATIONS:
                current = v.parent
                if current == vid:
                    found.add(other)
                    break
        return frozenset(found)

    def relation_note(self, vid: str) -> str | None:
        """One phrase on how a brand relates to its parent, e.g. "ezviz is a Hikvision subsidiary"."""
        v = self.get(vid)
        if v.parent is None or v.relation is None:
            return None
        parent = self.get(v.parent).short_name
        verb = "is probably" if v.relation_confidence == "weak" else "is"
        what = {
            "subsidiary": f"a {parent} subsidiary",
            "product-line": f"a {parent} product line",
            "oem": f"an OEM customer of {parent}",
            "former-subsidiary": f"a former {parent} subsidiary",
        }[v.relation]
        return f"{vid} {verb} {what}"

    def _chain(self, vid: str) -> list[str]:
        chain = [vid]
        while (parent := self.get(chain[-1]).parent) is not None:
            chain.append(parent)
        return chain

    def _match_name(self, text: str) -> str | None:
        best: tuple[int, str] | None = None
        for vid, pattern in self._patterns:
            m = pattern.search(text)
            # Longest matched text wins; ties keep file order.
            if m is not None and (best is None or len(m.group(0)) > best[0]):
                best = (len(m.group(0)), vid)
        return best[1] if best else None


@cache
def _builtin() -> VendorDB:
    text = resources.files("camscan").joinpath("data/vendors.toml").read_text(encoding="utf-8")
    return VendorDB.from_toml(text, "camscan/data/vendors.toml")


def _parse_vendor(origin: str, vid: str, body: object) -> Vendor:
    where = f"{origin}: vendor {vid!r}"
    if not _ID.match(vid):
        raise _READ.fail(where, "id must be a lowercase slug")
    if not isinstance(body, dict):
        raise _READ.fail(where, "must be a table")
    _READ.check_keys(where, body, _KEYS)
    kind = _READ.text(where, body, "kind")
    if kind not in KINDS:
        raise _READ.fail(where, f"kind must be one of {', '.join(sorted(KINDS))}")
    surveillance = body.get("surveillance")
    if not isinstance(surveillance, bool):
        raise _READ.fail(where, "'surveillance' must be true or false")
    parent, relation, source, confidence = _relation(where, body)
    return Vendor(
        vid,
        _READ.text(where, body, "name"),
        kind,
        surveillance,
        _regexes(where, body, "aliases", required=True),
        parent,
        relation,
        source,
        confidence,
        _READ.flag(where, body, "camera_oui", surveillance),
        _regexes(where, body, "camera_registrants"),
    )


def _relation(where: str, body: Mapping[str, object]) -> tuple[str | None, str | None, str | None, str]:
    """parent, relation, relation_source and relation_confidence: all or none of the first three."""
    parent = _READ.optional_text(where, body, "parent")
    relation = _READ.optional_text(where, body, "relation")
    source = _READ.optional_text(where, body, "relation_source")
    if (parent is None) != (relation is None) or (parent is None) != (source is None):
        raise _READ.fail(where, "parent, relation and relation_source go together")
    if relation is not None and relation not in RELATIONS:
        raise _READ.fail(where, f"relation must be one of {', '.join(sorted(RELATIONS))}")
    confidence = _READ.optional_text(where, body, "relation_confidence")
    if confidence is not None and (parent is None or confidence not in CONFIDENCES):
        raise _READ.fail(where, "relation_confidence must be strong or weak, and only with a parent")
    return parent, relation, source, confidence or (NO_RELATION if parent is None else "strong")


def _regexes(where: str, body: Mapping[str, object], key: str, *, required: bool = False) -> tuple[str, ...]:
    """A list of regexes that compile (a non-empty one when `required`)."""
    found = _READ.strings(where, body, key, line=False, nonempty=required) or ()
    if required and not found:
        raise _READ.fail(where, f"'{key}' must be a non-empty list of regexes")
    for pattern in found:
        if not pattern:
            raise _READ.fail(where, f"'{key}' holds an empty regex")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _READ.fail(where, f"{key} {pattern!r} is not a valid regex: {exc}") from None
    return found


def _check_parents(vendors: Mapping[str, Vendor]) -> None:
    for vid, v in vendors.items():
        seen = {vid}
        current = v
        while current.parent is not None:
            if current.parent not in vendors:
                raise VendorError(f"vendor {current.id!r}: unknown parent {current.parent!r}")
            if current.parent in seen:
                raise VendorError(f"vendor {vid!r}: parent chain loops through {current.parent!r}")
            seen.add(current.parent)
            current = vendors[current.parent]
