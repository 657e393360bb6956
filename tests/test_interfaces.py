"""Which local segments multicast discovery goes out on."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

from camscan import interfaces

# /proc/net/route: eth0 10.20.0.0/24 and eth1 192.168.7.0/24 on-link; 10.99.0.0/16 via a gateway; default.
ROUTES = """Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT
eth0\t0000140A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth1\t0007A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t0000630A\t0100140A\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t00000000\t0100140A\t0003\t0\t0\t0\t00000000\t0\t0\t0
"""


def test_only_on_link_networks_that_overlap_the_targets(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    monkeypatch.setattr(interfaces, "interface_address", lambda iface: {"eth0": "10.20.0.9"}.get(iface))
    segs = interfaces.local_segments(
        [IPv4Network("10.20.0.0/25"), IPv4Network("10.99.4.0/24")], routes_path=str(routes)
    )
    assert [(s.iface, s.source, s.network) for s in segs] == [("eth0", "10.20.0.9", "10.20.0.0/24")]


def test_interface_choice_is_respected(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    monkeypatch.setattr(interfaces, "interface_address", lambda iface: "192.168.7.2")
    segs = interfaces.local_segments([IPv4Network("0.0.0.0/0")], iface="eth1", routes_path=str(routes))
    assert [s.iface for s in segs] == ["eth1"]


def test_address_of_a_missing_interface_is_none() -> None:
    assert interfaces.interface_address("no-such-if0") is None
