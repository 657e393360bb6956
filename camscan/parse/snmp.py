"""IP-MIB neighbour-table rows (OID, value) -> ip -> MAC; pure, no I/O, every row untrusted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Literal

from camscan.oui import normalise_mac

# IP-MIB (RFC 4293) ipNetToPhysicalTable, index ifIndex.addrType.addrLen.addr...
PHYSICAL_ADDRESS = (1, 3, 6, 1, 2, 1, 4, 35, 1, 4)  # ipNetToPhysicalPhysAddress
PHYSICAL_TYPE = (1, 3, 6, 1, 2, 1, 4, 35, 1, 6)  # ipNetToPhysicalType
# RFC 1213 / RFC 4293 (deprecated) ipNetToMediaTable, index ifIndex.a.b.c.d
MEDIA_ADDRESS = (1, 3, 6, 1, 2, 1, 4, 22, 1, 2)  # ipNetToMediaPhysAddress
MEDIA_TYPE = (1, 3, 6, 1, 2, 1, 4, 22, 1, 4)  # ipNetToMediaType

PHYSICAL_COLUMNS = (PHYSICAL_ADDRESS, PHYSICAL_TYPE)
MEDIA_COLUMNS = (MEDIA_ADDRESS, MEDIA_TYPE)
_COLUMNS = (*PHYSICAL_COLUMNS, *MEDIA_COLUMNS)

MAX_ROWS = 4 * 65_536  # rows fed to one decoder (both tables, both columns); the rest are counted, not read
MAX_OID_LENGTH = 128  # sub-identifiers: SNMP's own limit (RFC 2578 section 3.5)
MAX_IF_INDEX = 2_147_483_647  # InterfaceIndex is 1..2^31-1
ADDRESS_TYPE_IPV4 = 1  # InetAddressType ipv4(1); ipv4z, ipv6... are skipped
TYPE_INVALID = 2  # ipNetToPhysicalType / ipNetToMediaType invalid(2): the entry is being removed
MAC_BYTES = 6

Row = tuple[Sequence[int], bytes | int]
Key = tuple[int, IPv4Address]  # (ifIndex, address)


@dataclass(slots=True)
class _Table:
    """One table's usable rows: addresses and the entries its type column calls invalid."""

    macs: dict[Key, str] = field(default_factory=dict)
    invalid: set[Key] = field(default_factory=set)
    ipv4_rows: int = 0  # rows with a well-formed IPv4 index, kept or not


@dataclass(slots=True)
class NeighbourTable:
    """Accumulates rows of ipNetToPhysicalTable and ipNetToMediaTable into ip -> MAC."""

    keep: Callable[[IPv4Address], bool] | None = None  # rows for other addresses are dropped on arrival
    max_rows: int = MAX_ROWS
    rows: int = 0  # rows offered
    rejected: int = 0  # rows not used: malformed index or value, other address family, not a unicast MAC
    physical: _Table = field(default_factory=_Table)
    media: _Table = field(default_factory=_Table)

    def add(self, oid: Sequence[int], value: bytes | int) -> bool:
        """Take one row; False when it was not usable (or past the row cap)."""
        self.rows += 1
        if self.rows > self.max_rows or len(oid) > MAX_OID_LENGTH:
            self.rejected += 1
            return False
        used = self._add(tuple(oid), value)
        if not used:
            self.rejected += 1
        return used

    def _add(self, oid: tuple[int, ...], value: bytes | int) -> bool:
        for column in _COLUMNS:
            if oid[: len(column)] == column:
                break
        else:
            return False
        index = oid[len(column) :]
        physical = column in PHYSICAL_COLUMNS
        key = _physical_key(index) if physical else _media_key(index)
        if key is None:
            return False
        table = self.physical if physical else self.media
        table.ipv4_rows += 1
        if self.keep is not None and not self.keep(key[1]):
            return False
        if column in (PHYSICAL_TYPE, MEDIA_TYPE):
            if type(value) is not int:
                return False
            if value == TYPE_INVALID:
                table.invalid.add(key)
            return True
        mac = unicast_mac(value)
        if mac is None:
            return False
        table.macs[key] = mac
        return True

    def seen_ipv4(self, table: Literal["physical", "media"]) -> bool:
        """Whether that table had any row indexed by an IPv4 address (in a kept network or not)."""
        return (self.physical if table == "physical" else self.media).ipv4_rows > 0

    def macs(self) -> dict[str, str]:
        """ip -> MAC: ipNetToPhysical first, ipNetToMedia for the rest; lowest ifIndex wins a clash."""
        out: dict[str, str] = {}
        for table in (self.physical, self.media):
            for key in sorted(table.macs):
                if key not in table.invalid:
                    out.setdefault(str(key[1]), table.macs[key])
        return out


def _physical_key(index: tuple[int, ...]) -> Key | None:
    """(ifIndex, ip) from ifIndex.addrType.addrLen.a.b.c.d; None unless it is exactly an IPv4 index."""
    if len(index) != 7 or index[1] != ADDRESS_TYPE_IPV4 or index[2] != 4:
        return None
    return _key(index[0], index[3:])


def _media_key(index: tuple[int, ...]) -> Key | None:
    """(ifIndex, ip) from ifIndex.a.b.c.d."""
    if len(index) != 5:
        return None
    return _key(index[0], index[1:])


def _key(if_index: int, octets: tuple[int, ...]) -> Key | None:
    if not 1 <= if_index <= MAX_IF_INDEX or not all(0 <= o <= 255 for o in octets):
        return None
    return if_index, IPv4Address(bytes(octets))


def unicast_mac(value: bytes | int) -> str | None:
    """The "aa:bb:cc:dd:ee:ff" form of a 6-byte unicast, non-zero address; None for anything else."""
    if type(value) is not bytes or len(value) != MAC_BYTES:
        return None
    if value[0] & 0x01 or not any(value):  # group bit: multicast and broadcast
        return None
    return normalise_mac(value.hex())


def decode_neighbours(
    rows: Iterable[Row], keep: Callable[[IPv4Address], bool] | None = None
) -> dict[str, str]:
    """ip -> MAC from both tables' rows, in any order (see NeighbourTable)."""
    table = NeighbourTable(keep=keep)
    for oid, value in rows:
        table.add(oid, value)
    return table.macs()
