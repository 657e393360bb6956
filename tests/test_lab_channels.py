"""Discovery channels in personas: the shipped set covers every channel, what each channel says agrees with
the persona's expectation, and a bad channel table fails in one clear line."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
from pathlib import Path

import pytest

from camlab.channels import CHANNELS, OnvifSpec
from camlab.datagrams import dhip_document, dvrip_reply, endpoint_address, sadp_fields, wsd_probe_match
from camlab.encoders import build_probe_matches, build_sadp_probe_match
from camlab.manifest import build_manifest
from camlab.onvif import device_clock, handle
from camlab.personas import PersonaError, load_persona, load_personas
from camlab.plan import LabDevice, default_personas_dir, plan_devices
from camlab.ssdp import description_xml
from camscan import oui
from camscan.parse import dhip, dvrip, sadp, soap, upnp
from camscan.vendors import VendorDB

PERSONAS = load_personas(default_personas_dir())
DEVICES = plan_devices(PERSONAS, len(PERSONAS), "10.77.0.0/24")
BY_ID = {d.persona.id: d for d in DEVICES}
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"


def token(username: str, password: str, created: str) -> str:
    """A WS-Security UsernameToken with a PasswordDigest, as ONVIF clients send it."""
    nonce = os.urandom(16)
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 -- as specified
    digest = base64.b64encode(raw).decode()
    return (
        f'<Security xmlns="{WSSE}"><UsernameToken><Username>{username}</Username>'
        f'<Password Type="{PROFILE}#PasswordDigest">{digest}</Password>'
        f'<Nonce>{base64.b64encode(nonce).decode()}</Nonce><Created xmlns="{WSU}">{created}</Created>'
        "</UsernameToken></Security>"
    )


def soap_call(operation: str, header: str = "") -> bytes:
    return (
        f'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>{header}</s:Header>'
        f'<s:Body><{operation} xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
    ).encode()


def lab_token(spec: OnvifSpec) -> str:
    """A token for the lab credentials, created on the device's own (skewed) clock."""
    return token(spec.username, spec.password, device_clock(spec).strftime("%Y-%m-%dT%H:%M:%S.000Z"))


def reported(device: LabDevice) -> dict[str, set[str]]:
    """model / firmware / serial values the device's channels report (as camscan's parsers read them)."""
    found: list[tuple[str, str | None]] = []
    ch = device.persona.channels
    if ch.sadp is not None:
        reply = sadp.parse_probe_match(build_sadp_probe_match(sadp_fields(device, ch.sadp, "X-1")))
        found += [
            ("model", reply.description),
            ("firmware", reply.software_version),
            ("serial", reply.serial),
        ]
    if ch.dhip is not None:
        got = dhip.parse_reply(dhip.build_frame(json.dumps(dhip_document(device, ch.dhip)).encode()))
        found += [("model", got.device_type), ("firmware", got.version), ("serial", got.serial)]
    if ch.dvrip is not None:
        legacy = dvrip.parse_reply(dvrip_reply(device, ch.dvrip))
        found += [("model", legacy.model), ("serial", legacy.serial)]
    if ch.onvif is not None:  # what a scan with the lab credentials reads
        status, body = handle(device, ch.onvif, soap_call("GetDeviceInformation", lab_token(ch.onvif)))
        assert status == 200, body
        info = soap.parse_device_information(body)
        found += [
            ("model", info.get("Model")),
            ("firmware", info.get("FirmwareVersion")),
            ("serial", info.get("SerialNumber")),
        ]
    if ch.ssdp is not None:
        desc = upnp.parse_description(description_xml(device, ch.ssdp))
        found += [("model", desc.model_name), ("model", desc.model_number), ("serial", desc.serial)]
    out: dict[str, set[str]] = {"model": set(), "firmware": set(), "serial": set()}
    for key, value in found:
        if value:
            out[key].add(value)
    return out


def test_shipped_set_covers_every_channel() -> None:
    with_channels = [p for p in PERSONAS if p.channels.names]
    assert len(PERSONAS) >= 45 and len(with_channels) >= 25
    assert {c for p in PERSONAS for c in p.channels.names} == set(CHANNELS)
    wsd = [p.channels.wsdiscovery for p in PERSONAS if p.channels.wsdiscovery]
    assert any(not w.answer_untyped for w in wsd), "a typed-only WS-Discovery responder"
    assert any(not any("/name/" in s for s in w.scopes) for w in wsd), "a responder without a name scope"
    assert {w.endpoint for w in wsd} >= {"uuid", "v1-mac", "bosch", "tapo"}
    onvif = [p.channels.onvif for p in PERSONAS if p.channels.onvif]
    assert {o.auth for o in onvif} == {"anonymous", "required"}
    assert max(abs(o.clock_skew) for o in onvif) >= 3600 and min(o.clock_skew for o in onvif) < 0
    assert any(p.channels.sadp and not p.channels.sadp.activated for p in PERSONAS)
    assert any("{stray_ip}" in x for w in wsd for x in w.xaddrs), "a reply claiming another host's address"


def test_relabels_only_discovery_unmasks_are_really_masked() -> None:
    hidden = [p for p in PERSONAS if p.expect.needs_discovery]
    brands = {p.expect.brand for p in hidden if p.expect.brand != p.expect.manufacturer}
    assert brands >= {"ezviz", "lts", "truvision", "amcrest", "lorex", "imou"}
    vendors = VendorDB.builtin()
    for p in hidden:
        # Locally administered, or the block of the label (TRENDnet's own MAC on a Hikvision-made camera).
        block = oui.lookup(p.mac, vendors).vendor
        assert block is None or vendors.maker_of(block) != p.expect.manufacturer, f"{p.id}: the MAC names it"
        for svc in p.services:
            text = " ".join(
                [svc.reply.body if svc.reply else "", *(v for _, v in svc.reply.headers)]
                if svc.reply
                else [svc.server or "", svc.realm or ""]
            ).lower()
            for word in (p.expect.brand or "", p.expect.manufacturer or ""):
                assert not word or word not in text, f"{p.id} port {svc.port} says {word}"


@pytest.mark.parametrize(
    "device", [d for d in DEVICES if d.persona.expect.channels], ids=lambda d: d.persona.id
)
def test_channels_report_what_the_persona_expects(device: LabDevice) -> None:
    expect, got = device.persona.expect, reported(device)
    for key in ("model", "firmware", "serial"):
        wanted = getattr(expect, key)
        if wanted is not None:
            assert device.render(wanted) in got[key], f"{key}: {got[key]}"


@pytest.mark.parametrize(
    "device", [d for d in DEVICES if d.persona.channels.wsdiscovery], ids=lambda d: d.persona.id
)
def test_wsd_probe_match_round_trips(device: LabDevice) -> None:
    spec = device.persona.channels.wsdiscovery
    assert spec is not None
    match = wsd_probe_match(device, spec)
    data = build_probe_matches([match], message_id="uuid:m", relates_to="uuid:probe")
    (parsed,) = soap.parse_probe_matches(data)
    assert parsed.relates_to == "uuid:probe"
    assert (parsed.scopes, parsed.xaddrs) == (match.scopes, match.xaddrs)
    hosts = {x.split("/")[2].split(":")[0] for x in parsed.xaddrs}
    if device.persona.id == "nvt-stale-xaddr":
        assert hosts == {device.stray_ip} and device.stray_ip not in {d.ip for d in DEVICES}
    else:
        assert hosts == {device.ip}
    if spec.endpoint in ("v1-mac", "bosch", "tapo"):  # a locally administered MAC is no evidence: not read
        global_mac = not int(device.mac[:2], 16) & 2
        assert soap.mac_from_endpoint(parsed.endpoint) == (device.mac if global_mac else None)
    elif spec.endpoint == "uuid":
        assert soap.mac_from_endpoint(parsed.endpoint) is None


def test_endpoint_and_uuid_are_stable_per_device_and_distinct() -> None:
    again = plan_devices(PERSONAS, len(PERSONAS), "10.77.0.0/24")
    assert [d.uuid for d in again] == [d.uuid for d in DEVICES]
    assert len({d.uuid for d in DEVICES}) == len(DEVICES)
    hik = BY_ID["hikvision-ds2cd2142"]
    spec = hik.persona.channels.wsdiscovery
    assert spec is not None and endpoint_address(hik, spec).endswith(hik.mac.replace(":", ""))


def test_new_placeholders() -> None:
    hik = BY_ID["hikvision-ds2cd2387"]
    assert hik.render("{mac} {MAC}") == f"{hik.mac} {hik.mac.upper()}"
    assert hik.render("{serial9}") == (hik.serial or "")[-9:] and len(hik.render("{serial9}")) == 9
    assert hik.render("{uuid}") == hik.uuid
    assert ipaddress.IPv4Address(hik.render("{stray_ip}")) in ipaddress.IPv4Network("10.77.0.0/24")
    assert hik.render("http://{ip}:{port}/", {"port": "2020"}) == f"http://{hik.ip}:2020/"


def test_manifest_lists_channels_credentials_and_rendered_expectations(tmp_path: Path) -> None:
    loop = build_manifest("loopback", DEVICES, "10.77.0.0/24", tmp_path)
    ns = build_manifest("netns", DEVICES, "10.77.0.0/24", tmp_path, scanner_netns="x-scanner")
    assert (loop["multicast"], ns["multicast"]) == (False, True)
    axis_loop = next(d for d in loop["devices"] if d["persona"] == "axis-m3045")
    axis_ns = next(d for d in ns["devices"] if d["persona"] == "axis-m3045")
    assert "mdns" in axis_ns["channels"] and "mdns" not in axis_loop["channels"]
    assert axis_ns["udp"] == {"3702": "wsdiscovery", "1900": "ssdp"}
    assert axis_ns["expect"]["serial"] == axis_ns["mac"].replace(":", "").upper()
    assert axis_ns["onvif"] == {
        "port": 80,
        "auth": "required",
        "username": "admin",
        "password": "camscan-lab",
        "clock_skew": 0,
    }
    hik = next(d for d in ns["devices"] if d["persona"] == "hikvision-ds2cd2142")
    assert hik["expect"]["serial"] == hik["serial"] and "#" not in hik["serial"]
    plain = next(d for d in ns["devices"] if d["persona"] == "acti-e32")
    assert plain["channels"] == [] and plain["udp"] == {} and "onvif" not in plain


GOOD = """
id = "cam"
description = "test persona"
mac = "44:19:b6:00:00:00"
serial = "S####"
[[service]]
port = 80
kind = "http"
[[service]]
port = 8443
kind = "tcp"
[expect]
manufacturer = "hikvision"
is_camera = true
watchlisted = true
channels = ["wsdiscovery", "onvif", "sadp", "mdns"]
[wsdiscovery]
scopes = ["onvif://www.onvif.org/name/X"]
[onvif]
auth = "required"
[sadp]
description = "DS-1"
[mdns]
type = "_CGI._tcp.local."
instance = "HIKVISION DS-1 - {serial9}"
host = "{serial}.local."
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cam.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_channel_tables_load(tmp_path: Path) -> None:
    p = load_persona(write(tmp_path, GOOD))
    assert p.channels.names == ("wsdiscovery", "onvif", "sadp", "mdns")
    assert p.channels.onvif is not None
    assert (p.channels.onvif.port, p.channels.onvif.serial) == (80, "{serial}")
    assert p.channels.mdns[0].port == 80 and p.expect.channels == p.channels.names


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.replace('description = "DS-1"', 'descripton = "DS-1"'),
            "[sadp]: unknown key 'descripton'",
        ),
        (lambda t: t.replace('["onvif://www.onvif.org/name/X"]', '"x"'), "'scopes' must be a list"),
        (lambda t: t + "[dhip]\nport = 0\n", "'port' must be an integer 1..65535"),
        (lambda t: t.replace('auth = "required"', 'auth = "digest"'), "'auth' must be anonymous or required"),
        (lambda t: t.replace('auth = "required"', "port = 8443"), "[onvif] port 8443 is not an http"),
        (
            lambda t: t.replace("[onvif]\n", "[onvif]\nclock_skew = 99999999\n"),
            "'clock_skew' must be an integer",
        ),
        (
            lambda t: t.replace("[wsdiscovery]\n", '[wsdiscovery]\ntypes = ["wsdp:Device"]\n'),
            "dn: or tds: QName",
        ),
        (
            lambda t: t.replace("[wsdiscovery]\n", '[wsdiscovery]\nendpoint = "random"\n'),
            "'endpoint' must be",
        ),
        (
            lambda t: t.replace(
                "[wsdiscovery]\n", "[wsdiscovery]\nanswer_typed = false\nanswer_untyped = false\n"
            ),
            "answers no probe",
        ),
        (lambda t: t.replace('"_CGI._tcp.local."', '"_printer._tcp.local."'), "type '_printer._tcp.local.'"),
        (lambda t: t.replace('host = "{serial}.local."', 'host = "cam.lan"'), "must end in .local."),
        (lambda t: t.replace('"wsdiscovery", "onvif", ', ""), "[expect] channels"),
        (lambda t: t.replace('"mdns"]', '"mdns", "sadp"]'), "[expect] channels"),
        (lambda t: t.replace('"sadp", "mdns"]', '"sadp", "mdns", "snmp"]'), "unknown channel(s) snmp"),
        (lambda t: t + '[dvrip]\nversion = "2.x"\n', "'version' must be four numbers"),
        (lambda t: t + '[ssdp]\nst = "upnp:rootdevice"\n', "[ssdp]: missing 'server'"),
        (lambda t: t + '[ssdp]\nserver = "a\\r\\nb: c"\n', "control character"),
        (lambda t: t.replace("[sadp]", '[sadp]\nactivated = "yes"'), "'activated' must be true or false"),
        (lambda t: t.split("channels =")[0] + "needs_discovery = true\n", "needs_discovery without"),
    ],
)
def test_bad_channel_table_is_one_clear_line(tmp_path: Path, change: object, message: str) -> None:
    path = write(tmp_path, change(GOOD))  # type: ignore[operator]
    with pytest.raises(PersonaError) as info:
        load_persona(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_wsdiscovery_without_onvif_needs_xaddrs(tmp_path: Path) -> None:
    text = GOOD.replace('auth = "required"\n', "").replace("[onvif]\n", "").replace('"onvif", ', "")
    with pytest.raises(PersonaError, match="needs 'xaddrs' or an \\[onvif\\] table"):
        load_persona(write(tmp_path, text))
