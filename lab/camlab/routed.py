"""The routed namespace lab (root): the scanner reaches several /24s of a wider network only via a router.

    <prefix>-scanner  scan0 = transit .2 of a /30; route <supernet> via the router (and nothing else)
    <prefix>-router   rt0 = transit .1; seg<k> = <segment k>.1/24, one veth per segment; ip_forward on;
                      `blackhole <supernet>`: every address outside the segments is dropped without an ICMP
                      error; a permanent ARP entry per device; snmpd (camlab.snmp) read-only
    <prefix>-cams     up<k>, the other end of seg<k>, and one macvlan per device on its segment's up<k>;
                      each device's policy table routes replies via its own segment's router address

Each segment is its own layer-2 network (the router's interface and the devices' macvlans): ARP and multicast
from the scanner stop at the router, as on a site whose cameras sit on routed VLANs. `up()` always builds
afresh (a lab of this prefix is removed first), starts the lab server and snmpd, and writes the manifest.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camlab import firewall, snmp
from camlab.manifest import build_manifest, default_state_dir, write_manifest
from camlab.nsops import (
    CAMS_SYSCTLS,
    NETNS_DIR,
    NO_IPV6,
    READY_TIMEOUT,
    TABLE_BASE,
    Attachment,
    Names,
    batch,
    build_devices,
    ensure_ns,
    names,
    remove,
    require_root,
    start_server,
    sysctls,
)
from camlab.plan import LabDevice, LabInputError, device_ifname, load_routed_personas, plan_segments

Net = ipaddress.IPv4Network
DEFAULT_SUPERNET = "10.88.0.0/16"
DEFAULT_SEGMENTS = 4
DEFAULT_TRANSIT = "10.87.255.252/30"  # outside the default supernet: a scan of it finds no on-link host
SCAN_MAC, RT0_MAC = "02:88:00:00:00:02", "02:88:00:00:00:01"
ROUTER_SYSCTLS = {
    "net.ipv4.ip_forward": 1,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.default.rp_filter": 0,
    "net.ipv4.conf.all.arp_ignore": 1,  # answer ARP only for the address of the interface it came in on
    "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.default.send_redirects": 0,
    **NO_IPV6,
}


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything of a routed lab lives."""

    supernet: Net
    segments: tuple[Net, ...]
    transit: Net

    @property
    def router_ip(self) -> str:
        return str(self.transit.network_address + 1)

    @property
    def scanner_ip(self) -> str:
        return str(self.transit.network_address + 2)

    @staticmethod
    def gateway(segment: Net) -> str:
        return str(segment.network_address + 1)


def _net(text: str, what: str) -> Net:
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        raise LabInputError(f"bad {what} {text!r}: expected an IPv4 network like 10.88.0.0/16") from None


def pick_segments(supernet: Net, count: int) -> tuple[Net, ...]:
    """`count` /24s spread evenly over the supernet (the middle of each of `count` equal slices)."""
    slots = 2 ** (24 - supernet.prefixlen)
    if not 1 <= count <= slots:
        raise LabInputError(f"segments must be 1..{slots} for {supernet}")
    base = int(supernet.network_address)
    return tuple(Net((base + (((2 * k + 1) * slots // (2 * count)) << 8), 24)) for k in range(count))


def layout(
    supernet: str = DEFAULT_SUPERNET,
    segments: int = DEFAULT_SEGMENTS,
    explicit: Sequence[str] = (),
    transit: str = DEFAULT_TRANSIT,
) -> Layout:
    """Check and lay out a routed lab: /8../23 supernet, /24 segments inside it, a /30 transit beside them."""
    net = _net(supernet, "supernet")
    if not 8 <= net.prefixlen <= 23:
        raise LabInputError(f"supernet {net} must be /8 to /23")
    segs = tuple(_net(s, "segment") for s in explicit) if explicit else pick_segments(net, segments)
    for seg in segs:
        if seg.prefixlen != 24 or not seg.subnet_of(net):
            raise LabInputError(f"segment {seg} must be a /24 inside {net}")
    if len(set(segs)) != len(segs):
        raise LabInputError("the same segment is given twice")
    link = _net(transit, "transit")
    if link.prefixlen != 30 or any(link.overlaps(seg) for seg in segs):
        raise LabInputError(f"transit {link} must be a /30 outside the segments")
    return Layout(net, tuple(sorted(segs)), link)


def attachments(lay: Layout, devices: Sequence[LabDevice]) -> list[Attachment]:
    """Each device on its segment's uplink, named and routed by its offset in the supernet (mv19717...)."""
    index = {str(seg): k for k, seg in enumerate(lay.segments)}
    out = []
    for device in devices:
        seg = Net(device.network or "")
        offset = int(ipaddress.IPv4Address(device.ip)) - int(lay.supernet.network_address)
        out.append(
            Attachment(
                device,
                device_ifname(device.ip, str(lay.supernet)),
                f"up{index[str(seg)]}",
                TABLE_BASE + offset,
                24,
                gateway=lay.gateway(seg),
            )
        )
    return out


def _segment_mac(role: int, k: int) -> str:
    return f"02:88:{role:02x}:{k >> 8:02x}:{k & 0xFF:02x}:01"


def _build(n: Names, lay: Layout, devices: Sequence[LabDevice]) -> None:
    for ns in n.routed:
        ensure_ns(ns)
    sysctls(n.cams, CAMS_SYSCTLS)
    sysctls(n.router, ROUTER_SYSCTLS)
    sysctls(n.scanner, NO_IPV6)
    router = [
        "link set lo up",
        f"link add rt0 type veth peer name scan0 netns {n.scanner}",
        f"link set rt0 address {RT0_MAC} up",
        f"addr replace {lay.router_ip}/30 dev rt0",
    ]
    uplinks = []
    for k, seg in enumerate(lay.segments):
        router += [
            f"link add seg{k} type veth peer name up{k} netns {n.cams}",
            f"link set seg{k} address {_segment_mac(1, k)} up",
            f"addr replace {lay.gateway(seg)}/24 dev seg{k}",
        ]
        uplinks.append(f"link set up{k} address {_segment_mac(2, k)} up")
    router.append(f"route replace blackhole {lay.supernet}")
    index = {str(seg): k for k, seg in enumerate(lay.segments)}
    router += [
        f"neigh replace {d.ip} lladdr {d.mac} dev seg{index[d.network or '']} nud permanent" for d in devices
    ]
    batch(n.router, router)
    batch(
        n.scanner,
        [
            "link set lo up",
            f"link set scan0 address {SCAN_MAC} up",
            f"addr replace {lay.scanner_ip}/30 dev scan0",
            f"route replace {lay.supernet} via {lay.router_ip} dev scan0",
            "route replace 224.0.0.0/4 dev scan0",
        ],
    )  # multicast leaves, and stops at the router
    build_devices(n.cams, attachments(lay, devices), uplinks)


def _segments_entry(lay: Layout, devices: Sequence[LabDevice]) -> list[dict[str, Any]]:
    return [
        {
            "subnet": str(seg),
            "router_ip": lay.gateway(seg),
            "router_interface": f"seg{k}",
            "devices": sum(1 for d in devices if d.network == str(seg)),
        }
        for k, seg in enumerate(lay.segments)
    ]


def _serve_args(lay: Layout, devices: Sequence[LabDevice], personas_dir: Path | None) -> list[str]:
    """The server's arguments: this layout, discovery sockets on each macvlan, no mDNS (it cannot cross)."""
    args = ["--segments", ",".join(map(str, lay.segments)), "--count", str(len(devices))]
    args += ["--multicast", "--no-mdns", "--ifname-base", str(lay.supernet)]
    return args + (["--personas", str(personas_dir.resolve())] if personas_dir is not None else [])


def _router_entry(n: Names, lay: Layout, devices: Sequence[LabDevice]) -> dict[str, Any]:
    return {
        "netns": n.router,
        "transit": str(lay.transit),
        "transit_ip": lay.router_ip,
        "addresses": [lay.router_ip, *(lay.gateway(s) for s in lay.segments)],
        "blackhole": str(lay.supernet),
        "arp_entries": len(devices),
        "arp_entry_type": "permanent",
    }


def _describe(n: Names, lay: Layout, devices: Sequence[LabDevice], agent: dict[str, Any]) -> dict[str, Any]:
    """The routed lab's own manifest fields."""
    return {
        "prefix": n.prefix,
        "namespaces": {"scanner": n.scanner, "router": n.router, "cams": n.cams},
        "scanner_ip": lay.scanner_ip,
        "supernet": str(lay.supernet),
        "blackhole": str(lay.supernet),
        "segments": _segments_entry(lay, devices),
        "router": _router_entry(n, lay, devices),
        "snmp": agent,
        # with the router's SNMP agent in --config: where camscan reads the MACs it cannot ARP for
        "scan_command": f"ip netns exec {n.scanner} camscan scan {lay.supernet} "
        f"--config {agent['camscan_config']['v2c']}",
    }


def up(
    prefix: str,
    lay: Layout,
    count: int | None = None,
    personas_dir: Path | None = None,
    state_dir: Path | None = None,
    *,
    timeout: float = READY_TIMEOUT,
) -> dict[str, Any]:
    """Build the routed lab afresh, start its server and the router's snmpd; write and return the manifest."""
    started = time.monotonic()
    require_root()
    n = names(prefix)
    state_dir = state_dir or default_state_dir(prefix)
    personas = load_routed_personas(personas_dir)
    devices = plan_segments(personas, count or len(personas), lay.segments)
    if any((NETNS_DIR / ns).exists() for ns in n.every):
        remove(n, state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        _build(n, lay, devices)
        firewalled = firewall.apply(n.cams, devices)
        fabric_seconds = time.monotonic() - started
        agent = snmp.start(
            n.router, state_dir, address=lay.router_ip, allowed=str(lay.transit), sys_name=n.router,
            network=str(lay.supernet),
        )  # fmt: skip
        info = start_server(n.cams, state_dir, _serve_args(lay, devices, personas_dir), timeout)
    except BaseException:
        remove(n, state_dir)  # a half-built routed lab is of no use; never leave one behind
        raise
    extra = {
        **_describe(n, lay, devices, agent),
        "firewalled": firewalled,
        "server_pid": info.get("pid"),
        "server": info,
        "fabric_seconds": round(fabric_seconds, 3),
        "up_seconds": round(time.monotonic() - started, 3),
    }
    manifest = build_manifest(
        "routed",
        devices,
        str(lay.supernet),
        state_dir,
        scanner_netns=n.scanner,
        interface="scan0",
        extra=extra,
    )
    write_manifest(state_dir, manifest)
    return manifest
