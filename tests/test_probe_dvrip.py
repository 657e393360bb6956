"""probes/dvrip.py: legacy Dahua UDP 5050 search, unicast only, against fake devices."""

from __future__ import annotations

import tomllib
from pathlib import Path

from camscan.models import Observation, SegmentResult
from camscan.parse.dvrip import build_search
from camscan.probes.dvrip import PORT, DvripProbe
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

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "dhip" / "dvrip-5050-dvr.toml"


def answer() -> bytes:
    with FIXTURE.open("rb") as fh:
        return bytes.fromhex("".join(tomllib.load(fh)["hex"].split()))


def device(reply: bytes) -> Handler:
    return lambda data, ip: [reply] if data == build_search() else []


def obs(field: str, value: str) -> Observation:
    return Observation("dvrip", field, value, PORT)


async def search(lab: FakeDevices, targets: list[str], scope: str) -> SegmentResult:
    return await unicast_run(lab, DvripProbe(), PORT, targets, in_prefix(scope), 0.3)


async def test_legacy_dvr_answers_a_unicast_search() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "80", device(answer()))
    result = await search(lab, [base + "80"], base)
    assert result.status is Status.OK and result.sent == 1
    assert result.replies == {
        base + "80": (
            obs("dvrip.reply", "search"),
            obs("dvrip.model", "DH-XVR5108HS"),
            obs("dvrip.serial", "4K01A2BPAZ00123"),
            obs("dvrip.version", "2.3.4.0"),
            obs("mac.address", "3c:ef:8c:5e:01:9a"),
            obs(
                "dvrip.claimed_address", "192.0.2.80"
            ),  # the fixture names its own 192.0.2.x; it answers from 127.x
        )
    }


def test_segments_alone_send_nothing_no_broadcast_no_multicast(netns: str) -> None:
    async def scenario() -> tuple[SegmentResult, list[int]]:
        lab = FakeDevices(PORT, "239.255.255.250")
        lab.add("127.0.1.80", device(answer()))
        await lab.start()
        try:
            async with scan_context() as ctx:
                result = await DvripProbe().run(ctx, [LO], [], lambda ip: True, 0.2)
        finally:
            lab.close()
        return result, [len(d.seen) for d in lab.devices]

    result, seen = run_in_netns(netns, scenario)
    assert result.status is Status.SKIPPED and result.sent == 0 and seen == [0]
