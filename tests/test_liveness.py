"""The liveness sweep in process, on loopback: every address asked once, what answers reported, what is left
of a sweep cut short said exactly."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from camscan.context import ScanContext, Timeouts
from camscan.limits import Limits
from camscan.liveness import Liveness
from camscan.probes import icmp
from camscan.status import Status
from camscan.targets import parse_targets


def loopback_block(size: int) -> str:
    base = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}"
    return f"{base}.1-{size}"


@pytest.fixture
async def ctx() -> AsyncIterator[ScanContext]:
    async with httpx.AsyncClient() as client:
        yield ScanContext(http=client, limits=Limits(rate=5000), timeouts=Timeouts(ping=0.5))


def sweep(ctx: ScanContext, spec: str, *, ports: tuple[int, ...] = (1,), icmp_on: bool = True) -> tuple[
    Liveness, list[tuple[str, str, int | None, Status | None]]
]:  # fmt: skip
    found: list[tuple[str, str, int | None, Status | None]] = []
    live = Liveness(ctx, parse_targets([spec]), ports, [], lambda *a: found.append(a), icmp=icmp_on)
    return live, found


async def test_every_address_is_asked_once_and_each_answer_reported(ctx: ScanContext) -> None:
    live, found = sweep(ctx, loopback_block(20))
    await live.run()
    live.close()
    tcp = {ip for ip, how, port, status in found if how == "tcp"}
    assert len(tcp) == 20 and all(status is Status.REFUSED for _, how, _, status in found if how == "tcp")
    assert live.stats.addresses == live.stats.settled == 20 and live.stats.pings == 20
    assert live.done and live.unsettled() == [] and not live.in_flight
    if os.geteuid() == 0:  # a raw socket: loopback answers every echo
        assert {ip for ip, how, _, _ in found if how == "icmp"} == tcp and live.stats.icmp == "raw"


async def test_without_icmp_the_sweep_says_why_and_goes_on(
    ctx: ScanContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> None:
        raise icmp.IcmpUnavailable("ICMP echo needs root or a group within net.ipv4.ping_group_range")

    monkeypatch.setattr(icmp, "_open", refuse)
    live, found = sweep(ctx, loopback_block(5))
    await live.run()
    assert live.stats.icmp.startswith("unavailable: ICMP echo needs root")
    assert {how for _, how, _, _ in found} == {"tcp"} and live.stats.settled == 5


async def test_a_sweep_cut_short_knows_exactly_what_it_did_not_settle(ctx: ScanContext) -> None:
    ctx.limits = Limits(rate=300)
    live, _ = sweep(ctx, loopback_block(200), ports=(1, 2))
    task = asyncio.create_task(live.run())
    await asyncio.sleep(0.4)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    live.close()
    left = sum(hi - lo + 1 for lo, hi in live.unsettled())
    assert 0 < live.stats.settled < 200
    assert left == 200 - live.stats.settled  # every address is either settled or listed as not settled
