"""parse/snmp.py: IP-MIB neighbour-table rows from a real Net-SNMP agent and from a hostile one."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from camscan.parse.snmp import (
    MEDIA_ADDRESS,
    PHYSICAL_ADDRESS,
    PHYSICAL_TYPE,
    NeighbourTable,
    Row,
    decode_neighbours,
    unicast_mac,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "snmp"
FUZZ = settings(max_examples=300, deadline=None)
_LINE = re.compile(r'^\.(?P<oid>[-\d.]+) = (?:Hex-STRING: (?P<hex>[0-9A-F ]*)|INTEGER: (?P<int>-?\d+)|"")$')


def recorded(name: str) -> list[Row]:
    """Rows from a fixture in Net-SNMP's numeric output format."""
    rows: list[Row] = []
    for line in (FIXTURES / name).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        found = _LINE.match(line)
        assert found, f"unparsed fixture line: {line!r}"
        oid = tuple(int(part) for part in found["oid"].split("."))
        value: bytes | int = int(found["int"]) if found["int"] else bytes.fromhex(found["hex"] or "")
        rows.append((oid, value))
    return rows


def test_net_snmp_agent_gives_each_unicast_ipv4_neighbour() -> None:
    assert decode_neighbours(recorded("netsnmp-5.9.3-neighbours.txt")) == {
        "10.9.0.2": "1a:ba:36:44:a8:1b",  # the scanner itself, as the router sees it
        "10.9.1.5": "44:19:b6:00:00:05",
        "10.9.2.7": "3c:ef:8c:00:00:07",
        "10.9.3.9": "e0:50:8b:00:00:09",
        "10.9.3.12": "02:11:22:33:44:55",  # locally administered: kept (the report marks it randomised)
    }  # no multicast, zero or broadcast MAC, no IPv6 neighbour, no incomplete or failed entry


def test_only_kept_networks_are_kept_and_the_rest_counted() -> None:
    net = IPv4Network("10.9.1.0/24")
    table = NeighbourTable(keep=lambda ip: ip in net)
    for oid, value in recorded("netsnmp-5.9.3-neighbours.txt"):
        table.add(oid, value)
    assert table.macs() == {"10.9.1.5": "44:19:b6:00:00:05"}
    # used: 10.9.1.5's MAC in each table, and the type rows of 10.9.1.5-8 in each
    assert table.rows == 36 and table.rejected == 36 - 10
    assert table.seen_ipv4("physical") and table.seen_ipv4("media")


def test_hostile_rows_are_skipped_and_clashes_resolved() -> None:
    assert decode_neighbours(recorded("hostile-rows.txt")) == {
        "10.0.0.11": "44:19:b6:00:00:0b",
        "10.0.0.13": "44:19:b6:00:00:0d",
        "10.0.0.14": "44:19:b6:00:00:0e",
    }


def test_the_older_table_alone_is_enough() -> None:
    media_only = [
        (oid, v)
        for oid, v in recorded("netsnmp-5.9.3-neighbours.txt")
        if oid[:9] != (1, 3, 6, 1, 2, 1, 4, 35, 1)
    ]
    table = NeighbourTable()
    for oid, value in media_only:
        table.add(oid, value)
    assert not table.seen_ipv4("physical") and table.seen_ipv4("media")
    assert table.macs()["10.9.1.5"] == "44:19:b6:00:00:05" and len(table.macs()) == 5


def test_row_cap_stops_reading() -> None:
    rows = [
        ((*PHYSICAL_ADDRESS, 1, 1, 4, 10, 0, n // 256, n % 256), bytes([0, 0x80, 0xF0, 0, n // 256, n % 256]))
        for n in range(1, 101)
    ]
    table = NeighbourTable(max_rows=10)
    for oid, value in rows:
        table.add(oid, value)
    assert len(table.macs()) == 10 and table.rows == 100 and table.rejected == 90


def test_an_invalid_type_seen_before_the_address_still_drops_it() -> None:
    index = (3, 1, 4, 10, 0, 0, 8)
    rows: list[Row] = [
        ((*PHYSICAL_TYPE, *index), 2),
        ((*PHYSICAL_ADDRESS, *index), bytes.fromhex("4419b6000008")),
    ]
    assert decode_neighbours(rows) == {}


def test_unicast_mac() -> None:
    assert unicast_mac(bytes.fromhex("4419B6123456")) == "44:19:b6:12:34:56"
    for bad in (
        b"",
        bytes(6),
        b"\xff" * 6,
        bytes.fromhex("01005e000001"),
        bytes.fromhex("4419b612345600"),
        5,
    ):
        assert unicast_mac(bad) is None


_SUB_ID = st.one_of(st.integers(0, 300), st.integers(-(2**70), 2**70))
_OID = st.one_of(
    st.lists(_SUB_ID, max_size=40).map(tuple),
    st.tuples(
        st.sampled_from([PHYSICAL_ADDRESS, PHYSICAL_TYPE, MEDIA_ADDRESS]), st.lists(_SUB_ID, max_size=20)
    ).map(lambda parts: (*parts[0], *parts[1])),
    st.tuples(
        st.integers(-5, 2**32), st.integers(0, 3), st.integers(0, 20), st.lists(_SUB_ID, max_size=20)
    ).map(lambda p: (*PHYSICAL_ADDRESS, p[0], p[1], p[2], *p[3])),
)
_VALUE = st.one_of(st.binary(max_size=80), st.integers(-(2**70), 2**70))


@FUZZ
@given(st.lists(st.tuples(_OID, _VALUE), max_size=60))
def test_fuzz_never_raises_and_yields_only_unicast_ipv4(rows: list[Row]) -> None:
    out = decode_neighbours(rows, keep=lambda ip: ip.is_private)
    for ip, mac in out.items():
        assert IPv4Address(ip).is_private
        assert re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac)
        assert not int(mac[:2], 16) & 1 and mac != "00:00:00:00:00:00"
