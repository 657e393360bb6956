"""parse/dhip.py: Dahua DHIP DHDiscover.search and client.notifyDevInfo, on authored and hostile input."""

from __future__ import annotations

import json
import struct
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camscan.parse.dhip import (
    MAX_BODY,
    DhipEcho,
    DhipParseError,
    build_frame,
    build_search,
    parse_reply,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dhip"
FUZZ = settings(max_examples=250, deadline=None)


def fixture(name: str) -> bytes:
    with (FIXTURES / f"{name}.toml").open("rb") as fh:
        doc = tomllib.load(fh)
    return bytes.fromhex(doc["header"]) + str(doc["body"]).encode("utf-8")


def reply(info: object, mac: object = "3c:ef:8c:00:00:01", method: object = "client.notifyDevInfo") -> bytes:
    return build_frame(json.dumps({"mac": mac, "method": method, "params": {"deviceInfo": info}}).encode())


def test_search_is_header_plus_json() -> None:
    data = build_search(request_id=7)
    body = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'
    assert data[:8] == b"\x20\x00\x00\x00DHIP"
    assert struct.unpack("<IIIIII", data[8:32]) == (0, 7, len(body), 0, len(body), 0)
    assert data[32:] == body
    assert json.loads(data[32:]) == {"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}}


def test_our_search_echoed_back_is_told_apart() -> None:
    with pytest.raises(DhipEcho):
        parse_reply(build_search())


def test_fixture_headers_declare_their_body_length() -> None:
    for name in ("dahua-ipc", "amcrest-ip2m"):
        data = fixture(name)
        assert struct.unpack_from("<I", data, 16)[0] == len(data) - 32


def test_dahua_ipc_reply() -> None:
    r = parse_reply(fixture("dahua-ipc"))
    assert r.mac == "3c:ef:8c:12:ab:34"
    assert r.device_class == "IPC"
    assert r.device_type == "IPC-HDW5831R-ZE"
    assert r.serial == "6G0ABCD1234567F"
    assert r.vendor == "Dahua"
    assert r.version == "2.800.0000016.0.R"
    assert r.machine_name == "IPC-HDW5831R-ZE"
    assert r.ipv4 == "192.0.2.40"
    assert (r.http_port, r.port) == (80, 37777)
    assert r.request_id == 0
    assert r.raw["IPv4Address.DhcpEnable"] == "false"
    assert r.raw["IPv6Address.IPAddress"] == "fe80::3eef:8cff:fe12:ab34/64"
    assert r.raw["Manufacturer"] == "Private"


def test_amcrest_reply_carries_its_label_in_vendor() -> None:
    r = parse_reply(fixture("amcrest-ip2m"))
    assert r.vendor == "Amcrest"
    assert r.device_type == "IP2M-841B"
    assert r.serial == r.machine_name == "AMC02A1B2C3D4E5F6G"
    assert r.version == "2.620.00AC000.3.R"
    assert r.mac == "9c:8e:cd:0f:3e:21"
    assert r.ipv4 == "192.0.2.41"


def test_trailing_nul_padding_inside_the_declared_body_is_ignored() -> None:
    body = json.dumps({"method": "client.notifyDevInfo", "params": {"deviceInfo": {"Vendor": "Dahua"}}})
    r = parse_reply(build_frame(body.encode() + b"\x00\x00\r\n"))
    assert r.vendor == "Dahua" and r.mac is None


def test_odd_field_types_become_none() -> None:
    r = parse_reply(
        reply(
            {
                "DeviceType": 42,
                "SerialNo": None,
                "HttpPort": "80",
                "Port": True,
                "IPv4Address": "192.0.2.1",
                "Vendor": ["Dahua"],
                "MAC": "3c-ef-8c-00-00-02",
            },
            mac="",
        )
    )
    assert r.device_type == "42"
    assert r.serial is None and r.vendor is None and r.ipv4 is None
    assert r.http_port == 80 and r.port is None
    assert r.mac == "3c:ef:8c:00:00:02"  # deviceInfo MAC when the top-level one is empty


def test_missing_device_info_gives_an_empty_reply() -> None:
    r = parse_reply(build_frame(b'{"method":"client.notifyDevInfo","params":[1,2]}'))
    assert (r.device_type, r.serial, r.ipv4, dict(r.raw)) == (None, None, None, {})


def test_raw_is_capped_in_count_length_and_depth() -> None:
    info: dict[str, object] = {"Long": "y" * 1000}
    info.update({f"K{i}": "x" * 60 for i in range(200)})
    info["Deep"] = {"a": {"b": {"c": {"d": {"e": {"f": "too deep"}}}}}}
    r = parse_reply(reply(info))
    assert len(r.raw) == 128
    assert r.raw["Long"] == "y" * 512
    r = parse_reply(reply({"Deep": info["Deep"]}))
    assert r.raw == {}


def _header(magic: bytes = b"\x20\x00\x00\x00DHIP", length: int = 2, expected: int = 2) -> bytes:
    return magic + struct.pack("<IIIIII", 0, 0, length, 0, expected, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than the 32-byte header"),
        (b"\x20\x00\x00\x00DHIP" + b"\x00" * 10, "shorter"),
        (_header(b"\x20\x00\x00\x00DHIQ") + b"{}", "not DHIP"),
        (_header(b"\x00\x00\x00\x20DHIP") + b"{}", "not DHIP"),
        (_header(length=0xFFFFFFFF, expected=0xFFFFFFFF) + b"{}", "declares 4294967295 body bytes"),
        (_header(length=2, expected=4000) + b"{}", "split over datagrams"),
        (_header(length=MAX_BODY + 1, expected=MAX_BODY + 1) + b" " * (MAX_BODY + 1), "over the"),
        (_header() + b"{}" + b"x" * 70000, "over the 65535 limit"),
        (_header() + b"[]", "not a JSON object"),
        (_header() + b"{x", "not JSON"),
        (_header(length=3, expected=3) + b"\xff{}", "not UTF-8"),
        (build_frame(b'{"method":"other.method"}'), "is not client.notifyDevInfo"),
        (build_frame(b'{"method":5}'), "'int' is not"),
        (build_frame(b'{"n":' + b"9" * 5000 + b"}"), "not JSON"),
        (build_frame(b"[" * 15000 + b"]" * 15000), "nested too deep"),
    ],
)
def test_broken_datagrams_raise_one_line_dhip_errors(data: bytes, message: str) -> None:
    with pytest.raises(DhipParseError, match=message) as info:
        parse_reply(data)
    assert "\n" not in str(info.value)
    assert not isinstance(info.value, DhipEcho)


def test_build_frame_refuses_an_oversized_body() -> None:
    with pytest.raises(ValueError, match="over the"):
        build_frame(b" " * (MAX_BODY + 1))


# --- round trip and fuzzing ---------------------------------------------------------------------

_SCALAR = st.one_of(st.text(max_size=30), st.integers(min_value=-(10**12), max_value=10**12), st.booleans())


@FUZZ
@given(
    st.dictionaries(st.text(min_size=1, max_size=20), _SCALAR, max_size=20),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_build_then_parse_round_trips(info: dict[str, object], request_id: int) -> None:
    body = json.dumps({"method": "client.notifyDevInfo", "params": {"deviceInfo": info}}).encode()
    r = parse_reply(build_frame(body, request_id=request_id))
    assert r.request_id == request_id
    expected = {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in info.items()}
    assert dict(r.raw) == expected


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "length"]))
        pos = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(min_value=0, max_value=255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from([b"{", b"}", b'"', b"[", b"\x00", b"\xff", b"1e999"]))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(min_value=1, max_value=20))]
        elif op == "truncate":
            del data[pos:]
        elif len(data) >= 32:
            offset = draw(st.sampled_from([16, 24]))
            data[offset : offset + 4] = struct.pack("<I", draw(st.integers(min_value=0, max_value=2**32 - 1)))
    return bytes(data)


def _only_dhip_errors(data: bytes) -> None:
    try:
        r = parse_reply(data)
    except DhipParseError:
        return
    assert r.port is None or 0 < r.port < 65536
    assert r.mac is None or len(r.mac) == 17


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_dhip_errors(data: bytes) -> None:
    _only_dhip_errors(data)


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bodies_behind_a_valid_header_raise_only_dhip_errors(body: bytes) -> None:
    _only_dhip_errors(build_frame(body))


@FUZZ
@given(st.sampled_from([fixture("dahua-ipc"), fixture("amcrest-ip2m"), build_search()]).flatmap(mutated))
def test_mutated_fixtures_raise_only_dhip_errors(data: bytes) -> None:
    _only_dhip_errors(data)
