"""TCP connect liveness and the bounded sweep, on loopback only."""

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
from camscan.probes.tcp import connect, status_for_error, sweep
from camscan.status import Status


def context(client: httpx.AsyncClient, port_map: dict[int, int] | None = None) -> ScanContext:
    return ScanContext(
        http=client, limits=Limits(rate=100_000), timeouts=Timeouts(connect=1.0), port_map=port_map or {}
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


async def test_sweep_reports_open_ports_refusals_and_progress() -> None:
    shut = closed_port()
    done: list[int] = []
    async with listeners(2) as (a, b), httpx.AsyncClient() as client:
        result = await sweep(context(client), ["127.0.0.1", "127.0.0.2"], [b, shut, a], progress=done.append)
    assert result.open_ports == {"127.0.0.1": tuple(sorted((a, b)))}  # the servers listen on 127.0.0.1 only
    assert result.refused == {"127.0.0.1", "127.0.0.2"}
    assert result.alive == {"127.0.0.1", "127.0.0.2"}
    assert result.attempts == 6
    assert sorted(done) == [1, 2, 3, 4, 5, 6]


async def test_sweep_keeps_the_number_of_tasks_bounded() -> None:
    ips = [f"127.0.{i // 250}.{i % 250 + 1}" for i in range(1500)]
    peak = 0

    def watch(_: int) -> None:
        nonlocal peak
        peak = max(peak, len(asyncio.all_tasks()))

    async with httpx.AsyncClient() as client:
        result = await sweep(context(client), ips, [closed_port()], progress=watch, workers=16)
    assert result.attempts == 1500
    assert len(result.refused) == 1500
    assert peak <= 16 + 1  # the workers plus the test itself, never one task per address


async def test_unreachable_hosts_are_not_retried_on_other_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []

    async def fake_attempt(ip: str, port: int, timeout: float) -> Status:
        calls.append((ip, port))
        return Status.UNREACHABLE if ip == "127.0.0.9" else Status.REFUSED

    monkeypatch.setattr(tcp, "_attempt", fake_attempt)
    async with httpx.AsyncClient() as client:
        result = await sweep(context(client), ["127.0.0.8", "127.0.0.9"], [1, 2, 3], workers=1)
    assert [c for c in calls if c[0] == "127.0.0.9"] == [("127.0.0.9", 1)]
    assert result.attempts == 4
    assert result.refused == {"127.0.0.8"}


def test_error_mapping() -> None:
    assert status_for_error(ConnectionRefusedError()) is Status.REFUSED
    assert status_for_error(TimeoutError()) is Status.TIMEOUT
    assert status_for_error(OSError(errno.EHOSTUNREACH, "No route to host")) is Status.UNREACHABLE
    assert status_for_error(OSError(errno.EMFILE, "Too many open files")) is Status.ERROR
    wrapped = httpx.ConnectError("All connection attempts failed")
    wrapped.__cause__ = OSError(errno.ENETUNREACH, "Network is unreachable")
    assert status_for_error(wrapped) is Status.UNREACHABLE
    assert status_for_error(ValueError("boom")) is Status.ERROR
