"""End to end as root: scan the namespace lab from its scanner namespace, with real ARP and real MACs."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from camscan import defaults
from tests.e2ekit import ScanRun, mismatches, run_scan, validate

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def scanned(netns_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    out = tmp_path_factory.mktemp("e2e-netns") / "report.json"
    args = [netns_lab["subnet"], "--host-timeout", "4", "--probe-timeout", "2"]
    return run_scan(args, out, netns=netns_lab["scanner_netns"])


def test_every_persona_gets_its_expected_verdict(scanned: ScanRun, netns_lab: dict[str, Any]) -> None:
    assert scanned.report, scanned.stderr
    validate(scanned.report)
    assert mismatches(scanned, netns_lab) == []
    assert scanned.code == 1


def test_arp_finds_every_device_with_its_own_mac(scanned: ScanRun, netns_lab: dict[str, Any]) -> None:
    assert scanned.report["scan"]["mac_method"] == "arp"
    assert "arp" in scanned.report["scan"]["probes"]
    for dev in netns_lab["devices"]:
        got = scanned.device(dev["ip"])
        assert got is not None, dev["persona"]
        assert (got["mac"], got["mac_source"]) == (dev["mac"].lower(), "arp"), dev["persona"]
    assert len(scanned.report["devices"]) == len(netns_lab["devices"])  # the scanner itself is not listed


def test_every_camera_port_a_device_listens_on_is_reported_open(
    scanned: ScanRun, netns_lab: dict[str, Any]
) -> None:
    # A port check that never ran looks like a host with nothing open; the makers that only a web page
    # names would then be lost without a word
    missed = {}
    for dev in netns_lab["devices"]:
        got = scanned.device(dev["ip"])
        listening = set(dev["ports"]) & set(defaults.PORTS)
        if got is None or not listening <= set(got["open_ports"]):
            missed[dev["persona"]] = sorted(listening - set(got["open_ports"] if got else ()))
    assert missed == {}


def test_locally_administered_macs_are_never_attributed(scanned: ScanRun) -> None:
    for dev in scanned.report["devices"]:
        randomised = bool(dev["mac"]) and int(dev["mac"][:2], 16) & 2 == 2
        assert dev["mac_randomised"] == randomised, dev["ip"]
        if randomised:
            assert dev["mac_vendor"] is None, dev["ip"]
            assert all(e["field"] != "mac.oui" for e in dev["evidence"]), dev["ip"]


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is not installed")
def test_without_root_the_kernel_neighbour_table_gives_the_macs(netns_lab: dict[str, Any]) -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="camscan-nonroot-"))
    try:
        tmp_path.chmod(0o777)  # the unprivileged scan writes its report here
        args = [netns_lab["subnet"], "--host-timeout", "4", "--probe-timeout", "2", "--no-progress"]
        run = run_scan(args, tmp_path / "r.json", netns=netns_lab["scanner_netns"], user="65534")
        assert run.report, run.stderr
        assert run.report["scan"]["mac_method"] == "neighbours"
        assert "arp" not in run.report["scan"]["probes"]
        by_ip = {d["ip"]: d for d in netns_lab["devices"]}
        answered = [d for d in run.report["devices"] if d["open_ports"]]
        assert answered
        for dev in answered:
            assert (dev["mac"], dev["mac_source"]) == (by_ip[dev["ip"]]["mac"].lower(), "neighbours")
        assert mismatches(run, netns_lab) == []
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_hosts_that_announce_an_mdns_name_go_by_it(scanned: ScanRun, netns_lab: dict[str, Any]) -> None:
    named = [d for d in scanned.report["devices"] if any(n["source"] == "mdns" for n in d["hostnames"])]
    assert named, "no device's mDNS name reached the report"
    for dev in named:
        assert dev["hostname"] == dev["hostnames"][0]["name"]
