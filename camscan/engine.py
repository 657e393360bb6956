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
    Unmatched,
    Verdict,
)
from camscan.probes import (
    ONVIF_PORTS,
    SEGMENT_PROBES,
    OnvifCache,
    OnvifProbe,
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


@dataclass(slots=True)
class Discovery:
    """What discovery found: live hosts, how MACs were learned, and what each segment probe heard."""

    hosts: list[Host]
    mac_method: str
    heard: dict[str, list[ProbeResult]]  # replies by host, as per-host probe results
    segment_results: list[SegmentResult]
    segments: list[str]


async def _segment_probe(
    ctx: ScanContext, name: str, segments: list[Segment], unicast: list[str], opts: ScanOptions
) -> SegmentResult:
    started = time.monotonic()
    try:
        return await SEGMENT_PROBES[name]().run(
            ctx, segments, unicast, opts.targets.contains, opts.discovery_wait
        )
    except Exception as exc:  # a probe bug must not end the scan
        return SegmentResult(name, Status.ERROR, error=repr(exc)[:200], elapsed=time.monotonic() - started)


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


class HostRunner:
    """Runs probe jobs per host under one deadline per host, however many phases add jobs to it."""

    def __init__(self, ctx: ScanContext, workers: int) -> None:
        self.ctx = ctx
        self.workers = workers
        self.results: dict[str, list[ProbeResult]] = {}
        self._deadline: dict[str, float] = {}

    async def run(
        self, hosts: Sequence[Host], jobs_for: Callable[[Host], JobList], progress: Progress
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
                await self._one(host, jobs_for(host))
                progress.advance()

        await asyncio.gather(*(worker() for _ in range(max(1, min(self.workers, len(hosts))))))

    async def _one(self, host: Host, jobs: JobList) -> None:
        if not jobs:
            return
        now = time.monotonic()
        remaining = self._deadline.setdefault(host.ip, now + self.ctx.timeouts.host) - now
        tasks = [asyncio.ensure_future(job) for _, _, job in jobs]
        done, pending = await asyncio.wait(tasks, timeout=max(remaining, 0.0))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        out = self.results.setdefault(host.ip, [])
        for (name, port, _), task in zip(jobs, tasks, strict=True):
            if task in done and not task.cancelled() and task.exception() is None:
                out.append(task.result())
            elif task in done and not task.cancelled():
                out.append(ProbeResult(name, host.ip, port, Status.ERROR, error=repr(task.exception())[:200]))
            else:
                out.append(ProbeResult(name, host.ip, port, Status.TIMEOUT, error="host deadline passed"))


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


async def scan_hosts(
    opts: ScanOptions, ctx: ScanContext, progress: Progress, onvif: OnvifProbe | None
) -> tuple[Discovery, dict[str, list[ProbeResult]]]:
    """Discover and probe, pipelined: web and RTSP probing starts as soon as the TCP sweep ends, while the
    discovery listeners still wait for late replies; ONVIF follows once discovery has named the XAddrs."""
    addresses = list(opts.targets.addresses())
    arp_macs, arp_covered = await _arp(opts, progress)
    method = "arp" if arp_covered else "none"

    def needs_probe(ip: str) -> bool:
        # On a segment ARP covered, an address that did not answer ARP is not there.
        if ip in arp_macs:
            return True
        value = int(IPv4Address(ip))
        return not any(lo <= value <= hi for lo, hi in arp_covered)

    to_connect = [ip for ip in addresses if needs_probe(ip)]
    segments = local_segments(list(opts.targets.networks), opts.interface) if opts.multicast else []
    unicast = to_connect if opts.unicast_discovery else []
    listening = asyncio.gather(
        *(_segment_probe(ctx, name, segments, unicast, opts) for name in opts.discovery)
    )
    progress.stage("discovery", len(to_connect) * len(opts.ports))
    done_so_far = 0

    def on_done(done: int) -> None:
        nonlocal done_so_far
        progress.advance(done - done_so_far)
        done_so_far = done

    swept = await tcp.sweep(ctx, to_connect, opts.ports, progress=on_done)
    kernel = {} if arp_covered else neighbours.read_neighbours()
    if kernel and method == "none":
        method = "neighbours"
    if opts.macs:
        method = "file" if method == "none" else f"{method}+file"
    touched = set(to_connect)
    macs: dict[str, tuple[str, MacSource]] = {ip: (mac, "file") for ip, mac in opts.macs.items()}
    macs.update({ip: (entry[0], "neighbours") for ip, entry in kernel.items() if ip in touched})
    macs.update({ip: (mac, "arp") for ip, mac in arp_macs.items()})
    runner = HostRunner(ctx, opts.concurrency)
    swept_hosts = _assemble(addresses, swept.open_ports, macs, {})
    progress.stage("probing", len(swept_hosts))
    probing = asyncio.ensure_future(runner.run(swept_hosts, port_jobs(ctx), progress))
    try:
        segment_results: list[SegmentResult] = list(await listening)
    except BaseException:
        probing.cancel()
        raise
    heard: dict[str, list[ProbeResult]] = {}
    for seg in segment_results:
        for ip, observations in seg.replies.items():
            if opts.targets.contains(ip):
                heard.setdefault(ip, []).append(
                    ProbeResult(seg.probe, ip, None, Status.OK, tuple(observations))
                )
    hosts = _assemble(addresses, swept.open_ports, macs, heard)
    await asyncio.gather(probing, runner.run(hosts, onvif_jobs(ctx, onvif, heard), Progress()))
    segs = [f"{s.iface} {s.network}" for s in segments]
    return Discovery(hosts, method, heard, segment_results, segs), runner.results


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


async def run_scan(
    opts: ScanOptions,
    know: Knowledge,
    progress: Progress | None = None,
    client: httpx.AsyncClient | None = None,
) -> Report:
    """Scan the targets and return the report; the overall deadline cuts probing short, never the report."""
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
    deadline_hit = False
    results: dict[str, list[ProbeResult]] = {}
    found = Discovery([], "none", {}, [], [])
    try:
        try:
            async with asyncio.timeout(opts.timeouts.scan):
                found, results = await scan_hosts(opts, ctx, progress, onvif)
        except TimeoutError:
            deadline_hit = True
    finally:
        if own_client:
            await http.aclose()
    devices: list[Device] = []
    unmatched: list[Unmatched] = []
    for host in found.hosts:
        device, loose = judge(host, found.heard.get(host.ip, []) + results.get(host.ip, []), know)
        devices.append(device)
        unmatched.extend(loose)
    statuses = Counter(r.status.value for rs in results.values() for r in rs)
    coverage = Coverage(
        addresses=opts.targets.count,
        alive=len(devices),
        probed=sum(1 for h in found.hosts if results.get(h.ip)),
        cameras=sum(1 for d in devices if d.verdict.is_camera),
        unidentified_cameras=sum(1 for d in devices if d.verdict.is_camera and not d.verdict.manufacturer),
        errors=statuses.get(Status.ERROR.value, 0)
        + sum(1 for s in found.segment_results if s.status is Status.ERROR),
    )
    probe_seconds: dict[str, float] = {}
    for rs in results.values():
        for r in rs:
            probe_seconds[r.probe] = probe_seconds.get(r.probe, 0.0) + r.elapsed
    discovery = {"tcp"} | ({"arp"} if found.mac_method.startswith("arp") else set())
    ran = {r.probe for rs in results.values() for r in rs} | {s.probe for s in found.segment_results}
    scan = ScanInfo(
        id=str(uuid.uuid4()),
        started_at=started,
        finished_at=_now(),
        targets=opts.targets.specs,
        probes=tuple(sorted(ran | discovery)),
        mac_method=found.mac_method,
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
            for s in found.segment_results
        ),
        segments=tuple(found.segments),
        timing={
            "elapsed_seconds": round(time.monotonic() - t0, 3),
            "discovery_seconds": round(max((s.elapsed for s in found.segment_results), default=0.0), 3),
            "probe_seconds": {k: round(v, 3) for k, v in sorted(probe_seconds.items())},
            "probe_statuses": dict(sorted(statuses.items())),
        },
    )
    return Report(
        scan=scan,
        coverage=coverage,
        devices=tuple(devices),
        unmatched=tuple(unmatched),
        deadline_hit=deadline_hit,
    )
