"""The namespace lab (root): a bridge netns, a scanner netns and one netns holding a macvlan per device.

    <prefix>-lan      bridge br0, the "switch"
    <prefix>-scanner  scan0 = <subnet>.1 (veth to br0), route 224.0.0.0/4 dev scan0
    <prefix>-cams     cams0 (veth to br0) and one macvlan (bridge mode) per device with the device's MAC and
                      IP; arp_ignore=1 / arp_announce=2 so each answers ARP only for its own IP, and per-IP
                      policy routing so replies leave through the device's own macvlan (own source MAC).

`up()` converges to the wanted state (safe to re-run), starts the lab server inside <prefix>-cams and writes
the manifest; `down()` stops the processes in the namespaces by PID and deletes them (safe to re-run).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camlab.manifest import build_manifest, default_state_dir, read_manifest, write_manifest
from camlab.plan import (
    FIRST_HOST,
    LabDevice,
    LabError,
    LabInputError,
    device_ifname,
    load_plan,
    parse_subnet,
)

DEFAULT_PREFIX = "cs"
DEFAULT_SUBNET = "10.77.0.0/24"
RULE_PREF = 1000  # all our policy rules share this preference, below the main table's 32766
TABLE_BASE = 1000  # device at host offset k routes via table 1000+k
READY_TIMEOUT = 60.0
STOP_GRACE = 3.0
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
# fixed locally administered MACs for the lab's own interfaces
BR_MAC, P_SCAN_MAC, P_CAMS_MAC = "02:77:00:00:01:00", "02:77:00:00:01:01", "02:77:00:00:01:fe"
SCAN_MAC, CAMS_MAC = "02:77:00:00:00:01", "02:77:00:00:00:fe"


@dataclass(frozen=True, slots=True)
class Names:
    """Namespace names derived from a lab prefix."""

    prefix: str

    @property
    def lan(self) -> str:
        return f"{self.prefix}-lan"

    @property
    def scanner(self) -> str:
        return f"{self.prefix}-scanner"

    @property
    def cams(self) -> str:
        return f"{self.prefix}-cams"

    @property
    def all(self) -> tuple[str, str, str]:
        return (self.cams, self.scanner, self.lan)


def names(prefix: str) -> Names:
    """Validated namespace names for a prefix (lowercase letter then up to 11 letters/digits)."""
    if not _PREFIX_RE.match(prefix):
        raise LabInputError(f"bad lab prefix {prefix!r}: use a lowercase letter then up to 11 letters/digits")
    return Names(prefix)


def require_root() -> None:
    """The namespace lab needs root and iproute2."""
    if os.geteuid() != 0:
        raise LabInputError("the namespace lab needs root (sudo camlab up); "
                            "without root use: camlab serve --loopback")
    if shutil.which("ip") is None:
        raise LabInputError("the namespace lab needs iproute2 ('ip' not found in PATH)")


def _run(args: Sequence[str], *, stdin: str | None = None, check: bool = True) -> str:
    try:
        proc = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"{' '.join(args[:4])}: {exc}") from None
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"{' '.join(args[:6])} failed: {msg[-1] if msg else f'exit {proc.returncode}'}")
    return proc.stdout


def _ip_json(ns: str, *args: str) -> list[dict[str, Any]]:
    out = _run(["ip", "-n", ns, "-j", *args])
    data = json.loads(out or "[]")
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _batch(ns: str, lines: Sequence[str]) -> None:
    if lines:
        _run(["ip", "-n", ns, "-batch", "-"], stdin="\n".join(lines) + "\n")


def ns_exists(ns: str) -> bool:
    """A named namespace exists and is usable."""
    if not Path("/run/netns", ns).exists():
        return False
    return subprocess.run(["ip", "-n", ns, "link", "show", "lo"], capture_output=True).returncode == 0


def _ensure_ns(ns: str) -> None:
    if ns_exists(ns):
        return
    if Path("/run/netns", ns).exists():  # a stale name without a live namespace behind it
        _run(["ip", "netns", "del", ns], check=False)
    _run(["ip", "netns", "add", ns])


def _sysctls(ns: str, settings: dict[str, int]) -> None:
    script = "; ".join(f"echo {v} > /proc/sys/{k.replace('.', '/')}" for k, v in settings.items())
    _run(["ip", "netns", "exec", ns, "sh", "-c", script])


def _links(ns: str, *args: str) -> dict[str, str]:
    links = _ip_json(ns, "link", "show", *args)
    return {d["ifname"]: str(d.get("address", "")) for d in links if "ifname" in d}


def _build_fabric(n: Names, net: ipaddress.IPv4Network) -> None:
    for ns in (n.lan, n.scanner, n.cams):
        _ensure_ns(ns)
    _sysctls(n.cams, {
        "net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2,
        "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0,
        "net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1,
    })
    _sysctls(n.lan, {"net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1})
    lan = _links(n.lan)
    lines = [] if "br0" in lan else ["link add br0 type bridge"]
    lines += ["link set lo up", f"link set br0 address {BR_MAC} up"]
    if "p-scan" not in lan:
        lines.append(f"link add p-scan type veth peer name scan0 netns {n.scanner}")
    lines.append(f"link set p-scan address {P_SCAN_MAC} master br0 up")
    if "p-cams" not in lan:
        lines.append(f"link add p-cams type veth peer name cams0 netns {n.cams}")
    lines.append(f"link set p-cams address {P_CAMS_MAC} master br0 up")
    _batch(n.lan, lines)
    scan_ip = net.network_address + 1
    _batch(n.scanner, [
        "link set lo up", f"addr replace {scan_ip}/{net.prefixlen} dev scan0",
        f"link set scan0 address {SCAN_MAC} up", "route replace 224.0.0.0/4 dev scan0",
    ])


def _ifname(device: LabDevice, net: ipaddress.IPv4Network) -> tuple[str, int]:
    offset = int(ipaddress.IPv4Address(device.ip)) - int(net.network_address)
    return device_ifname(device.ip, str(net)), offset


def _build_devices(n: Names, net: ipaddress.IPv4Network, devices: Sequence[LabDevice],
                   policy_routing: bool) -> None:
    existing = _links(n.cams, "type", "macvlan")
    rules = {(str(r.get("src")), str(r.get("table"))) for r in _ip_json(n.cams, "rule", "show")
             if r.get("priority") == RULE_PREF}
    lines = ["link set lo up", f"link set cams0 address {CAMS_MAC} up"]
    wanted_links: set[str] = set()
    wanted_rules: set[tuple[str, str]] = set()
    for device in devices:
        ifname, offset = _ifname(device, net)
        table = str(TABLE_BASE + offset)
        wanted_links.add(ifname)
        if ifname not in existing:
            lines.append(f"link add {ifname} link cams0 address {device.mac} type macvlan mode bridge")
        lines.append(f"link set dev {ifname} address {device.mac} up")
        lines.append(f"addr replace {device.ip}/{net.prefixlen} dev {ifname}")
        if policy_routing:
            wanted_rules.add((device.ip, table))
            lines.append(f"route replace {net} dev {ifname} src {device.ip} table {table}")
            if (device.ip, table) not in rules:
                lines.append(f"rule add from {device.ip} lookup {table} pref {RULE_PREF}")
    for ifname in sorted(set(existing) - wanted_links):
        lines.append(f"link del dev {ifname}")
    for src, table in sorted(rules - wanted_rules):
        lines += [f"rule del from {src} lookup {table} pref {RULE_PREF}", f"route flush table {table}"]
    _batch(n.cams, lines)


def netns_pids(ns: str) -> list[int]:
    """PIDs of processes living in a namespace."""
    if not Path("/run/netns", ns).exists():
        return []
    out = _run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_pids(pids: Sequence[int], grace: float = STOP_GRACE) -> None:
    """SIGTERM these PIDs, then SIGKILL whatever is left after `grace` seconds."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = [p for p in pids if _alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if _alive(p)]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in left:
        for _ in range(40):
            if not _alive(pid):
                break
            time.sleep(0.05)


def _start_server(n: Names, state_dir: Path, subnet: str, count: int, personas_dir: Path | None,
                  timeout: float) -> dict[str, Any]:
    ready = state_dir / "ready.json"
    ready.unlink(missing_ok=True)
    cmd = ["ip", "netns", "exec", n.cams, sys.executable, "-m", "camlab.serve", "--subnet", subnet,
           "--count", str(count), "--state-dir", str(state_dir), "--ready-file", str(ready), "--multicast"]
    if personas_dir is not None:
        cmd += ["--personas", str(personas_dir.resolve())]
    with open(state_dir / "server.log", "ab") as logfile:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile,
                                start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            info: dict[str, Any] = json.loads(ready.read_text(encoding="utf-8"))
            if "error" in info:
                proc.wait(5)
                raise LabError(f"lab server: {info['error']}")
            # it outlives us on purpose (`down` stops it by PID); mark it so Popen does not warn
            proc.returncode = 0
            return info
        if proc.poll() is not None:
            tail = (state_dir / "server.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise LabError(f"lab server exited ({proc.returncode}): {tail[0] if tail else 'no output'}")
        time.sleep(0.05)
    stop_pids([proc.pid])
    raise LabError(f"lab server not ready after {timeout:.0f}s (see {state_dir / 'server.log'})")


def up(prefix: str = DEFAULT_PREFIX, subnet: str = DEFAULT_SUBNET, count: int | None = None,
       personas_dir: Path | None = None, state_dir: Path | None = None, *, policy_routing: bool = True,
       timeout: float = READY_TIMEOUT) -> dict[str, Any]:
    """Build (or converge) the namespace lab, (re)start its server, write and return the manifest."""
    started = time.monotonic()
    require_root()
    n = names(prefix)
    net = parse_subnet(subnet)
    state_dir = state_dir or default_state_dir(prefix)
    devices = load_plan(personas_dir, count, str(net), loopback=False)
    old = read_manifest(state_dir)
    if old is not None and old.get("subnet") != str(net):
        down(prefix, state_dir)  # addresses of the old subnet would linger otherwise
    state_dir.mkdir(parents=True, exist_ok=True)
    _build_fabric(n, net)
    _build_devices(n, net, devices, policy_routing)
    fabric_seconds = time.monotonic() - started
    stop_pids(netns_pids(n.cams))  # a previous server holds the ports
    info = _start_server(n, state_dir, str(net), len(devices), personas_dir, timeout)
    extra = {
        "prefix": prefix,
        "namespaces": {"lan": n.lan, "scanner": n.scanner, "cams": n.cams},
        "scanner_ip": str(net.network_address + 1),
        "first_host": FIRST_HOST,
        "policy_routing": policy_routing,
        "server_pid": info.get("pid"),
        "server": info,
        "fabric_seconds": round(fabric_seconds, 3),
        "up_seconds": round(time.monotonic() - started, 3),
    }
    manifest = build_manifest("netns", devices, str(net), state_dir, scanner_netns=n.scanner,
                              interface="scan0", extra=extra)
    write_manifest(state_dir, manifest)
    return manifest


def down(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> int:
    """Stop the processes in the lab's namespaces, delete them and the state dir; returns how many netns."""
    require_root()
    n = names(prefix)
    pids = sorted({p for ns in n.all for p in netns_pids(ns)})
    stop_pids(pids)
    removed = 0
    for ns in n.all:
        if Path("/run/netns", ns).exists():
            _run(["ip", "netns", "del", ns])
            removed += 1
    shutil.rmtree(state_dir or default_state_dir(prefix), ignore_errors=True)
    return removed


def status(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> dict[str, Any]:
    """What exists of a namespace lab: namespaces, server processes, device count, scan command."""
    n = names(prefix)
    manifest = read_manifest(state_dir or default_state_dir(prefix))
    present = [ns for ns in n.all if ns_exists(ns)]
    return {
        "prefix": prefix,
        "namespaces": present,
        "server_pids": netns_pids(n.cams) if n.cams in present else [],
        "devices": len(manifest["devices"]) if manifest else 0,
        "scan_command": manifest.get("scan_command") if manifest else None,
    }
