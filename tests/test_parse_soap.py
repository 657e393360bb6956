"""parse/soap.py: WS-Discovery probes and matches, ONVIF device information; authored and hostile input."""

from __future__ import annotations

import contextlib
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camlab.encoders import build_probe_matches
from camscan.parse.soap import (
    MAX_BYTES,
    MAX_TOKEN,
    ProbeMatch,
    SoapParseError,
    build_probe,
    decode_scopes,
    mac_from_endpoint,
    parse_device_information,
    parse_fault,
    parse_probe,
    parse_probe_matches,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wsd"
FUZZ = settings(max_examples=250, deadline=None)
RELATES = "uuid:5f3c1d2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.xml").read_bytes()


def only(name: str) -> ProbeMatch:
    matches = parse_probe_matches(fixture(name))
    assert len(matches) == 1
    return matches[0]


# --- building probes ---------------------------------------------------------------------------


def test_typed_probe_is_well_formed_and_declares_dn() -> None:
    data = build_probe("uuid:11111111-2222-4333-8444-555555555555")
    root = ET.fromstring(data)  # noqa: S314 -- our own request, not device input
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
    assert b'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"' in data
    assert b"urn:schemas-xmlsoap-org:ws:2005:04:discovery" in data
    assert b"http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe<" in data
    probe = parse_probe(data)
    assert probe is not None
    assert probe.message_id == "uuid:11111111-2222-4333-8444-555555555555"
    assert probe.types == ("dn:NetworkVideoTransmitter",)


def test_untyped_probe_has_no_types_and_no_dn_namespace() -> None:
    data = build_probe("11111111-2222-4333-8444-555555555555", types=None)
    assert b"xmlns:dn" not in data and b"Types" not in data
    probe = parse_probe(data)
    assert probe is not None
    assert probe.message_id == "uuid:11111111-2222-4333-8444-555555555555"  # bare UUID gets its scheme
    assert probe.types == ()


def test_probe_with_two_types_declares_both_prefixes() -> None:
    data = build_probe("uuid:x", types="dn:NetworkVideoTransmitter tds:Device")
    assert b"xmlns:tds=" in data and b"xmlns:dn=" in data
    ET.fromstring(data)  # noqa: S314 -- our own request, not device input


def test_probe_refuses_an_undeclarable_type_prefix() -> None:
    with pytest.raises(ValueError, match="unsupported WS-Discovery type"):
        build_probe("uuid:x", types="zz:Thing")


def test_message_id_is_escaped() -> None:
    probe = parse_probe(build_probe("uuid:<&>"))
    assert probe is not None and probe.message_id == "uuid:<&>"


def test_our_own_probe_echoed_back_yields_no_matches() -> None:
    assert parse_probe_matches(build_probe("uuid:abc")) == []


def test_parse_probe_on_a_probe_match_is_none() -> None:
    assert parse_probe(fixture("axis-m1065-probematch")) is None


# --- ProbeMatches from authored devices --------------------------------------------------------


def test_hikvision_match_without_name_scope() -> None:
    m = only("hikvision-probematch")
    assert m.endpoint == "urn:uuid:a0b14000-9c3d-11b3-8312-4419b63a7c21"
    assert m.types == ("dn:NetworkVideoTransmitter", "tds:Device")
    assert m.xaddrs == (
        "http://192.0.2.10/onvif/device_service",
        "http://[fe80::4619:b6ff:fe3a:7c21]/onvif/device_service",
    )
    assert m.metadata_version == 10
    assert m.relates_to == RELATES
    assert m.message_id == "urn:uuid:7c2e9a51-3b0d-4f8e-9a61-2d5c0b8e4f13"
    assert m.scope_values("name") == []
    assert m.scope_values("MAC") == m.scope_values("mac") == ["44:19:b6:3a:7c:21"]
    assert m.scope_values("hardware") == ["DS-2CD2143G2-I"]
    assert m.scope_values("profile") == ["Streaming"]
    assert decode_scopes(m.scopes)["other"] == ["http:123"]
    assert mac_from_endpoint(m.endpoint) == "44:19:b6:3a:7c:21"


def test_tapo_match_on_port_2020() -> None:
    m = only("tapo-c200-probematch")
    assert m.xaddrs == ("http://192.0.2.20:2020/onvif/device_service",)
    assert m.types == ("tdn:NetworkVideoTransmitter",)
    assert m.scope_values("name") == ["TP-IPC"]
    assert m.scope_values("hardware") == ["MODEL"]
    assert m.scope_values("location") == ["ShenZhen"]
    assert m.scope_values("type") == ["NetworkVideoTransmitter"]
    assert mac_from_endpoint(m.endpoint) == "c0:06:c3:a1:b2:c4"


def test_axis_match_percent_decoded_name_and_2005_08_addressing() -> None:
    m = only("axis-m1065-probematch")
    assert m.scope_values("name") == ["AXIS M1065-L"]
    assert m.scope_values("profile") == ["Streaming", "G"]
    assert m.scope_values("location") == []  # "location/" carries no value
    assert m.relates_to == RELATES
    assert m.endpoint == "urn:uuid:6e4f8a2b-91c7-4d3e-a5b0-7f2c8d9e1a34"
    assert mac_from_endpoint(m.endpoint) is None  # random v4 UUID


def test_dahua_style_scopes_keep_paths_and_extension_keys() -> None:
    m = only("dahua-probematch")
    scopes = decode_scopes(m.scopes)
    assert scopes["location"] == ["country/china"]
    assert scopes["name"] == ["Dahua"]
    assert scopes["type"] == ["Network_Video_Transmitter"]
    assert scopes["extension"] == ["unique_identifier/1"]
    assert "other" not in scopes


def test_xiongmai_match_on_8899_without_metadata_version() -> None:
    m = only("xiongmai-8899-probematch")
    assert m.xaddrs == ("http://192.0.2.50:8899/onvif/device_service",)
    assert m.metadata_version is None
    assert m.scope_values("hardware") == ["IPC-model"]
    assert m.scope_values("name") == ["NVT"]
    assert m.scope_values("type") == ["NetworkVideoTransmitter", "video_encoder"]


def test_several_matches_in_one_message_share_the_header() -> None:
    first, second = parse_probe_matches(fixture("multi-probematch"))
    assert first.scope_values("name") == second.scope_values("name") == ["HIKVISION DS-7608NI-K2"]
    assert first.metadata_version == 3 and second.metadata_version is None  # "not-a-number"
    assert second.scope_values("location") == ["channel 2"]
    assert first.relates_to == second.relates_to == RELATES
    assert mac_from_endpoint(first.endpoint) == "bc:ad:28:c0:1e:77"


def test_default_namespace_and_missing_optional_elements() -> None:
    data = (
        b'<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body>'
        b'<ProbeMatches xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><ProbeMatch>'
        b"<XAddrs>\n  http://192.0.2.9/onvif/device_service\thttp://192.0.2.9:8080/x  \n</XAddrs>"
        b"</ProbeMatch></ProbeMatches></Body></Envelope>"
    )
    (m,) = parse_probe_matches(data)
    assert m.xaddrs == ("http://192.0.2.9/onvif/device_service", "http://192.0.2.9:8080/x")
    assert (m.endpoint, m.types, m.scopes, m.metadata_version) == ("", (), (), None)
    assert (m.relates_to, m.message_id) == (None, None)


def test_leading_newline_and_trailing_nul_padding_are_tolerated() -> None:
    assert len(parse_probe_matches(b"\r\n" + fixture("tapo-c200-probematch") + b"\x00\x00")) == 1


def test_other_soap_messages_yield_no_matches() -> None:
    assert parse_probe_matches(fixture("tapo-c200-deviceinfo")) == []


# --- scopes -------------------------------------------------------------------------------------


def test_decode_scopes_keys_and_others() -> None:
    scopes = decode_scopes(
        [
            "onvif://www.onvif.org/Name/Front%20Door",
            "ONVIF://WWW.ONVIF.ORG/hardware/X1",
            "onvif://www.onvif.org/Manufacturer/Hanwha%20Vision",
            "onvif://www.onvif.org//orphan",
            "odm:name:foo",
            "onvif://www.onvif.org/bad/%ZZ%e4",
        ]
    )
    assert scopes["name"] == ["Front Door"]
    assert scopes["hardware"] == ["X1"]
    assert scopes["Manufacturer"] == ["Hanwha Vision"]  # vendor keys keep their case
    assert scopes["other"] == ["onvif://www.onvif.org//orphan", "odm:name:foo"]
    assert scopes["bad"] == ["%ZZ\ufffd"]


# --- EndpointReference -> MAC -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "mac"),
    [
        ("urn:uuid:cea94000-fb96-11b3-8260-686dbc5cb15d", "68:6d:bc:5c:b1:5d"),  # Hikvision (EdgeX doc)
        ("urn:uuid:d4a02dea-afca-11ec-45e7-0013e225956f", "00:13:e2:25:95:6f"),  # GeoVision
        ("uuid:3fa1fe68-b915-4053-a3e1-1027f5ea88f4", "10:27:f5:ea:88:f4"),  # Tapo
        ("UUID:3FA1FE68-B915-4053-A3E1-C006C3AFEC0E", "c0:06:c3:af:ec:0e"),  # Tapo, upper case
        ("urn:uuid:00075fc4-23b6-b623-c45f-0700075fc45f", "00:07:5f:c4:23:b6"),  # Bosch
        ("urn:uuid:54072677-7e74-dabf-24eb-a12a321db374", None),  # Honeywell: MAC not present
        ("urn:uuid:a0b14000-9c3d-11b3-8312-4519b63a7c21", None),  # v1 but multicast node (random)
        ("urn:uuid:a0b14000-9c3d-11b3-8312-4619b63a7c21", None),  # v1 but locally administered node
        ("urn:uuid:a0b14000-9c3d-11b3-c312-4419b63a7c21", None),  # v1 but Microsoft variant
        ("urn:uuid:00000000-0000-1000-8000-000000000000", None),
        ("urn:uuid:3fa1fe68-b915-4053-a3e1-ffffffffffff", None),  # Tapo prefix, broadcast "MAC"
        ("http://192.0.2.1/onvif/device_service", None),
        ("urn:uuid:not-a-uuid", None),
        ("", None),
    ],
)
def test_mac_from_endpoint_layouts(endpoint: str, mac: str | None) -> None:
    assert mac_from_endpoint(endpoint) == mac


@FUZZ
@given(st.uuids(version=4), st.sampled_from(["urn:uuid:", "uuid:", ""]))
def test_random_v4_endpoints_never_give_a_mac(value: uuid.UUID, prefix: str) -> None:
    assert mac_from_endpoint(f"{prefix}{value}") is None


@FUZZ
@given(st.integers(min_value=0, max_value=2**48 - 1), st.integers(min_value=0, max_value=2**60 - 1))
def test_v1_endpoints_give_their_node_only_when_unicast_and_global(node: int, time: int) -> None:
    value = uuid.UUID(
        fields=(time & 0xFFFFFFFF, (time >> 32) & 0xFFFF, 0x1000 | (time >> 48) & 0xFFF, 0x80, 0, node)
    )
    got = mac_from_endpoint(f"urn:uuid:{value}")
    first = node >> 40
    if first & 0b11 or node == 0:
        assert got is None
    else:
        assert got == ":".join(f"{b:02x}" for b in node.to_bytes(6, "big"))


# --- device information and faults -------------------------------------------------------------


def test_tapo_device_information() -> None:
    assert parse_device_information(fixture("tapo-c200-deviceinfo")) == {
        "Manufacturer": "TP-Link",
        "Model": "C200",
        "FirmwareVersion": "1.1.16 Build 211209 Rel.37726n(4555)",
        "SerialNumber": "3a7f91c2",
        "HardwareId": "2.0",
    }
    assert parse_fault(fixture("tapo-c200-deviceinfo")) is None


def test_device_information_omits_absent_and_blank_fields() -> None:
    data = (
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:t="urn:t"><e:Body>'
        b"<t:GetDeviceInformationResponse><t:Manufacturer> LOREX </t:Manufacturer><t:Model/>"
        b"<t:FirmwareVersion>2.460.0001.5.R, Build Date 2019-03-29</t:FirmwareVersion>"
        b"</t:GetDeviceInformationResponse></e:Body></e:Envelope>"
    )
    assert parse_device_information(data) == {
        "Manufacturer": "LOREX",
        "FirmwareVersion": "2.460.0001.5.R, Build Date 2019-03-29",
    }


def test_not_authorized_fault() -> None:
    assert parse_fault(fixture("fault-notauthorized")) == "ter:NotAuthorized"
    with pytest.raises(SoapParseError, match="ter:NotAuthorized"):
        parse_device_information(fixture("fault-notauthorized"))


def test_soap_1_1_fault_and_fault_without_subcode() -> None:
    soap11 = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        b"<faultcode>s:Client</faultcode><faultstring>Unauthorized</faultstring></s:Fault></s:Body></s:Envelope>"
    )
    assert parse_fault(soap11) == "s:Client"
    plain = (
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault>'
        b"<e:Code><e:Value>e:Receiver</e:Value></e:Code></e:Fault></e:Body></e:Envelope>"
    )
    assert parse_fault(plain) == "e:Receiver"


def test_device_information_missing_response_is_an_error() -> None:
    with pytest.raises(SoapParseError, match="no GetDeviceInformationResponse"):
        parse_device_information(fixture("hikvision-probematch"))


# --- hostile and broken input -------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>&lol3;</e:Body></e:Envelope>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>&xxe;</e:Body></e:Envelope>'
)
DTD_ONLY = b'<?xml version="1.0"?><!DOCTYPE e SYSTEM "http://192.0.2.1/x.dtd"><e/>'
DEEP = b"<e:Envelope xmlns:e='urn:e'><e:Body>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</e:Body></e:Envelope>"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BILLION_LAUGHS, "refused"),
        (EXTERNAL_ENTITY, "refused"),
        (DTD_ONLY, "refused"),
        (DEEP, "nested deeper"),
        (b"", "empty"),
        (b"\x00\x00", "empty"),
        (b"not xml at all", "malformed"),
        (b"<Envelope><Body></Envelope>", "malformed"),
        (b"<Probe/>", "not a SOAP envelope"),
        (b"<Envelope><Header/></Envelope>", "no Body"),
        # a charset that is not a web charset is read as Latin-1, so this is an envelope without a Body
        (b"<?xml version='1.0' encoding='x-unknown'?><Envelope/>", "no Body"),
        (b"<Envelope>" + b"x" * MAX_BYTES + b"</Envelope>", "more than"),
    ],
)
def test_hostile_documents_raise_one_line_soap_errors(data: bytes, message: str) -> None:
    for parse in (parse_probe_matches, parse_device_information, parse_fault, parse_probe):
        with pytest.raises(SoapParseError, match=message) as info:
            parse(data)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("cut", [1, 40, 200, 500, -30, -1])
def test_truncated_match_is_an_error(cut: int) -> None:
    with pytest.raises(SoapParseError):
        parse_probe_matches(fixture("hikvision-probematch").rstrip()[:cut])


def test_huge_text_is_capped_not_trusted() -> None:
    scope = "onvif://www.onvif.org/name/" + "A" * 40_000
    many = " ".join(f"http://192.0.2.{i % 250}/x" for i in range(500))
    m = ProbeMatch("urn:uuid:x", ("dn:NetworkVideoTransmitter",), (many,), (scope,), None, None, None)
    data = build_probe_matches([m], message_id="uuid:m", relates_to="uuid:r")
    (got,) = parse_probe_matches(data)
    assert len(got.scopes[0]) == MAX_TOKEN
    assert len(got.xaddrs) == 64
    assert len(got.scope_values("name")[0]) < MAX_TOKEN


# --- round trip and fuzzing ---------------------------------------------------------------------

_TOKEN = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Zs", "Zl", "Zp", "Co")),
    min_size=1,
    max_size=40,
)
_MATCHES = st.builds(
    ProbeMatch,
    endpoint=_TOKEN,
    types=st.lists(st.sampled_from(["dn:NetworkVideoTransmitter", "tds:Device"]), max_size=2).map(tuple),
    xaddrs=st.lists(_TOKEN, max_size=4).map(tuple),
    scopes=st.lists(_TOKEN, max_size=6).map(tuple),
    metadata_version=st.none() | st.integers(min_value=0, max_value=2**32 - 1),
    relates_to=st.just(RELATES),
    message_id=st.just("uuid:m-1"),
)


@FUZZ
@given(st.lists(_MATCHES, min_size=0, max_size=4))
def test_build_then_parse_round_trips(matches: list[ProbeMatch]) -> None:
    data = build_probe_matches(matches, message_id="uuid:m-1", relates_to=RELATES)
    assert parse_probe_matches(data) == matches


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        pos = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(min_value=0, max_value=255))
        elif op == "insert":
            data[pos:pos] = draw(
                st.sampled_from([b"<", b">", b"&", b"</a>", b"<!DOCTYPE x>", b"\x00", b"\xff"])
            )
        elif op == "delete":
            del data[pos : pos + draw(st.integers(min_value=1, max_value=40))]
        elif op == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = data[: draw(st.integers(min_value=0, max_value=200))]
    return bytes(data)


def _only_soap_errors(data: bytes) -> None:
    for parse in (parse_probe_matches, parse_device_information, parse_fault, parse_probe):
        with contextlib.suppress(SoapParseError):
            parse(data)
    for m in _safe_matches(data):
        mac_from_endpoint(m.endpoint)
        decode_scopes(m.scopes)


def _safe_matches(data: bytes) -> list[ProbeMatch]:
    try:
        return parse_probe_matches(data)
    except SoapParseError:
        return []


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_soap_errors(data: bytes) -> None:
    _only_soap_errors(data)


_BASES = [
    fixture(n)
    for n in (
        "hikvision-probematch",
        "tapo-c200-probematch",
        "axis-m1065-probematch",
        "dahua-probematch",
        "xiongmai-8899-probematch",
        "multi-probematch",
        "tapo-c200-deviceinfo",
        "fault-notauthorized",
    )
]


@FUZZ
@given(st.sampled_from(_BASES).flatmap(mutated))
def test_mutated_fixtures_raise_only_soap_errors(data: bytes) -> None:
    _only_soap_errors(data)


@FUZZ
@given(st.text(max_size=300), st.sampled_from(["Scopes", "XAddrs", "Address", "MetadataVersion", "Types"]))
def test_arbitrary_element_text_is_handled(text: str, element: str) -> None:
    base = fixture("hikvision-probematch").decode()
    start = base.index(f"{element}>") + len(element) + 1
    end = base.index("</", start)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    _only_soap_errors((base[:start] + escaped + base[end:]).encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(st.text(max_size=120))
def test_mac_from_endpoint_never_raises(text: str) -> None:
    got = mac_from_endpoint(text)
    assert got is None or len(got) == 17
