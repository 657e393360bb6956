"""ARP privilege check, on-link range selection, and a real sweep inside throw-away namespaces."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from camscan.probes import arp
from camscan.probes.arp import NEEDS_PRIVILEGE, arp_capable, onlink_networks, read_routes
from tests.labkit import throwaway_netns

ROUTES = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t100\t0000FFFF\t0\t0\t0
eth1\t0001000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t0002000A\tFE00000A\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth2\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth3\t0010AC00\t00000000\t0000\t0\t0\t0\t0000F0FF\t0\t0\t0
garbage line
eth4\tZZZZZZZZ\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth4\t1FFFFFFFFF\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


@pytest.fixture
def routes(tmp_path: Path) -> str:
    path = tmp_path / "route"
    path.write_text(ROUTES)
    return str(path)


def test_route_table_parsing_skips_default_down_and_bad_lines(routes: str) -> None:
    assert read_routes(routes) == [
        (IPv4Network("10.0.0.0/16"), "eth0", True),
        (IPv4Network("10.0.1.0/24"), "eth1", True),
        (IPv4Network("10.0.2.0/24"), "eth0", False),
        (IPv4Network("192.168.0.0/24"), "eth2", True),
    ]


def test_onlink_parts_of_targets_by_longest_prefix(routes: str) -> None:
    got = onlink_networks([IPv4Network("10.0.0.0/16")], None, routes_path=routes)
    eth0 = {ip for net, dev in got if dev == "eth0" for ip in net}
    assert [(n, d) for n, d in got if d == "eth1"] == [(IPv4Network("10.0.1.0/24"), "eth1")]
    assert len(eth0) == 65536 - 512  # the eth1 /24 and the routed (gateway) /24 are not ARPed via eth0
    assert IPv4Network("10.0.2.0/24")[5] not in eth0 and IPv4Network("10.0.1.0/24")[5] not in eth0


def test_small_target_inside_an_onlink_route_and_offlink_targets(routes: str) -> None:
    targets = [IPv4Network("10.0.5.0/28"), IPv4Network("192.168.0.128/25"), IPv4Network("8.8.8.0/24")]
    assert onlink_networks(targets, None, routes_path=routes) == [
        (IPv4Network("10.0.5.0/28"), "eth0"),
        (IPv4Network("192.168.0.128/25"), "eth2"),
    ]
    assert onlink_networks([IPv4Network("10.0.2.0/24")], None, routes_path=routes) == []


def test_interface_restriction(routes: str) -> None:
    got = onlink_networks([IPv4Network("10.0.0.0/16")], "eth1", routes_path=routes)
    assert got == [(IPv4Network("10.0.1.0/24"), "eth1")]


def test_unreadable_route_table_means_nothing_on_link(tmp_path: Path) -> None:
    assert onlink_networks([IPv4Network("10.0.0.0/24")], None, routes_path=str(tmp_path / "x")) == []


def test_arp_capable_false_without_raw_socket_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(socket, "socket", denied)
    assert arp_capable() == (False, NEEDS_PRIVILEGE)


def test_arp_capable_false_without_af_packet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(socket, "AF_PACKET", raising=False)
    ok, why = arp_capable()
    assert not ok and "AF_PACKET" in why


async def test_empty_sweep_needs_no_scapy() -> None:
    assert await arp.arp_sweep([]) == {}


SWEEP = """
import asyncio, json, sys
from ipaddress import IPv4Network
from tests.labkit import throwaway_netns
from camscan.probes.arp import arp_capable, arp_sweep, onlink_networks
nets = onlink_networks([IPv4Network("10.250.0.0/24"), IPv4Network("10.251.0.0/24")], None)
found = asyncio.run(arp_sweep(nets, timeout=0.5))
print(json.dumps({"capable": arp_capable(), "nets": [[str(n), d] for n, d in nets], "found": found}))
"""


@pytest.mark.netns
def test_arp_sweep_in_a_namespace_pair() -> None:
    tag = f"{os.getpid() % 100000}"
    scan_if, cam_if = f"ts{tag}", f"tc{tag}"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)

    with throwaway_netns("cs-arp", count=2) as (scan_ns, cam_ns):
        ip("link", "add", scan_if, "netns", scan_ns, "type", "veth", "peer", "name", cam_if, "netns", cam_ns)
        ip("-n", scan_ns, "addr", "add", "10.250.0.1/24", "dev", scan_if)
        ip("-n", cam_ns, "link", "set", cam_if, "address", "44:19:b6:00:00:02")
        ip("-n", cam_ns, "addr", "add", "10.250.0.2/24", "dev", cam_if)
        for ns, dev in ((scan_ns, scan_if), (cam_ns, cam_if)):
            ip("-n", ns, "link", "set", dev, "up")
        out = subprocess.run(
            ["ip", "netns", "exec", scan_ns, sys.executable, "-c", SWEEP],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
    report = json.loads(out.stdout)
    assert report["capable"] == [True, ""]
    assert report["nets"] == [["10.250.0.0/24", scan_if]]  # 10.251.0.0/24 has no route: no ARP there
    assert report["found"] == {"10.250.0.2": "44:19:b6:00:00:02"}
