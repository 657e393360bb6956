"""One live host's work: the rest of its port check, its probes and ONVIF, all under one per-host deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from camscan.context import ScanContext
from camscan.hostnames import HostNamer, names_result
from camscan.models import Host, MacSource, Observation, ProbeResult
from camscan.probes import OnvifProbe, PortProbe, probes_for_port, tcp
from camscan.probes.onvif import candidate_endpoints
from camscan.probes.ssdp import MAX_FETCHES_PER_HOST, describe, same_host_url
from camscan.status import Status

HOST_DEADLINE_PASSED = "host deadline passed"
SCAN_CUT_SHORT = "the scan ended (deadline or signal) before this probe finished"
DEADLINE_MARGIN = 0.05  # seconds a probe that keeps partial answers stops before its host's deadline

JobFactory = Callable[[], Awaitable[ProbeResult]]


@dataclass(slots=True)
class HostWork:
    """Everything about one live host while the scan runs: how it was found, its ports, probes and results."""

    ip: str
    found_by: set[str] = field(default_factory=set)  # "icmp", "tcp", "arp", "wsdiscovery", "mdns"...
    mac: str | None = None
    mac_source: MacSource | None = None
    ports: dict[int, Status] = field(default_factory=dict)  # settled ports: OK (open), REFUSED, UNREACHABLE
    results: list[ProbeResult] = field(default_factory=list)
    jobs: set[asyncio.Task[None]] = field(default_factory=set)
    deadline: float | None = None  # event-loop time; set when its probing starts
    started: bool = False
    swept: bool = False  # its port check ended
    finished: bool = False  # its own task ended and no job is left
    probed_ports: set[int] = field(default_factory=set)
    xaddrs: list[str] = field(default_factory=list)  # ONVIF device services it announced on its own address
    onvif_tried: list[str] = field(default_factory=list)
    onvif_busy: bool = False
    onvif_ok: bool = False
    locations: list[str] = field(default_factory=list)  # SSDP description URLs on its own address
    described: set[str] = field(default_factory=set)

    @property
    def open_ports(self) -> tuple[int, ...]:
        """Ports that accepted a connection, ascending."""
        return tuple(sorted(p for p, st in self.ports.items() if st is Status.OK))

    def host(self) -> Host:
        """The immutable view the probes and the judgement take."""
        return Host(self.ip, self.mac, self.mac_source, self.open_ports)

    @property
    def pending(self) -> bool:
        """Whether some of its work has not ended (for the report of a scan cut short)."""
        return not self.finished or any(not job.done() for job in self.jobs)


def own_xaddrs(ip: str, observations: Iterable[Observation]) -> list[str]:
    """The http(s) WS-Discovery XAddrs among these observations that point at the host's own address."""
    out: list[str] = []
    for obs in observations:
        if obs.field != "wsd.xaddr":
            continue
        try:
            parts = urlsplit(obs.value)
            same = parts.scheme in ("http", "https") and parts.hostname == ip
        except ValueError:
            continue
        if same and obs.value not in out:
            out.append(obs.value)
    return out


class Prober:
    """Runs each live host's work: port check, web and RTSP probes, ONVIF, SSDP descriptions."""

    def __init__(
        self,
        ctx: ScanContext,
        ports: tuple[int, ...],
        onvif: OnvifProbe | None,
        before: Callable[[HostWork], Awaitable[None]],
        sweep_per_host: int = 4,
        namer: HostNamer | None = None,
    ) -> None:
        self.ctx = ctx
        self.ports = ports
        self.onvif = onvif
        self.before = before  # what to do first for a host (unicast discovery asks, waiting for its pings)
        self.sweep_per_host = max(1, sweep_per_host)
        self.namer = namer  # asks each host's names (reverse DNS, NetBIOS, LLMNR) beside its probes
        self.cut_short = False  # set when the scan is cancelled: cancelled jobs say so

    async def run(self, hw: HostWork) -> None:
        """The host's own task: its port check, then every probe its open ports call for, by its deadline."""
        loop = asyncio.get_running_loop()
        hw.started = True
        hw.deadline = loop.time() + self.ctx.timeouts.host
        try:
            async with asyncio.timeout_at(hw.deadline):
                namer = self.namer
                if namer is not None and (namer.nameservers or namer.netbios):
                    self.spawn(hw, "names", None, lambda: names_result(namer, self.ctx, hw.ip))
                await self.before(hw)
                for port in hw.open_ports:
                    self._probe_port(hw, port)
                for location in hw.locations:
                    self._describe(hw, location)
                await self._sweep(hw)
                hw.swept = True
                self.consider_onvif(hw)
                while pending := [job for job in hw.jobs if not job.done()]:
                    await asyncio.wait(pending)
        except TimeoutError:  # each job recorded its own end; the port check says what it did not reach
            if not hw.swept:
                hw.results.append(self._unfinished_sweep(hw, loop.time()))
        # Not on cancellation (the scan cut short): that host stays "not fully probed" in the report.
        hw.swept = True
        hw.finished = True

    def _unfinished_sweep(self, hw: HostWork, now: float) -> ProbeResult:
        """The port check's record when its host's time ran out first: the ports it never settled."""
        unsettled = [p for p in self.ports if p not in hw.ports]
        error = f"the host's {self.ctx.timeouts.host:g} s ran out before its port check ended"
        if unsettled:
            error += f"; not checked: {', '.join(map(str, unsettled))}"
        started = (hw.deadline or now) - self.ctx.timeouts.host
        return ProbeResult("tcp", hw.ip, None, Status.TIMEOUT, error=error, elapsed=round(now - started, 3))

    async def _sweep(self, hw: HostWork) -> None:
        """Connect to the ports no ping settled, a few at a time; probe each open one as soon as it opens."""
        todo = [p for p in self.ports if p not in hw.ports]
        gate = asyncio.Semaphore(self.sweep_per_host)

        async def one(port: int) -> None:
            async with gate:
                if Status.UNREACHABLE in hw.ports.values():
                    return  # no route to it: the other ports would fail the same way
                status = await tcp.connect(self.ctx, hw.ip, port)
                hw.ports[port] = status
                if status is Status.OK:
                    self._probe_port(hw, port)

        await asyncio.gather(*(one(p) for p in todo))

    def settle_port(self, hw: HostWork, port: int, status: Status) -> None:
        """A ping's answer about one port (open or closed); an open one is probed once the host is started."""
        if port in hw.ports and hw.ports[port] is not Status.TIMEOUT:
            return
        hw.ports[port] = status
        if status is Status.OK and hw.started and not hw.finished:
            self._probe_port(hw, port)

    def _probe_port(self, hw: HostWork, port: int) -> None:
        if port in hw.probed_ports:
            return
        hw.probed_ports.add(port)
        for probe in probes_for_port(port):
            self.spawn(hw, probe.name, port, _port_job(probe, self.ctx, hw.host(), port))

    def heard(self, hw: HostWork, observations: Iterable[Observation]) -> None:
        """A discovery reply of this host: follow its own XAddrs (ONVIF) and SSDP LOCATIONs (descriptions)."""
        observations = list(observations)
        for xaddr in own_xaddrs(hw.ip, observations):
            if xaddr not in hw.xaddrs:
                hw.xaddrs.append(xaddr)
        if hw.swept and not hw.finished:
            self.consider_onvif(hw)
        for obs in observations:
            if obs.field == "ssdp.location" and obs.value not in hw.locations:
                hw.locations.append(obs.value)
                if hw.started and not hw.finished:
                    self._describe(hw, obs.value)

    def _describe(self, hw: HostWork, location: str) -> None:
        url = same_host_url(location, hw.ip)
        if url is None or str(url) in hw.described or len(hw.described) >= MAX_FETCHES_PER_HOST:
            return  # not on the replier's own address (recorded by the SSDP reply itself), or enough read
        hw.described.add(str(url))
        self.spawn(hw, "ssdp", url.port or 80, lambda: describe(self.ctx, hw.ip, url))

    def onvif_candidates(self, hw: HostWork) -> list[str]:
        """Device services to ask, best first: its own WS-Discovery XAddrs (any port), then the usual path
        on its open ONVIF ports."""
        return candidate_endpoints(hw.ip, hw.xaddrs, hw.open_ports)

    def consider_onvif(self, hw: HostWork) -> None:
        """Ask the next ONVIF device service of this host, unless one is being asked or one already answered.

        Called when the port check ends, when an XAddr is heard and when an attempt fails: an XAddr heard
        after a port-based guess failed is still followed, within the host's deadline."""
        if self.onvif is None or hw.onvif_busy or hw.onvif_ok or hw.finished:
            return
        fresh = [c for c in self.onvif_candidates(hw) if c not in hw.onvif_tried]
        if not fresh:
            return
        xaddr = fresh[0]
        hw.onvif_tried.append(xaddr)
        hw.onvif_busy = True
        onvif = self.onvif

        async def ask() -> ProbeResult:
            # Its own deadline a moment before the host's: a slow device's answers so far are kept.
            before = None if hw.deadline is None else hw.deadline - DEADLINE_MARGIN
            try:
                result = await onvif.run(self.ctx, hw.host(), xaddr, before)
            finally:
                hw.onvif_busy = False
            hw.onvif_ok = hw.onvif_ok or result.status is Status.OK
            return result

        def then(task: asyncio.Task[None]) -> None:
            if not task.cancelled():
                self.consider_onvif(hw)  # an XAddr heard meanwhile, or the next one announced

        task = self.spawn(hw, "onvif", None, ask)
        task.add_done_callback(then)

    def spawn(self, hw: HostWork, name: str, port: int | None, make: JobFactory) -> asyncio.Task[None]:
        """Run one probe of this host as its own task, bounded by the host's deadline; it records its end."""
        task = asyncio.get_running_loop().create_task(self._job(hw, name, port, make))
        hw.jobs.add(task)
        return task

    async def _job(self, hw: HostWork, name: str, port: int | None, make: JobFactory) -> None:
        start = time.monotonic()
        deadline = hw.deadline if hw.deadline is not None else asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout_at(deadline):
                result = await make()
        except TimeoutError:
            elapsed = time.monotonic() - start
            result = ProbeResult(name, hw.ip, port, Status.TIMEOUT, (), HOST_DEADLINE_PASSED, elapsed)
        except asyncio.CancelledError:
            why = SCAN_CUT_SHORT if self.cut_short else HOST_DEADLINE_PASSED
            hw.results.append(ProbeResult(name, hw.ip, port, Status.TIMEOUT, error=why))
            raise
        except Exception as exc:  # a probe bug ends that probe, never the scan
            result = ProbeResult(name, hw.ip, port, Status.ERROR, error=repr(exc)[:200])
        hw.results.append(result if result.elapsed else replace(result, elapsed=time.monotonic() - start))


def _port_job(probe: PortProbe, ctx: ScanContext, host: Host, port: int) -> JobFactory:
    """A factory for one port probe (the coroutine is made only when the job runs)."""
    return lambda: probe.run(ctx, host, port)
