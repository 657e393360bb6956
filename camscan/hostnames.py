"""A live host's names, best first: the name the user typed, reverse DNS, mDNS, NetBIOS, LLMNR.

One HostNamer serves a scan; `host_names(ctx, ip, observations)` asks what is worth asking for one host,
all at once, within a time budget. Every datagram goes through the scan's rate limiter; reverse DNS asks the
system's resolvers (from resolv.conf) with a cap on lookups in flight, and never about loopback or link-local
addresses; NetBIOS and LLMNR ask the host itself, one datagram each. Nothing here waits past `budget`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import dns.resolver

from camscan.context import ScanContext
from camscan.models import Observation, ProbeResult
from camscan.parse import netbios, ptr
from camscan.status import Status
from camscan.targets import TargetSet

T = TypeVar("T")
LLMNR_PORT = 5355
DNS_PORT = 53
SOURCES = ("target", "ptr", "mdns", "netbios", "llmnr")  # best first: the order names are given in
QUERY_TIMEOUT = 1.0  # seconds for one question to one server or host
BUDGET = 2.0  # seconds for all of one host's questions
DNS_IN_FLIGHT = 32  # reverse lookups at once, scan-wide: the site's resolver is shared, not ours
MAX_NAMES = 8  # names kept per host
MAX_NAMESERVERS = 3  # as resolv.conf's MAXNS
READS_PER_QUESTION = 8  # datagrams read while waiting for the one answer (strays and junk are skipped)
NO_REVERSE_DNS = tuple(
    ipaddress.IPv4Network(n) for n in ("127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8", "224.0.0.0/4")
)


def system_nameservers() -> tuple[str, ...]:
    """The IPv4 resolvers resolv.conf names (none when it cannot be read)."""
    try:
        found = dns.resolver.Resolver(configure=True).nameservers
    except (dns.resolver.NoResolverConfiguration, OSError):
        return ()
    v4 = [str(ns) for ns in found if isinstance(ns, str) and _is_ipv4(ns)]
    return tuple(v4[:MAX_NAMESERVERS])


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


@dataclass
class HostNamer:
    """What a scan asks each live host's names with: sources, resolvers, time and concurrency bounds."""

    targets: TargetSet | None = None  # the typed host names and what they resolved to
    nameservers: Sequence[str] = ()  # reverse DNS; empty: none asked
    dns_port: int = DNS_PORT
    netbios: bool = True
    llmnr: bool = True
    query_timeout: float = QUERY_TIMEOUT
    budget: float = BUDGET
    _dns_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(DNS_IN_FLIGHT))

    @classmethod
    def for_scan(cls, targets: TargetSet, *, reverse_dns: bool = True, netbios: bool = True) -> HostNamer:
        """A namer for a scan: the system's resolvers (unless `reverse_dns` is off), NetBIOS and LLMNR."""
        servers = system_nameservers() if reverse_dns else ()
        return cls(targets, servers, netbios=netbios, llmnr=netbios)

    async def host_names(
        self, ctx: ScanContext, ip: str, observations: Iterable[Observation] = ()
    ) -> list[tuple[str, str]]:
        """(name, source) pairs for one host, best source first, each name once (case aside)."""
        found: dict[str, list[str]] = {source: [] for source in SOURCES}
        found["target"] = list(self.targets.names_of(ip)) if self.targets else []
        found["mdns"] = [o.value for o in observations if o.field == "mdns.host"]
        asks: dict[str, Coroutine[None, None, tuple[str, ...]] | None] = {
            "ptr": self._reverse_dns(ctx, ip) if self._reverse_dns_applies(ip) else None,
            "netbios": self._netbios(ctx, ip) if self.netbios else None,
            "llmnr": self._llmnr(ctx, ip) if self.llmnr else None,
        }
        tasks = {source: asyncio.ensure_future(ask) for source, ask in asks.items() if ask is not None}
        if tasks:
            await asyncio.wait(tasks.values(), timeout=self.budget)
        for source, task in tasks.items():
            if task.done() and not task.cancelled() and task.exception() is None:
                found[source] = list(task.result())
            else:
                task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)  # every question ended, none leaks
        return _merged(found)

    def _reverse_dns_applies(self, ip: str) -> bool:
        addr = ipaddress.IPv4Address(ip)
        return bool(self.nameservers) and not any(addr in net for net in NO_REVERSE_DNS)

    async def _reverse_dns(self, ctx: ScanContext, ip: str) -> tuple[str, ...]:
        query = ptr.reverse_query(ip, recursion=True)
        wire = query.to_wire()
        async with self._dns_slots:
            for server in self.nameservers:  # the next only when one does not answer
                names = await ask(
                    ctx, server, self.dns_port, wire, lambda d: ptr.parse_reply(d, query), self.query_timeout
                )
                if names is not None:
                    return names
        return ()

    async def _netbios(self, ctx: ScanContext, ip: str) -> tuple[str, ...]:
        trn = secrets.randbelow(0x10000)
        port = ctx.real_port(netbios.PORT)
        status = await ask(
            ctx, ip, port, netbios.build_query(trn), lambda d: netbios.parse_reply(d, trn), self.query_timeout
        )
        name = status.host_name() if status else None
        return (name,) if name else ()

    async def _llmnr(self, ctx: ScanContext, ip: str) -> tuple[str, ...]:
        query = ptr.reverse_query(ip, recursion=False)
        port = ctx.real_port(LLMNR_PORT)
        names = await ask(
            ctx, ip, port, query.to_wire(), lambda d: ptr.parse_reply(d, query), self.query_timeout
        )
        return names or ()


def merged(found: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(name, source) pairs from names by source, best source first, each name once (case aside)."""
    return _merged({source: list(found.get(source, ())) for source in SOURCES})


NAME_FIELDS = {"ptr": "name.ptr", "netbios": "name.netbios", "llmnr": "name.llmnr"}


async def names_result(namer: HostNamer, ctx: ScanContext, ip: str) -> ProbeResult:
    """The names a host answers to itself or its resolver gives (PTR, NetBIOS, LLMNR), as a probe result."""
    start = time.monotonic()
    names = await namer.host_names(ctx, ip, ())
    observations = tuple(
        Observation("names", NAME_FIELDS[source], name) for name, source in names if source in NAME_FIELDS
    )
    status = Status.OK if observations else Status.TIMEOUT
    return ProbeResult("names", ip, None, status, observations, None, time.monotonic() - start)


def _merged(found: dict[str, list[str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for source in SOURCES:
        for name in found[source]:
            key = name.rstrip(".").casefold()
            if key and key not in seen and len(out) < MAX_NAMES and _showable(name):
                seen.add(key)
                out.append((name.rstrip("."), source))
    return out


def _showable(name: str) -> bool:
    return len(name) <= ptr.MAX_NAME and name.isprintable()


class _Answers(asyncio.DatagramProtocol):
    """Datagrams from the one address a connected socket talks to, queued for the asker."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(READS_PER_QUESTION)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(data) <= self.cap and not self.queue.full():
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable: nobody listens there
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(b"")


async def ask(
    ctx: ScanContext,
    address: str,
    port: int,
    payload: bytes,
    accept: Callable[[bytes], T],
    timeout: float,
    cap: int = max(netbios.MAX_DATAGRAM, ptr.MAX_MESSAGE),
) -> T | None:
    """Send one datagram (counted by the rate limiter) and return the first answer `accept` takes; None when
    nothing usable comes back within the query timeout. `accept` raises ValueError for anything else."""
    loop = asyncio.get_running_loop()
    await ctx.limits.rate.acquire()
    try:
        transport, answers = await loop.create_datagram_endpoint(
            lambda: _Answers(cap), remote_addr=(address, port), family=socket.AF_INET
        )
    except OSError:
        return None
    try:
        transport.sendto(payload)
        async with asyncio.timeout(timeout):
            for _ in range(READS_PER_QUESTION):
                data = await answers.queue.get()
                if not data:
                    return None
                with contextlib.suppress(ValueError):
                    return accept(data)
    except TimeoutError:
        return None
    finally:
        transport.close()
    return None
