"""parse/dvrip.py: legacy Dahua UDP 5050 search request and binary reply, on authored and hostile input."""

from __future__ import annotations

import struct
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camscan.parse.dvrip import DvripEcho, DvripParseError, build_search, parse_reply

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "dhip" / "dvrip-5050-dvr.toml"
FUZZ = settings(max_examples=250, deadline=None)


def fixture() -> bytes:
    with FIXTURE.open("rb") as fh:
        return bytes.fromhex(tomllib.load(fh)["hex"])


def reply(tail: bytes, len2: int, len3: int, ip: bytes = bytes([192, 0, 2, 81])) -> bytes:
    fixed = bytearray(120)
    struct.pack_into("<2sH", fixed, 0, b"\xb3\x00", len2)
    struct.pack_into("<H", fixed, 20, len3)
    fixed[56:60] = ip
    return bytes(fixed) + tail


def test_search_request_bytes() -> None:
    data = build_search()
    assert len(data) == 32
    assert data[:4] == b"\xa3\x01\x00\x01"
    assert data[16] == 2
    assert data.count(0) == 28  # only a3 01 .. 01 and the 02 at offset 16 are set


def test_our_search_echoed_back_is_told_apart() -> None:
    with pytest.raises(DvripEcho):
        parse_reply(build_search())


def test_legacy_dvr_reply() -> None:
    r = parse_reply(fixture())
    assert r.version == "2.3.4.0"
    assert r.hostname == "XVR5108HS"
    assert r.ipv4 == "192.0.2.80"
    assert r.mac == "3c:ef:8c:5e:01:9a"
    assert r.model == "DH-XVR5108HS"
    assert r.serial == "4K01A2BPAZ00123"
    assert (r.http_port, r.https_port, r.tcp_port, r.udp_port) == (80, 443, 37777, 37778)
    assert r.raw == {"Name": "DVR-front-desk", "Device": "DH-XVR5108HS", "SerialNo": "4K01A2BPAZ00123"}


def test_reply_without_section_lengths_uses_mac_then_model() -> None:
    r = parse_reply(reply(b"3c:ef:8c:5e:01:9bDH-HCVR4104", 0, 0))
    assert (r.mac, r.model, r.serial) == ("3c:ef:8c:5e:01:9b", "DH-HCVR4104", None)
    assert r.ipv4 == "192.0.2.81"


def test_reply_without_section_lengths_but_key_value_lines() -> None:
    r = parse_reply(reply(b"3c:ef:8c:5e:01:9bDevice:DH-HCVR4104\r\nSerialNo:ABC\r\n", 0, 0))
    assert (r.model, r.serial) == ("DH-HCVR4104", "ABC")


def test_empty_fields_become_none() -> None:
    r = parse_reply(reply(b"", 0, 0, ip=b"\x00\x00\x00\x00"))
    assert (r.hostname, r.ipv4, r.mac, r.model, r.http_port, r.tcp_port) == (None,) * 6
    assert r.version == "0.0.0.0"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a DVRIP search reply"),
        (b"\xb3", "not a DVRIP search reply"),
        (b"\xb3\x00" + b"\x00" * 50, "shorter than the 120-byte header"),
        (b"\xb3\x01" + b"\x00" * 200, "not a DVRIP search reply"),
        (reply(b"abc", 17, 10), "declares 27 trailing bytes, datagram carries 3"),
        (reply(b"", 0xFFFF, 0xFFFF), "declares 131070"),
        (b"\xb3\x00" + b"\x00" * 9000, "over the 8192 limit"),
    ],
)
def test_broken_replies_raise_one_line_dvrip_errors(data: bytes, message: str) -> None:
    with pytest.raises(DvripParseError, match=message) as info:
        parse_reply(data)
    assert "\n" not in str(info.value)
    assert not isinstance(info.value, DvripEcho)


def test_truncated_fixture_is_an_error() -> None:
    data = fixture()
    for cut in (1, 60, 119, 130, len(data) - 1):
        with pytest.raises(DvripParseError):
            parse_reply(data[:cut])


def _only_dvrip_errors(data: bytes) -> None:
    try:
        r = parse_reply(data)
    except DvripParseError:
        return
    assert r.mac is None or len(r.mac) == 17
    assert r.tcp_port is None or 0 < r.tcp_port < 65536


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_dvrip_errors(data: bytes) -> None:
    _only_dvrip_errors(data)
    _only_dvrip_errors(b"\xb3\x00" + data)


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=250), st.integers(min_value=0, max_value=255)),
        max_size=12,
    ),
    st.integers(min_value=0, max_value=300),
)
def test_mutated_fixture_raises_only_dvrip_errors(flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(fixture())
    for pos, value in flips:
        data[pos % len(data)] = value
    _only_dvrip_errors(bytes(data))
    _only_dvrip_errors(bytes(data[: len(data) - cut]))
