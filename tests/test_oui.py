"""MAC lookup: randomised MACs never attributed, curated camera blocks first, then the IEEE registry."""

from __future__ import annotations

import time

import pytest

from camscan.oui import curated_blocks, lookup, normalise_mac
from camscan.vendors import VendorDB


@pytest.mark.parametrize(
    "text",
    ["44:19:B6:12:34:56", "44-19-b6-12-34-56", "4419.b612.3456", "4419B6123456", " 44:19:b6:12:34:56\n"],
)
def test_normalise_accepts_the_usual_notations(text: str) -> None:
    assert normalise_mac(text) == "44:19:b6:12:34:56"


def test_normalise_pads_single_digit_octets_as_bsd_arp_prints_them() -> None:
    assert normalise_mac("0:1a:7:0:0:1") == "00:1a:07:00:00:01"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "44:19:b6:12:34",
        "44:19:b6:12:34:56:78",
        "44:19-b6:12:34:56",
        "44:19:b6:12:34:5g",
        "4419b612345",
        "44:19:b6:12:34:56" + " " * 100,
    ],
)
def test_normalise_rejects_what_is_not_a_mac(text: str) -> None:
    assert normalise_mac(text) is None


def test_locally_administered_mac_is_never_attributed() -> None:
    # 0x46 = Hikvision's 0x44 with the local bit set: a randomised MAC that only looks like Hikvision.
    info = lookup("46:19:b6:12:34:56")
    assert info.locally_administered
    assert (info.registrant, info.vendor, info.block) == (None, None, None)


@pytest.mark.parametrize("mac", ["01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"])
def test_group_and_zero_macs_name_no_vendor(mac: str) -> None:
    info = lookup(mac)
    assert (info.registrant, info.vendor) == (None, None)


def test_ieee_registry_block_from_netaddr() -> None:
    info = lookup("44:19:B6:AA:BB:CC")
    assert info.mac == "44:19:b6:aa:bb:cc"
    assert info.vendor == "hikvision"
    assert info.registrant is not None and "Hikvision" in info.registrant
    assert info.block == "MA-L 44:19:B6"
    assert not info.locally_administered
    assert lookup("00:40:8c:01:02:03").vendor == "axis"


def test_curated_28_bit_block_is_found_and_its_neighbours_are_not() -> None:
    info = lookup("34:46:63:2a:bc:de")
    assert (info.vendor, info.registrant) == ("amcrest", "Amcrest Technologies")
    assert info.block == "MA-M 34:46:63:2"
    assert lookup("34:46:63:3a:bc:de").vendor != "amcrest"


def test_curated_24_bit_block_fills_a_gap_in_netaddr() -> None:
    info = lookup("0c:a6:4c:00:00:01")
    assert (info.vendor, info.block) == ("ezviz", "MA-L 0C:A6:4C")


def test_iab_block_is_named_by_its_36_bit_registrant() -> None:
    info = lookup("00:50:c2:00:10:00")
    assert info.block == "IAB 00:50:C2:00:1"
    assert info.registrant == "JMBS Developpements"
    assert info.vendor is None


def test_ieee_ra_parent_block_is_not_a_registrant() -> None:
    # 70:B3:D5 is an MA-L the IEEE itself holds and slices into MA-S blocks netaddr does not ship.
    assert lookup("70:b3:d5:00:00:00").registrant is None


@pytest.mark.parametrize("text", ["", "not a mac", "x" * 10_000])
def test_garbage_does_not_raise(text: str) -> None:
    info = lookup(text)
    assert (info.vendor, info.registrant) == (None, None)
    assert len(info.mac) <= 64


def test_curated_table_rows_are_consistent_with_vendor_names() -> None:
    vendors = VendorDB.builtin()
    rows = curated_blocks()
    assert any(r.bits == 28 for r in rows)
    assert len({(r.bits, r.prefix) for r in rows}) == len(rows)
    for row in rows:
        assert vendors.from_name(row.registrant) == row.vendor, row
        assert row.source


def test_warm_lookups_are_fast() -> None:
    lookup("44:19:b6:00:00:00")
    start = time.perf_counter()
    for i in range(2000):
        lookup(f"44:19:b6:00:{i // 256:02x}:{i % 256:02x}")
        lookup(f"00:40:8c:00:{i // 256:02x}:{i % 256:02x}")
    assert time.perf_counter() - start < 2.0
