"""End to end as root: the discovery protocols find every persona that speaks them, by multicast and by
unicast, and unmask relabelled cameras (issue 3 acceptance)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2ekit import ScanRun, heard_by, mismatches, run_scan, validate

pytestmark = pytest.mark.netns
UNICAST_CHANNELS = ("wsdiscovery", "sadp", "dhip", "dvrip", "ssdp")


def speaking(manifest: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    return [d for d in manifest["devices"] if channel in d["expect"].get("channels", [])]


@pytest.fixture(scope="module")
def multicast_only(netns_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    out = tmp_path_factory.mktemp("mc") / "report.json"
    args = [netns_lab["subnet"], "--no-unicast-discovery", "--host-timeout", "4", "--probe-timeout", "2"]
    return run_scan(args, out, netns=netns_lab["scanner_netns"])


@pytest.fixture(scope="module")
def unicast_only(netns_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    out = tmp_path_factory.mktemp("uc") / "report.json"
    args = [netns_lab["subnet"], "--no-multicast", "--host-timeout", "4", "--probe-timeout", "2"]
    return run_scan(args, out, netns=netns_lab["scanner_netns"])


@pytest.mark.parametrize("channel", ["wsdiscovery", "sadp", "dhip", "mdns", "ssdp"])
def test_every_persona_is_found_by_multicast(
    multicast_only: ScanRun, netns_lab: dict[str, Any], channel: str
) -> None:
    personas = speaking(netns_lab, channel)
    assert personas, f"no persona speaks {channel}"
    missed = [d["persona"] for d in personas if not heard_by(multicast_only, d["ip"], channel)]
    assert missed == []


@pytest.mark.parametrize("channel", UNICAST_CHANNELS)
def test_every_persona_is_found_by_unicast_without_multicast(
    unicast_only: ScanRun, netns_lab: dict[str, Any], channel: str
) -> None:
    personas = speaking(netns_lab, channel)
    assert personas, f"no persona speaks {channel}"
    missed = [d["persona"] for d in personas if not heard_by(unicast_only, d["ip"], channel)]
    assert missed == []
    assert unicast_only.report["scan"]["segments"] == []


def test_both_runs_give_every_expected_verdict_model_serial_and_firmware(
    multicast_only: ScanRun, unicast_only: ScanRun, netns_lab: dict[str, Any]
) -> None:
    for run in (multicast_only, unicast_only):
        validate(run.report)
    assert mismatches(multicast_only, netns_lab) == []
    # mDNS is multicast-only: what only mDNS reveals cannot be expected without multicast.
    mdns_only = {d["ip"] for d in speaking(netns_lab, "mdns") if d["expect"].get("channels") == ["mdns"]}
    lab = {**netns_lab, "devices": [d for d in netns_lab["devices"] if d["ip"] not in mdns_only]}
    assert mismatches(unicast_only, lab) == []


def test_sadp_and_dhip_details_land_in_the_report(multicast_only: ScanRun, netns_lab: dict[str, Any]) -> None:
    for channel in ("sadp", "dhip"):
        for dev in speaking(netns_lab, channel):
            got = multicast_only.device(dev["ip"])
            assert got is not None
            for key in ("model", "serial", "firmware"):
                if dev["expect"].get(key):
                    assert got[key] == dev["expect"][key], (dev["persona"], key)


def test_relabels_only_discovery_can_unmask(multicast_only: ScanRun, netns_lab: dict[str, Any]) -> None:
    hidden = [
        d
        for d in netns_lab["devices"]
        if d["expect"].get("needs_discovery") and d["expect"].get("brand") != d["expect"].get("manufacturer")
    ]
    assert len(hidden) >= 6
    for dev in hidden:
        got = multicast_only.device(dev["ip"])
        assert got is not None
        assert (got["brand"], got["manufacturer"]) == (dev["expect"]["brand"], dev["expect"]["manufacturer"])
        assert got["watchlisted"] and "recognised by" in got["watchlist"][0]["reason"]


def test_a_reply_claiming_another_host_is_recorded_not_trusted(
    multicast_only: ScanRun, netns_lab: dict[str, Any]
) -> None:
    stray = [d for d in netns_lab["devices"] if d["persona"] == "nvt-stale-xaddr"]
    assert stray, "the lab lost its stale-XAddr persona"
    for dev in stray:
        got = multicast_only.device(dev["ip"])
        assert got is not None
        claimed = [e for e in got["evidence"] if e["field"] == "wsd.claimed_address"]
        assert claimed and all(e["claims"] == {} and "not followed" in e["note"] for e in claimed)
        claimed_ip = claimed[0]["value"].split("//", 1)[1].split("/", 1)[0].split(":")[0]
        assert claimed_ip != dev["ip"]
        # The stray address got no ONVIF request on this device's behalf.
        other = multicast_only.device(claimed_ip)
        assert other is None or all(
            e["field"] != "wsd.xaddr" or dev["ip"] not in e["value"] for e in other["evidence"]
        )
        assert got["manufacturer"] is None and got["is_camera"]


def test_onvif_reads_anonymous_devices_and_reports_clock_skew(
    multicast_only: ScanRun, netns_lab: dict[str, Any]
) -> None:
    onvif = [d for d in netns_lab["devices"] if d.get("onvif")]
    assert onvif
    for dev in onvif:
        got = multicast_only.device(dev["ip"])
        assert got is not None and any(p["probe"] == "onvif" for p in got["probes"]), dev["persona"]


def _device_info(dev: dict[str, Any] | None) -> list[str]:
    fields = ("onvif.model", "onvif.firmware", "onvif.serial")
    return [] if dev is None else [e["field"] for e in dev["evidence"] if e["field"] in fields]


def test_credentials_unlock_protected_onvif_devices_and_never_leak(
    netns_lab: dict[str, Any], multicast_only: ScanRun, tmp_path: Path
) -> None:
    locked = [d for d in netns_lab["devices"] if (d.get("onvif") or {}).get("auth") == "required"]
    assert locked, "the lab has no ONVIF device that requires credentials"
    secret = locked[0]["onvif"]["password"]
    pw = tmp_path / "onvif.pw"
    pw.write_text(secret + "\n")
    pw.chmod(0o600)
    args = [
        netns_lab["subnet"],
        "--discovery",
        "wsdiscovery",
        "--onvif-user",
        locked[0]["onvif"]["username"],
        "--onvif-password-file",
        str(pw),
        "--host-timeout",
        "4",
        "--probe-timeout",
        "2",
    ]
    run = run_scan(args, tmp_path / "r.json", netns=netns_lab["scanner_netns"])
    for dev in locked:
        assert _device_info(multicast_only.device(dev["ip"])) == [], dev["persona"]  # anonymous: refused
        assert _device_info(run.device(dev["ip"])), dev["persona"]  # with the user's credentials: answered
    text = (tmp_path / "r.json").read_text() + run.stdout + run.stderr
    assert secret not in text
