"""The flat namespace lab (root): a bridge netns, a scanner netns and one netns holding a macvlan per device.

    <prefix>-lan      bridge br0, the "switch"
    <prefix>-scanner  scan0 = <subnet>.1 (veth to br0), route 224.0.0.0/4 dev scan0
    <prefix>-cams     cams0 (veth to br0) and one macvlan (bridge mode) per device with the device's MAC and
                      IP; arp_ignore=1 / arp_announce=2 so each answers ARP only for its own IP, and per-IP
                      policy routing so replies leave through the device's own macvlan (own source MAC).

`up()` converges to the wanted state (safe to re-run), starts the lab server inside <prefix>-cams and writes
the manifest; `down()` stops the processes in the namespaces by PID and deletes them (safe to re-run).
The routed lab (a router between the scanner and several /24s) is camlab.routed.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camlab import firewall
from camlab.manifest import build_manifest, default_state_dir, read_manifest, write_manifest
from camlab.nsops import (
    CAMS_SYSCTLS,
    NO_IPV6,
    READY_TIMEOUT,
    TABLE_BASE,
    Attachment,
    Names,
    batch,
    build_devices,
    ensure_ns,
    links,
    names,
    netns_pids,
    ns_exists,
    remove,
    require_root,
    start_server,
    stop_pids,
    sysctls,
)
from camlab.plan import FIRST_HOST, LabDevice, device_ifname, load_plan, parse_subnet

__all__ = [
    "DEFAULT_PREFIX",
    "DEFAULT_SUBNET",
    "Names",
    "down",
    "names",
    "netns_pids",
    "ns_exists",
    "status",
    "stop_pids",
    "up",
]

DEFAULT_PREFIX = "cs"
DEFAULT_SUBNET = "10.77.0.0/24"
# fixed locally administered MACs for the lab's own interfaces
BR_MAC, P_SCAN_MAC, P_CAMS_MAC = "02:77:00:00:01:00", "02:77:00:00:01:01", "02:77:00:00:01:fe"
SCAN_MAC, CAMS_MAC = "02:77:00:00:00:01", "02:77:00:00:00:fe"


def _build_fabric(n: Names, net: ipaddress.IPv4Network) -> None:
    for ns in (n.lan, n.scanner, n.cams):
        ensure_ns(ns)
    sysctls(n.cams, CAMS_SYSCTLS)
    sysctls(n.lan, NO_IPV6)
    lan = links(n.lan)
    lines = [] if "br0" in lan else ["link add br0 type bridge"]
    lines += ["link set lo up", f"link set br0 address {BR_MAC} up"]
    if "p-scan" not in lan:
        lines.append(f"link add p-scan type veth peer name scan0 netns {n.scanner}")
    lines.append(f"link set p-scan address {P_SCAN_MAC} master br0 up")
    if "p-cams" not in lan:
        lines.append(f"link add p-cams type veth peer name cams0 netns {n.cams}")
    lines.append(f"link set p-cams address {P_CAMS_MAC} master br0 up")
    batch(n.lan, lines)
    scan_ip = net.network_address + 1
    batch(
        n.scanner,
        [
            "link set lo up",
            f"addr replace {scan_ip}/{net.prefixlen} dev scan0",
            f"link set scan0 address {SCAN_MAC} up",
            "route replace 224.0.0.0/4 dev scan0",
        ],
    )


def attachments(net: ipaddress.IPv4Network, devices: Sequence[LabDevice]) -> list[Attachment]:
    """Every device on cams0, named and routed by its host offset in the subnet (mv2, table 1002...)."""
    out = []
    for device in devices:
        offset = int(ipaddress.IPv4Address(device.ip)) - int(net.network_address)
        out.append(
            Attachment(
                device, device_ifname(device.ip, str(net)), "cams0", TABLE_BASE + offset, net.prefixlen
            )
        )
    return out


def up(
    prefix: str = DEFAULT_PREFIX,
    subnet: str = DEFAULT_SUBNET,
    count: int | None = None,
    personas_dir: Path | None = None,
    state_dir: Path | None = None,
    *,
    policy_routing: bool = True,
    timeout: float = READY_TIMEOUT,
) -> dict[str, Any]:
    """Build (or converge) the namespace lab, (re)start its server, write and return the manifest."""
    started = time.monotonic()
    require_root()
    n = names(prefix)
    net = parse_subnet(subnet)
    state_dir = state_dir or default_state_dir(prefix)
    devices = load_plan(personas_dir, count, str(net), loopback=False)
    old = read_manifest(state_dir)
    if old is not None and (old.get("subnet") != str(net) or old.get("mode") != "netns"):
        down(prefix, state_dir)  # the old subnet's addresses (or a routed lab's router) would linger
    state_dir.mkdir(parents=True, exist_ok=True)
    _build_fabric(n, net)
    build_devices(
        n.cams,
        attachments(net, devices),
        [f"link set cams0 address {CAMS_MAC} up"],
        policy_routing=policy_routing,
    )
    firewalled = firewall.apply(n.cams, devices)
    fabric_seconds = time.monotonic() - started
    stop_pids(netns_pids(n.cams))  # a previous server holds the ports
    serve_args = ["--subnet", str(net), "--count", str(len(devices)), "--multicast"]
    if personas_dir is not None:
        serve_args += ["--personas", str(personas_dir.resolve())]
    info = start_server(n.cams, state_dir, serve_args, timeout)
    extra = {
        "prefix": prefix,
        "namespaces": {"lan": n.lan, "scanner": n.scanner, "cams": n.cams},
        "scanner_ip": str(net.network_address + 1),
        "first_host": FIRST_HOST,
        "policy_routing": policy_routing,
        "firewalled": firewalled,
        "server_pid": info.get("pid"),
        "server": info,
        "fabric_seconds": round(fabric_seconds, 3),
        "up_seconds": round(time.monotonic() - started, 3),
    }
    manifest = build_manifest(
        "netns", devices, str(net), state_dir, scanner_netns=n.scanner, interface="scan0", extra=extra
    )
    write_manifest(state_dir, manifest)
    return manifest


def down(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> int:
    """Stop the processes in the lab's namespaces, delete them and the state dir; returns how many netns.

    Works for either kind of lab (flat or routed) with this prefix.
    """
    require_root()
    return remove(names(prefix), state_dir or default_state_dir(prefix))


def status(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> dict[str, Any]:
    """What exists of a namespace lab: namespaces, server processes, device count, scan command."""
    n = names(prefix)
    manifest = read_manifest(state_dir or default_state_dir(prefix))
    routed = manifest is not None and manifest.get("mode") == "routed"
    present = [ns for ns in (n.routed if routed else n.all) if ns_exists(ns)]
    return {
        "prefix": prefix,
        "namespaces": present,
        "server_pids": netns_pids(n.cams) if n.cams in present else [],
        "devices": len(manifest["devices"]) if manifest else 0,
        "scan_command": manifest.get("scan_command") if manifest else None,
    }
