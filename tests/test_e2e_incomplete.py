"""A scan that does not finish (deadline, SIGINT, SIGTERM) still reports what it found, and never exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2ekit import mismatches, run_scan, validate

# The hostile personas hold their probes for as long as they are allowed: with these timeouts they are still
# being probed when the deadline passes, while every normal device has long been identified.
HOLD = ["--host-timeout", "60", "--probe-timeout", "30"]


def lab_args(manifest: dict[str, Any], ips: list[str] | None = None) -> list[str]:
    ips = ips or [f"{manifest['devices'][0]['ip']}-{manifest['devices'][-1]['ip'].rsplit('.', 1)[1]}"]
    args = [*ips, "--no-arp", *HOLD]
    if manifest["port_map"]:
        args += ["--port-map", ",".join(f"{k}={v}" for k, v in manifest["port_map"].items())]
    if manifest["macs_file"]:
        args += ["--macs", manifest["macs_file"]]
    return args


def hostile_ips(manifest: dict[str, Any]) -> set[str]:
    return {d["ip"] for d in manifest["devices"] if d["persona"].startswith("hostile")}


def identified_only(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without the hostile personas (their probes were cut short on purpose)."""
    return {**manifest, "devices": [d for d in manifest["devices"] if not d["persona"].startswith("hostile")]}


def test_deadline_lists_the_hosts_already_identified_and_exits_1_for_watchlisted(
    loopback_lab: dict[str, Any], tmp_path: Path
) -> None:
    run = run_scan([*lab_args(loopback_lab), "--deadline", "8"], tmp_path / "r.json")
    validate(run.report)
    assert run.code == 1, run.stderr
    scan, coverage = run.report["scan"], run.report["coverage"]
    assert scan["deadline_hit"] and not scan["complete"] and scan["interrupted"] is None
    assert not coverage["complete"]
    assert mismatches(run, identified_only(loopback_lab)) == []
    pending = set(coverage["unfinished"]["host_ips"])
    assert pending and pending <= hostile_ips(loopback_lab)
    assert coverage["unfinished"]["hosts"] == len(pending)
    assert "incomplete: the scan deadline (8 s) passed" in run.stderr
    assert "Traceback" not in run.stderr


def test_deadline_with_nothing_watchlisted_exits_4_even_when_quiet(
    loopback_lab: dict[str, Any], tmp_path: Path
) -> None:
    clean = [d["ip"] for d in loopback_lab["devices"] if not d["expect"].get("watchlisted")]
    run = run_scan([*lab_args(loopback_lab, clean), "--deadline", "6", "--quiet"], tmp_path / "r.json")
    validate(run.report)
    assert run.code == 4, run.stderr
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and "incomplete" in run.stderr
    assert not any(d["watchlisted"] for d in run.report["devices"])
    assert hostile_ips(loopback_lab) & {d["ip"] for d in run.report["devices"]}


def test_deadline_during_the_sweep_reports_the_unprobed_ranges_without_a_traceback(tmp_path: Path) -> None:
    # 65,534 loopback addresses x 10 ports cannot be swept in 2 s: the deadline cuts the TCP sweep itself.
    run = run_scan(
        ["127.93.0.0/16", "--no-arp", "--discovery", "none", "--deadline", "2"], tmp_path / "r.json"
    )
    validate(run.report)
    assert run.code == 4 and "Traceback" not in run.stderr
    unfinished = run.report["coverage"]["unfinished"]
    assert unfinished["addresses"] > 60_000
    assert unfinished["address_ranges"] and all(r.startswith("127.93.") for r in unfinished["address_ranges"])
    assert "never probed" not in run.stderr and "not probed to the end" in run.stderr


def _handler_installed(pid: int, sig: signal.Signals) -> bool:
    """Whether the process catches `sig` yet (SigCgt in /proc): camscan sets its handlers before scanning."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (sig - 1)))


def _scan_then_signal(
    args: list[str], out: Path, sig: signal.Signals, times: int
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "camscan", "scan", *args, "--json", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    while not _handler_installed(proc.pid, signal.SIGTERM) and time.monotonic() - started < 30:
        time.sleep(0.05)
    time.sleep(4)  # normal devices identified; hostile ones still held
    for _ in range(times):
        os.kill(proc.pid, sig)
        time.sleep(0.01)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_gives_a_complete_report_marked_interrupted(
    sig: signal.Signals, loopback_lab: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    done = _scan_then_signal([*lab_args(loopback_lab), "--deadline", "120"], out, sig, times=1)
    report = json.loads(out.read_text())
    validate(report)
    assert done.returncode == 1, done.stderr  # watchlisted devices were found before the signal
    assert report["scan"]["interrupted"] == sig.name and not report["scan"]["complete"]
    assert f"stopped by {sig.name}" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_leaves_a_complete_report_or_none(
    sig: signal.Signals, loopback_lab: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    done = _scan_then_signal([*lab_args(loopback_lab), "--deadline", "120"], out, sig, times=2)
    assert done.returncode in (1, 3), done.stderr
    assert "Traceback" not in done.stderr
    left = sorted(p.name for p in tmp_path.iterdir())
    if done.returncode == 3:
        assert left == [] and f"aborted by a second {sig.name}" in done.stderr
    else:
        assert left == ["r.json"]
        validate(json.loads(out.read_text()))
