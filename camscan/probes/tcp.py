"""Liveness by plain TCP connect (no root needed), and the OS-error to Status mapping probes share."""

from __future__ import annotations

import asyncio
import errno
import itertools
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from camscan import defaults
from camscan.context import ScanContext
from camscan.status import Status

DEFAULT_WORKERS = 512
MIN_ATTEMPT = 0.05  # seconds: a retry with less time than this left is not worth a SYN
# Local resource exhaustion says nothing about the target: report ERROR, not UNREACHABLE.
_LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.EADDRNOTAVAIL})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes, innermost last (bounded against cycles)."""
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 16:
        yield cur
        cur = cur.__cause__ or cur.__context__
        seen += 1


def status_for_error(exc: BaseException) -> Status:
    """Map a connection-level exception (possibly wrapped, e.g. by httpx) to a probe status."""
    for err in _chain(exc):
        if isinstance(err, ConnectionRefusedError):
            return Status.REFUSED
        if isinstance(err, TimeoutError):
            return Status.TIMEOUT
        if isinstance(err, ssl.SSLError | ssl.CertificateError):
            return Status.TLS_ERROR
    for err in _chain(exc):
        if isinstance(err, OSError) and err.errno is not None:
            return Status.ERROR if err.errno in _LOCAL_ERRNOS else Status.UNREACHABLE
    return Status.UNREACHABLE if isinstance(exc, OSError) else Status.ERROR


def short_error(exc: BaseException) -> str:
    """A one-line description of an exception for ProbeResult.error."""
    inner = list(_chain(exc))[-1]
    text = str(inner) or type(inner).__name__
    return " ".join(text.split())[:200]


def _family(ip: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


async def _attempt(ip: str, port: int, timeout: float) -> Status:
    loop = asyncio.get_running_loop()
    try:
        sock = socket.socket(_family(ip), socket.SOCK_STREAM)
    except OSError:
        return Status.ERROR
    try:
        sock.setblocking(False)
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (ip, port))
        return Status.OK
    except Exception as exc:
        return status_for_error(exc)
    finally:
        sock.close()  # nothing is sent; the handshake alone is the answer


async def connect(ctx: ScanContext, ip: str, port: int) -> Status:
    """A TCP connect to a logical port within the connect timeout: OK (open), REFUSED, TIMEOUT or UNREACHABLE.

    Each attempt lives just under the kernel's first SYN retransmission and closes unanswered; the next
    attempt is ours, with a rate token of its own. So every SYN on the wire was allowed by the limiter, and
    the limiter is never charged for retransmissions that an answered port does not need. A port check sends
    nothing but the handshake, so it takes no per-host slot (the caller bounds SYNs per host)."""
    async with ctx.limits.half_open():
        deadline = time.monotonic() + ctx.timeouts.connect
        while True:
            left = deadline - time.monotonic()
            status = await _attempt(ip, ctx.real_port(port), min(left, defaults.PING_TIMEOUT))
            if status is not Status.TIMEOUT or deadline - time.monotonic() < MIN_ATTEMPT:
                return status
            await ctx.limits.rate.acquire(urgent=True)


async def ping(ctx: ScanContext, ip: str, port: int) -> Status:
    """A TCP ping: one SYN (the caller holds a rate token and a connection slot); OK or REFUSED mean alive.

    It lives for `timeouts.ping`, under the kernel's first retransmission, so exactly one SYN goes out."""
    return await _attempt(ip, ctx.real_port(port), ctx.timeouts.ping)


@dataclass(slots=True)
class SweepResult:
    """What a connect sweep found: open ports per live host, hosts that refused, attempts made."""

    open_ports: dict[str, tuple[int, ...]] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)  # answered with a reset on at least one port
    attempts: int = 0
    finished: set[str] = field(default_factory=set)  # addresses with every port tried (or unreachable)

    @property
    def alive(self) -> set[str]:
        """Every address that answered at all (an open port or a reset)."""
        return set(self.open_ports) | self.refused


async def sweep(
    ctx: ScanContext,
    ips: Sequence[str],
    ports: Sequence[int],
    progress: Callable[[int], None] | None = None,
    workers: int = DEFAULT_WORKERS,
    result: SweepResult | None = None,
) -> SweepResult:
    """Connect to every (ip, port) with a bounded worker pool; `progress(done)` gets the running count.

    `result` is filled as the sweep goes, so a caller cut short by the scan deadline keeps what was found.
    """
    result = result if result is not None else SweepResult()
    found: dict[str, list[int]] = {}
    tried: dict[str, int] = {}
    dead: set[str] = set()  # no route to these: their other ports would fail the same way
    # Port-major order spreads consecutive attempts over hosts, so per-host slots rarely block a worker.
    jobs = itertools.product(ports, ips)
    done = 0

    async def worker() -> None:
        nonlocal done
        for port, ip in jobs:  # one shared iterator: each job is taken exactly once
            if ip not in dead:
                status = await connect(ctx, ip, port)
                result.attempts += 1
                if status is Status.OK:
                    found.setdefault(ip, []).append(port)
                    result.open_ports[ip] = tuple(sorted(found[ip]))
                elif status is Status.REFUSED:
                    result.refused.add(ip)
                elif status is Status.UNREACHABLE:
                    dead.add(ip)
            tried[ip] = tried.get(ip, 0) + 1
            if tried[ip] == len(ports) or ip in dead:
                result.finished.add(ip)
            done += 1
            if progress is not None:
                progress(done)

    total = len(ips) * len(ports)
    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, min(workers, total))):
            group.create_task(worker())
    result.open_ports = {ip: tuple(sorted(found[ip])) for ip in ips if ip in found}
    return result
