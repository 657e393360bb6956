"""The lab manifest (JSON in the state dir), the MAC file for loopback scans, and the scan command."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from camlab.plan import LabDevice, LabError
from camlab.udp import protocols_for

MANIFEST = "manifest.json"
MACS = "macs.txt"
STATE_BASE = Path("/run/camscan-lab")


def default_state_dir(name: str) -> Path:
    """/run/camscan-lab/<name> for root, else a per-user runtime directory."""
    if os.geteuid() == 0:
        return STATE_BASE / name
    # per-user fallback when there is no runtime dir; the lab creates it 0700 and checks its owner
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/camscan-lab-{os.geteuid()}"  # noqa: S108
    return Path(runtime) / "camscan-lab" / name


def address_range(devices: Sequence[LabDevice]) -> str:
    """`127.77.0.2-40` when the devices share the first three octets, else `a-b`."""
    first, last = devices[0].ip, devices[-1].ip
    if first == last:
        return first
    head, _, _ = first.rpartition(".")
    if last.startswith(head + "."):
        return f"{first}-{last.rpartition('.')[2]}"
    return f"{first}-{last}"


def combined_port_map(devices: Sequence[LabDevice]) -> dict[int, int]:
    """Every logical -> real port remap the lab uses."""
    merged: dict[int, int] = {}
    for device in devices:
        merged.update(device.port_map)
    return dict(sorted(merged.items()))


def scan_command(
    mode: str,
    devices: Sequence[LabDevice],
    subnet: str,
    *,
    scanner_netns: str | None = None,
    macs_file: Path | None = None,
) -> str:
    """The exact command a user runs to scan this lab."""
    if mode in ("netns", "routed"):
        net = ipaddress.IPv4Network(subnet, strict=False)
        return f"ip netns exec {scanner_netns} camscan scan {net}"
    cmd = f"camscan scan {address_range(devices)}"
    pmap = combined_port_map(devices)
    if pmap:
        cmd += " --port-map " + ",".join(f"{k}={v}" for k, v in pmap.items())
    if macs_file is not None:
        cmd += f" --macs {macs_file}"
    return cmd


def served_channels(device: LabDevice, multicast: bool) -> list[str]:
    """The discovery channels this lab serves for a device (no mDNS without multicast)."""
    return [c for c in device.persona.channels.names if multicast or c != "mdns"]


def device_entry(device: LabDevice, multicast: bool) -> dict[str, Any]:
    """One device in the manifest: address, identity, open ports, channels and the rendered expectation."""
    expect = device.persona.expect.as_dict()
    for key in ("model", "firmware", "serial"):
        value = expect[key]
        if isinstance(value, str):
            expect[key] = device.render(value)
    entry: dict[str, Any] = {
        "ip": device.ip,
        "mac": device.mac,
        "persona": device.persona.id,
        "serial": device.serial,
        "network": device.network,
        "icmp": device.persona.icmp,
        "closed_ports": device.persona.closed_ports,
        "ports": list(device.persona.ports),
        "kinds": {str(s.port): s.kind for s in device.persona.services},
        "expect": expect,
        "channels": served_channels(device, multicast),
        "udp": {str(p.port): p.channel for p in protocols_for(device)},
    }
    spec = device.persona.channels.onvif
    if spec is not None:
        entry["onvif"] = {
            "port": spec.port,
            "auth": spec.auth,
            "username": spec.username,
            "password": spec.password,
            "clock_skew": spec.clock_skew,
        }
    return entry


def build_manifest(
    mode: str,
    devices: Sequence[LabDevice],
    subnet: str,
    state_dir: Path,
    *,
    extra: Mapping[str, Any] | None = None,
    scanner_netns: str | None = None,
    interface: str = "lo",
    macs_file: Path | None = None,
) -> dict[str, Any]:
    """The manifest dict: mode, where to scan from, and every device with its expected verdict."""
    net = ipaddress.IPv4Network(subnet, strict=False)
    multicast = mode == "netns"
    manifest: dict[str, Any] = {
        "schema": 1,
        "mode": mode,
        "multicast": multicast,  # discovery groups and mDNS answered (namespace lab); loopback: unicast only
        "scanner_netns": scanner_netns,
        "interface": interface,
        "subnet": str(net),
        "state_dir": str(state_dir),
        "port_map": {str(k): v for k, v in combined_port_map(devices).items()},
        "macs_file": str(macs_file) if macs_file else None,
        "scan_command": scan_command(mode, devices, subnet, scanner_netns=scanner_netns, macs_file=macs_file),
        "devices": [device_entry(d, multicast) for d in devices],
    }
    manifest.update(extra or {})
    return manifest


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_manifest(state_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write manifest.json into the state dir (created if needed)."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / MANIFEST
        _write_atomic(path, json.dumps(manifest, indent=2) + "\n")
    except OSError as exc:
        raise LabError(f"cannot write the manifest in {state_dir}: {exc.strerror or exc}") from None
    return path


def write_macs(path: Path, devices: Sequence[LabDevice]) -> Path:
    """The `ip mac` file a loopback scan reads with --macs (loopback has no ARP)."""
    lines = ["# camscan lab: ip mac (read by camscan scan --macs)"]
    lines += [f"{d.ip} {d.mac}" for d in devices]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, "\n".join(lines) + "\n")
    except OSError as exc:
        raise LabError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def read_manifest(state_dir: Path) -> dict[str, Any] | None:
    """The manifest in a state dir, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((state_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
