"""probes/dhip.py: Dahua DHIP DHDiscover.search against fake devices on loopback and in a throw-away netns."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path

from camscan.models import Observation, SegmentResult
from camscan.parse.dhip import HEADER, build_frame
from camscan.probes.dhip import GROUP, PORT, DhipProbe
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

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dhip"


def obs(field: str, value: str) -> Observation:
    return Observation("dhip", field, value, PORT)


def fixture(name: str) -> bytes:
    with (FIXTURES / f"{name}.toml").open("rb") as fh:
        doc = tomllib.load(fh)
    return bytes.fromhex(doc["header"]) + str(doc["body"]).encode("utf-8")


def is_search(data: bytes) -> bool:
    try:
        return bool(json.loads(data[HEADER.size :])["method"] == "DHDiscover.search")
    except (ValueError, KeyError, TypeError):
        return False


def device(name: str) -> Handler:
    """A DHIP device: answers DHDiscover.search (and nothing else) with a fixture notifyDevInfo."""
    answer = fixture(name)
    return lambda data, ip: [answer] if is_search(data) else []


async def search(lab: FakeDevices, targets: Sequence[str], scope: str) -> tuple[SegmentResult, RunInfo]:
    probe = DhipProbe()
    result = await unicast_run(lab, probe, PORT, targets, in_prefix(scope), 0.3)
    return result, probe.last_run


async def test_dahua_camera_answers_a_unicast_search() -> None:
    base = loopback_base()
    lab = FakeDevices()
    cam = lab.add(base + "40", device("dahua-ipc"))
    result, _ = await search(lab, [base + "40"], base)
    assert result.status is Status.OK and result.sent == 1
    assert result.replies == {
        base + "40": (
            obs("dhip.reply", "client.notifyDevInfo"),
            obs("dhip.vendor", "Dahua"),
            obs("dhip.device_type", "IPC-HDW5831R-ZE"),
            obs("dhip.device_class", "IPC"),
            obs("dhip.serial", "6G0ABCD1234567F"),
            obs("dhip.version", "2.800.0000016.0.R"),
            obs("dhip.machine_name", "IPC-HDW5831R-ZE"),
            obs("mac.address", "3c:ef:8c:12:ab:34"),
            obs(
                "dhip.claimed_address", "192.0.2.40"
            ),  # the fixture names its own 192.0.2.x; it answers from 127.x
        )
    }
    (request,) = cam.seen
    assert request[4:8] == b"DHIP" and is_search(request)


async def test_relabelled_amcrest_reports_its_label_as_vendor() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "41", device("amcrest-ip2m"))
    result, _ = await search(lab, [base + "41"], base)
    seen = result.replies[base + "41"]
    assert obs("dhip.vendor", "Amcrest") in seen
    assert obs("dhip.version", "2.620.00AC000.3.R") in seen


async def test_attack_header_lying_about_length_is_rejected() -> None:
    base = loopback_base()
    honest = fixture("dahua-ipc")
    declared = (60_000).to_bytes(4, "little")
    lying = honest[:16] + declared + honest[20:24] + declared + honest[28:]  # body and expected length
    garbled = build_frame(b'{"method":"client.notifyDevInfo","params":{"deviceInfo":\xff\xfe')
    lab = FakeDevices()
    lab.add(base + "1", lambda data, ip: [lying, garbled])
    result, info = await search(lab, [base + "1"], base)
    assert result.replies == {} and info.dropped("malformed") == 2


def test_multicast_search_on_dahuas_own_group_finds_both_answer_styles(netns: str) -> None:
    async def scenario() -> tuple[SegmentResult, RunInfo, list[int]]:
        lab = FakeDevices(PORT, GROUP)
        lab.add("127.0.1.40", device("dahua-ipc"))
        lab.add("127.0.1.41", device("amcrest-ip2m"), to_group=True)
        await lab.start()
        try:
            async with scan_context() as ctx:
                probe = DhipProbe()
                result = await probe.run(ctx, [LO], [], in_prefix("127.0.1."), 0.3)
        finally:
            lab.close()
        return result, probe.last_run, [len(d.seen) for d in lab.devices]

    result, info, seen = run_in_netns(netns, scenario)
    assert GROUP == "239.255.255.251"
    assert result.status is Status.OK and result.sent == 1 and seen == [1, 1]
    assert sorted(result.replies) == ["127.0.1.40", "127.0.1.41"]
    assert info.dropped("own-echo") == 1
