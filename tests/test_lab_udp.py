"""UDP discovery responders on the loopback lab: every persona answers its channels by unicast, from its own
address, with what its file says; garbage never takes a responder down; nothing joins a multicast group."""

from __future__ import annotations

import os
import socket
import time

import httpx
import pytest

from camlab.encoders import build_probe_matches
from camlab.loopback import ThreadedLab
from camlab.personas import load_personas
from camlab.plan import LabDevice, default_personas_dir
from camlab.udp import BY_CHANNEL
from camscan.parse import dhip, dvrip, sadp, soap, upnp

PERSONAS = load_personas(default_personas_dir())
UDP_CASES = [(p.id, c) for p in PERSONAS for c in p.channels.names if c in BY_CHANNEL]
PROBE_ID = "uuid:5f3c1d2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"

Reply = tuple[bytes, tuple[str, int]]


def ask(
    ip: str, port: int, payload: bytes, *, source: str = "127.0.0.1", settle: float = 0.05, first: float = 2.0
) -> list[Reply]:
    """Send one datagram and collect what comes back (until `settle` s pass without another one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.sendto(payload, (ip, port))
        replies: list[Reply] = []
        sock.settimeout(first)
        try:
            while True:
                replies.append(sock.recvfrom(65535))
                sock.settimeout(settle)
        except TimeoutError:
            return replies


def msearch(st: str) -> bytes:
    return upnp.build_msearch(st)


def device_of(lab: ThreadedLab, pid: str) -> LabDevice:
    return next(d for d in lab.devices if d.persona.id == pid)


def request_for(channel: str) -> bytes:
    return {
        "wsdiscovery": soap.build_probe(PROBE_ID, "dn:NetworkVideoTransmitter"),
        "sadp": sadp.build_inquiry("6F1C2A3B-4D5E-4F60"),
        "dhip": dhip.build_search(request_id=41),
        "dvrip": dvrip.build_search(),
        "ssdp": msearch("upnp:rootdevice"),
    }[channel]


def check_reply(device: LabDevice, channel: str, data: bytes) -> None:
    """The reply parses with camscan's own parser and says what the persona file says."""
    ch, expect = device.persona.channels, device.persona.expect
    if channel == "wsdiscovery":
        (match,) = soap.parse_probe_matches(data)
        assert match.relates_to == PROBE_ID and match.types
        assert all(device.render(s) in match.scopes for s in ch.wsdiscovery.scopes)  # type: ignore[union-attr]
    elif channel == "sadp":
        got = sadp.parse_probe_match(data)
        assert (got.uuid, got.mac, got.ipv4) == ("6F1C2A3B-4D5E-4F60", device.mac, device.ip)
        assert got.serial == device.render(ch.sadp.serial or "")  # type: ignore[union-attr]
        assert got.activated is ch.sadp.activated and got.oem_info == ch.sadp.oem_info  # type: ignore[union-attr]
        assert expect.model is None or got.description == expect.model
    elif channel == "dhip":
        reply = dhip.parse_reply(data)
        assert (reply.request_id, reply.mac, reply.ipv4, reply.port) == (41, device.mac, device.ip, 37777)
        assert reply.vendor == ch.dhip.vendor and reply.device_type == ch.dhip.device_type  # type: ignore[union-attr]
    elif channel == "dvrip":
        legacy = dvrip.parse_reply(data)
        assert (legacy.mac, legacy.ipv4, legacy.serial) == (device.mac, device.ip, device.serial)
        assert legacy.model == ch.dvrip.model  # type: ignore[union-attr]
    else:
        answer = upnp.parse_search_reply(data)
        assert answer.st == "upnp:rootdevice"
        assert answer.server == device.render(ch.ssdp.server)  # type: ignore[union-attr]
        assert answer.location is not None and answer.location.startswith(f"http://{device.ip}:")


@pytest.mark.parametrize(("pid", "channel"), UDP_CASES)
def test_unicast_probe_gets_the_persona_answer(
    loopback_lab_runtime: ThreadedLab, pid: str, channel: str
) -> None:
    device = device_of(loopback_lab_runtime, pid)
    replies = ask(device.ip, BY_CHANNEL[channel].port, request_for(channel))
    assert len(replies) == 1, f"{pid} {channel}: {len(replies)} replies"
    data, source = replies[0]
    assert source == (device.ip, BY_CHANNEL[channel].port)
    check_reply(device, channel, data)


def test_typed_only_responders_ignore_untyped_probes(loopback_lab_runtime: ThreadedLab) -> None:
    typed_only = [
        d
        for d in loopback_lab_runtime.devices
        if d.persona.channels.wsdiscovery and not d.persona.channels.wsdiscovery.answer_untyped
    ]
    assert len(typed_only) >= 2
    for device in typed_only:
        assert ask(device.ip, 3702, soap.build_probe("uuid:u-1", None), first=0.3) == []
        ((data, _),) = ask(device.ip, 3702, soap.build_probe("uuid:t-1", "dn:NetworkVideoTransmitter"))
        assert soap.parse_probe_matches(data)[0].relates_to == "uuid:t-1"
    other = device_of(loopback_lab_runtime, "hikvision-ds2cd2142")
    assert ask(other.ip, 3702, soap.build_probe("uuid:x-1", "tds:Device"))  # any type it has
    assert ask(other.ip, 3702, soap.build_probe("uuid:x-2", "tds:Printer"), first=0.3) == []


def test_ssdp_search_targets_and_description(loopback_lab_runtime: ThreadedLab) -> None:
    device = device_of(loopback_lab_runtime, "axis-m3045")
    spec = device.persona.channels.ssdp
    assert spec is not None
    every = ask(device.ip, 1900, msearch("ssdp:all"), settle=0.3)
    assert [upnp.parse_search_reply(d).st for d, _ in every] == ["upnp:rootdevice", spec.st]
    assert len(ask(device.ip, 1900, msearch(spec.st))) == 1
    assert ask(device.ip, 1900, msearch("urn:schemas-upnp-org:device:MediaServer:1"), first=0.3) == []
    location = upnp.parse_search_reply(every[0][0]).location
    assert location == f"http://{device.ip}:80/description.xml"  # logical port, as the scan reports ports
    real = location.replace(":80/", f":{device.real_port(80)}/")
    reply = httpx.get(real, timeout=5)
    desc = upnp.parse_description(reply.content)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/xml")
    serial = device.mac.replace(":", "").upper()
    assert (desc.manufacturer, desc.model_number, desc.serial) == ("AXIS", "M3045-V", serial)
    assert httpx.head(real, timeout=5).content == b""


HOSTILE = [
    b"",
    b"\x00" * 7,
    os.urandom(1500),
    b"\xff\xfe<\x00?\x00x\x00",
    b"x" * 60_000,
    b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Probe>&b;</Probe>',
    b"<Probe><Uuid>../../etc</Uuid><Types>inquiry</Types></Probe>",
    b"<Probe>" * 200,
    dhip.MAGIC + b"\x00" * 24,  # header only, no body
    dhip.build_frame(b'{"method":"DHDiscover.search","params":'),  # truncated JSON
    dhip.build_frame(b"[" * 5000 + b"]" * 5000),
    dhip.build_frame(b'{"method":"client.notifyDevInfo"}'),  # another device's answer: ignored
    b"M-SEARCH * HTTP/1.1\r\n" + b"X: y\r\n" * 2000,
    b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n",
    build_probe_matches([], message_id="uuid:m", relates_to="uuid:r"),
    soap.build_probe("uuid:no-types", None).replace(b"<a:MessageID>uuid:no-types</a:MessageID>", b""),
    dvrip.REPLY_MAGIC + b"\x00" * 200,
]


def test_garbage_never_hurts_a_responder(loopback_lab_runtime: ThreadedLab) -> None:
    lab = loopback_lab_runtime
    stats = lab.server.stats.udp
    targets = [d for d in lab.devices if set(d.persona.channels.names) & set(BY_CHANNEL)][:12]
    before = stats.garbage
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for device in targets:
            for channel in (c for c in device.persona.channels.names if c in BY_CHANNEL):
                for payload in HOSTILE:
                    sock.sendto(payload, (device.ip, BY_CHANNEL[channel].port))
    time.sleep(0.3)
    assert stats.garbage > before
    assert stats.internal_errors == 0 and lab.server.stats.internal_errors == 0
    for device in targets:  # every responder still answers
        for channel in (c for c in device.persona.channels.names if c in BY_CHANNEL):
            replies = ask(device.ip, BY_CHANNEL[channel].port, request_for(channel))
            assert len(replies) == 1, f"{device.persona.id} {channel} went quiet"


def test_responders_never_answer_another_lab_device(loopback_lab_runtime: ThreadedLab) -> None:
    lab = loopback_lab_runtime
    hik, other = device_of(lab, "hikvision-ds2cd2142"), device_of(lab, "acti-e32")
    assert ask(hik.ip, 37020, request_for("sadp"), source=other.ip, first=0.3) == []
    assert len(ask(hik.ip, 37020, request_for("sadp"))) == 1


def test_loopback_lab_is_unicast_only(loopback_lab_runtime: ThreadedLab) -> None:
    lab = loopback_lab_runtime
    assert not lab.server.multicast and lab.manifest["multicast"] is False
    responders = lab.server._udp
    assert len(responders) == lab.server.udp_sockets == sum(len(d["udp"]) for d in lab.manifest["devices"])
    for responder in responders:
        assert responder.sock is not None and responder.ifname is None
        assert responder.sock.getsockname() == (responder.device.ip, responder.proto.port)
    assert all("mdns" not in d["channels"] for d in lab.manifest["devices"])
