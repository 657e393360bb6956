"""One host's judgement: its observations matched, fused into a verdict and flagged against the watchlists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from camscan import evidence, fuse, oui, watchlist
from camscan.fingerprints import FingerprintDB
from camscan.models import Device, Evidence, Host, MacSource, ProbeResult, Unmatched, Verdict
from camscan.vendors import VendorDB
from camscan.watchlist import Watchlist

# Probes whose replies carry the device's own MAC; the MAC's source is then named after the probe.
SELF_REPORTING: frozenset[MacSource] = frozenset(
    {"wsdiscovery", "onvif", "sadp", "dhip", "dvrip", "mdns", "ssdp"}
)


@dataclass(slots=True)
class Knowledge:
    """The fixed inputs fusion needs: fingerprints, vendors, watchlists."""

    fingerprints: FingerprintDB
    vendors: VendorDB
    watchlists: Sequence[Watchlist]


def self_reported_mac(results: Iterable[ProbeResult]) -> tuple[str, MacSource] | None:
    """The first MAC a device reported about itself (SADP, DHIP, ONVIF, WS-Discovery...), with its probe."""
    for result in results:
        if result.probe not in SELF_REPORTING:
            continue
        for obs in result.observations:
            if obs.field == "mac.address":
                mac = oui.normalise_mac(obs.value)
                if mac:
                    return mac, result.probe
    return None


def judge(host: Host, results: Sequence[ProbeResult], know: Knowledge) -> tuple[Device, list[Unmatched]]:
    """Evidence, fusion and watchlists for one host."""
    evs: list[Evidence]
    evs, unmatched = evidence.from_results(host.ip, results, know.fingerprints, know.vendors)
    evs.extend(evidence.from_open_ports(host.open_ports, know.fingerprints))
    mac, mac_source = host.mac, host.mac_source
    if mac is None:
        mac, mac_source = self_reported_mac(results) or (None, None)
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
        mac_router=host.mac_router if host.mac_source == "snmp" else None,
        found_by=host.found_by,
        hostnames=host.hostnames,
    )
    return device, unmatched
