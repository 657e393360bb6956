"""What both namespace labs (flat, routed) do to the kernel: namespaces, ip batches, macvlans, processes.

Every device is a macvlan (bridge mode) with its own MAC and address inside the one `<prefix>-cams` namespace;
per-address policy routing makes each device's replies leave through its own macvlan, with its own source MAC,
even though the namespace holds every device.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camlab.plan import LabDevice, LabError, LabInputError

RULE_PREF = 1000  # all our policy rules share this preference, below the main table's 32766
TABLE_BASE = 1000  # a device's own routing table: 1000 + its host offset in the lab network
READY_TIMEOUT = 60.0
STOP_GRACE = 3.0
NETNS_DIR = Path("/run/netns")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
# the devices' namespace: answer ARP only for one's own address, from one's own address; no IPv6 chatter
CAMS_SYSCTLS = {
    "net.ipv4.conf.all.arp_ignore": 1,
    "net.ipv4.conf.all.arp_announce": 2,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.default.rp_filter": 0,
    "net.ipv6.conf.all.disable_ipv6": 1,
    "net.ipv6.conf.default.disable_ipv6": 1,
}
NO_IPV6 = {"net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1}


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
    def router(self) -> str:
        return f"{self.prefix}-router"

    @property
    def all(self) -> tuple[str, str, str]:
        """The flat lab's namespaces."""
        return (self.cams, self.scanner, self.lan)

    @property
    def routed(self) -> tuple[str, str, str]:
        """The routed lab's namespaces."""
        return (self.cams, self.router, self.scanner)

    @property
    def every(self) -> tuple[str, ...]:
        """Every namespace either kind of lab may have made."""
        return (self.cams, self.router, self.scanner, self.lan)


@dataclass(frozen=True, slots=True)
class Attachment:
    """Where one device's macvlan hangs: its name, parent link, routing table and (routed) gateway."""

    device: LabDevice
    ifname: str
    parent: str
    table: int
    prefixlen: int
    gateway: str | None = None


def names(prefix: str) -> Names:
    """Validated namespace names for a prefix (lowercase letter then up to 11 letters/digits)."""
    if not _PREFIX_RE.match(prefix):
        raise LabInputError(f"bad lab prefix {prefix!r}: use a lowercase letter then up to 11 letters/digits")
    return Names(prefix)


def require_root() -> None:
    """The namespace lab needs root and iproute2."""
    if os.geteuid() != 0:
        raise LabInputError(
            "the namespace lab needs root (sudo camlab up); without root use: camlab serve --loopback"
        )
    if shutil.which("ip") is None:
        raise LabInputError("the namespace lab needs iproute2 ('ip' not found in PATH)")


def run(args: Sequence[str], *, stdin: str | None = None, check: bool = True) -> str:
    """Run a command; LabError (one line: the command and its last error line) when it fails."""
    try:
        # iproute2/nft/sysctl argv built by the lab (no shell); the tools are found on PATH like any admin's
        proc = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=120)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"{' '.join(args[:4])}: {exc}") from None
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"{' '.join(args[:6])} failed: {msg[-1] if msg else f'exit {proc.returncode}'}")
    return proc.stdout


def ip_json(ns: str, *args: str) -> list[dict[str, Any]]:
    """`ip -j` output inside a namespace, as a list of objects."""
    data = json.loads(run(["ip", "-n", ns, "-j", *args]) or "[]")
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def batch(ns: str, lines: Sequence[str]) -> None:
    """Many `ip` commands in one process (`ip -batch`): hundreds of devices in a fraction of a second."""
    if lines:
        run(["ip", "-n", ns, "-batch", "-"], stdin="\n".join(lines) + "\n")


def ns_exists(ns: str) -> bool:
    """A named namespace exists and is usable."""
    if not (NETNS_DIR / ns).exists():
        return False
    cmd = ["ip", "-n", ns, "link", "show", "lo"]  # iproute2 from PATH, fixed argv (no shell)
    return subprocess.run(cmd, capture_output=True).returncode == 0  # noqa: S603


def ensure_ns(ns: str) -> None:
    """Create a namespace unless it exists (a stale name without a namespace behind it is replaced)."""
    if ns_exists(ns):
        return
    if (NETNS_DIR / ns).exists():
        run(["ip", "netns", "del", ns], check=False)
    run(["ip", "netns", "add", ns])


@contextlib.contextmanager
def scratch_namespaces(*names: str) -> Iterator[tuple[str, ...]]:
    """Fresh namespaces with only lo (up), for one test or one agent; deleted on exit, whatever happened.

    A name already taken (another run's) is an error, never reused: its owner may still need it."""
    made: list[str] = []
    try:
        for ns in names:
            run(["ip", "netns", "add", ns])
            made.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        yield names
    finally:
        for ns in made:
            run(["ip", "netns", "del", ns], check=False)


def sysctls(ns: str, settings: dict[str, int]) -> None:
    """Write sysctls inside a namespace (the net.* ones are per namespace)."""
    script = "; ".join(f"echo {v} > /proc/sys/{k.replace('.', '/')}" for k, v in settings.items())
    run(["ip", "netns", "exec", ns, "sh", "-c", script])


def links(ns: str, *args: str) -> dict[str, str]:
    """Link name -> MAC in a namespace (optionally filtered, e.g. `type macvlan`)."""
    found = ip_json(ns, "link", "show", *args)
    return {d["ifname"]: str(d.get("address", "")) for d in found if "ifname" in d}


def build_devices(
    ns: str, attachments: Sequence[Attachment], head: Sequence[str] = (), *, policy_routing: bool = True
) -> None:
    """Converge the namespace's macvlans and policy rules to `attachments` (`head`: ip lines to run first)."""
    existing = links(ns, "type", "macvlan")
    rules = {
        (str(r.get("src")), str(r.get("table")))
        for r in ip_json(ns, "rule", "show")
        if r.get("priority") == RULE_PREF
    }
    lines = ["link set lo up", *head]
    wanted_links: set[str] = set()
    wanted_rules: set[tuple[str, str]] = set()
    for at in attachments:
        ip, mac, table = at.device.ip, at.device.mac, str(at.table)
        wanted_links.add(at.ifname)
        if at.ifname not in existing:
            lines.append(f"link add {at.ifname} link {at.parent} address {mac} type macvlan mode bridge")
        lines.append(f"link set dev {at.ifname} address {mac} up")
        lines.append(f"addr replace {ip}/{at.prefixlen} dev {at.ifname}")
        if policy_routing:
            wanted_rules.add((ip, table))
            lines.append(f"route replace {at.device.network} dev {at.ifname} src {ip} table {table}")
            if at.gateway is not None:
                lines.append(f"route replace default via {at.gateway} dev {at.ifname} table {table}")
            if (ip, table) not in rules:
                lines.append(f"rule add from {ip} lookup {table} pref {RULE_PREF}")
    for ifname in sorted(set(existing) - wanted_links):
        lines.append(f"link del dev {ifname}")
    for src, table in sorted(rules - wanted_rules):
        lines += [f"rule del from {src} lookup {table} pref {RULE_PREF}", f"route flush table {table}"]
    batch(ns, lines)


def netns_pids(ns: str) -> list[int]:
    """PIDs of processes living in a namespace."""
    if not (NETNS_DIR / ns).exists():
        return []
    out = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":  # it exited after the first look: reap it now if it is ours, so no zombie lingers
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


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


def start_server(ns: str, state_dir: Path, serve_args: Sequence[str], timeout: float) -> dict[str, Any]:
    """Start `python -m camlab.serve` in a namespace and wait for its ready file; its info, or LabError."""
    ready = state_dir / "ready.json"
    ready.unlink(missing_ok=True)
    cmd = [
        "ip",
        "netns",
        "exec",
        ns,
        sys.executable,
        "-m",
        "camlab.serve",
        *serve_args,
        "--state-dir",
        str(state_dir),
        "--ready-file",
        str(ready),
    ]
    with open(state_dir / "server.log", "ab") as logfile:
        # our own interpreter running the lab server, argv built here (no shell)
        proc = subprocess.Popen(  # noqa: S603
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=logfile,
            start_new_session=True,
            close_fds=True,
        )
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


def remove(n: Names, state_dir: Path) -> int:
    """Stop every process in the lab's namespaces, delete them and the state dir; how many namespaces."""
    pids = sorted({p for ns in n.every for p in netns_pids(ns)})
    stop_pids(pids)
    removed = 0
    for ns in n.every:
        if (NETNS_DIR / ns).exists():
            run(["ip", "netns", "del", ns])
            removed += 1
    shutil.rmtree(state_dir, ignore_errors=True)
    return removed
