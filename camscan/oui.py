"""MAC address -> registrant of its IEEE block: curated camera-vendor table first, then netaddr."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from netaddr import EUI, NotRegisteredError

from camscan.models import MacInfo
from camscan.vendors import VendorDB

CURATED_PATH = "data/oui-camera.csv"
BLOCK_NAMES = {24: "MA-L", 28: "MA-M", 36: "MA-S"}
MAX_MAC_TEXT = 64
# Blocks the IEEE RA sub-assigns (MA-M/MA-S/IAB parents): that registrant says nothing about the device.
_RA_REGISTRANT = re.compile(r"^ieee registration authority$", re.IGNORECASE)

_COLON = re.compile(r"^[0-9a-f]{1,2}(?::[0-9a-f]{1,2}){5}$")
_DASH = re.compile(r"^[0-9a-f]{1,2}(?:-[0-9a-f]{1,2}){5}$")
_DOTTED = re.compile(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$")
_BARE = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class CuratedBlock:
    """One row of the curated table."""

    prefix: int  # the block's top `bits` bits
    bits: int
    registrant: str
    vendor: str
    source: str


def normalise_mac(text: str) -> str | None:
    """Return "aa:bb:cc:dd:ee:ff" for a MAC in :, -, . or bare-hex notation (any case); None if not a MAC."""
    if len(text) > MAX_MAC_TEXT:
        return None
    s = text.strip().lower()
    if _COLON.match(s) or _DASH.match(s):
        octets = re.split(r"[:-]", s)
        return ":".join(o.zfill(2) for o in octets)
    if _DOTTED.match(s) or _BARE.match(s):
        digits = s.replace(".", "")
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return None


def lookup(mac: str, vendors: VendorDB | None = None) -> MacInfo:
    """Who registered this MAC's block, and which vendor id that is. Never raises on bad input."""
    db = vendors or VendorDB.builtin()
    norm = normalise_mac(mac)
    if norm is None:
        text = mac.strip()[:MAX_MAC_TEXT]
        return MacInfo(mac=text, registrant=None, vendor=None, locally_administered=False)
    value = int(norm.replace(":", ""), 16)
    first = value >> 40
    local = bool(first & 0x02)
    # Randomised (locally administered), group and all-zero addresses carry no maker.
    if local or first & 0x01 or value == 0:
        return MacInfo(mac=norm, registrant=None, vendor=None, locally_administered=local)
    block = _curated_match(value)
    if block is not None:
        return MacInfo(
            mac=norm,
            registrant=block.registrant,
            vendor=block.vendor,
            locally_administered=False,
            block=f"{BLOCK_NAMES[block.bits]} {_prefix_text(block.prefix, block.bits)}",
        )
    found = _ieee(*_ieee_key(value))
    if found is None:
        return MacInfo(mac=norm, registrant=None, vendor=None, locally_administered=False)
    registrant, block_name = found
    return MacInfo(
        mac=norm,
        registrant=registrant,
        vendor=db.from_name(registrant),
        locally_administered=False,
        block=block_name,
    )


def curated_blocks() -> tuple[CuratedBlock, ...]:
    """Every row of the curated camera-vendor table, in file order."""
    return _curated()[0]


def _curated_match(value: int) -> CuratedBlock | None:
    index = _curated()[1]
    for bits in (36, 28, 24):
        block = index.get((bits, value >> (48 - bits)))
        if block is not None:
            return block
    return None


@cache
def _curated() -> tuple[tuple[CuratedBlock, ...], dict[tuple[int, int], CuratedBlock]]:
    text = resources.files("camscan").joinpath(CURATED_PATH).read_text(encoding="utf-8")
    known = VendorDB.builtin().ids()
    lines = text.splitlines()
    # Comments are allowed only above the header, so row numbers stay file line numbers.
    start = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    reader = csv.DictReader(lines[start:])
    rows = tuple(_parse_row(n, row, known) for n, row in enumerate(reader, start + 2))
    index: dict[tuple[int, int], CuratedBlock] = {}
    for row in rows:
        key = (row.bits, row.prefix)
        if key in index:
            raise ValueError(f"{CURATED_PATH}: duplicate block {_prefix_text(row.prefix, row.bits)}")
        index[key] = row
    return rows, index


def _parse_row(n: int, row: dict[str | None, str | None], known: frozenset[str]) -> CuratedBlock:
    where = f"{CURATED_PATH} row {n}"
    try:
        hexdigits = (row["prefix"] or "").replace(":", "")
        bits = int(row["bits"] or "")
        registrant = (row["registrant"] or "").strip()
        vendor = (row["vendor"] or "").strip()
        source = (row["source"] or "").strip()
    except (KeyError, ValueError):
        raise ValueError(f"{where}: needs prefix, bits, registrant, vendor, source") from None
    if bits not in BLOCK_NAMES or len(hexdigits) * 4 != bits or not re.fullmatch(r"[0-9A-Fa-f]+", hexdigits):
        raise ValueError(f"{where}: prefix {row['prefix']!r} does not fit {bits} bits")
    if vendor not in known or not registrant or not source:
        raise ValueError(f"{where}: unknown vendor {vendor!r} or empty registrant/source")
    return CuratedBlock(int(hexdigits, 16), bits, registrant, vendor, source)


def _ieee_key(value: int) -> tuple[int, bool]:
    oui = value >> 24
    # IAB blocks are 36-bit slices of two IEEE-RA MA-Ls; elsewhere the MA-L alone decides.
    if oui in (0x0050C2, 0x40D855):
        return value >> 12, True
    return oui, False


@lru_cache(maxsize=8192)
def _ieee(key: int, iab: bool) -> tuple[str, str] | None:
    if iab:
        eui = EUI(key << 12)
        try:
            org = str(eui.iab.registration().org).strip()
            return org, f"IAB {_prefix_text(key, 36)}"
        except NotRegisteredError:
            return None
    eui = EUI(key << 24)
    try:
        org = str(eui.oui.registration(0).org).strip()
    except NotRegisteredError:
        return None
    if not org or _RA_REGISTRANT.match(org):
        return None
    return org, f"MA-L {_prefix_text(key, 24)}"


def _prefix_text(prefix: int, bits: int) -> str:
    digits = f"{prefix:0{bits // 4}X}"
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def warm() -> None:
    """Load the IEEE registry index now (about 0.3 s on first use): a scan does it while it waits on hosts."""
    _ieee(0x000000, False)
