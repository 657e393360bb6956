"""Pacing for a gentle scan: a token-bucket rate limit, a global cap and per-host connection slots."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class RateLimiter:
    """Token bucket: at most `rate` new connections or packets per second, in bursts of `burst`."""

    def __init__(self, rate: float, burst: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1, int(rate // 10))
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more send is allowed."""
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class Limits:
    """The concurrency a scan may use: a global connection cap, a per-host cap and a rate."""

    def __init__(self, concurrency: int = 256, per_host: int = 1, rate: float = 2000.0) -> None:
        self.global_slots = asyncio.Semaphore(concurrency)
        self.per_host = per_host
        self.rate = RateLimiter(rate)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_host))

    @asynccontextmanager
    async def connection(self, ip: str) -> AsyncIterator[None]:
        """Hold one connection slot to `ip` (per-host first, so a slow host never hogs global slots)."""
        async with self._hosts[ip], self.global_slots:
            await self.rate.acquire()
            yield
