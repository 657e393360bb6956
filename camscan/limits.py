"""Pacing for a gentle scan: one send rate for every packet, a global connection cap and per-host slots."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import resource
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from camscan import defaults

WINDOW = 1.0  # seconds: the rate is a promise about every window this long
# Sends may run this far ahead of the even schedule. Timers fire a millisecond late or more, so a limiter that
# allowed no run-ahead at all would send one packet per timer tick; the window cap still holds exactly.
TOLERANCE = 0.01
SEND_LAG = 0.002  # seconds between counting a send and the packet leaving, at most (see _window_wait)


class RateLimiter:
    """At most `rate` sends in any one-second window, paced evenly, with urgent callers served first.

    Sends are spaced 1/rate apart (GCRA, running at most TOLERANCE ahead). On top of that, the time of every
    send is kept for a second, and a caller whose send would make `rate` in the last second waits: that makes
    "never more than `rate` packets in any second" exact even when the event loop wakes callers late.
    Urgent sends (probes of hosts already found) go before the sweep of unknown addresses.
    """

    def __init__(self, rate: float) -> None:
        if not rate > 0 or math.isinf(rate):
            raise ValueError("rate must be a positive finite number")
        self.rate = rate
        self._gap = 1.0 / rate
        self._tat = 0.0  # theoretical arrival time of the next send (GCRA)
        self._cap = max(1, math.floor(rate * WINDOW))
        self._sent: collections.deque[float] = collections.deque(maxlen=self._cap)
        self._queues: tuple[collections.deque[asyncio.Future[None]], ...] = (
            collections.deque(),
            collections.deque(),
        )
        self._pump: asyncio.Task[None] | None = None
        self.sends = 0

    def _window_wait(self, now: float) -> float:
        """Seconds until one more send fits in the last-second window (0: it fits now)."""
        # The window kept is a little longer than a second: a packet leaves a few microseconds after its
        # send is counted here, and those few microseconds must not fit one more into a second on the wire.
        span = WINDOW + SEND_LAG
        if len(self._sent) < self._cap or now - self._sent[0] > span:
            return 0.0
        return self._sent[0] + span - now + 1e-6

    def _record(self, now: float) -> None:
        self._sent.append(now)
        self.sends += 1

    async def acquire(self, n: int = 1, *, urgent: bool = False) -> None:
        """Wait until `n` more sends are allowed, and count them as sent now."""
        for _ in range(n):
            await self._one(urgent)

    async def _one(self, urgent: bool) -> None:
        now = time.monotonic()
        queued = self._queues[0] or self._queues[1]
        if not queued and self._tat - TOLERANCE <= now and not self._window_wait(now):
            self._tat = max(self._tat, now) + self._gap
            self._record(now)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[0 if urgent else 1].append(fut)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())
        await fut  # cancelled while queued: the pump skips it
        # Granted on the pacing schedule; the event loop may have woken us late, in a bunch with others.
        while (wait := self._window_wait(time.monotonic())) > 0:
            await asyncio.sleep(wait)
        self._record(time.monotonic())

    def _next_waiter(self) -> asyncio.Future[None] | None:
        for queue in self._queues:
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    return fut
        return None

    async def _run_pump(self) -> None:
        """Grant queued callers one by one on the pacing schedule, urgent ones first."""
        while True:
            now = time.monotonic()
            if self._tat - TOLERANCE > now:
                await asyncio.sleep(self._tat - TOLERANCE - now)
                now = time.monotonic()
            fut = self._next_waiter()
            if fut is None:
                return
            self._tat = max(self._tat, now) + self._gap
            fut.set_result(None)


class HostSlots:
    """Per-host connection slots that exist only while a host is in use (a /16 sweep leaves none behind)."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, ip: str) -> AsyncIterator[None]:
        """One of the host's slots, for the duration of the block."""
        sem, users = self._slots.get(ip) or (asyncio.Semaphore(self.per_host), 0)
        self._slots[ip] = (sem, users + 1)
        try:
            async with sem:
                yield
        finally:
            sem, users = self._slots[ip]
            if users <= 1:
                del self._slots[ip]
            else:
                self._slots[ip] = (sem, users - 1)

    def __len__(self) -> int:
        return len(self._slots)


class Limits:
    """The concurrency a scan may use: connection caps (probes, pings), a per-host cap and one send rate."""

    def __init__(
        self, concurrency: int = 256, per_host: int = 1, rate: float = 2000.0, pings: int | None = None
    ) -> None:
        self.concurrency = concurrency
        self.global_slots = asyncio.Semaphore(concurrency)  # probe and port-check connections
        self.pings = pings if pings is not None else concurrency
        self.ping_slots = asyncio.Semaphore(self.pings)  # TCP pings of the liveness sweep
        self.per_host = per_host
        self.rate = RateLimiter(rate)
        self.hosts = HostSlots(per_host)

    @asynccontextmanager
    async def connection(self, ip: str, sends: int = 1) -> AsyncIterator[None]:
        """Hold one connection slot to `ip` (per-host first, so a slow host never hogs global slots).

        `sends` is how many packets the connection starts (rate tokens taken before it opens).
        """
        async with self.hosts.hold(ip), self.global_slots:
            await self.rate.acquire(sends, urgent=True)
            yield

    @asynccontextmanager
    async def half_open(self, sends: int = 1) -> AsyncIterator[None]:
        """A slot for a port-check connect: no per-host slot (the caller limits SYNs per host itself)."""
        async with self.global_slots:
            await self.rate.acquire(sends, urgent=True)
            yield


def raise_fd_limit(wanted: int) -> int:
    """Raise the open-file limit towards `wanted` (within the hard limit); return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def connection_budget(concurrency: int) -> int:
    """Connections the scan may open at once: what was asked, within the file descriptors this process has."""
    soft = raise_fd_limit(concurrency + defaults.RESERVED_FDS)
    return max(16, min(concurrency, soft - defaults.RESERVED_FDS))


def scan_limits(concurrency: int, per_host: int, sweep_per_host: int, rate: float) -> Limits:
    """Split the connection budget: enough for the hosts probed at once, the rest for the liveness pings."""
    budget = connection_budget(concurrency)
    probes = max(8, min(budget // 2, defaults.HOST_WORKERS * (per_host + sweep_per_host)))
    return Limits(concurrency=probes, per_host=per_host, rate=rate, pings=max(8, budget - probes))
