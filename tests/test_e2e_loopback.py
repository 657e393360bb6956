"""End to end, any user: the real command scans the loopback lab and names every persona's maker."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.e2ekit import HOST_TIMEOUT, ScanRun, lab_args, mismatches, run_scan, validate


@pytest.fixture(scope="module")
def scanned(loopback_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    out = tmp_path_factory.mktemp("e2e") / "report.json"
    return run_scan(lab_args(loopback_lab), out)


def test_every_persona_gets_its_expected_verdict(scanned: ScanRun, loopback_lab: dict[str, Any]) -> None:
    assert scanned.report, scanned.stderr
    assert mismatches(scanned, loopback_lab) == []


def test_report_is_schema_valid_and_exit_code_says_watchlisted(scanned: ScanRun) -> None:
    validate(scanned.report)
    assert scanned.code == 1  # the lab holds watchlisted makers
    assert scanned.report["scan"]["mac_method"].endswith("file")


def test_relabels_name_brand_and_maker(scanned: ScanRun, loopback_lab: dict[str, Any]) -> None:
    relabels = [
        d
        for d in loopback_lab["devices"]
        if d["expect"].get("brand") and d["expect"]["brand"] != d["expect"].get("manufacturer")
    ]
    assert len(relabels) >= 6
    for dev in relabels:
        got = scanned.device(dev["ip"])
        assert got is not None
        assert (got["brand"], got["manufacturer"]) == (dev["expect"]["brand"], dev["expect"]["manufacturer"])
        assert got["watchlisted"] == dev["expect"]["watchlisted"]
        if got["watchlisted"]:
            assert any("recognised by" in hit["reason"] for hit in got["watchlist"])


def test_no_non_camera_is_flagged(scanned: ScanRun) -> None:
    for dev in scanned.report["devices"]:
        if not dev["is_camera"]:
            assert not dev["watchlisted"], dev["ip"]


def test_hostile_devices_neither_crash_nor_stall_the_scan(
    scanned: ScanRun, loopback_lab: dict[str, Any]
) -> None:
    hostile = [d for d in loopback_lab["devices"] if d["persona"].startswith("hostile")]
    assert len(hostile) >= 4
    for dev in hostile:
        got = scanned.device(dev["ip"])
        assert got is not None, f"{dev['persona']} vanished from the report"
        assert got["manufacturer"] is None
    assert not scanned.report["scan"]["deadline_hit"]
    assert scanned.report["coverage"]["errors"] == 0
    # Every host is probed in parallel: the slowest (hostile) host bounds the probing time.
    assert scanned.seconds < HOST_TIMEOUT + 15


def test_quiet_cron_run_prints_nothing_and_writes_csv(loopback_lab: dict[str, Any], tmp_path: Path) -> None:
    ips = [d["ip"] for d in loopback_lab["devices"]][:6]
    args = [
        f"{ips[0]}-{ips[-1].rsplit('.', 1)[1]}",
        "--no-arp",
        "--quiet",
        "--csv",
        str(tmp_path / "site.csv"),
    ]
    if loopback_lab["port_map"]:
        args += ["--port-map", ",".join(f"{k}={v}" for k, v in loopback_lab["port_map"].items())]
    run = run_scan(args, tmp_path / "site.json")
    assert run.stdout == "" and run.stderr == ""
    rows = list(csv.DictReader(io.StringIO((tmp_path / "site.csv").read_text())))
    assert {r["ip"] for r in rows} == {d["ip"] for d in run.report["devices"]}


def test_pipe_gets_a_summary_and_one_line_per_watchlisted_device(
    loopback_lab: dict[str, Any], tmp_path: Path
) -> None:
    run = run_scan(lab_args(loopback_lab), tmp_path / "r.json")
    lines = run.stdout.splitlines()
    assert lines[0].startswith("camscan: ")
    flagged = [d for d in run.report["devices"] if d["watchlisted"]]
    assert len([ln for ln in lines if ln.startswith("WATCHLISTED ")]) == len(flagged) > 0
    assert "\x1b" not in run.stdout  # no table or colours into a pipe


def test_a_host_named_on_the_command_line_goes_by_that_name(tmp_path: Path) -> None:
    run = run_scan(["localhost", "--ports", "1", "--discovery", "none", "--no-onvif"], tmp_path / "r.json")
    (host,) = run.report["devices"]
    assert host["ip"] == "127.0.0.1" and host["hostname"] == "localhost"
    assert host["hostnames"][0] == {"name": "localhost", "source": "target"}
