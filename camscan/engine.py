"""Asyncio orchestration: discover live hosts, probe them within limits and deadlines, build the report."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from typing import Any
from urllib.parse import urlsplit

import httpx

from camscan import __version__, evidence, fuse, oui, watchlist
from camscan.context import DEFAULT_PORTS, OnvifCredentials, ScanContext, Timeouts
from camscan.fingerprints import FingerprintDB
from camscan.interfaces import local_segments
from camscan.limits import Limits
from camscan.models import (
    Coverage,
    Device,
    Evidence,
    Host,
    MacSource,
    ProbeResult,
    Report,
    ScanInfo,
    Segment,
    SegmentResult,
    Unfinished,
    Unmatched,
    Verdict,
)
from camscan.probes import (
    ONVIF_PORTS,
    SEGMENT_PROBES,
    OnvifCache,
    OnvifProbe,
    SegmentProbe,
    arp,
    neighbours,
    probes_for_port,
    tcp,
)
from camscan.status import Status
from camscan.targets import TargetSet
from camscan.vendors import VendorDB
from camscan.watchlist import Watchlist


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Everything the user chose for one scan."""

    targets: TargetSet
    ports: tuple[int, ...] = DEFAULT_PORTS
    interface: str | None = None
    rate: float = 2000.0
    concurrency: int = 256
    per_host: int = 1
    timeouts: Timeouts = field(default_factory=Timeouts)
    port_map: Mapping[int, int] = field(default_factory=dict)
    macs: Mapping[str, str] = field(default_factory=dict)  # ip -> mac from a user file
    arp: bool = True
    multicast: bool = True
    unicast_discovery: bool = True  # WS-Discovery/SADP/DHIP/DVRIP/SSDP requests to every target address
    discovery: tuple[str, ...] = tuple(SEGMENT_PROBES)  # segment probes to run
    discovery_wait: float = 1.5  # seconds to listen after the last discovery datagram
    onvif: bool = True
    onvif_credentials: tuple[tuple[IPv4Network, OnvifCredentials], ...] = ()


class Progress:
    """Progress callbacks; the default does nothing (cron, pipes)."""

    def stage(self, name: str, total: int) -> None:
        """A new stage begins with `total` steps."""

    def advance(self, n: int = 1) -> None:
        """`n` more steps are done."""

    def status(self, text: str) -> None:
        """A short line about the stage: hosts found so far, addresses left."""


@dataclass(slots=True)
class Knowledge:
    """The fixed inputs fusion needs: fingerprints, vendors, watchlists."""

    fingerprints: FingerprintDB
    vendors: VendorDB
    watchlists: Sequence[Watchlist]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tls_context() -> ssl.SSLContext:
    """A client context that reads any camera's certificate: old protocols allowed, nothing verified."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def http_client(opts: ScanOptions) -> httpx.AsyncClient:
    """The one shared httpx client: no redirects followed by httpx, no keep-alive, no proxies from env."""
    return httpx.AsyncClient(
        verify=tls_context(),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(opts.timeouts.probe),
        limits=httpx.Limits(max_connections=opts.concurrency, max_keepalive_connections=0),
        headers={"User-Agent": f"camscan/{__version__} (inventory scan; no login)"},
    )


async def _segment_probe(
    ctx: ScanContext,
    name: str,
    segments: list[Segment],
    unicast: list[str],
    opts: ScanOptions,
    state: ScanState,
) -> None:
    started = time.monotonic()
    probe = state.segment_probes[name] = SEGMENT_PROBES[name]()
    try:
        result = await probe.run(ctx, segments, unicast, opts.targets.contains, opts.discovery_wait)
    except Exception as exc:  # a probe bug must not end the scan
        result = SegmentResult(name, Status.ERROR, error=repr(exc)[:200], elapsed=time.monotonic() - started)
    state.segment_results[name] = result


def _self_reported_mac(results: list[ProbeResult]) -> tuple[str, MacSource] | None:
    for result in results:
        for obs in result.observations:
            if obs.field == "mac.address":
                mac = oui.normalise_mac(obs.value)
                if mac and result.probe in SELF_REPORTING:
                    return mac, result.probe
    return None


# Probes whose replies carry the device's own MAC; the MAC's source is then named after the probe.
SELF_REPORTING: frozenset[MacSource] = frozenset(
    {"wsdiscovery", "onvif", "sadp", "dhip", "dvrip", "mdns", "ssdp"}
)


async def _arp(opts: ScanOptions, progress: Progress) -> tuple[dict[str, str], list[tuple[int, int]]]:
    """ARP-sweep the on-link parts of the targets when privileged: MACs, and the ranges ARP covered."""
    if not opts.arp or not arp.arp_capable()[0]:
        return {}, []
    onlink = arp.onlink_networks(list(opts.targets.networks), opts.interface)
    if not onlink:
        return {}, []
    progress.stage("arp", 1)
    macs = await arp.arp_sweep(onlink, rate=opts.rate)
    progress.advance()
    return macs, [(int(n.network_address), int(n.broadcast_address)) for n, _ in onlink]


def _assemble(
    addresses: Sequence[str],
    open_ports: Mapping[str, tuple[int, ...]],
    macs: Mapping[str, tuple[str, MacSource]],
    heard: Mapping[str, list[ProbeResult]],
) -> list[Host]:
    """Live hosts: an open port, a MAC from ARP or the kernel, or a discovery reply makes a host alive."""
    hosts = []
    for ip in addresses:
        mac, source = macs.get(ip, (None, None))
        if source not in ("arp", "neighbours") and ip in heard:
            mac, source = _self_reported_mac(heard[ip]) or (mac, source)
        ports = open_ports.get(ip, ())
        if ports or ip in heard or source in ("arp", "neighbours"):
            hosts.append(Host(ip=ip, mac=mac, mac_source=source, open_ports=tuple(sorted(ports))))
    return hosts


JobList = list[tuple[str, int | None, Awaitable[ProbeResult]]]
PORTS_PHASE, ONVIF_PHASE = "ports", "onvif"
SCAN_CUT_SHORT = "the scan ended (deadline or signal) before this probe finished"


class HostRunner:
    """Runs probe jobs per host under one deadline per host, however many phases add jobs to it."""

    def __init__(self, ctx: ScanContext, workers: int) -> None:
        self.ctx = ctx
        self.workers = workers
        self.results: dict[str, list[ProbeResult]] = {}
        self.done: dict[str, set[str]] = {}  # host -> the phases whose jobs all ended for it
        self._deadline: dict[str, float] = {}

    async def run(
        self, hosts: Sequence[Host], jobs_for: Callable[[Host], JobList], progress: Progress, phase: str
    ) -> None:
        """Each host's jobs from `jobs_for`, hosts through a bounded pool (a /16 never holds every task)."""
        queue: asyncio.Queue[Host] = asyncio.Queue()
        for host in hosts:
            queue.put_nowait(host)

        async def worker() -> None:
            while True:
                try:
                    host = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self._one(host, jobs_for(host), phase)
                progress.advance()

        await asyncio.gather(*(worker() for _ in range(max(1, min(self.workers, len(hosts))))))

    async def _one(self, host: Host, jobs: JobList, phase: str) -> None:
        if not jobs:
            self.done.setdefault(host.ip, set()).add(phase)
            return
        now = time.monotonic()
        remaining = self._deadline.setdefault(host.ip, now + self.ctx.timeouts.host) - now
        tasks = [asyncio.ensure_future(job) for _, _, job in jobs]
        why = "host deadline passed"
        try:
            await asyncio.wait(tasks, timeout=max(remaining, 0.0))
        except asyncio.CancelledError:
            why = SCAN_CUT_SHORT
            raise
        finally:
            # Runs on cancellation too: what finished is kept, what did not is recorded as cut short.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._record(host, jobs, tasks, why)
        self.done.setdefault(host.ip, set()).add(phase)

    def _record(
        self, host: Host, jobs: JobList, tasks: Sequence[asyncio.Future[ProbeResult]], why: str
    ) -> None:
        out = self.results.setdefault(host.ip, [])
        for (name, port, _), task in zip(jobs, tasks, strict=True):
            if not task.cancelled() and task.exception() is None:
                out.append(task.result())
            elif not task.cancelled():
                out.append(ProbeResult(name, host.ip, port, Status.ERROR, error=repr(task.exception())[:200]))
            else:
                out.append(ProbeResult(name, host.ip, port, Status.TIMEOUT, error=why))

    def unfinished(self, hosts: Sequence[Host]) -> list[Host]:
        """Hosts whose web/RTSP phase (if they have open ports) or ONVIF phase has not ended."""
        return [
            h
            for h in hosts
            if (h.open_ports and PORTS_PHASE not in self.done.get(h.ip, ()))
            or ONVIF_PHASE not in self.done.get(h.ip, ())
        ]


def port_jobs(ctx: ScanContext) -> Callable[[Host], JobList]:
    """HTTP, HTTPS and RTSP probes for each open port."""

    def jobs(host: Host) -> JobList:
        return [
            (p.name, port, p.run(ctx, host, port)) for port in host.open_ports for p in probes_for_port(port)
        ]

    return jobs


def onvif_jobs(
    ctx: ScanContext, onvif: OnvifProbe | None, heard: Mapping[str, list[ProbeResult]]
) -> Callable[[Host], JobList]:
    """One ONVIF device-service probe per host that has one."""

    def jobs(host: Host) -> JobList:
        xaddr = onvif_xaddr(host, heard.get(host.ip, [])) if onvif else None
        return [("onvif", None, onvif.run(ctx, host, xaddr))] if onvif and xaddr else []

    return jobs


@dataclass(slots=True)
class ScanState:
    """Everything a scan has learned so far: the report is built from it however the scan ended."""

    addresses: list[str]
    arp_macs: dict[str, str] = field(default_factory=dict)
    arp_covered: list[tuple[int, int]] | None = None  # None: the ARP sweep has not finished
    to_connect: list[str] | None = None  # None: the TCP sweep has not started
    sweep: tcp.SweepResult = field(default_factory=tcp.SweepResult)
    macs: dict[str, tuple[str, MacSource]] = field(default_factory=dict)
    mac_method: str = "none"
    kernel_macs: dict[str, tuple[str, str]] | None = None  # the neighbour table, read once after the sweep
    segments: list[str] = field(default_factory=list)
    segment_probes: dict[str, SegmentProbe] = field(default_factory=dict)
    segment_results: dict[str, SegmentResult] = field(default_factory=dict)
    runner: HostRunner | None = None
    probing_done: bool = False  # every phase of probing ran to its end

    def heard(self, opts: ScanOptions) -> dict[str, list[ProbeResult]]:
        """Discovery replies by in-scope host, from finished probes and from those cut short."""
        results = [
            self.segment_results.get(name) or probe.partial() for name, probe in self.segment_probes.items()
        ]
        heard: dict[str, list[ProbeResult]] = {}
        for seg in results:
            for ip, observations in seg.replies.items():
                if opts.targets.contains(ip):
                    heard.setdefault(ip, []).append(
                        ProbeResult(seg.probe, ip, None, Status.OK, tuple(observations))
                    )
        return heard

    def all_segment_results(self) -> list[SegmentResult]:
        """One result per discovery probe that started, partial for those cut short."""
        return [
            self.segment_results.get(name) or probe.partial() for name, probe in self.segment_probes.items()
        ]


def _learn_macs(opts: ScanOptions, state: ScanState) -> None:
    """MACs from the user's file, the kernel's neighbour table (unprivileged) and ARP, strongest last."""
    method = "arp" if state.arp_covered else "none"
    if state.kernel_macs is None and not state.arp_covered and state.to_connect is not None:
        state.kernel_macs = neighbours.read_neighbours()
    kernel = state.kernel_macs or {}
    if kernel and method == "none":
        method = "neighbours"
    if opts.macs:
        method = "file" if method == "none" else f"{method}+file"
    touched = set(state.to_connect or ())
    macs: dict[str, tuple[str, MacSource]] = {ip: (mac, "file") for ip, mac in opts.macs.items()}
    macs.update({ip: (entry[0], "neighbours") for ip, entry in kernel.items() if ip in touched})
    macs.update({ip: (mac, "arp") for ip, mac in state.arp_macs.items()})
    state.macs, state.mac_method = macs, method


async def scan_hosts(
    opts: ScanOptions, ctx: ScanContext, progress: Progress, onvif: OnvifProbe | None, state: ScanState
) -> None:
    """Discover and probe, pipelined: web and RTSP probing starts as soon as the TCP sweep ends, while the
    discovery listeners still wait for late replies; ONVIF follows once discovery has named the XAddrs.

    Everything learned goes into `state` as it is learned, so a scan cut short still reports it."""
    state.arp_macs, covered = await _arp(opts, progress)
    state.arp_covered = covered

    def needs_probe(ip: str) -> bool:
        # On a segment ARP covered, an address that did not answer ARP is not there.
        if ip in state.arp_macs:
            return True
        value = int(IPv4Address(ip))
        return not any(lo <= value <= hi for lo, hi in covered)

    to_connect = state.to_connect = [ip for ip in state.addresses if needs_probe(ip)]
    segments = local_segments(list(opts.targets.networks), opts.interface) if opts.multicast else []
    state.segments = [f"{s.iface} {s.network}" for s in segments]
    unicast = to_connect if opts.unicast_discovery else []
    listening = asyncio.gather(
        *(_segment_probe(ctx, name, segments, unicast, opts, state) for name in opts.discovery)
    )
    progress.stage("discovery", len(to_connect) * len(opts.ports))
    done_so_far = 0

    def on_done(done: int) -> None:
        nonlocal done_so_far
        progress.advance(done - done_so_far)
        done_so_far = done
        if done % 64 == 0 or done == len(to_connect) * len(opts.ports):
            found = len(set(state.sweep.open_ports) | set(state.arp_macs))
            left = len(to_connect) - len(state.sweep.finished)
            progress.status(f"{found:,} hosts found, {left:,} addresses left")

    try:
        await tcp.sweep(ctx, to_connect, opts.ports, progress=on_done, result=state.sweep)
        _learn_macs(opts, state)
        runner = state.runner = HostRunner(ctx, opts.concurrency)
        swept_hosts = _assemble(state.addresses, state.sweep.open_ports, state.macs, {})
        progress.stage("probing", len(swept_hosts))
        probing = asyncio.ensure_future(runner.run(swept_hosts, port_jobs(ctx), progress, PORTS_PHASE))
        try:
            await listening
        except BaseException:
            probing.cancel()
            await asyncio.gather(probing, return_exceptions=True)
            raise
        heard = state.heard(opts)
        hosts = _assemble(state.addresses, state.sweep.open_ports, state.macs, heard)
        await asyncio.gather(
            probing, runner.run(hosts, onvif_jobs(ctx, onvif, heard), Progress(), ONVIF_PHASE)
        )
        state.probing_done = True
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


def onvif_xaddr(host: Host, heard: list[ProbeResult]) -> str | None:
    """The device service to ask: the host's own WS-Discovery XAddr, else the usual path on a web port."""
    for result in heard:
        for obs in result.observations:
            if obs.field == "wsd.xaddr":
                parts = urlsplit(obs.value)
                if parts.scheme in ("http", "https") and parts.hostname == host.ip:
                    return obs.value
    for port in ONVIF_PORTS:
        if port in host.open_ports:
            return f"http://{host.ip}:{port}/onvif/device_service"
    return None


def judge(host: Host, results: Sequence[ProbeResult], know: Knowledge) -> tuple[Device, list[Unmatched]]:
    """Evidence, fusion and watchlists for one host."""
    evs: list[Evidence]
    evs, unmatched = evidence.from_results(host.ip, results, know.fingerprints, know.vendors)
    evs.extend(evidence.from_open_ports(host.open_ports, know.fingerprints))
    mac, mac_source = host.mac, host.mac_source
    if mac is None:
        mac, mac_source = _self_reported_mac(list(results)) or (None, None)
    mac_vendor = None
    if mac:
        info = oui.lookup(mac)
        mac_vendor = info.registrant
        mac_ev = evidence.from_mac(info, mac_source or "arp", know.vendors)
        if mac_ev is not None:
            evs.append(mac_ev)
    verdict: Verdict = fuse.fuse(evs, know.vendors)
    hits = watchlist.flag(
        verdict.manufacturer,
        verdict.brand,
        verdict.is_camera,
        know.watchlists,
        know.vendors,
        recognised_by=fuse.recognised_by(evs, verdict.manufacturer, know.vendors),
    )
    device = Device(
        ip=host.ip,
        mac=mac,
        mac_vendor=mac_vendor,
        mac_source=mac_source,
        hostname=host.hostname,
        open_ports=host.open_ports,
        verdict=verdict,
        watchlist=hits,
        evidence=tuple(evs),
        probes=tuple(results),
    )
    return device, unmatched


class Stop:
    """A request to end the scan early (a signal): the scan stops probing and reports what it found."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> asyncio.Event:
        """Attach to the running loop; the returned event is set once a stop is requested."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        if self.reason is not None:
            self._event.set()
        return self._event

    def request(self, reason: str) -> None:
        """Ask the scan to stop; safe to call from a signal handler (first reason wins)."""
        if self.reason is None:
            self.reason = reason
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)


async def _drive(work: Awaitable[None], deadline: float, stop: Stop | None) -> tuple[bool, str | None]:
    """Run the scan until it ends, the deadline passes or a stop is requested: (deadline_hit, interrupted)."""
    task: asyncio.Future[None] = asyncio.ensure_future(work)
    waits: set[asyncio.Future[Any]] = {task}
    if stop is not None:
        waits.add(asyncio.ensure_future(stop.bind().wait()))
    try:
        await asyncio.wait(waits, timeout=deadline, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            if waiter is not task:
                waiter.cancel()
    if task.done():
        task.result()  # a bug in the scan itself propagates (the CLI reports it as a failed scan)
        return False, None
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    interrupted = stop.reason if stop is not None else None
    return interrupted is None, interrupted


async def run_scan(
    opts: ScanOptions,
    know: Knowledge,
    progress: Progress | None = None,
    client: httpx.AsyncClient | None = None,
    stop: Stop | None = None,
) -> Report:
    """Scan the targets and return the report; the deadline or a stop cuts probing short, never the report."""
    progress = progress or Progress()
    started = _now()
    t0 = time.monotonic()
    limits = Limits(concurrency=opts.concurrency, per_host=opts.per_host, rate=opts.rate)
    own_client = client is None
    http = client or http_client(opts)
    ctx = ScanContext(
        http=http,
        limits=limits,
        timeouts=opts.timeouts,
        port_map=dict(opts.port_map),
        onvif_credentials=opts.onvif_credentials,
    )
    onvif = OnvifProbe(OnvifCache()) if opts.onvif else None
    state = ScanState(addresses=list(opts.targets.addresses()))
    try:
        deadline_hit, interrupted = await _drive(
            scan_hosts(opts, ctx, progress, onvif, state), opts.timeouts.scan, stop
        )
    finally:
        if own_client:
            await http.aclose()
    return build_report(opts, know, state, started, time.monotonic() - t0, deadline_hit, interrupted)


def _ranges(values: Sequence[int]) -> list[str]:
    """Ascending integers as 'first-last' IPv4 ranges (a lone address stays one address)."""
    out: list[str] = []
    first = prev = None
    for value in values:
        if prev is not None and value == prev + 1:
            prev = value
            continue
        if first is not None and prev is not None:
            out.append(_range_text(first, prev))
        first = prev = value
    if first is not None and prev is not None:
        out.append(_range_text(first, prev))
    return out


def _range_text(first: int, last: int) -> str:
    if first == last:
        return str(IPv4Address(first))
    return f"{IPv4Address(first)}-{IPv4Address(last)}"


MAX_RANGES = 256  # ranges (and pending hosts) listed in the report; the counts are always whole


def unfinished_work(state: ScanState, hosts: Sequence[Host]) -> Unfinished:
    """What a scan that did not finish left undone: addresses whose liveness was never settled, and live
    hosts whose probes had not all ended."""
    alive = {h.ip for h in hosts}
    covered = state.arp_covered or []
    not_probed: list[int] = []
    for ip in state.addresses:
        if ip in alive or ip in state.sweep.finished:
            continue
        value = int(IPv4Address(ip))
        if any(lo <= value <= hi for lo, hi in covered) and ip not in state.arp_macs:
            continue  # ARP covered it and nobody answered: settled as not there
        not_probed.append(value)
    pending = list(hosts) if state.runner is None else state.runner.unfinished(hosts)
    ranges = _ranges(not_probed)
    return Unfinished(
        addresses=len(not_probed),
        address_ranges=tuple(ranges[:MAX_RANGES]),
        hosts=len(pending),
        host_ips=tuple(h.ip for h in pending[:MAX_RANGES]),
        truncated=len(ranges) > MAX_RANGES or len(pending) > MAX_RANGES,
    )


def build_report(
    opts: ScanOptions,
    know: Knowledge,
    state: ScanState,
    started: str,
    elapsed: float,
    deadline_hit: bool,
    interrupted: str | None,
) -> Report:
    """The report from whatever the scan learned, finished or not."""
    _learn_macs(opts, state)  # again: a scan cut short during the sweep has not learned them yet
    heard = state.heard(opts)
    segment_results = state.all_segment_results()
    results = state.runner.results if state.runner else {}
    hosts = _assemble(state.addresses, state.sweep.open_ports, state.macs, heard)
    devices: list[Device] = []
    unmatched: list[Unmatched] = []
    for host in hosts:
        device, loose = judge(host, heard.get(host.ip, []) + results.get(host.ip, []), know)
        devices.append(device)
        unmatched.extend(loose)
    complete = not deadline_hit and interrupted is None
    statuses = Counter(r.status.value for rs in results.values() for r in rs)
    coverage = Coverage(
        addresses=opts.targets.count,
        alive=len(devices),
        probed=sum(1 for h in hosts if results.get(h.ip)),
        cameras=sum(1 for d in devices if d.verdict.is_camera),
        unidentified_cameras=sum(1 for d in devices if d.verdict.is_camera and not d.verdict.manufacturer),
        errors=statuses.get(Status.ERROR.value, 0)
        + sum(1 for s in segment_results if s.status is Status.ERROR),
        complete=complete,
        unfinished=Unfinished() if complete else unfinished_work(state, hosts),
    )
    return Report(
        scan=_scan_info(opts, know, state, segment_results, results, started, elapsed, statuses),
        coverage=coverage,
        devices=tuple(devices),
        unmatched=tuple(unmatched),
        deadline_hit=deadline_hit,
        interrupted=interrupted,
    )


def _scan_info(
    opts: ScanOptions,
    know: Knowledge,
    state: ScanState,
    segment_results: Sequence[SegmentResult],
    results: Mapping[str, list[ProbeResult]],
    started: str,
    elapsed: float,
    statuses: Mapping[str, int],
) -> ScanInfo:
    probe_seconds: dict[str, float] = {}
    for rs in results.values():
        for r in rs:
            probe_seconds[r.probe] = probe_seconds.get(r.probe, 0.0) + r.elapsed
    discovery = ({"tcp"} if state.to_connect is not None else set()) | (
        {"arp"} if state.mac_method.startswith("arp") else set()
    )
    ran = {r.probe for rs in results.values() for r in rs} | {s.probe for s in segment_results}
    return ScanInfo(
        id=str(uuid.uuid4()),
        started_at=started,
        finished_at=_now(),
        targets=opts.targets.specs,
        probes=tuple(sorted(ran | discovery)),
        mac_method=state.mac_method,
        watchlists=tuple(w.id for w in know.watchlists),
        options={
            "ports": list(opts.ports),
            "rate": opts.rate,
            "concurrency": opts.concurrency,
            "per_host": opts.per_host,
            "timeouts": {
                "connect": opts.timeouts.connect,
                "probe": opts.timeouts.probe,
                "host": opts.timeouts.host,
                "scan": opts.timeouts.scan,
            },
            "port_map": {str(k): v for k, v in opts.port_map.items()},
            "interface": opts.interface,
            "multicast": opts.multicast,
            "unicast_discovery": opts.unicast_discovery,
            "discovery_probes": list(opts.discovery),
            "onvif": opts.onvif,
            "onvif_credentials_for": [str(net) for net, _ in opts.onvif_credentials],
        },
        discovery=tuple(
            {
                "probe": s.probe,
                "status": s.status.value,
                "hosts": len(s.replies),
                "sent": s.sent,
                "received": s.received,
                "rejected": s.rejected,
                "elapsed": round(s.elapsed, 3),
                "error": s.error,
            }
            for s in segment_results
        ),
        segments=tuple(state.segments),
        timing={
            "elapsed_seconds": round(elapsed, 3),
            "discovery_seconds": round(max((s.elapsed for s in segment_results), default=0.0), 3),
            "probe_seconds": {k: round(v, 3) for k, v in sorted(probe_seconds.items())},
            "probe_statuses": dict(sorted(statuses.items())),
        },
    )
