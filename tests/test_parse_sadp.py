"""parse/sadp.py: Hikvision SADP inquiry and ProbeMatch, on authored and hostile input."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camlab.encoders import build_sadp_probe_match
from camscan.parse.sadp import (
    MAX_BYTES,
    MAX_FIELDS,
    MAX_VALUE,
    SadpEcho,
    SadpParseError,
    build_inquiry,
    parse_probe_match,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sadp"
FUZZ = settings(max_examples=250, deadline=None)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.xml").read_bytes()


def test_inquiry_is_the_exact_sadp_probe() -> None:
    assert build_inquiry("5F3C1D2E-8A7B-4C6D-9E0F-1A2B3C4D5E6F") == (
        b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>5F3C1D2E-8A7B-4C6D-9E0F-1A2B3C4D5E6F</Uuid>'
        b"<Types>inquiry</Types></Probe>"
    )


@pytest.mark.parametrize("bad", ["", "a<b", "x" * 65, "id with space", "ü"])
def test_inquiry_refuses_an_unsafe_uuid(bad: str) -> None:
    with pytest.raises(ValueError, match="uuid"):
        build_inquiry(bad)


def test_our_inquiry_echoed_back_is_told_apart() -> None:
    with pytest.raises(SadpEcho):
        parse_probe_match(build_inquiry("ABC-1"))
    with pytest.raises(SadpEcho):
        parse_probe_match(fixture("inquiry-echo"))


def test_hikvision_ipc_reply() -> None:
    r = parse_probe_match(fixture("hikvision-ipc"))
    assert r.uuid == "6F1C2A3B-4D5E-4F60-8172-93A4B5C6D7E8"
    assert r.types == "inquiry"
    assert r.device_type == "138497"
    assert r.description == "DS-2CD2143G2-I"
    assert r.serial == "DS-2CD2143G2-I20230415AAWRK71234567"
    assert r.mac == "44:19:b6:3a:7c:21"
    assert r.ipv4 == "192.0.2.10"
    assert r.software_version == "V5.7.13build 230217"
    assert r.dsp_version == "V7.3 build 230210"
    assert r.oem_info is None
    assert r.activated is True
    assert (r.http_port, r.command_port) == (80, 8000)
    assert r.boot_time == "2024-03-02 08:15:43"
    assert r.raw["HCPlatformEnable"] == "flase"  # the real firmware's typo survives untouched
    assert r.raw["SDKOverTLSPort"] == "8443"
    assert len(r.raw) == 35


def test_oem_nvr_reply() -> None:
    r = parse_probe_match(fixture("oem-nvr"))
    assert r.oem_info == "LT Security"
    assert r.description == "LTN8708K-P8"
    assert r.mac == "14:2f:fd:0a:1b:2c"  # upper-case dashes normalised
    assert r.activated is False
    assert r.http_port == 8080
    assert r.raw["DigitalChannelNum"] == "8"
    assert r.raw["EZVIZCode"] == ""
    assert "Capabilities" not in r.raw  # nested elements are not simple fields


def test_missing_and_odd_values_become_none() -> None:
    data = build_sadp_probe_match(
        {
            "Types": "inquiry",
            "MAC": "not-a-mac",
            "IPv4Address": "192.0.2.300",
            "HttpPort": "99999",
            "CommandPort": "-1",
            "Activated": "maybe",
            "DeviceSN": "   ",
        }
    )
    r = parse_probe_match(data)
    assert (r.mac, r.ipv4, r.http_port, r.command_port, r.activated, r.serial) == (None,) * 6
    assert r.description is None and r.uuid is None


def test_repeated_elements_keep_the_first_and_counts_are_capped() -> None:
    body = "<Long>" + "v" * 5000 + "</Long>" + "".join(f"<F{i}>{i}</F{i}>" for i in range(MAX_FIELDS + 50))
    data = f"<ProbeMatch><MAC>44-19-b6-00-00-01</MAC><MAC>ff-ff-ff-ff-ff-ff</MAC>{body}</ProbeMatch>".encode()
    r = parse_probe_match(data)
    assert r.mac == "44:19:b6:00:00:01"
    assert len(r.raw) == MAX_FIELDS
    assert r.raw["Long"] == "v" * MAX_VALUE


def test_namespaced_reply_is_read_by_local_names() -> None:
    data = b'<ProbeMatch xmlns="urn:x"><DeviceDescription>DS-7608NI-K2</DeviceDescription></ProbeMatch>'
    assert parse_probe_match(data).description == "DS-7608NI-K2"


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE ProbeMatch [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<ProbeMatch><DeviceSN>&c;</DeviceSN></ProbeMatch>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE ProbeMatch [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
    b"<ProbeMatch><DeviceSN>&x;</DeviceSN></ProbeMatch>"
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BILLION_LAUGHS, "refused"),
        (EXTERNAL_ENTITY, "refused"),
        (b"<ProbeMatch>" + b"<a>" * 100 + b"</a>" * 100 + b"</ProbeMatch>", "nested deeper"),
        (b"<ProbeMatch><DeviceSN>" + b"9" * MAX_BYTES + b"</DeviceSN></ProbeMatch>", "more than"),
        (b"", "empty"),
        (b"\x00" * 64, "empty"),
        (b"<ProbeMatch><MAC>", "malformed"),
        (b"<Envelope/>", "expected <ProbeMatch>"),
        (b"\xff\xfe<\x00", "XML"),
    ],
)
def test_hostile_datagrams_raise_one_line_sadp_errors(data: bytes, message: str) -> None:
    with pytest.raises(SadpParseError, match=message) as info:
        parse_probe_match(data)
    assert "\n" not in str(info.value)
    assert not isinstance(info.value, SadpEcho)


@pytest.mark.parametrize("cut", [5, 60, 400, -20, -2])
def test_truncated_reply_is_an_error(cut: int) -> None:
    with pytest.raises(SadpParseError):
        parse_probe_match(fixture("hikvision-ipc").rstrip()[:cut])


# --- round trip and fuzzing ---------------------------------------------------------------------

_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
_VALUE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co")), max_size=60).map(
    str.strip
)


@FUZZ
@given(st.dictionaries(_NAME, _VALUE, max_size=30))
def test_build_then_parse_round_trips(fields: dict[str, str]) -> None:
    assert dict(parse_probe_match(build_sadp_probe_match(fields)).raw) == fields


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(min_value=0, max_value=255))
        elif op == "insert":
            data[pos:pos] = draw(
                st.sampled_from([b"<", b">", b"&", b"<Probe>", b"<!ENTITY", b"\x00", b"\xc3"])
            )
        elif op == "delete":
            del data[pos : pos + draw(st.integers(min_value=1, max_value=40))]
        else:
            del data[pos:]
    return bytes(data)


def _only_sadp_errors(data: bytes) -> None:
    try:
        r = parse_probe_match(data)
    except SadpParseError:
        return
    assert r.mac is None or len(r.mac) == 17
    assert r.http_port is None or 0 < r.http_port < 65536
    assert r.ipv4 is None or str(ipaddress.IPv4Address(r.ipv4)) == r.ipv4


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_sadp_errors(data: bytes) -> None:
    _only_sadp_errors(data)


@FUZZ
@given(
    st.sampled_from([fixture("hikvision-ipc"), fixture("oem-nvr"), fixture("inquiry-echo")]).flatmap(mutated)
)
def test_mutated_fixtures_raise_only_sadp_errors(data: bytes) -> None:
    _only_sadp_errors(data)
