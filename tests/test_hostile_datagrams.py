"""Hostile answers to every discovery protocol, one scenario at a time: each is dropped for its reason and
counted, and never hides the honest device beside it (SADP, DHIP, DVRIP, WS-Discovery, SSDP)."""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from camlab.encoders import build_ssdp_reply
from camscan.models import SegmentResult
from camscan.parse.dvrip import build_search as dvrip_search
from camscan.parse.soap import parse_probe
from camscan.probes.dhip import DhipProbe
from camscan.probes.dvrip import DvripProbe
from camscan.probes.sadp import SadpProbe
from camscan.probes.ssdp import SsdpProbe
from camscan.probes.udp import DatagramProbe, RunInfo
from camscan.probes.wsdiscovery import WsDiscoveryProbe
from tests.udpkit import FakeDevices, Handler, in_prefix, loopback_base, unicast_run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WSD_RELATES_TO = b"uuid:5f3c1d2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"
# billion laughs: 10^8 copies of "aaaaaaaaaa" if anything expanded the entities
BOMB_DTD = '<!ENTITY a "aaaaaaaaaa">' + "".join(
    f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(8)
)


def _toml(path: Path) -> dict[str, str]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def sadp_device() -> Handler:
    answer = (FIXTURES / "sadp" / "hikvision-ipc.xml").read_bytes()
    return lambda data, ip: [answer] if b"<Types>inquiry</Types>" in data else []


def dhip_device() -> Handler:
    doc = _toml(FIXTURES / "dhip" / "dahua-ipc.toml")
    answer = bytes.fromhex(doc["header"]) + doc["body"].encode()
    return lambda data, ip: [answer] if b"DHDiscover.search" in data else []


def dvrip_device() -> Handler:
    answer = bytes.fromhex("".join(_toml(FIXTURES / "dhip" / "dvrip-5050-dvr.toml")["hex"].split()))
    return lambda data, ip: [answer] if data == dvrip_search() else []


def wsd_device() -> Handler:
    raw = (FIXTURES / "wsd" / "dahua-probematch.xml").read_bytes()

    def answer(data: bytes, ip: str) -> Sequence[bytes]:
        probe = parse_probe(data)
        if probe is None or probe.message_id is None:
            return []
        return [
            re.sub(rb"192\.0\.2\.\d+", ip.encode(), raw.replace(WSD_RELATES_TO, probe.message_id.encode()))
        ]

    return answer


def ssdp_device() -> Handler:
    def answer(data: bytes, ip: str) -> Sequence[bytes]:
        st = re.search(rb"\r\nST: *([^\r]*)", data)
        if not data.startswith(b"M-SEARCH") or st is None:
            return []
        headers = {
            "LOCATION": f"http://{ip}:9/desc.xml",
            "SERVER": "Linux UPnP/1.0 Camera",
            "ST": st[1].decode(),
        }
        return [build_ssdp_reply(headers)]

    return answer


def sadp_bomb(data: bytes) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE ProbeMatch [{BOMB_DTD}]>'
        "<ProbeMatch><DeviceDescription>&i;</DeviceDescription></ProbeMatch>"
    ).encode()


def wsd_bomb(data: bytes) -> bytes:
    probe = parse_probe(data)
    relates = probe.message_id if probe and probe.message_id else ""
    return (
        f'<?xml version="1.0"?><!DOCTYPE s [{BOMB_DTD}]>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
        f"<s:Header><a:RelatesTo>{relates}</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>"
        "<d:Scopes>&i;</d:Scopes></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


@dataclass(frozen=True)
class Protocol:
    """One discovery protocol as the attacks need: its probe, an honest device and its own hostile forms."""

    probe: Callable[[], DatagramProbe]
    device: Callable[[], Handler]
    requests: int  # datagrams sent to each target
    echo_reason: str  # how a request sent back to us is dropped
    foreign_request: bytes | None = None  # another tool's request, as captured; else ours reflected
    bomb: Callable[[bytes], bytes] | None = None  # an entity-expansion answer, for the XML protocols


PROTOCOLS = {
    "sadp": Protocol(
        SadpProbe, sadp_device, 1, "echo", (FIXTURES / "sadp" / "inquiry-echo.xml").read_bytes(), sadp_bomb
    ),
    "dhip": Protocol(DhipProbe, dhip_device, 1, "echo"),
    "dvrip": Protocol(DvripProbe, dvrip_device, 1, "echo"),
    "wsdiscovery": Protocol(WsDiscoveryProbe, wsd_device, 2, "not-a-match", bomb=wsd_bomb),
    "ssdp": Protocol(SsdpProbe, ssdp_device, 2, "echo"),
}
XML = [name for name, proto in PROTOCOLS.items() if proto.bomb is not None]
# Protocols whose datagram cap is below what UDP can carry (the others' cap is UDP's own).
CAPPED = [name for name, proto in PROTOCOLS.items() if proto.probe().channel.max_datagram < 65_000]


async def attack(
    name: str, hostile: Handler, *, honest_in_scope: bool = True
) -> tuple[SegmentResult, RunInfo, str, str]:
    """A hostile device (.1) beside an honest one (.2), both asked by unicast; the scope is the /24 unless
    `honest_in_scope` is false, when it is the honest device alone."""
    proto = PROTOCOLS[name]
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", hostile)
    lab.add(base + "2", proto.device())
    probe = proto.probe()
    scope = in_prefix(base) if honest_in_scope else (lambda ip: ip == base + "2")
    result = await unicast_run(lab, probe, probe.channel.port, [base + "1", base + "2"], scope, 0.3)
    return result, probe.last_run, base + "1", base + "2"


@pytest.mark.parametrize("name", PROTOCOLS)
async def test_attack_a_request_sent_back_is_not_a_device(name: str) -> None:
    proto = PROTOCOLS[name]
    foreign = proto.foreign_request
    result, info, _, honest = await attack(name, lambda data, ip: [foreign or data])
    assert list(result.replies) == [honest]
    assert info.dropped(proto.echo_reason) == proto.requests


@pytest.mark.parametrize("name", PROTOCOLS)
async def test_attack_an_answer_from_outside_the_targets_is_not_recorded(name: str) -> None:
    proto = PROTOCOLS[name]
    result, info, _, honest = await attack(name, proto.device(), honest_in_scope=False)
    assert list(result.replies) == [honest]
    assert result.rejected == proto.requests == info.dropped("out-of-scope")


@pytest.mark.parametrize("name", CAPPED)
async def test_attack_an_oversized_answer_is_dropped_unread(name: str) -> None:
    proto = PROTOCOLS[name]
    cap = proto.probe().channel.max_datagram
    honest = proto.device()
    result, info, _, good = await attack(name, lambda data, ip: [a + b" " * cap for a in honest(data, ip)])
    assert list(result.replies) == [good]
    assert info.dropped("oversized") == proto.requests


@pytest.mark.parametrize("name", PROTOCOLS)
async def test_attack_garbage_is_malformed_and_counted(name: str) -> None:
    proto = PROTOCOLS[name]
    junk = [b"\x00\xff" * 40, b"\x20\x00\x00\x00" + b"\xff" * 60, b"<ProbeMatch>" + b"<" * 200]
    result, info, _, good = await attack(name, lambda data, ip: junk)
    assert list(result.replies) == [good]
    assert info.dropped("malformed") == 3 * proto.requests


@pytest.mark.parametrize("name", XML)
async def test_attack_an_xml_bomb_is_refused_quickly(name: str) -> None:
    bomb = PROTOCOLS[name].bomb
    assert bomb is not None
    start = time.monotonic()
    result, info, _, good = await attack(name, lambda data, ip: [bomb(data)])
    assert time.monotonic() - start < 2.0
    assert list(result.replies) == [good]
    assert info.dropped("malformed") == PROTOCOLS[name].requests
