"""TCP pings and port checks, on loopback: one SYN per rate token, never a retransmission behind its back."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from camscan.context import ScanContext, Timeouts
from camscan.limits import Limits
from camscan.probes import tcp
from camscan.probes.tcp import connect, ping, status_for_error
from camscan.status import Status


def context(
    client: httpx.AsyncClient, port_map: dict[int, int] | None = None, connect: float = 1.0
) -> ScanContext:
    return ScanContext(
        http=client, limits=Limits(rate=100_000), timeouts=Timeouts(connect=connect), port_map=port_map or {}
    )


@asynccontextmanager
async def listeners(count: int) -> AsyncIterator[list[int]]:
    servers = [await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0) for _ in range(count)]
    try:
        yield [s.sockets[0].getsockname()[1] for s in servers]
    finally:
        for s in servers:
            s.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_connect_open_and_refused_with_port_mapping() -> None:
    async with listeners(1) as (port,), httpx.AsyncClient() as client:
        ctx = context(client, {80: port})
        assert await connect(ctx, "127.0.0.1", 80) is Status.OK
        assert await connect(ctx, "127.0.0.1", closed_port()) is Status.REFUSED
        assert await ping(ctx, "127.0.0.1", 80) is Status.OK
        assert ctx.limits.rate.sends == 2  # each connect took one token; the caller of a ping holds its own


async def test_a_long_connect_makes_its_own_counted_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    timeouts: list[float] = []

    async def silent(ip: str, port: int, timeout: float) -> Status:
        timeouts.append(timeout)
        await asyncio.sleep(timeout)
        return Status.TIMEOUT

    monkeypatch.setattr(tcp, "_attempt", silent)
    async with httpx.AsyncClient() as client:
        ctx = context(client, connect=2.0)
        assert await connect(ctx, "127.0.0.9", 80) is Status.TIMEOUT
    # Each attempt ends before the kernel's first SYN retransmission (1 s); the next one is ours, counted.
    assert all(t <= 0.9 for t in timeouts) and len(timeouts) == 3
    assert ctx.limits.rate.sends == len(timeouts)


async def test_an_answer_ends_the_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([Status.TIMEOUT, Status.REFUSED])

    async def flaky(ip: str, port: int, timeout: float) -> Status:
        return next(answers)

    monkeypatch.setattr(tcp, "_attempt", flaky)
    async with httpx.AsyncClient() as client:
        ctx = context(client, connect=3.0)
        assert await connect(ctx, "127.0.0.9", 80) is Status.REFUSED
        assert ctx.limits.rate.sends == 2


def test_error_mapping() -> None:
    assert status_for_error(ConnectionRefusedError()) is Status.REFUSED
    assert status_for_error(TimeoutError()) is Status.TIMEOUT
    assert status_for_error(OSError(errno.EHOSTUNREACH, "No route to host")) is Status.UNREACHABLE
    assert status_for_error(OSError(errno.EMFILE, "Too many open files")) is Status.ERROR
    wrapped = httpx.ConnectError("All connection attempts failed")
    wrapped.__cause__ = OSError(errno.ENETUNREACH, "Network is unreachable")
    assert status_for_error(wrapped) is Status.UNREACHABLE
    assert status_for_error(ValueError("boom")) is Status.ERROR
