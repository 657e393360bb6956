"""The walk loop on answers a hostile or broken agent could give (the real agent is in test_probe_snmp)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from pysnmp.proto.rfc1902 import Integer, ObjectName, OctetString
from pysnmp.proto.rfc1905 import EndOfMibView

from camscan.parse.snmp import PHYSICAL_ADDRESS, PHYSICAL_COLUMNS, PHYSICAL_TYPE, NeighbourTable
from camscan.probes.snmp import RouterMacs, _Columns, _one_line, _pick, _Stop
from camscan.snmpconfig import CommunityV2c, SnmpRouter
from camscan.status import Status


def row(column: tuple[int, ...], last_octet: int, value: object) -> tuple[ObjectName, object]:
    return ObjectName((*column, 3, 1, 4, 10, 0, 0, last_octet)), value


def mac(n: int) -> OctetString:
    return OctetString(bytes([0x44, 0x19, 0xB6, 0, 0, n]))


def test_an_answer_feeds_each_column_and_ends_the_finished_ones() -> None:
    walk, table = _Columns(list(PHYSICAL_COLUMNS), max_rows=100), NeighbourTable()
    walk.take(
        [row(PHYSICAL_ADDRESS, 1, mac(1)), row(PHYSICAL_TYPE, 1, Integer(3)),
         row(PHYSICAL_ADDRESS, 2, mac(2)), row(PHYSICAL_TYPE, 2, Integer(2)),  # invalid(2)
         (ObjectName((*PHYSICAL_ADDRESS[:-1], 5, 3)), Integer(0)), row(PHYSICAL_TYPE, 3, Integer(3))],
        table,
    )  # fmt: skip
    assert walk.active == [PHYSICAL_TYPE]  # the address column walked into the next column: done
    walk.take([(ObjectName((*PHYSICAL_TYPE, 9)), EndOfMibView())], table)
    assert walk.active == [] and table.macs() == {"10.0.0.1": "44:19:b6:00:00:01"}


def test_an_agent_going_backwards_is_stopped() -> None:
    walk, table = _Columns([PHYSICAL_ADDRESS], max_rows=100), NeighbourTable()
    walk.take([row(PHYSICAL_ADDRESS, 5, mac(5))], table)
    with pytest.raises(_Stop) as stop:
        walk.take([row(PHYSICAL_ADDRESS, 5, mac(5))], table)  # the same OID again: a walk without end
    assert stop.value.status is Status.PROTOCOL_ERROR


def test_an_endless_column_is_stopped_by_the_row_cap() -> None:
    walk, table = _Columns([PHYSICAL_ADDRESS], max_rows=3), NeighbourTable()
    with pytest.raises(_Stop) as stop:
        walk.take([row(PHYSICAL_ADDRESS, n, mac(n)) for n in range(1, 10)], table)
    assert stop.value.status is Status.TOO_LARGE and len(table.macs()) == 3


def test_an_empty_answer_ends_the_walk() -> None:
    walk = _Columns(list(PHYSICAL_COLUMNS), max_rows=3)
    walk.take([], NeighbourTable())
    assert walk.active == []


def test_the_most_specific_entry_picks_the_router() -> None:
    wide = SnmpRouter(IPv4Network("10.0.0.0/8"), IPv4Address("10.0.0.1"), CommunityV2c("a"), entry=1)
    narrow = SnmpRouter(IPv4Network("10.5.0.0/16"), IPv4Address("10.5.0.1"), CommunityV2c("b"), entry=2)
    found = {
        (wide.router, 161, wide.credentials): RouterMacs(
            "10.0.0.1",
            161,
            ("10.0.0.0/8",),
            Status.OK,
            {"10.5.0.9": "44:19:b6:00:00:01", "10.6.0.9": "44:19:b6:00:00:02"},
        ),
        (narrow.router, 161, narrow.credentials): RouterMacs(
            "10.5.0.1", 161, ("10.5.0.0/16",), Status.OK, {"10.5.0.9": "3c:ef:8c:00:00:01"}
        ),
    }
    picked = _pick([wide, narrow], found)
    assert (picked["10.5.0.9"].mac, picked["10.5.0.9"].router) == ("3c:ef:8c:00:00:01", "10.5.0.1")
    assert picked["10.6.0.9"].router == "10.0.0.1"


def test_library_errors_never_carry_a_secret() -> None:
    secret = "c0mmunity-S3cret"
    text = _one_line(ValueError(f"bad community {secret!r}\nsecond line"), CommunityV2c(secret))
    assert secret not in text and "\n" not in text and "<hidden>" in text
