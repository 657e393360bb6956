"""probes/sadp.py: Hikvision SADP inquiry against fake devices on loopback and in a throw-away netns."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from camscan.models import Observation, SegmentResult
from camscan.parse import xmlsafe
from camscan.probes.sadp import GROUP, PORT, SadpProbe
from camscan.probes.udp import RunInfo
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

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sadp"


def obs(field: str, value: str) -> Observation:
    return Observation("sadp", field, value, PORT)


def device(name: str) -> Handler:
    """A SADP device: answers an inquiry (and nothing else) with a fixture ProbeMatch."""
    answer = (FIXTURES / f"{name}.xml").read_bytes()
    return lambda data, ip: [answer] if b"<Types>inquiry</Types>" in data else []


async def inquire(lab: FakeDevices, targets: Sequence[str], scope: str) -> tuple[SegmentResult, RunInfo]:
    probe = SadpProbe()
    result = await unicast_run(lab, probe, PORT, targets, in_prefix(scope), 0.3)
    return result, probe.last_run


async def test_hikvision_camera_answers_a_unicast_inquiry() -> None:
    base = loopback_base()
    lab = FakeDevices()
    cam = lab.add(base + "10", device("hikvision-ipc"))
    result, _ = await inquire(lab, [base + "10"], base)
    assert result.status is Status.OK and result.sent == 1
    assert result.replies == {
        base + "10": (
            obs("sadp.reply", "ProbeMatch"),
            obs("sadp.device_type", "138497"),
            obs("sadp.description", "DS-2CD2143G2-I"),
            obs("sadp.serial", "DS-2CD2143G2-I20230415AAWRK71234567"),
            obs("sadp.software_version", "V5.7.13build 230217"),
            obs("sadp.dsp_version", "V7.3 build 230210"),
            obs("sadp.activated", "true"),
            obs("mac.address", "44:19:b6:3a:7c:21"),
            obs(
                "sadp.claimed_address", "192.0.2.10"
            ),  # the fixture names its own 192.0.2.x; it answers from 127.x
        )
    }
    (inquiry,) = cam.seen
    root = xmlsafe.parse(inquiry, max_bytes=4096)
    assert root.tag == "Probe" and xmlsafe.text(xmlsafe.child(root, "Types"), 32) == "inquiry"
    assert xmlsafe.text(xmlsafe.child(root, "Uuid"), 64)


async def test_relabelled_nvr_reports_its_oem_label_and_activation() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "70", device("oem-nvr"))
    result, _ = await inquire(lab, [base + "70"], base)
    seen = result.replies[base + "70"]
    assert obs("sadp.oem_info", "LT Security") in seen
    assert obs("sadp.activated", "false") in seen
    assert obs("mac.address", "14:2f:fd:0a:1b:2c") in seen


async def test_each_run_uses_a_new_request_uuid() -> None:
    base = loopback_base()
    lab = FakeDevices()
    cam = lab.add(base + "1", lambda data, ip: [])
    port = await lab.start()
    try:
        async with scan_context({PORT: port}) as ctx:
            for _ in range(2):
                await SadpProbe().run(ctx, [], [base + "1"], in_prefix(base), 0.0)
            await asyncio.sleep(0.05)
    finally:
        lab.close()
    uuids = {xmlsafe.text(xmlsafe.child(xmlsafe.parse(d, max_bytes=4096), "Uuid"), 64) for d in cam.seen}
    assert len(cam.seen) == 2 and len(uuids) == 2


def test_multicast_inquiry_finds_devices_answering_us_or_the_group(netns: str) -> None:
    async def scenario() -> tuple[SegmentResult, RunInfo, list[int]]:
        lab = FakeDevices(PORT, GROUP)
        lab.add("127.0.1.10", device("hikvision-ipc"))
        lab.add("127.0.1.70", device("oem-nvr"), to_group=True)
        await lab.start()
        try:
            async with scan_context() as ctx:
                probe = SadpProbe()
                result = await probe.run(ctx, [LO], [], in_prefix("127.0.1."), 0.3)
        finally:
            lab.close()
        return result, probe.last_run, [len(d.seen) for d in lab.devices]

    result, info, seen = run_in_netns(netns, scenario)
    assert result.status is Status.OK and result.sent == 1
    assert seen == [1, 1]
    assert sorted(result.replies) == ["127.0.1.10", "127.0.1.70"]
    assert obs("sadp.oem_info", "LT Security") in result.replies["127.0.1.70"]
    assert info.dropped("own-echo") == 1  # our inquiry, heard by our own group listener


def test_attack_reply_naming_another_address_is_recorded_not_trusted() -> None:
    from camlab.encoders import build_sadp_probe_match
    from camscan.probes.sadp import decode

    spoof = build_sadp_probe_match(
        {
            "Types": "inquiry",
            "DeviceType": "138",
            "DeviceDescription": "DS-2CD2142FWD-I",
            "DeviceSN": "DS-2CD2142FWD-I20170101AAWR123456789",
            "MAC": "44-19-b6-00-00-01",
            "IPv4Address": "10.9.9.9",
        }
    )
    observations = decode(spoof, "10.0.0.5")
    claimed = [o for o in observations if o.field == "sadp.claimed_address"]
    assert [o.value for o in claimed] == ["10.9.9.9"]
    honest = build_sadp_probe_match(
        {"Types": "inquiry", "IPv4Address": "10.0.0.5", "MAC": "44-19-b6-00-00-01"}
    )
    assert not [o for o in decode(honest, "10.0.0.5") if o.field == "sadp.claimed_address"]
