"""Run the real `camscan scan` against a lab and compare its report with the personas' expectations."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from camscan.report import load_schema

VERDICT_KEYS = ("manufacturer", "brand", "is_camera", "device_type", "watchlisted")
DETAIL_KEYS = ("model", "firmware", "serial")
HOST_TIMEOUT = 4.0


@dataclass
class ScanRun:
    """One finished scan: exit code, report, output and wall time."""

    code: int
    report: dict[str, Any]
    stdout: str
    stderr: str
    seconds: float

    def device(self, ip: str) -> dict[str, Any] | None:
        return next((d for d in self.report["devices"] if d["ip"] == ip), None)


def lab_args(manifest: dict[str, Any]) -> list[str]:
    """Scan options for a loopback lab: its addresses, no ARP, its port map and MACs, short timeouts."""
    ips = [d["ip"] for d in manifest["devices"]]
    args = [
        f"{ips[0]}-{ips[-1].rsplit('.', 1)[1]}",
        "--no-arp",
        "--host-timeout",
        str(HOST_TIMEOUT),
        "--probe-timeout",
        "2",
        "--deadline",
        "60",
    ]
    if manifest["port_map"]:
        args += ["--port-map", ",".join(f"{k}={v}" for k, v in manifest["port_map"].items())]
    if manifest["macs_file"]:
        args += ["--macs", manifest["macs_file"]]
    return args


def heard_by(run: ScanRun, ip: str, probe: str) -> bool:
    """Whether a discovery probe's reply from this host made it into the report."""
    dev = run.device(ip)
    return dev is not None and any(p["probe"] == probe and p["status"] == "ok" for p in dev["probes"])


def run_scan(
    args: list[str], out: Path, netns: str | None = None, user: str | None = None, timeout: float = 120.0
) -> ScanRun:
    """`camscan scan ARGS --json OUT`, optionally inside a namespace and as another user."""
    cmd = [sys.executable, "-m", "camscan", "scan", *args, "--json", str(out)]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--inh-caps=-all", *cmd]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - started
    report = json.loads(out.read_text()) if out.exists() else {}
    return ScanRun(proc.returncode, report, proc.stdout, proc.stderr, seconds)


def validate(report: dict[str, Any]) -> None:
    """The report follows the published schema."""
    jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker()).validate(report)


def mismatches(
    run: ScanRun, manifest: dict[str, Any], *, have_macs: bool = True, discovery: bool = True
) -> list[str]:
    """Every persona whose reported verdict (and model, firmware, serial) differs from what it expects."""
    problems = []
    for dev in manifest["devices"]:
        expect = dev["expect"]
        if (expect.get("needs_mac") and not have_macs) or (expect.get("needs_discovery") and not discovery):
            continue
        got = run.device(dev["ip"])
        if got is None:
            problems.append(f"{dev['persona']} ({dev['ip']}): not in the report")
            continue
        for key in VERDICT_KEYS:
            if key in expect and expect[key] is not None and got[key] != expect[key]:
                problems.append(
                    f"{dev['persona']} ({dev['ip']}): {key} {got[key]!r}, expected {expect[key]!r}"
                )
            elif key in ("manufacturer", "brand") and key in expect and expect[key] is None and got[key]:
                problems.append(f"{dev['persona']} ({dev['ip']}): {key} {got[key]!r}, expected none")
        for key in DETAIL_KEYS if discovery else ():
            if expect.get(key) and got[key] != expect[key]:
                problems.append(
                    f"{dev['persona']} ({dev['ip']}): {key} {got[key]!r}, expected {expect[key]!r}"
                )
    return problems
