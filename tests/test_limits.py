"""Pacing: one rate for every packet, exact over any second; urgent sends first; slots that do not pile up."""

from __future__ import annotations

import asyncio
import resource
import time

import pytest

from camscan import defaults
from camscan.limits import HostSlots, RateLimiter, connection_budget, raise_fd_limit, scan_limits


def _busiest_second(times: list[float]) -> int:
    most, first = 0, 0
    for last, t in enumerate(times):
        while times[first] < t - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def _sends(limiter: RateLimiter, workers: int, total: int, urgent_every: int = 2) -> list[float]:
    times: list[float] = []

    async def worker(urgent: bool) -> None:
        while len(times) < total:
            await limiter.acquire(urgent=urgent)
            times.append(time.monotonic())

    await asyncio.gather(*(worker(i % urgent_every == 0) for i in range(workers)))
    return times


@pytest.mark.parametrize(("rate", "workers"), [(2000, 1), (2000, 64), (300, 8)])
def test_no_second_holds_more_than_the_rate(rate: int, workers: int) -> None:
    times = asyncio.run(_sends(RateLimiter(rate), workers, int(rate * 2.5)))
    assert _busiest_second(times) <= rate
    # and the rate is used, not wasted: 2.5 s worth of sends take about 2.5 s
    assert times[-1] - times[0] < 2.5 * 2


def test_urgent_sends_go_before_the_sweep() -> None:
    async def main() -> tuple[list[str], RateLimiter]:
        limiter = RateLimiter(200)
        order: list[str] = []

        async def one(kind: str) -> None:
            await limiter.acquire(urgent=kind == "probe")
            order.append(kind)

        sweep = [asyncio.create_task(one("sweep")) for _ in range(40)]
        await asyncio.sleep(0.05)  # the sweep has queued up behind the schedule
        probes = [asyncio.create_task(one("probe")) for _ in range(5)]
        await asyncio.gather(*sweep, *probes)
        return order, limiter

    order, limiter = asyncio.run(main())
    assert limiter.sends == 45
    # every probe is served before the sweep requests that were waiting when it arrived
    assert max(i for i, kind in enumerate(order) if kind == "probe") < 20


def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    async def main() -> int:
        limiter = RateLimiter(50)
        waiters = [asyncio.create_task(limiter.acquire()) for _ in range(20)]
        await asyncio.sleep(0.05)
        for task in waiters[5:]:
            task.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        return limiter.sends

    assert asyncio.run(main()) <= 6  # the cancelled ones never counted as sent


def test_a_rate_that_is_not_a_positive_number_is_refused() -> None:
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            RateLimiter(bad)


def test_per_host_slots_do_not_outlive_their_host() -> None:
    async def main() -> tuple[int, int]:
        slots = HostSlots(1)
        peak = 0

        async def use(ip: str) -> None:
            nonlocal peak
            async with slots.hold(ip):
                peak = max(peak, len(slots))
                await asyncio.sleep(0.001)

        await asyncio.gather(*(use(f"10.0.{i // 250}.{i % 250}") for i in range(2000)))
        return peak, len(slots)

    peak, left = asyncio.run(main())
    assert peak > 1 and left == 0  # a /16 sweep leaves no semaphore behind per address


def test_one_host_never_has_more_than_its_slots() -> None:
    async def main() -> int:
        slots, busy, most = HostSlots(2), 0, 0

        async def use() -> None:
            nonlocal busy, most
            async with slots.hold("10.0.0.5"):
                busy += 1
                most = max(most, busy)
                await asyncio.sleep(0.005)
                busy -= 1

        await asyncio.gather(*(use() for _ in range(10)))
        return most

    assert asyncio.run(main()) == 2


def test_the_open_file_limit_is_raised_within_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        got = raise_fd_limit(soft + 10)
        assert got == soft + 10 or (hard != resource.RLIM_INFINITY and got == min(soft + 10, hard))
        assert connection_budget(10**9) <= raise_fd_limit(10**9) - defaults.RESERVED_FDS
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_budget_leaves_room_for_the_hosts_probed_at_once_and_gives_the_rest_to_pings() -> None:
    async def main() -> tuple[int, int]:
        limits = scan_limits(8192, 1, 4, 10_000)
        return limits.concurrency, limits.pings

    probes, pings = asyncio.run(main())
    assert probes == defaults.HOST_WORKERS * 5
    assert probes + pings <= 8192
