"""End to end behind a router: host discovery by ICMP, TCP pings and unicast discovery, MACs over SNMP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2ekit import ScanRun, mismatches, run_scan, validate

pytestmark = pytest.mark.netns

# The first device /24 inside a blackholed /22 (768 silent addresses), and the other three /24s.
TARGETS = ["10.88.0.0/22", "10.88.77.0/24", "10.88.140.0/24", "10.88.250.0/24"]


def persona(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in manifest["devices"] if d["persona"] == name)


@pytest.fixture(scope="module")
def scanned(routed_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    config = routed_lab["snmp"]["camscan_config"]["v2c"]
    args = [*TARGETS, "--config", config, "--host-timeout", "4", "--probe-timeout", "2"]
    out = tmp_path_factory.mktemp("routed") / "r.json"
    return run_scan(args, out, netns=routed_lab["scanner_netns"], timeout=180)


def test_every_device_behind_the_router_gets_its_verdict(
    scanned: ScanRun, routed_lab: dict[str, Any]
) -> None:
    assert scanned.report, scanned.stderr
    validate(scanned.report)
    assert scanned.code == 1, scanned.stderr
    assert mismatches(scanned, routed_lab) == []
    assert scanned.report["coverage"]["complete"]
    assert scanned.report["coverage"]["unfinished"]["addresses"] == 0
    liveness = scanned.report["scan"]["liveness"]
    assert liveness["icmp"] == "raw" and liveness["addresses"] == scanned.report["coverage"]["addresses"]


def test_a_host_that_answers_only_ping_is_alive_with_no_open_ports(
    scanned: ScanRun, routed_lab: dict[str, Any]
) -> None:
    switch = scanned.device(persona(routed_lab, "ping-only-switch")["ip"])
    assert switch is not None
    assert switch["found_by"] == ["icmp"] and switch["open_ports"] == []
    assert not switch["is_camera"] and not switch["watchlisted"]


def test_a_camera_that_drops_ping_is_found_by_its_ports(scanned: ScanRun, routed_lab: dict[str, Any]) -> None:
    dahua = scanned.device(persona(routed_lab, "dahua-ipc-ping-prohibited")["ip"])
    assert dahua is not None and "icmp" not in dahua["found_by"] and "tcp" in dahua["found_by"]
    assert dahua["manufacturer"] == "dahua" and dahua["watchlisted"]


def test_the_routers_arp_table_names_a_maker_only_its_mac_gives(
    scanned: ScanRun, routed_lab: dict[str, Any]
) -> None:
    expected = persona(routed_lab, "uniview-ipc2122-maconly")
    uniview = scanned.device(expected["ip"])
    assert uniview is not None
    assert (uniview["mac"], uniview["mac_source"]) == (expected["mac"].lower(), "snmp")
    assert uniview["mac_router"] == routed_lab["snmp"]["address"]
    assert uniview["manufacturer"] == "uniview" and uniview["watchlisted"]
    assert "snmp" in scanned.report["scan"]["mac_method"].split("+")
    routers = [d for d in scanned.report["scan"]["discovery"] if d["probe"] == "snmp"]
    assert routers and routers[0]["status"] == "ok" and routers[0]["hosts"] >= len(routed_lab["devices"])


def test_without_snmp_the_mac_only_camera_stays_unnamed(routed_lab: dict[str, Any], tmp_path: Path) -> None:
    expected = persona(routed_lab, "uniview-ipc2122-maconly")
    run = run_scan(
        [expected["ip"], "--host-timeout", "4"], tmp_path / "r.json", netns=routed_lab["scanner_netns"]
    )
    got = run.device(expected["ip"])
    assert got is not None and got["mac"] is None and got["manufacturer"] is None
