"""Asyncio orchestration: discover live hosts, probe them within limits and deadlines, build the report."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address

import httpx

from camscan import __version__, evidence, fuse, oui, watchlist
from camscan.context import DEFAULT_PORTS, ScanContext, Timeouts
from camscan.fingerprints import FingerprintDB
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
    Unmatched,
    Verdict,
)
from camscan.probes import arp, neighbours, probes_for_port, tcp
from camscan.status import Status
from camscan.targets import TargetSet
from camscan.vendors import VendorDB
from camscan.watchlist import Watchlist


class ScanError(RuntimeError):
    """The scan itself could not run (exit code 3)."""


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


async def discover(opts: ScanOptions, ctx: ScanContext, progress: Progress) -> tuple[list[Host], str]:
    """Find live hosts: ARP on-link when allowed, TCP connect elsewhere, MACs from ARP, kernel or file."""
    addresses = list(opts.targets.addresses())
    arp_macs: dict[str, str] = {}
    arp_covered: list[tuple[int, int]] = []
    method = "none"
    if opts.arp:
        capable, _why = arp.arp_capable()
        if capable:
            onlink = arp.onlink_networks(list(opts.targets.networks), opts.interface)
            if onlink:
                progress.stage("arp", 1)
                arp_macs = await arp.arp_sweep(onlink, rate=opts.rate)
                progress.advance()
                arp_covered = [(int(n.network_address), int(n.broadcast_address)) for n, _ in onlink]
                method = "arp"

    def needs_tcp(ip: str) -> bool:
        if ip in arp_macs:
            return True
        value = int(IPv4Address(ip))
        return not any(lo <= value <= hi for lo, hi in arp_covered)

    to_connect = [ip for ip in addresses if needs_tcp(ip)]
    touched = set(to_connect)
    progress.stage("discovery", len(to_connect) * len(opts.ports))
    done_so_far = 0

    def on_done(done: int) -> None:
        nonlocal done_so_far
        progress.advance(done - done_so_far)
        done_so_far = done

    swept = await tcp.sweep(ctx, to_connect, opts.ports, progress=on_done)
    kernel = {} if method == "arp" else neighbours.read_neighbours()
    if kernel and method == "none":
        method = "neighbours"
    if opts.macs:
        method = "file" if method == "none" else f"{method}+file"
    hosts = []
    for ip in addresses:
        ports = swept.open_ports.get(ip, ())
        mac: str | None = None
        source: MacSource | None = None
        if ip in arp_macs:
            mac, source = arp_macs[ip], "arp"
        elif ip in kernel and ip in touched:
            mac, source = kernel[ip][0], "neighbours"
        elif ip in opts.macs:
            mac, source = opts.macs[ip], "file"
        live = bool(ports) or source in ("arp", "neighbours")
        if live:
            hosts.append(Host(ip=ip, mac=mac, mac_source=source, open_ports=tuple(sorted(ports))))
    return hosts, method


async def probe_host(ctx: ScanContext, host: Host) -> list[ProbeResult]:
    """Run every applicable probe on one host within the per-host deadline; late probes end as TIMEOUT."""
    jobs = [(probe, port) for port in host.open_ports for probe in probes_for_port(port)]
    if not jobs:
        return []
    tasks = [asyncio.create_task(probe.run(ctx, host, port)) for probe, port in jobs]
    done, pending = await asyncio.wait(tasks, timeout=ctx.timeouts.host)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    results = []
    for (probe, port), task in zip(jobs, tasks, strict=True):
        if task in done and not task.cancelled() and task.exception() is None:
            results.append(task.result())
        elif task in done and not task.cancelled():
            results.append(
                ProbeResult(probe.name, host.ip, port, Status.ERROR, error=repr(task.exception())[:200])
            )
        else:
            results.append(
                ProbeResult(probe.name, host.ip, port, Status.TIMEOUT, error="host deadline passed")
            )
    return results


async def probe_all(
    ctx: ScanContext, hosts: Sequence[Host], workers: int, progress: Progress
) -> dict[str, list[ProbeResult]]:
    """Probe hosts through a bounded pool so a /16 never holds every host's tasks at once."""
    results: dict[str, list[ProbeResult]] = {}
    queue: asyncio.Queue[Host] = asyncio.Queue()
    for host in hosts:
        queue.put_nowait(host)

    async def worker() -> None:
        while True:
            try:
                host = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            results[host.ip] = await probe_host(ctx, host)
            progress.advance()

    progress.stage("probing", len(hosts))
    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(hosts))))))
    return results


def judge(host: Host, results: Sequence[ProbeResult], know: Knowledge) -> tuple[Device, list[Unmatched]]:
    """Evidence, fusion and watchlists for one host."""
    evs: list[Evidence]
    evs, unmatched = evidence.from_results(host.ip, results, know.fingerprints)
    evs.extend(evidence.from_open_ports(host.open_ports, know.fingerprints))
    mac_vendor = None
    if host.mac:
        info = oui.lookup(host.mac)
        mac_vendor = info.registrant
        mac_ev = evidence.from_mac(info, host.mac_source or "arp", know.vendors)
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
        mac=host.mac,
        mac_vendor=mac_vendor,
        mac_source=host.mac_source,
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
    on_deadline: Callable[[], None] | None = None,
) -> Report:
    """Scan the targets and return the report; the overall deadline cuts probing short, never the report."""
    progress = progress or Progress()
    started = _now()
    t0 = time.monotonic()
    limits = Limits(concurrency=opts.concurrency, per_host=opts.per_host, rate=opts.rate)
    own_client = client is None
    http = client or http_client(opts)
    ctx = ScanContext(http=http, limits=limits, timeouts=opts.timeouts, port_map=dict(opts.port_map))
    deadline_hit = False
    results: dict[str, list[ProbeResult]] = {}
    hosts: list[Host] = []
    method = "none"
    try:
        try:
            async with asyncio.timeout(opts.timeouts.scan):
                hosts, method = await discover(opts, ctx, progress)
                results = await probe_all(ctx, hosts, opts.concurrency, progress)
        except TimeoutError:
            deadline_hit = True
            if on_deadline:
                on_deadline()
    finally:
        if own_client:
            await http.aclose()
    devices: list[Device] = []
    unmatched: list[Unmatched] = []
    for host in hosts:
        device, loose = judge(host, results.get(host.ip, []), know)
        devices.append(device)
        unmatched.extend(loose)
    statuses = Counter(r.status.value for rs in results.values() for r in rs)
    coverage = Coverage(
        addresses=opts.targets.count,
        alive=len(devices),
        probed=sum(1 for h in hosts if results.get(h.ip)),
        cameras=sum(1 for d in devices if d.verdict.is_camera),
        unidentified_cameras=sum(1 for d in devices if d.verdict.is_camera and not d.verdict.manufacturer),
        errors=statuses.get(Status.ERROR.value, 0),
    )
    discovery = {"tcp"} | ({"arp"} if method.startswith("arp") else set())
    probes_run = sorted({r.probe for rs in results.values() for r in rs} | discovery)
    scan = ScanInfo(
        id=str(uuid.uuid4()),
        started_at=started,
        finished_at=_now(),
        targets=opts.targets.specs,
        probes=tuple(probes_run),
        mac_method=method,
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
            "elapsed_seconds": round(time.monotonic() - t0, 3),
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
