"""Host firewalls of the simulated devices: nftables rules in the devices' namespace.

A persona with ``icmp = false`` (a Dahua camera with "PING Prohibited" on) loses its echo requests while its
TCP ports still answer; one with ``closed_ports = "drop"`` (a switch whose management plane answers ping
only) gets no TCP reset and no ICMP port-unreachable for the ports it does not serve, so nothing but the
firewall's own rules reveals it. The rules live in their own table, replaced whole on every `up`.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from camlab.nsops import run
from camlab.plan import LabDevice, LabInputError
from camlab.udp import protocols_for

TABLE = "camlab"


def _not_served(device: LabDevice) -> list[str]:
    """Rules dropping TCP and UDP to the ports a `closed_ports = "drop"` device does not serve."""
    rules = []
    for proto, ports in (("tcp", device.persona.ports), ("udp", [p.port for p in protocols_for(device)])):
        if ports:
            served = ", ".join(str(p) for p in sorted(set(ports)))
            rules.append(f"ip daddr {device.ip} {proto} dport != {{ {served} }} drop")
        else:
            rules.append(f"ip daddr {device.ip} meta l4proto {proto} drop")
    return rules


def ruleset(devices: Sequence[LabDevice]) -> str:
    """The nft script: (re)create `table ip camlab` with the rules the devices' personas ask for."""
    rules = [f"ip daddr {d.ip} icmp type echo-request drop" for d in devices if not d.persona.icmp]
    for device in devices:
        if device.persona.closed_ports == "drop":
            rules += _not_served(device)
    script = [f"table ip {TABLE}", f"delete table ip {TABLE}"]  # declare, then delete: works if absent
    if rules:
        chain = ["type filter hook input priority filter; policy accept;", *rules]
        script += [f"table ip {TABLE} {{", "  chain input {", *(f"    {r}" for r in chain), "  }", "}"]
    return "\n".join(script) + "\n"


def apply(ns: str, devices: Sequence[LabDevice]) -> list[str]:
    """Install the devices' firewall rules; the addresses that have any."""
    filtered = [d.ip for d in devices if not d.persona.icmp or d.persona.closed_ports == "drop"]
    if shutil.which("nft") is None:
        if filtered:
            raise LabInputError(
                f"{len(filtered)} devices filter ping or ports, which needs nftables "
                "('nft' not found): apt-get install nftables"
            )
        return []
    run(["ip", "netns", "exec", ns, "nft", "-f", "-"], stdin=ruleset(devices))
    return filtered
