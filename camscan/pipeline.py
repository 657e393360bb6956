"""The worker loop of a scan: discovery sessions, ARP, the liveness sweep and each live host's work, streamed.

Hosts are probed as soon as they answer, while the sweep goes on. Everything learned lands in a ScanState
as it is learned, so a scan cut short by its deadline or a signal still reports all of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from camscan import defaults, oui
from camscan.context import ScanContext
from camscan.hostnames import HostNamer
from camscan.hostwork import HostWork, Prober
from camscan.interfaces import local_segments
from camscan.liveness import Liveness
from camscan.models import Observation, ProbeResult, Segment, SegmentResult
from camscan.options import ScanOptions
from camscan.probes import SEGMENT_PROBES, OnvifProbe, arp, neighbours
from camscan.probes.mdns import MdnsProbe
from camscan.probes.snmp import SnmpMacs, read_router_macs
from camscan.probes.udp import DatagramProbe, Session
from camscan.snmpconfig import SnmpRouter
from camscan.status import Status
from camscan.targets import TargetSet

MDNS_BROWSE = 3.0  # seconds the mDNS browse lasts at least, even when the sweep ends sooner


class Progress:
    """Progress callbacks; the default does nothing (cron, pipes)."""

    def stage(self, name: str, total: int) -> None:
        """A new stage begins with `total` steps."""

    def advance(self, n: int = 1) -> None:
        """`n` more steps are done."""

    def status(self, text: str) -> None:
        """A short line about the stage: hosts found so far, addresses left."""


@dataclass(slots=True)
class ScanState:
    """Everything a scan has learned so far: the report is built from it however the scan ended."""

    targets: TargetSet
    hosts: dict[str, HostWork] = field(default_factory=dict)
    arp_done: bool = False
    arp_covered: tuple[tuple[int, int], ...] = ()  # on-link ranges the ARP sweep settled
    arp_ranges: tuple[tuple[int, int], ...] = ()  # on-link ranges it was asked to settle
    liveness: Liveness | None = None
    sessions: dict[str, Session] = field(default_factory=dict)
    mdns: MdnsProbe | None = None
    mdns_result: SegmentResult | None = None
    snmp: SnmpMacs | None = None
    segments: list[str] = field(default_factory=list)
    kernel_macs: dict[str, tuple[str, str]] | None = None
    mac_method: str = "none"
    finished: bool = False  # the pipeline ran to its end

    def discovery_results(self) -> list[SegmentResult]:
        """One result per discovery protocol that ran (partial for those cut short)."""
        out = [s.result() for s in self.sessions.values()]
        if self.mdns is not None:
            out.append(self.mdns_result or self.mdns.partial())
        return out

    def heard(self) -> dict[str, list[ProbeResult]]:
        """What the discovery protocols heard, by host, as each host's probe results."""
        out: dict[str, list[ProbeResult]] = {}
        for result in self.discovery_results():
            for ip, observations in result.replies.items():
                if observations:
                    out.setdefault(ip, []).append(
                        ProbeResult(result.probe, ip, None, Status.OK, tuple(observations))
                    )
        return out

    def unsettled(self) -> list[tuple[int, int]]:
        """Inclusive intervals of target addresses whose liveness was never settled."""
        if not self.arp_done:
            return list(self.targets.intervals)
        if self.liveness is None:
            return list(self.targets.without(self.arp_covered).intervals)
        return self.liveness.unsettled()


class Pipeline:
    """Runs one scan's discovery and probing into a ScanState."""

    def __init__(
        self,
        opts: ScanOptions,
        ctx: ScanContext,
        state: ScanState,
        progress: Progress,
        *,
        snmp_routers: Sequence[SnmpRouter] = (),
    ) -> None:
        self.opts = opts
        self.ctx = ctx
        self.state = state
        self.progress = progress
        self.snmp_routers = tuple(snmp_routers)
        onvif = OnvifProbe() if opts.onvif else None
        namer = HostNamer.for_scan(opts.targets, reverse_dns=opts.reverse_dns, netbios=opts.netbios)
        self.prober = Prober(ctx, opts.ports, onvif, self._before_probing, opts.sweep_per_host, namer)
        self.host_slots = asyncio.Semaphore(defaults.HOST_WORKERS)
        self.host_tasks: set[asyncio.Task[None]] = set()
        self._last_status = 0.0
        self._probing_stage = False
        self._holding = False  # hosts found now wait to be probed (during ARP's first pass)
        self._started: set[str] = set()
        self._arp_first = asyncio.Event()

    # What answers ---------------------------------------------------------------------------------------

    def found(self, ip: str, how: str, port: int | None = None, status: Status | None = None) -> HostWork:
        """An address answered (ARP, ICMP, a TCP ping, a discovery reply): it is a live host; probe it."""
        hw = self.state.hosts.get(ip)
        if hw is None:
            hw = self.state.hosts[ip] = HostWork(ip)
            if not self._holding:
                self._start(hw)
        hw.found_by.add(how)
        if port is not None and status is not None:
            self.prober.settle_port(hw, port, status)
        self._show()
        return hw

    def heard(self, probe: str, ip: str, observations: tuple[Observation, ...]) -> None:
        """A discovery protocol kept a reply from ip."""
        self.prober.heard(self.found(ip, probe), observations)

    def _start(self, hw: HostWork) -> None:
        self._started.add(hw.ip)
        task = asyncio.get_running_loop().create_task(self._host(hw))
        self.host_tasks.add(task)
        task.add_done_callback(self.host_tasks.discard)

    async def _host(self, hw: HostWork) -> None:
        async with self.host_slots:
            await self.prober.run(hw)
        if self._probing_stage:
            self.progress.advance()
        self._show()

    async def _before_probing(self, hw: HostWork) -> None:
        """Before a host's port check: the rest of the discovery requests, and the end of its own pings."""
        liveness = self.state.liveness
        asked = liveness is not None and liveness.reached(hw.ip)  # it already had the liveness requests
        if self.opts.unicast_discovery:
            for session in self.state.sessions.values():
                await session.ask(hw.ip, first=not asked, rest=True, urgent=True)
        if liveness is not None:
            await liveness.wait_settled(hw.ip)

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if now - self._last_status < 0.2 and not force:
            return
        self._last_status = now
        hosts = self.state.hosts.values()
        left = sum(hi - lo + 1 for lo, hi in self.state.unsettled())
        probed = sum(1 for h in hosts if h.finished)
        self.progress.status(
            f"{len(self.state.hosts):,} hosts found, {probed:,} probed, {left:,} addresses left"
        )

    # The scan -------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Discover and probe everything; on cancellation, end every task and keep what they learned."""
        try:
            await self._run()
            self.state.finished = True
        finally:
            await self._stop()

    async def _run(self) -> None:
        opts = self.opts
        segments = local_segments(list(opts.targets.networks), opts.interface) if opts.multicast else []
        self.state.segments = [f"{s.iface} {s.network}" for s in segments]
        self.progress.stage("scanning", opts.targets.count)
        loop = asyncio.get_running_loop()
        # ARP's first pass runs alone: scapy matches replies in a thread, which a busy event loop (discovery
        # replies to parse, hosts to probe) would starve of the GIL, and a starved pass misses answers.
        self._holding = True
        arping = loop.create_task(self._arp())
        await asyncio.wait([arping, loop.create_task(self._arp_first.wait())], return_when="FIRST_COMPLETED")
        # mDNS browses to the end of the sweep, MDNS_BROWSE at least: busy responders answer late.
        browsing = asyncio.Event()
        mdns = loop.create_task(self._mdns(segments, browsing)) if "mdns" in opts.discovery else None
        browse_until = loop.time() + MDNS_BROWSE
        await self._open_sessions(segments)
        self._release()  # the hosts ARP found are probed now, while its second pass asks the silent ones
        await arping
        await self._sweep()
        loop.call_at(browse_until, browsing.set)  # at once if that time is past
        await self._read_snmp()
        self.progress.stage("probing", sum(1 for h in self.state.hosts.values() if not h.finished))
        self._probing_stage = True
        # The MAC registry is needed only for the report: load it while the last hosts are probed.
        registry = loop.run_in_executor(None, oui.warm)
        await self._drain()
        if mdns is not None:
            await mdns
            await self._drain()  # hosts the browse found late are probed too
        await registry
        self._learn_kernel_macs()
        self._show(force=True)

    async def _open_sessions(self, segments: Sequence[Segment]) -> None:
        for name in self.opts.discovery:
            kind = SEGMENT_PROBES[name]
            if not issubclass(kind, DatagramProbe):
                continue
            probe = kind()
            session = probe.session(
                self.ctx, self.opts.targets.contains, self._heard_by(name), self.opts.targets.count
            )
            self.state.sessions[name] = session
            for segment in segments:
                await session.multicast(segment)

    def _heard_by(self, probe: str) -> Callable[[str, tuple[Observation, ...]], None]:
        return lambda ip, observations: self.heard(probe, ip, observations)

    async def _mdns(self, segments: Sequence[Segment], hold: asyncio.Event) -> None:
        probe = self.state.mdns = MdnsProbe()
        probe.hold = hold
        try:
            result = await probe.run(
                self.ctx, segments, [], self.opts.targets.contains, self.opts.discovery_wait
            )
        except Exception as exc:  # a probe bug must not end the scan
            result = SegmentResult("mdns", Status.ERROR, error=repr(exc)[:200])
        self.state.mdns_result = result
        for ip, observations in result.replies.items():
            self.heard("mdns", ip, tuple(observations))

    async def _arp(self) -> None:
        """ARP-sweep the on-link parts of the targets when privileged: each answer is a live host.

        `_arp_first` is set once its first pass is in (or at once when there is nothing to ARP)."""
        opts = self.opts
        onlink = arp.onlink_networks(list(opts.targets.networks), opts.interface) if opts.arp else []
        try:
            if onlink and arp.arp_capable()[0]:
                ranges = tuple((int(n.network_address), int(n.broadcast_address)) for n, _ in onlink)
                self.state.arp_ranges = ranges
                await arp.arp_sweep(onlink, rate=opts.rate, on_pass=self._arp_answers)
                self.state.arp_covered = ranges
                self.progress.advance(opts.targets.count - opts.targets.without(ranges).count)
        finally:
            self._arp_first.set()
        self.state.arp_done = True

    def _arp_answers(self, macs: dict[str, str]) -> None:
        for ip, mac in macs.items():
            if self.opts.targets.contains(ip):
                hw = self.found(ip, "arp")
                hw.mac, hw.mac_source = mac, "arp"
        self._arp_first.set()

    def _release(self) -> None:
        if not self._holding:
            return
        self._holding = False
        for hw in list(self.state.hosts.values()):
            if hw.ip not in self._started:
                self._start(hw)

    async def _sweep(self) -> None:
        opts = self.opts
        rest = opts.targets.without(self.state.arp_covered)
        sessions = list(self.state.sessions.values()) if opts.unicast_discovery else []
        liveness = self.state.liveness = Liveness(
            self.ctx, rest, opts.ping_ports, sessions, self.found, icmp=opts.icmp, on_settled=self._settled
        )
        await liveness.run()

    def _settled(self, n: int) -> None:
        self.progress.advance(n)
        self._show()

    async def _read_snmp(self) -> None:
        """The routers' ARP tables, read after the sweep has made them ask for every live host."""
        if self.snmp_routers:
            self.state.snmp = await read_router_macs(self.ctx, self.snmp_routers)

    async def _drain(self) -> None:
        """Wait until no host is left to probe and the last discovery request has had its time to answer."""
        while True:
            pending = [t for t in self.host_tasks if not t.done()]
            pending += [j for h in self.state.hosts.values() for j in h.jobs if not j.done()]
            if pending:
                await asyncio.wait(pending)
                continue
            last = max((s.last_send for s in self.state.sessions.values()), default=0.0)
            left = last + self.opts.discovery_wait - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(left)

    def _learn_kernel_macs(self) -> None:
        """Without ARP, the kernel's neighbour table names the MACs of on-link hosts we talked to."""
        if self.state.arp_covered or not self.state.hosts:
            return
        self.state.kernel_macs = neighbours.read_neighbours()

    async def _stop(self) -> None:
        """End every host task and job (they record how they ended) and close every socket."""
        self.prober.cut_short = not self.state.finished
        tasks = list(self.host_tasks) + [j for h in self.state.hosts.values() for j in h.jobs]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for session in self.state.sessions.values():
            session.close()
        if self.state.liveness is not None:
            self.state.liveness.close()
        if not self.state.finished and self.state.kernel_macs is None:
            self._learn_kernel_macs()
