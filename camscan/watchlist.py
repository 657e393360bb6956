"""Watchlists (built-in and user TOML files) and flagging a device's maker or brand against them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

from camscan.inputs import InputError, read_text
from camscan.models import WatchlistHit
from camscan.tomltables import TableReader, one_line
from camscan.vendors import VendorDB

SCOPES = frozenset({"video-surveillance", "all"})
MAX_FILE_BYTES = 1_000_000
MAX_ENTRIES = 1000
BUILTIN_ORIGIN = "builtin"

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_LIST_REQUIRED = ("id", "title", "source", "entry")
_LIST_OPTIONAL = ("description", "url", "updated")
_ENTRY_REQUIRED = ("vendor", "reason")
_ENTRY_OPTIONAL = ("scope", "affiliates", "source")


class WatchlistError(InputError):
    """A watchlist is unusable; the message is one line, "<path>: <what is wrong>"."""


_READ = TableReader(WatchlistError)


@dataclass(frozen=True, slots=True)
class Entry:
    """One vendor on a list, with how far the listing reaches."""

    vendor: str
    scope: str  # "video-surveillance" | "all"
    affiliates: bool  # subsidiaries and product lines included
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class Watchlist:
    """A named list of vendors with its citation."""

    id: str
    title: str
    description: str
    source: str
    url: str
    updated: str
    entries: tuple[Entry, ...]
    origin: str  # "builtin" or the user file's path


def builtin() -> dict[str, Watchlist]:
    """The lists shipped with camscan, by id."""
    return dict(_builtin())


def load_file(path: Path, vendors: VendorDB) -> Watchlist:
    """Read and check a user watchlist file."""
    text = read_text(path, "watchlist", MAX_FILE_BYTES, error=WatchlistError)
    return parse(text, str(path), vendors)


def parse(text: str, origin: str, vendors: VendorDB) -> Watchlist:
    """Parse watchlist TOML; origin names it in errors and in Watchlist.origin."""
    doc = _READ.load(origin, text)
    _READ.check_keys(origin, doc, _LIST_OPTIONAL, _LIST_REQUIRED)
    list_id = _string(origin, doc, "id")
    if not _ID.match(list_id):
        raise WatchlistError(f"{origin}: id {list_id!r} must be lowercase letters, digits, '-', '.', '_'")
    source = _string(origin, doc, "source")
    raw_entries = _READ.tables(origin, doc, "entry", limit=MAX_ENTRIES)
    if not raw_entries:
        raise WatchlistError(f"{origin}: empty list: add at least one [[entry]]")
    entries: list[Entry] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_entries, 1):
        entry = _parse_entry(f"{origin}: entry {n}", raw, source, vendors)
        if entry.vendor in seen:
            raise WatchlistError(f"{origin}: entry {n}: duplicate entry for vendor {entry.vendor!r}")
        seen.add(entry.vendor)
        entries.append(entry)
    return Watchlist(
        id=list_id,
        title=_string(origin, doc, "title"),
        description=_string(origin, doc, "description", ""),
        source=source,
        url=_string(origin, doc, "url", ""),
        updated=_string(origin, doc, "updated", ""),
        entries=tuple(entries),
        origin=origin,
    )


def select(specs: Sequence[str], vendors: VendorDB) -> list[Watchlist]:
    """Resolve --watchlist values: [] means every built-in list; each spec is a built-in id or a file path."""
    shipped = builtin()
    if not specs:
        return list(shipped.values())
    chosen: dict[str, Watchlist] = {}
    for spec in dict.fromkeys(specs):
        if spec in shipped:
            wl = shipped[spec]
        elif _looks_like_path(spec):
            wl = load_file(Path(spec), vendors)
        else:
            names = ", ".join(sorted(shipped))
            raise WatchlistError(f"{spec}: unknown watchlist (built-in: {names}; or a path to a .toml file)")
        if wl.id in chosen:
            first = chosen[wl.id].origin
            raise WatchlistError(f"{wl.origin}: duplicate watchlist id {wl.id!r} (also in {first})")
        chosen[wl.id] = wl
    return list(chosen.values())


def flag(
    manufacturer: str | None,
    brand: str | None,
    is_camera: bool,
    lists: Sequence[Watchlist],
    vendors: VendorDB,
    recognised_by: str | None = None,
) -> tuple[WatchlistHit, ...]:
    """One hit per list whose best entry covers this manufacturer or brand within its scope."""
    hits: list[WatchlistHit] = []
    for wl in lists:
        best: tuple[int, Entry, str] | None = None
        for entry in wl.entries:
            if entry.scope != "all" and not is_camera:
                continue
            found = _match(entry, manufacturer, brand, vendors)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], entry, found[1])
        if best is not None:
            _, entry, how = best
            reason = f"{how}; recognised by {recognised_by}" if recognised_by else how
            hits.append(WatchlistHit(list=wl.id, entity=entry.vendor, reason=reason, source=entry.source))
    return tuple(hits)


def _match(
    entry: Entry, manufacturer: str | None, brand: str | None, vendors: VendorDB
) -> tuple[int, str] | None:
    """(rank, how) when the entry covers the device; a lower rank is a more direct match."""
    group = vendors.affiliates_of(entry.vendor) if entry.affiliates else frozenset({entry.vendor})
    candidates = (("manufacturer", manufacturer, 0), ("brand", brand, 2))
    for role, vid, rank in candidates:
        if vid is None or vid not in group:
            continue
        if vid == entry.vendor:
            how = f"{role} {vid}"
            other = brand if role == "manufacturer" else None
            if other is not None and other != vid:
                note = vendors.relation_note(other) if other in vendors.ids() else None
                how += f" (brand {note})" if note else f" (brand {other})"
            return rank, how
        return rank + 1, f"{role} {vid} ({vendors.relation_note(vid)})"
    return None


@cache
def _builtin() -> Mapping[str, Watchlist]:
    vendors = VendorDB.builtin()
    folder = resources.files("camscan").joinpath("data/watchlists")
    found: dict[str, Watchlist] = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            wl = parse(item.read_text(encoding="utf-8"), f"camscan/data/watchlists/{item.name}", vendors)
            found[wl.id] = replace(wl, origin=BUILTIN_ORIGIN)
    return found


def _parse_entry(where: str, raw: Mapping[str, object], list_source: str, vendors: VendorDB) -> Entry:
    _READ.check_keys(where, raw, _ENTRY_OPTIONAL, _ENTRY_REQUIRED)
    vendor = _string(where, raw, "vendor")
    if vendor not in vendors.ids():
        close = difflib.get_close_matches(vendor.lower(), sorted(vendors.ids()), n=3, cutoff=0.75)
        by_name = vendors.from_name(vendor)
        hints = [*close, *([by_name] if by_name and by_name not in close else [])]
        hint = f" (did you mean {', '.join(hints)}?)" if hints else " (see camscan/data/vendors.toml for ids)"
        raise WatchlistError(f"{where}: unknown vendor id {vendor!r}{hint}")
    scope = _string(where, raw, "scope", "video-surveillance")
    if scope not in SCOPES:
        raise WatchlistError(f"{where}: scope {scope!r} must be 'video-surveillance' or 'all'")
    affiliates = _READ.flag(where, raw, "affiliates", False)
    return Entry(
        vendor=vendor,
        scope=scope,
        affiliates=affiliates,
        reason=_string(where, raw, "reason"),
        source=_string(where, raw, "source", list_source),
    )


def _string(where: str, table: Mapping[str, object], key: str, default: str | None = None) -> str:
    return one_line(_READ.text(where, table, key, default=default).strip())


def _looks_like_path(spec: str) -> bool:
    return "/" in spec or "\\" in spec or spec.endswith(".toml") or Path(spec).exists()
