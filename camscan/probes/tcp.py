"""TCP pings and port checks by plain connect (no root needed), and the OS-error to Status mapping."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections.abc import Iterator

from camscan import defaults
from camscan.context import ScanContext
from camscan.status import Status

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
