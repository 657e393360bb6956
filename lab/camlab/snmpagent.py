"""A lab router's SNMP agent: Debian's snmpd in a namespace whose kernel neighbour table we fill (root).

    <prefix>-rtr   up0 = 10.9.0.1/24 (veth to the scanner); one veth per subnet holding its first address;
                   `ip neigh ... nud permanent` entries for the devices; snmpd listening on up0 only
    <prefix>-scn   dn0 = 10.9.0.2/24: where the scanner runs

`router_lab()` builds both, starts snmpd with a config written for the run (read-only communities limited to
the scanner's address, v3 users), and removes everything on exit, whatever happened.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from camlab.nsops import scratch_namespaces
from camlab.plan import LabError

AGENT_IP = "10.9.0.1"
SCANNER_IP = "10.9.0.2"
LINK = "10.9.0.0/24"
READY_TIMEOUT = 15.0
OLD_TABLE_VIEW = ".1.3.6.1.2.1.4.22"  # ipNetToMediaTable only: an agent without ipNetToPhysicalTable


@dataclass(frozen=True, slots=True)
class Community:
    """An snmpd rocommunity line: the community, who may use it, and an optional view (OID subtree)."""

    name: str
    source: str = f"{SCANNER_IP}/32"
    view: str | None = None


@dataclass(frozen=True, slots=True)
class V3User:
    """An snmpd createUser/rouser pair (authPriv); protocols in Net-SNMP's names."""

    name: str
    auth_protocol: str
    auth_password: str
    priv_protocol: str
    priv_password: str


@dataclass(frozen=True, slots=True)
class RouterLab:
    """A running router lab: the namespaces, the agent's address and the neighbours it knows."""

    router_ns: str
    scanner_ns: str
    neighbours: Mapping[str, str]  # ip -> MAC in the router's kernel table
    agent: str = AGENT_IP
    log: Path = field(default=Path("/dev/null"))


def snmpd_config(communities: Sequence[Community], users: Sequence[V3User], agent: str = AGENT_IP) -> str:
    """snmpd.conf text: listen on the agent address only; read-only access only."""
    lines = [f"agentAddress udp:{agent}:161", "dontLogTCPWrappersConnects yes"]
    for n, community in enumerate(communities):
        if community.view:
            lines.append(f"view lab{n} included {community.view}")
            lines.append(f"rocommunity {community.name} {community.source} -V lab{n}")
        else:
            lines.append(f"rocommunity {community.name} {community.source}")
    for user in users:
        lines.append(
            f"createUser {user.name} {user.auth_protocol} {user.auth_password} "
            f"{user.priv_protocol} {user.priv_password}"
        )
        lines.append(f"rouser {user.name} authpriv")
    return "\n".join(lines) + "\n"


def snmpd_missing() -> str | None:
    """Why snmpd cannot run here, or None."""
    if shutil.which("snmpd") is None and not Path("/usr/sbin/snmpd").exists():
        return "Debian's snmpd is not installed (make setup installs it as root: apt-get install snmpd)"
    return None


def _run(args: Sequence[str], stdin: str | None = None) -> None:
    # iproute2 argv built by this module (no shell); the tools are found on PATH like any admin's
    proc = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=60)  # noqa: S603
    if proc.returncode != 0:
        raise LabError(f"{' '.join(args[:6])} failed: {proc.stderr.strip()[-300:]}")


def _build(router: str, scanner: str, subnets: Sequence[str], neighbours: Mapping[str, str]) -> None:
    lines = ["link add up0 type veth peer name dn0", f"addr add {AGENT_IP}/24 dev up0", "link set up0 up"]
    nets = [ipaddress.IPv4Network(s) for s in subnets]
    for n, net in enumerate(nets):
        # a veth pair with both ends in the router: an ARP-capable interface on the subnet (no dummy module)
        lines += [f"link add s{n} type veth peer name s{n}p", f"addr add {net[1]}/{net.prefixlen} dev s{n}",
                  f"link set s{n} up", f"link set s{n}p up"]  # fmt: skip
    for ip, mac in neighbours.items():
        n = next(i for i, net in enumerate(nets) if ipaddress.IPv4Address(ip) in net)
        lines.append(f"neigh replace {ip} lladdr {mac} dev s{n} nud permanent")
    _run(["ip", "-n", router, "-batch", "-"], stdin="\n".join(lines) + "\n")
    _run(["ip", "-n", router, "link", "set", "dn0", "netns", scanner])
    _run(["ip", "-n", scanner, "addr", "add", f"{SCANNER_IP}/24", "dev", "dn0"])
    _run(["ip", "-n", scanner, "link", "set", "dn0", "up"])


def start_snmpd(ns: str, config: str, state_dir: Path, agent: str = AGENT_IP) -> subprocess.Popen[bytes]:
    """snmpd in the foreground inside `ns` with only our config (and its own persistent dir)."""
    conf, log = state_dir / "snmpd.conf", state_dir / "snmpd.log"
    conf.write_text(config)
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(state_dir / "persist"), "MIBS": ""}
    with log.open("wb") as out:
        # Debian's snmpd in the lab's router namespace via iproute2, both from PATH; argv built here, no shell
        proc = subprocess.Popen(  # noqa: S603
            ["ip", "netns", "exec", ns, "snmpd", "-f", "-C", "-c", str(conf), "-Lf", str(log)],  # noqa: S607
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError(f"snmpd exited with {proc.returncode}: {log.read_text(errors='replace')[-300:]}")
        listening = subprocess.run(  # noqa: S603 -- iproute2's ss in the lab namespace, argv built here
            ["ip", "netns", "exec", ns, "ss", "-Hlun", f"src {agent}:161"],  # noqa: S607 -- from PATH
            capture_output=True,
            text=True,
        )
        if listening.stdout.strip():
            return proc
        time.sleep(0.05)
    stop_snmpd(proc)
    raise LabError(f"snmpd did not listen on {agent}:161 within {READY_TIMEOUT:g} s")


def stop_snmpd(proc: subprocess.Popen[bytes]) -> None:
    """Stop the snmpd we started (by its own process handle)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def router_lab(
    prefix: str, state_dir: Path, subnets: Sequence[str], neighbours: Mapping[str, str],
    communities: Sequence[Community] = (), users: Sequence[V3User] = (),
) -> Iterator[RouterLab]:  # fmt: skip
    """Build the router and scanner namespaces, run snmpd in the router; always torn down."""
    router, scanner = f"{prefix}-rtr", f"{prefix}-scn"
    proc: subprocess.Popen[bytes] | None = None
    with scratch_namespaces(router, scanner):
        try:
            _build(router, scanner, subnets, neighbours)
            proc = start_snmpd(router, snmpd_config(communities, users), state_dir)
            yield RouterLab(router, scanner, dict(neighbours), log=state_dir / "snmpd.log")
        finally:
            if proc is not None:
                stop_snmpd(proc)
