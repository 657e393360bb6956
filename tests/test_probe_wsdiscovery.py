"""probes/wsdiscovery.py: ONVIF WS-Discovery against fake cameras on loopback and in a throw-away netns."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from camlab.encoders import build_probe_matches
from camscan.models import Observation, SegmentResult
from camscan.parse.soap import ProbeMatch, parse_probe
from camscan.probes.wsdiscovery import PORT, WsDiscoveryProbe, match_observations
from camscan.status import Status
from tests.udpkit import (
    LO,
    FakeDevices,
    Handler,
    in_prefix,
    loopback_base,
    run_in_netns,
    scan_context,
    unicast_run,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wsd"
FIXTURE_RELATES_TO = b"uuid:5f3c1d2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"
NVT = "dn:NetworkVideoTransmitter"


def camera(
    name: str, *, own_xaddr: bool = True, typed_only: bool = False, untyped_only: bool = False
) -> Handler:
    """A device answering Probes with a fixture, RelatesTo set to the probe's MessageID."""
    raw = (FIXTURES / f"{name}.xml").read_bytes()

    def handler(data: bytes, ip: str) -> Sequence[bytes]:
        probe = parse_probe(data)
        if probe is None or probe.message_id is None:
            return []
        typed = NVT in probe.types
        if (typed_only and not typed) or (untyped_only and typed):
            return []
        body = raw.replace(FIXTURE_RELATES_TO, probe.message_id.encode())
        if own_xaddr:
            body = re.sub(rb"192\.0\.2\.\d+", ip.encode(), body)
        return [body]

    return handler


def obs(field: str, value: str) -> Observation:
    return Observation("wsdiscovery", field, value, PORT)


async def discover(lab: FakeDevices, targets: Sequence[str], scope: str, wait: float = 0.3) -> SegmentResult:
    return await unicast_run(lab, WsDiscoveryProbe(), PORT, targets, in_prefix(scope), wait)


async def test_hikvision_camera_found_by_unicast_probe() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "10", camera("hikvision-probematch"))
    result = await discover(lab, [base + "10"], base)
    assert result.status is Status.OK and result.sent == 2
    scopes = (
        "onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming "
        "onvif://www.onvif.org/MAC/44:19:b6:3a:7c:21 onvif://www.onvif.org/hardware/DS-2CD2143G2-I http:123"
    )
    assert result.replies == {
        base + "10": (
            obs("wsd.types", "dn:NetworkVideoTransmitter tds:Device"),
            obs("wsd.scope.type", "video_encoder"),
            obs("wsd.scope.profile", "Streaming"),
            obs("wsd.scope.mac", "44:19:b6:3a:7c:21"),
            obs("wsd.scope.hardware", "DS-2CD2143G2-I"),
            obs("wsd.scope.other", "http:123"),
            obs("wsd.scopes", scopes),
            obs("wsd.xaddr", f"http://{base}10/onvif/device_service"),
            obs("wsd.xaddr", "http://[fe80::4619:b6ff:fe3a:7c21]/onvif/device_service"),
            obs("wsd.endpoint", "urn:uuid:a0b14000-9c3d-11b3-8312-4419b63a7c21"),
            obs("mac.address", "44:19:b6:3a:7c:21"),
            obs("wsd.metadata_version", "10"),
        )
    }


async def test_typed_and_untyped_probes_each_carry_a_new_message_id() -> None:
    base = loopback_base()
    lab = FakeDevices()
    device = lab.add(base + "1", lambda data, ip: [])
    port = await lab.start()
    try:
        async with scan_context({PORT: port}) as ctx:
            probe = WsDiscoveryProbe()
            await probe.run(ctx, [], [base + "1"], in_prefix(base), 0.1)
            await probe.run(ctx, [], [base + "1"], in_prefix(base), 0.1)
    finally:
        lab.close()
    probes = [parse_probe(data) for data in device.seen]
    assert [p.types if p else None for p in probes] == [(NVT,), (), (NVT,), ()]
    ids = {p.message_id for p in probes if p}
    assert len(ids) == 4


async def test_cameras_answering_only_one_kind_of_probe_are_both_found() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", camera("hikvision-probematch", typed_only=True))  # D-Link DCS style
    lab.add(base + "2", camera("axis-m1065-probematch", untyped_only=True))
    result = await discover(lab, [base + "1", base + "2"], base)
    assert sorted(result.replies) == [base + "1", base + "2"]
    assert obs("wsd.scope.name", "AXIS M1065-L") in result.replies[base + "2"]


async def test_dahua_location_and_vendor_extension_scopes() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "40", camera("dahua-probematch"))
    result = await discover(lab, [base + "40"], base)
    seen = result.replies[base + "40"]
    for expected in (
        obs("wsd.scope.location", "country/china"),
        obs("wsd.scope.name", "Dahua"),
        obs("wsd.scope.type", "Network_Video_Transmitter"),
        obs("wsd.scope.other", "extension/unique_identifier/1"),
        obs("wsd.endpoint", "uuid:2419ecbd-7f33-4a6c-b1d8-3cef8c5a1e92"),
    ):
        assert expected in seen
    assert not [o for o in seen if o.field in ("mac.address", "wsd.claimed_address")]


async def test_a_proxy_answer_with_several_matches_keeps_every_xaddr() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "60", camera("multi-probematch"))
    result = await discover(lab, [base + "60"], base)
    seen = result.replies[base + "60"]
    assert [o.value for o in seen if o.field == "wsd.xaddr"] == [
        f"http://{base}60/onvif/device_service",
        f"http://{base}60:8081/onvif/device_service",
    ]
    assert obs("wsd.scope.name", "HIKVISION DS-7608NI-K2") in seen
    assert obs("wsd.scope.location", "channel 2") in seen
    assert [o.value for o in seen if o.field == "wsd.metadata_version"] == ["3"]


async def test_attack_spoofed_relates_to_is_rejected() -> None:
    base = loopback_base()
    lab = FakeDevices()

    def spoofer(data: bytes, ip: str) -> Sequence[bytes]:  # answers with a stale or guessed RelatesTo
        raw = (FIXTURES / "hikvision-probematch.xml").read_bytes()
        return [raw, raw.replace(FIXTURE_RELATES_TO, b"")]

    lab.add(base + "1", spoofer)
    lab.add(base + "2", camera("dahua-probematch"))
    probe = WsDiscoveryProbe()
    result = await unicast_run(lab, probe, PORT, [base + "1", base + "2"], in_prefix(base), 0.3)
    assert list(result.replies) == [base + "2"]
    assert probe.last_run.dropped("unrelated") == 4  # two answers to each of the two probes


async def test_attack_reply_claiming_another_ip_is_recorded_as_a_claim() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "7", camera("hikvision-probematch", own_xaddr=False))  # XAddr says 192.0.2.10
    result = await discover(lab, [base + "7"], base)
    assert list(result.replies) == [base + "7"]  # keyed by who sent it, never by what it says
    claims = [o.value for o in result.replies[base + "7"] if o.field == "wsd.claimed_address"]
    assert claims == ["http://192.0.2.10/onvif/device_service"]  # the IPv6 self-address is no claim


def test_host_names_and_unparsable_xaddrs_are_claims() -> None:
    match = ProbeMatch(
        endpoint="",
        types=(),
        xaddrs=("http://cam.example/onvif", "http://[zz/onvif", "http://127.0.0.5:8080/onvif"),
        scopes=(),
        metadata_version=None,
        relates_to=None,
        message_id=None,
    )
    claims = [o.value for o in match_observations(match, "127.0.0.5") if o.field == "wsd.claimed_address"]
    assert claims == ["http://cam.example/onvif", "http://[zz/onvif"]


def synthetic(ip: str) -> Handler:
    """A minimal camera whose ProbeMatch names its own address (for the 250-device runs)."""
    suffix = ip.replace(".", "")[-12:].zfill(12)
    match = ProbeMatch(
        endpoint=f"urn:uuid:00000000-0000-4000-8000-{suffix}",
        types=(NVT,),
        xaddrs=(f"http://{ip}/onvif/device_service",),
        scopes=("onvif://www.onvif.org/name/LAB", "onvif://www.onvif.org/hardware/CAM"),
        metadata_version=1,
        relates_to=None,
        message_id=None,
    )

    def handler(data: bytes, dev_ip: str) -> Sequence[bytes]:
        probe = parse_probe(data)
        if probe is None or probe.message_id is None:
            return []
        return [build_probe_matches([match], message_id=f"uuid:{suffix}", relates_to=probe.message_id)]

    return handler


async def test_250_unicast_cameras_are_all_found() -> None:
    base = loopback_base()
    lab = FakeDevices()
    addresses = [f"{base}{n}" for n in range(1, 251)]
    for ip in addresses:
        lab.add(ip, synthetic(ip))
    start = time.monotonic()
    result = await discover(lab, addresses, base, wait=0.5)
    took = time.monotonic() - start
    print(f"\nWS-Discovery unicast: {len(result.replies)}/250 found in {took:.2f}s ({result.sent} probes)")
    assert len(result.replies) == 250 and result.rejected == 0
    claims = [o for found in result.replies.values() for o in found if o.field == "wsd.claimed_address"]
    assert claims == []


def test_250_cameras_answering_one_multicast_probe_pair_are_all_found(netns: str) -> None:
    async def scenario() -> tuple[SegmentResult, float, list[int]]:
        lab = FakeDevices(PORT, "239.255.255.250")
        for n in range(250):
            ip = f"127.0.{1 + n // 200}.{1 + n % 200}"
            lab.add(ip, synthetic(ip))
        await lab.start()
        start = time.monotonic()
        try:
            async with scan_context() as ctx:
                result = await WsDiscoveryProbe().run(ctx, [LO], [], in_prefix("127.0."), 0.5)
        finally:
            lab.close()
        return result, time.monotonic() - start, [len(d.seen) for d in lab.devices]

    result, took, seen = run_in_netns(netns, scenario)
    print(f"\nWS-Discovery multicast (netns lo): {len(result.replies)}/250 found in {took:.2f}s")
    assert result.status is Status.OK and result.sent == 2
    assert set(seen) == {2}  # every device heard the typed and the untyped probe
    assert len(result.replies) == 250
    assert result.received == 500 and result.rejected == 0
