"""parse/upnp.py: SSDP searches and replies, UPnP device descriptions, on authored and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camlab.encoders import build_ssdp_reply, build_upnp_description
from camscan.parse.upnp import (
    MAX_DATAGRAM,
    MAX_VALUE,
    SsdpEcho,
    UpnpDevice,
    UpnpParseError,
    build_msearch,
    parse_description,
    parse_search_reply,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "upnp"
FUZZ = settings(max_examples=250, deadline=None)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_msearch_is_a_well_formed_ssdp_discover() -> None:
    assert build_msearch("ssdp:all", mx=2) == (
        b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\n'
        b"ST: ssdp:all\r\n\r\n"
    )
    assert b"HOST: 192.0.2.7:1900\r\n" in build_msearch("upnp:rootdevice", host="192.0.2.7:1900")


@pytest.mark.parametrize(
    ("st_", "host", "mx"),
    [
        ("ssdp:all\r\nX: y", "239.255.255.250:1900", 1),
        ("", "239.255.255.250:1900", 1),
        ("ssdp:all", "evil.example:1900\r\nX: y", 1),
        ("ssdp:all", "239.255.255.250:1900", 0),
        ("ssdp:all", "239.255.255.250:1900", 120),
    ],
)
def test_msearch_refuses_header_injection_and_silly_mx(st_: str, host: str, mx: int) -> None:
    with pytest.raises(ValueError):
        build_msearch(st_, host=host, mx=mx)


def test_axis_reply_headers() -> None:
    r = parse_search_reply(fixture("axis-m3045-reply.http"))
    assert r.server == "Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP devices/1.6.22"
    assert r.st == "upnp:rootdevice"
    assert r.usn == "uuid:Upnp-BasicDevice-1_0-ACCC8E4D000A::upnp:rootdevice"
    assert r.location == "http://192.0.2.21:49152/rootdesc1.xml"


def test_lower_case_headers_and_bare_newlines_are_read() -> None:
    r = parse_search_reply(fixture("avtech-reply.http"))
    assert r.server == "Linux/2.x UPnP/1.0 Avtech/1.0"
    assert r.location == "http://192.0.2.34:80/Description.xml"
    assert r.st == "urn:schemas-upnp-org:device:Basic:1"


def test_our_own_search_echoed_back_is_told_apart() -> None:
    with pytest.raises(SsdpEcho):
        parse_search_reply(build_msearch("ssdp:all"))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01garbage",
        b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\n\r\n",
        b"RTSP/1.0 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
    ],
)
def test_anything_but_a_200_search_reply_is_refused(data: bytes) -> None:
    with pytest.raises(UpnpParseError):
        parse_search_reply(data)


def test_first_header_wins_and_values_are_capped_and_cleaned() -> None:
    extra = b"\r\nST: second\r\nLOCATION: http://x/\x01\x02y\r\n\r\n"
    data = build_ssdp_reply({"SERVER": "A" * 5000, "ST": "first"}).replace(b"\r\n\r\n", extra)
    r = parse_search_reply(data)
    assert r.server == "A" * MAX_VALUE and r.st == "first" and r.location == "http://x/y"


def test_headers_after_the_blank_line_or_past_the_cap_are_ignored() -> None:
    body = b"HTTP/1.1 200 OK\r\n\r\nSERVER: smuggled\r\n"
    assert parse_search_reply(body).server is None
    many = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: 1\r\n" * 200 + b"SERVER: late\r\n\r\n"
    assert parse_search_reply(many).server is None


def test_an_oversized_datagram_is_refused() -> None:
    with pytest.raises(UpnpParseError, match="bytes"):
        parse_search_reply(b"HTTP/1.1 200 OK\r\nSERVER: " + b"x" * MAX_DATAGRAM + b"\r\n\r\n")


def test_axis_description() -> None:
    d = parse_description(fixture("axis-m3045-description.xml"))
    assert d == UpnpDevice(
        device_type="urn:axis-com:device:Basic:1",
        friendly_name="AXIS M3045-V - ACCC8E4D000A",
        manufacturer="AXIS",
        manufacturer_url="http://www.axis.com/",
        model_description="AXIS M3045-V Fixed Mini Dome Network Camera",
        model_name="AXIS M3045-V",
        model_number="M3045-V",
        serial="ACCC8E4D000A",
        udn="uuid:Upnp-BasicDevice-1_0-ACCC8E4D000A",
    )


def test_the_root_device_is_read_not_an_embedded_one() -> None:
    d = parse_description(fixture("nas-description.xml"))
    assert (d.manufacturer, d.model_name, d.serial) == ("Synology", "DS920+", "0011322ABCDEF")


def test_prefixes_and_padding_do_not_matter_and_blank_fields_are_absent() -> None:
    d = parse_description(fixture("namespaced-description.xml"))
    assert (d.manufacturer, d.model_name, d.friendly_name) == ("AVTECH", "AVC798HA", "DVR-04CH")
    assert d.model_number is None and d.serial is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("xml-bomb.xml", "DTD"),
        ("external-entity.xml", "DTD"),
        ("not-a-description.xml", "not <root>"),
    ],
)
def test_hostile_or_foreign_documents_are_refused_in_one_line(name: str, why: str) -> None:
    with pytest.raises(UpnpParseError, match=why) as info:
        parse_description(fixture(name))
    assert "\n" not in str(info.value)


def test_a_description_over_the_cap_is_refused_before_parsing() -> None:
    data = build_upnp_description({"manufacturer": "AXIS", "modelDescription": "x" * 2000})
    with pytest.raises(UpnpParseError, match="more than the 1000 allowed"):
        parse_description(data, max_bytes=1000)


def test_a_description_without_a_device_is_refused() -> None:
    with pytest.raises(UpnpParseError, match="no <device>"):
        parse_description(b'<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion/></root>')


def test_built_description_round_trips_with_markup_escaped() -> None:
    data = build_upnp_description({"manufacturer": "A&B <Cams>", "modelName": "X1", "serialNumber": "7"})
    d = parse_description(data)
    assert (d.manufacturer, d.model_name, d.serial) == ("A&B <Cams>", "X1", "7")
    with pytest.raises(ValueError):
        build_upnp_description({"bad name": "x"})


@FUZZ
@given(st.binary(max_size=2048))
def test_search_reply_parser_never_fails_any_other_way(data: bytes) -> None:
    try:
        r = parse_search_reply(data)
    except UpnpParseError as exc:
        assert "\n" not in str(exc)
        return
    for value in (r.server, r.st, r.usn, r.location):
        assert value is None or (len(value) <= MAX_VALUE and "\r" not in value and "\n" not in value)


@FUZZ
@given(
    st.binary(max_size=2048)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=400).map(
        lambda t: build_upnp_description({"manufacturer": t})
    )
)
def test_description_parser_never_fails_any_other_way(data: bytes) -> None:
    try:
        d = parse_description(data)
    except UpnpParseError as exc:
        assert "\n" not in str(exc)
        return
    assert d.manufacturer is None or len(d.manufacturer) <= MAX_VALUE
