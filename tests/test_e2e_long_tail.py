"""End to end, the long tail: relabels seen through by firmware format, generic cameras, ONVIF on odd ports.

The real `camscan scan` runs against the lab's long-tail personas: on loopback (any user) for the verdicts and
the ONVIF ports, in the namespace lab (root) for the same verdicts with real ARP MACs and multicast discovery.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2ekit import ScanRun, mismatches, run_scan, validate

RELABEL = "relabel-trendnet-tv-ip310pi"  # Hikvision firmware, TRENDnet label and MAC block
GENERIC = "generic-onvif-ipcam"  # anonymous ONVIF, "IP Camera" page, locally administered MAC
HEROSPEED = "herospeed-onvif-8999"  # ONVIF only on 8999, announced by a WS-Discovery XAddr
XIONGMAI = "xiongmai-xm530-unbranded"  # ONVIF only on 8899, unknown label, Wi-Fi module MAC
WEB_ONLY = ("amcrest-web-service", "milesight-web-camera", "kedacom-webs-camera")
ONVIF_SET = (RELABEL, GENERIC, HEROSPEED, XIONGMAI)
FORMAT_TELL = "Hikvision firmware version format"
# Web and RTSP only: the ONVIF services on 8899 and 8999 can then be reached through their XAddrs alone.
NO_ONVIF_PORTS = ["--ports", "80,554"]
TIMING = ["--host-timeout", "4", "--probe-timeout", "2"]


def devices(manifest: dict[str, Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    by_persona = {d["persona"]: d for d in manifest["devices"]}
    return [by_persona[name] for name in names]


def only(manifest: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The manifest cut down to these personas (for `mismatches`)."""
    return {**manifest, "devices": devices(manifest, names)}


def loopback_args(manifest: dict[str, Any], names: tuple[str, ...], *, macs: bool = True) -> list[str]:
    args = [d["ip"] for d in devices(manifest, names)] + ["--no-arp", *TIMING]
    if manifest["port_map"]:
        args += ["--port-map", ",".join(f"{k}={v}" for k, v in manifest["port_map"].items())]
    if macs and manifest["macs_file"]:
        args += ["--macs", manifest["macs_file"]]
    return args


def got(run: ScanRun, manifest: dict[str, Any], name: str) -> dict[str, Any]:
    device = run.device(devices(manifest, (name,))[0]["ip"])
    assert device is not None, f"{name} is not in the report"
    return device


def onvif_probes(device: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in device["probes"] if p["probe"] == "onvif" and p["status"] == "ok"]


def onvif_makers(device: dict[str, Any], port: int) -> set[str]:
    """The makers the ONVIF probe's own observations on this port named."""
    return {
        e["claims"]["manufacturer"]
        for e in device["evidence"]
        if e["probe"] == "onvif" and e["port"] == port and e["claims"].get("manufacturer")
    }


def assert_relabel_unmasked(device: dict[str, Any]) -> None:
    """Maker hikvision, brand trendnet, watchlisted, and every hit says the firmware format gave it away."""
    assert (device["manufacturer"], device["brand"]) == ("hikvision", "trendnet")
    assert device["watchlisted"] and device["watchlist"]
    for hit in device["watchlist"]:
        assert "manufacturer hikvision" in hit["reason"], hit
        assert "onvif.firmware" in hit["reason"] and FORMAT_TELL in hit["reason"], hit
    assert any("trendnet" in c and "hikvision" in c for c in device["conflicts"]), device["conflicts"]


def assert_unidentified_camera(run: ScanRun, device: dict[str, Any]) -> None:
    """A camera of unknown make, said so by its anonymous ONVIF answer, and counted as such."""
    assert device["is_camera"] and device["device_type"] == "camera"
    assert device["manufacturer"] is None and device["brand"] is None and not device["watchlisted"]
    assert any(e["field"] == "onvif.auth" and e["value"] == "anonymous" for e in device["evidence"])
    assert device["model"] == "IPC-1080P"  # its GetDeviceInformation was read
    unnamed = [d for d in run.report["devices"] if d["is_camera"] and d["manufacturer"] is None]
    assert run.report["coverage"]["unidentified_cameras"] == len(unnamed) >= 1


# ---------------------------------------------------------------------------------------------- loopback


@pytest.fixture(scope="module")
def onvif_scan(loopback_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    out = tmp_path_factory.mktemp("long-tail") / "onvif.json"
    return run_scan(loopback_args(loopback_lab, ONVIF_SET), out)


@pytest.fixture(scope="module")
def xaddr_scan(loopback_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    out = tmp_path_factory.mktemp("long-tail") / "xaddr.json"
    return run_scan(loopback_args(loopback_lab, (HEROSPEED, XIONGMAI)) + NO_ONVIF_PORTS, out)


def test_hikvision_firmware_under_another_label_and_mac_is_hikvision_and_watchlisted(
    onvif_scan: ScanRun, loopback_lab: dict[str, Any]
) -> None:
    assert onvif_scan.report, onvif_scan.stderr
    validate(onvif_scan.report)
    assert onvif_scan.code == 1
    device = got(onvif_scan, loopback_lab, RELABEL)
    assert device["mac_vendor"] == "TRENDnet, Inc."  # the label's own MAC block
    assert_relabel_unmasked(device)


def test_a_generic_onvif_camera_is_a_camera_of_unknown_make(
    onvif_scan: ScanRun, loopback_lab: dict[str, Any]
) -> None:
    device = got(onvif_scan, loopback_lab, GENERIC)
    assert [p["port"] for p in onvif_probes(device)] == [80]
    assert_unidentified_camera(onvif_scan, device)


def test_every_onvif_long_tail_persona_gets_its_verdict(
    onvif_scan: ScanRun, loopback_lab: dict[str, Any]
) -> None:
    assert mismatches(onvif_scan, only(loopback_lab, ONVIF_SET)) == []


@pytest.mark.parametrize(
    ("name", "port", "maker"), [(HEROSPEED, 8999, "herospeed"), (XIONGMAI, 8899, "xiongmai")]
)
def test_onvif_is_found_through_an_xaddr_on_a_port_the_scan_did_not_check(
    xaddr_scan: ScanRun, loopback_lab: dict[str, Any], name: str, port: int, maker: str
) -> None:
    assert xaddr_scan.report, xaddr_scan.stderr
    device = got(xaddr_scan, loopback_lab, name)
    assert port not in device["open_ports"]  # not swept: only the WS-Discovery XAddr led there
    assert any(e["field"] == "wsd.xaddr" and f":{port}/" in e["value"] for e in device["evidence"])
    assert [p["port"] for p in onvif_probes(device)] == [port]
    assert maker in onvif_makers(device, port)
    assert device["manufacturer"] == maker
    assert mismatches(xaddr_scan, only(loopback_lab, (name,))) == []


def test_web_only_pages_name_their_makers_without_a_mac(loopback_lab: dict[str, Any], tmp_path: Path) -> None:
    run = run_scan(loopback_args(loopback_lab, WEB_ONLY, macs=False), tmp_path / "pages.json")
    assert run.report, run.stderr
    assert mismatches(run, only(loopback_lab, WEB_ONLY)) == []
    for name in WEB_ONLY:
        device = got(run, loopback_lab, name)
        assert device["mac"] is None
        assert {e["probe"] for e in device["evidence"] if e["claims"].get("manufacturer")} == {"http"}
    amcrest = got(run, loopback_lab, "amcrest-web-service")
    assert all("Dahua web UI markers" in hit["reason"] for hit in amcrest["watchlist"])


# ---------------------------------------------------------------------------------- namespace lab (root)


@pytest.fixture(scope="module")
def netns_scan(netns_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    """Multicast discovery only, web and RTSP ports only: ONVIF is reached through multicast XAddrs."""
    out = tmp_path_factory.mktemp("long-tail-netns") / "report.json"
    ips = [d["ip"] for d in devices(netns_lab, ONVIF_SET)]
    args = [*ips, "--no-unicast-discovery", *NO_ONVIF_PORTS, *TIMING]
    return run_scan(args, out, netns=netns_lab["scanner_netns"])


@pytest.mark.netns
def test_with_real_macs_and_multicast_the_relabel_is_still_hikvision(
    netns_scan: ScanRun, netns_lab: dict[str, Any]
) -> None:
    assert netns_scan.report, netns_scan.stderr
    validate(netns_scan.report)
    device = got(netns_scan, netns_lab, RELABEL)
    assert (device["mac"], device["mac_source"]) == (devices(netns_lab, (RELABEL,))[0]["mac"].lower(), "arp")
    assert device["mac_vendor"] == "TRENDnet, Inc."
    assert "wsdiscovery" in device["found_by"]
    assert_relabel_unmasked(device)
    assert netns_scan.code == 1


@pytest.mark.netns
def test_with_real_macs_the_generic_camera_stays_unnamed(
    netns_scan: ScanRun, netns_lab: dict[str, Any]
) -> None:
    device = got(netns_scan, netns_lab, GENERIC)
    assert device["mac_randomised"] and device["mac_vendor"] is None
    assert_unidentified_camera(netns_scan, device)


@pytest.mark.netns
@pytest.mark.parametrize(
    ("name", "port", "maker"), [(HEROSPEED, 8999, "herospeed"), (XIONGMAI, 8899, "xiongmai")]
)
def test_a_multicast_xaddr_leads_to_onvif_on_its_own_port(
    netns_scan: ScanRun, netns_lab: dict[str, Any], name: str, port: int, maker: str
) -> None:
    device = got(netns_scan, netns_lab, name)
    assert port not in device["open_ports"]
    assert [p["port"] for p in onvif_probes(device)] == [port]
    assert maker in onvif_makers(device, port) and device["manufacturer"] == maker
    assert mismatches(netns_scan, only(netns_lab, (name,))) == []
