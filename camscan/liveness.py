"""Host discovery for addresses ARP cannot settle: ICMP echo, TCP pings and the discovery requests, paced.

Each address is asked once, in ascending order and one at a time, so memory does not grow with the range:
the only per-address state is that of the addresses whose pings are still out. Whatever answers is handed
to `found` as soon as it answers; the sweep itself never waits for a host to be probed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from camscan.context import ScanContext
from camscan.probes import tcp
from camscan.probes.icmp import EchoSweep, IcmpUnavailable
from camscan.probes.udp import Session
from camscan.status import Status
from camscan.targets import TargetSet

Found = Callable[[str, str, int | None, Status | None], object]  # ip, how, port, port status


@dataclass(slots=True)
class LivenessStats:
    """What the sweep sent and what answered, for the report."""

    addresses: int = 0  # addresses asked
    settled: int = 0  # addresses whose every check has ended
    icmp: str = "off"  # "raw", "unprivileged", "off", or why it is unavailable
    pings: int = 0  # TCP pings sent
    ping_answers: int = 0  # SYN-ACK or RST
    unreachable: int = 0  # pings the network refused (no route, host unreachable)


class Liveness:
    """Asks every address of `targets` whether it is there, and reports each one that answers."""

    def __init__(
        self,
        ctx: ScanContext,
        targets: TargetSet,
        ping_ports: Sequence[int],
        sessions: Sequence[Session],
        found: Found,
        *,
        icmp: bool,
        on_settled: Callable[[int], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.targets = targets
        self.ping_ports = tuple(ping_ports)
        self.sessions = tuple(sessions)
        self.found = found
        self.want_icmp = icmp
        self.slots = ctx.limits.ping_slots  # connections (file descriptors) for pings at once
        self.on_settled = on_settled or (lambda n: None)
        self.stats = LivenessStats()
        self.echo: EchoSweep | None = None
        self.cursor: int | None = None  # the address being asked now (as an integer); None: not started
        self.done = False  # every address has been asked and settled
        self.in_flight: dict[str, int] = {}  # address -> pings still out
        self._settled: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _answer(self, ip: str, how: str, port: int | None = None, status: Status | None = None) -> None:
        self.found(ip, how, port, status)

    def open_icmp(self) -> None:
        """Open the echo socket if wanted and possible; the report says which kind, or why none."""
        if not self.want_icmp:
            return
        self.echo = EchoSweep(self.targets.contains, lambda ip: self._answer(ip, "icmp"))
        try:
            self.echo.open()
        except IcmpUnavailable as exc:
            self.echo = None
            self.stats.icmp = f"unavailable: {exc}"
            return
        self.stats.icmp = self.echo.mode

    async def run(self) -> None:
        """Ask every address, then wait for the last pings to end."""
        self.open_icmp()
        try:
            for ip in self.targets.addresses():
                self.cursor = int(IPv4Address(ip))
                await self._ask(ip)
            while self._tasks:
                await asyncio.wait(set(self._tasks))
            self.done = True
        finally:
            for task in self._tasks:
                task.cancel()

    async def _ask(self, ip: str) -> None:
        rate = self.ctx.limits.rate
        self.stats.addresses += 1
        self.in_flight[ip] = len(self.ping_ports)
        if self.echo is not None:
            await rate.acquire()
            self.echo.send(ip)
        for session in self.sessions:
            await session.ask(ip, first=True, rest=False)
        for port in self.ping_ports:
            await self.slots.acquire()
            await rate.acquire()
            self.stats.pings += 1
            task = asyncio.get_running_loop().create_task(self._ping(ip, port))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if not self.ping_ports:
            self._settle(ip)

    async def _ping(self, ip: str, port: int) -> None:
        try:
            status = await tcp.ping(self.ctx, ip, port)
        finally:
            self.slots.release()
        if status in (Status.OK, Status.REFUSED):
            self.stats.ping_answers += 1
            self._answer(ip, "tcp", port, status)
        elif status is Status.UNREACHABLE:
            self.stats.unreachable += 1
        left = self.in_flight.get(ip, 1) - 1
        if left <= 0:
            self._settle(ip)
        else:
            self.in_flight[ip] = left

    def _settle(self, ip: str) -> None:
        self.in_flight.pop(ip, None)
        self.stats.settled += 1
        self.on_settled(1)
        event = self._settled.pop(ip, None)
        if event is not None:
            event.set()

    def reached(self, ip: str) -> bool:
        """Whether the sweep has asked this address already (one of its targets, at or before the cursor)."""
        value = int(IPv4Address(ip))
        return self.cursor is not None and value <= self.cursor and self.targets.contains(ip)

    async def wait_settled(self, ip: str) -> None:
        """Return once this address's pings have ended (at once if it has none out)."""
        if ip not in self.in_flight:
            return
        event = self._settled.setdefault(ip, asyncio.Event())
        await event.wait()

    def unsettled(self) -> list[tuple[int, int]]:
        """Inclusive intervals of addresses not yet settled: those with pings out and those not reached."""
        out = [(v, v) for v in sorted(int(IPv4Address(ip)) for ip in self.in_flight)]
        if self.done:
            return out
        start = -1 if self.cursor is None else self.cursor
        for lo, hi in self.targets.intervals:
            if hi <= start:
                continue
            out.append((max(lo, start + 1), hi))
        return out

    def close(self) -> None:
        """Close the echo socket."""
        if self.echo is not None:
            self.echo.close()
