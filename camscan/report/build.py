"""Building the report from what a scan learned, finished or not: devices, coverage and the scan's record."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address

from camscan.hostnames import NAME_FIELDS, merged
from camscan.hostwork import HostWork
from camscan.identify import Knowledge, judge
from camscan.models import (
    Coverage,
    Device,
    Host,
    LivenessSummary,
    MacSource,
    ProbeResult,
    Report,
    ScanInfo,
    SegmentResult,
    Unfinished,
    Unmatched,
)
from camscan.options import ScanOptions
from camscan.pipeline import ScanState
from camscan.status import Status
from camscan.targets import subtract

MAX_RANGES = 256  # ranges (and pending hosts) listed in the report; the counts are always whole


def now() -> str:
    """The current UTC time as the report writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Ending:
    """How and when a scan ended."""

    started_at: str
    elapsed: float
    deadline_hit: bool = False
    interrupted: str | None = None  # "SIGINT", "SIGTERM"

    @property
    def complete(self) -> bool:
        return not self.deadline_hit and self.interrupted is None


def ranges(intervals: Iterable[tuple[int, int]]) -> list[str]:
    """Inclusive integer intervals as 'first-last' IPv4 ranges (a lone address stays one address)."""
    out = []
    for lo, hi in intervals:
        out.append(str(IPv4Address(lo)) if lo == hi else f"{IPv4Address(lo)}-{IPv4Address(hi)}")
    return out


def _mac(
    hw: HostWork, opts: ScanOptions, state: ScanState
) -> tuple[str | None, MacSource | None, str | None]:
    """The host's MAC and where it came from: ARP, the kernel's table, a router over SNMP, the user's file."""
    if hw.mac:
        return hw.mac, hw.mac_source, None
    kernel = (state.kernel_macs or {}).get(hw.ip)
    if kernel:
        return kernel[0], "neighbours", None
    snmp = state.snmp.macs.get(hw.ip) if state.snmp else None
    if snmp:
        return snmp.mac, "snmp", snmp.router
    if hw.ip in opts.macs:
        return opts.macs[hw.ip], "file", None
    return None, None, None


NAME_SOURCES = {"mdns.host": "mdns", **{field: source for source, field in NAME_FIELDS.items()}}


def host_names(opts: ScanOptions, ip: str, results: Sequence[ProbeResult]) -> list[tuple[str, str]]:
    """The names a host goes by, best source first: the name you typed, reverse DNS, mDNS, NetBIOS, LLMNR."""
    found: dict[str, list[str]] = {"target": list(opts.targets.names_of(ip))}
    for result in results:
        for obs in result.observations:
            source = NAME_SOURCES.get(obs.field)
            if source is not None:
                found.setdefault(source, []).append(obs.value)
    return merged(found)


def mac_method(devices: Sequence[Device], state: ScanState, opts: ScanOptions) -> str:
    """Which ways of learning MACs this scan used, e.g. "arp", "neighbours+file", "snmp"; "none" if no way."""
    used = []
    if state.arp_covered:
        used.append("arp")
    if state.kernel_macs and any(d.mac_source == "neighbours" for d in devices):
        used.append("neighbours")
    if state.snmp is not None:
        used.append("snmp")
    if opts.macs:
        used.append("file")
    return "+".join(used) or "none"


def unfinished_work(state: ScanState, pending: Sequence[str]) -> Unfinished:
    """What a scan that did not finish left undone: addresses never settled, hosts not fully probed."""
    holes = [(v, v) for v in (int(IPv4Address(ip)) for ip in state.hosts)]
    unsettled = subtract(state.unsettled(), holes)  # a host that answered is settled, whatever else
    listed = ranges(unsettled[:MAX_RANGES])
    return Unfinished(
        addresses=sum(hi - lo + 1 for lo, hi in unsettled),
        address_ranges=tuple(listed),
        hosts=len(pending),
        host_ips=tuple(pending[:MAX_RANGES]),
        truncated=len(unsettled) > MAX_RANGES or len(pending) > MAX_RANGES,
    )


def build_report(opts: ScanOptions, know: Knowledge, state: ScanState, ending: Ending) -> Report:
    """The report from whatever the scan learned, finished or not."""
    discovery = state.discovery_results()
    heard = state.heard()
    devices: list[Device] = []
    unmatched: list[Unmatched] = []
    for ip in sorted(state.hosts, key=lambda a: int(IPv4Address(a))):
        hw = state.hosts[ip]
        mac, source, router = _mac(hw, opts, state)
        results = heard.get(ip, []) + hw.results
        names = host_names(opts, ip, results)
        host = Host(
            ip,
            mac,
            source,
            hw.open_ports,
            hostname=names[0][0] if names else None,
            mac_router=router,
            found_by=tuple(sorted(hw.found_by)),
            hostnames=tuple(names),
        )
        device, loose = judge(host, results, know)
        devices.append(device)
        unmatched.extend(loose)
    results = [r for hw in state.hosts.values() for r in hw.results]
    statuses = Counter(r.status.value for r in results)
    pending = [d.ip for d in devices if state.hosts[d.ip].pending] if not ending.complete else []
    coverage = Coverage(
        addresses=opts.targets.count,
        alive=len(devices),
        probed=sum(1 for hw in state.hosts.values() if hw.results),
        cameras=sum(1 for d in devices if d.verdict.is_camera),
        unidentified_cameras=sum(1 for d in devices if d.verdict.is_camera and not d.verdict.manufacturer),
        errors=statuses.get(Status.ERROR.value, 0) + sum(1 for s in discovery if s.status is Status.ERROR),
        complete=ending.complete,
        unfinished=Unfinished() if ending.complete else unfinished_work(state, pending),
    )
    return Report(
        scan=scan_info(opts, know, state, devices, discovery, results, ending, statuses),
        coverage=coverage,
        devices=tuple(devices),
        unmatched=tuple(unmatched),
        deadline_hit=ending.deadline_hit,
        interrupted=ending.interrupted,
    )


def _liveness(state: ScanState, opts: ScanOptions, devices: Sequence[Device]) -> LivenessSummary:
    live = state.liveness
    found_by = Counter(how for d in devices for how in d.found_by)
    if live is None:
        return LivenessSummary(ping_ports=opts.ping_ports, found_by=dict(sorted(found_by.items())))
    echo = live.echo.stats if live.echo is not None else None
    return LivenessSummary(
        addresses=live.stats.addresses,
        settled=live.stats.settled,
        icmp=live.stats.icmp,
        ping_ports=opts.ping_ports,
        pings=live.stats.pings,
        ping_answers=live.stats.ping_answers,
        echo_sent=echo.sent if echo else 0,
        echo_replies=echo.received if echo else 0,
        unreachable=live.stats.unreachable,
        found_by=dict(sorted(found_by.items())),
    )


def _discovery_entries(discovery: Sequence[SegmentResult], state: ScanState) -> list[Mapping[str, object]]:
    out: list[Mapping[str, object]] = [
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
        for s in discovery
    ]
    for router in state.snmp.routers if state.snmp else ():
        out.append(
            {
                "probe": "snmp",
                "router": router.router,
                "status": router.status.value,
                "hosts": len(router.macs),
                "sent": router.sent,
                "received": router.received,
                "rejected": router.rejected,
                "elapsed": round(router.elapsed, 3),
                "error": router.error,
            }
        )
    return out


def scan_info(
    opts: ScanOptions,
    know: Knowledge,
    state: ScanState,
    devices: Sequence[Device],
    discovery: Sequence[SegmentResult],
    results: Sequence[ProbeResult],
    ending: Ending,
    statuses: Mapping[str, int],
) -> ScanInfo:
    """When, what and how the scan ran."""
    probe_seconds: dict[str, float] = {}
    for r in results:
        probe_seconds[r.probe] = probe_seconds.get(r.probe, 0.0) + r.elapsed
    live = state.liveness
    methods = {"arp"} if state.arp_covered else set()
    if live is not None and live.stats.pings:
        methods.add("tcp")
    if live is not None and live.echo is not None:
        methods.add("icmp")
    if state.snmp is not None:
        methods.add("snmp")
    ran = {r.probe for r in results} | {s.probe for s in discovery}
    return ScanInfo(
        id=str(uuid.uuid4()),
        started_at=ending.started_at,
        finished_at=now(),
        targets=opts.targets.specs,
        probes=tuple(sorted(ran | methods)),
        mac_method=mac_method(devices, state, opts),
        watchlists=tuple(w.id for w in know.watchlists),
        options=options_record(opts),
        discovery=tuple(_discovery_entries(discovery, state)),
        segments=tuple(state.segments),
        timing={
            "elapsed_seconds": round(ending.elapsed, 3),
            "discovery_seconds": round(max((s.elapsed for s in discovery), default=0.0), 3),
            "probe_seconds": {k: round(v, 3) for k, v in sorted(probe_seconds.items())},
            "probe_statuses": dict(sorted(statuses.items())),
        },
        liveness=_liveness(state, opts, devices),
    )


def options_record(opts: ScanOptions) -> dict[str, object]:
    """The options the scan ran with, as the report records them (credentials never; only their networks)."""
    t = opts.timeouts
    return {
        "profile": opts.profile,
        "ports": list(opts.ports),
        "ping_ports": list(opts.ping_ports),
        "exclude": list(opts.targets.excluded),
        "rate": opts.rate,
        "concurrency": opts.concurrency,
        "per_host": opts.per_host,
        "timeouts": {"connect": t.connect, "probe": t.probe, "host": t.host, "scan": t.scan, "ping": t.ping},
        "port_map": {str(k): v for k, v in opts.port_map.items()},
        "interface": opts.interface,
        "arp": opts.arp,
        "icmp": opts.icmp,
        "multicast": opts.multicast,
        "unicast_discovery": opts.unicast_discovery,
        "discovery_probes": list(opts.discovery),
        "discovery_wait": opts.discovery_wait,
        "onvif": opts.onvif,
        "reverse_dns": opts.reverse_dns,
        "netbios": opts.netbios,
        "onvif_credentials_for": [str(net) for net, _ in opts.onvif_credentials],
    }
