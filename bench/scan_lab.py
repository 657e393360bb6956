"""Benchmark: scan a 200-device namespace lab with camscan and, where installed, with nmap; same scoring.

Run as root: `make bench` (or `.venv/bin/python bench/scan_lab.py --count 200`). Traffic stays inside the
lab's own network namespaces. Prints wall time, peak RSS, hosts found and maker accuracy side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import (
    camscan_predictions,
    expected,
    in_ns,
    measure,
    nmap_predictions,
    nmap_version,
    ports_missed,
    score,
    wsdd_hosts,
)

from camlab import netns
from camscan.context import DEFAULT_PORTS
from camscan.vendors import VendorDB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--prefix", default="csbench")
    ap.add_argument("--subnet", default="10.79.0.0/24")
    ap.add_argument("--no-nmap", action="store_true")
    ap.add_argument("--no-camscan", action="store_true")
    ap.add_argument(
        "--no-nmap-full", action="store_true", help="skip the full nmap -sV (it can take half an hour)"
    )
    ap.add_argument("--nmap-budget", type=float, default=1800.0, help="stop nmap -sV after this many seconds")
    ap.add_argument("--scan-args", default="", help="extra camscan scan arguments, e.g. '--discovery none'")
    ap.add_argument("--json", help="also write the numbers here")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/scan_lab.py builds a namespace lab: run it as root (make bench)", file=sys.stderr)
        return 2
    # A SIGTERM (CI timeout, Ctrl-C from a wrapper) must still tear the lab down in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    vendors = VendorDB.builtin()
    ports = ",".join(map(str, DEFAULT_PORTS))
    work = Path(tempfile.mkdtemp(prefix="camscan-bench-"))
    state = work / "lab"
    t0 = time.monotonic()
    manifest = netns.up(a.prefix, a.subnet, count=a.count, state_dir=state)
    lab_seconds = time.monotonic() - t0
    scanner = manifest["scanner_netns"]
    truth = expected(manifest)
    results: dict[str, Any] = {"devices": a.count, "lab_up_seconds": round(lab_seconds, 2), "tools": {}}
    try:
        if not a.no_camscan:
            report_path = work / "camscan.json"
            scan = [
                "-m",
                "camscan",
                "scan",
                a.subnet,
                "--json",
                str(report_path),
                "--quiet",
                *shlex.split(a.scan_args),
            ]
            cmd = in_ns(scanner, sys.executable, *scan)
            cam = measure("camscan", cmd)
            report = json.loads(report_path.read_text())
            timing = report["scan"].get("timing", {})
            results["tools"]["camscan scan"] = {
                "seconds": round(cam.seconds, 2),
                "peak_rss_mb": round(cam.peak_rss_mb, 1),
                **score(*camscan_predictions(report), truth),
                "ports_missed": ports_missed(report, manifest["devices"], DEFAULT_PORTS),
                "timing": timing,
                "discovery": report["scan"].get("discovery", []),
            }
        if not a.no_nmap and shutil.which("nmap"):
            sn = measure(
                "nmap -sn", in_ns(scanner, "nmap", "-sn", "-n", a.subnet, "-oX", str(work / "sn.xml"))
            )
            sn_found = nmap_predictions(work / "sn.xml", vendors)[1]
            results["tools"]["nmap -sn"] = {
                "seconds": round(sn.seconds, 2),
                "peak_rss_mb": round(sn.peak_rss_mb, 1),
                "found": len(sn_found & truth.keys()),
                "devices": len(truth),
            }
            if not a.no_nmap_full:
                sv_cmd = in_ns(
                    scanner, "nmap", "-sV", "-n", "-p", ports, "-T4", a.subnet, "-oX", str(work / "sv.xml")
                )
                sv = measure("nmap -sV", sv_cmd, budget=a.nmap_budget)
                finished = sv.seconds <= a.nmap_budget
                results["tools"]["nmap -sV -T4"] = {
                    "seconds": round(sv.seconds, 2) if finished else f">{a.nmap_budget:.0f} (stopped)",
                    "peak_rss_mb": round(sv.peak_rss_mb, 1),
                    **(score(*nmap_predictions(work / "sv.xml", vendors), truth) if finished else {}),
                }
            light_args = [
                "-sV",
                "--version-light",
                "-n",
                "-p",
                ports,
                "-T4",
                "--host-timeout",
                "60s",
                a.subnet,
            ]
            light_cmd = in_ns(scanner, "nmap", *light_args, "-oX", str(work / "light.xml"))
            light = measure("nmap light", light_cmd, budget=a.nmap_budget)
            if light.seconds <= a.nmap_budget:
                results["tools"]["nmap -sV light"] = {
                    "seconds": round(light.seconds, 2),
                    "peak_rss_mb": round(light.peak_rss_mb, 1),
                    **score(*nmap_predictions(work / "light.xml", vendors), truth),
                }
            wsdd_args = ["-sn", "-n", "-e", manifest["interface"], "--script", "broadcast-wsdd-discover"]
            wsd = measure("nmap wsdd", in_ns(scanner, "nmap", *wsdd_args, "-oX", str(work / "wsdd.xml")))
            wsd_hosts, undecoded = wsdd_hosts(work / "wsdd.xml")
            wsd_found = wsd_hosts & truth.keys()
            onvif_truth = {ip for ip, exp in truth.items() if "wsdiscovery" in exp.get("channels", [])}
            results["tools"]["nmap wsdd"] = {
                "seconds": round(wsd.seconds, 2),
                "peak_rss_mb": round(wsd.peak_rss_mb, 1),
                "found": len(wsd_found),
                "devices": len(onvif_truth) or len(truth),
                "replies_not_decoded": undecoded,
            }
            results["nmap_version"] = nmap_version()
        elif not a.no_nmap:
            results["nmap"] = "not installed (apt-get install nmap, or make bench as root installs it)"
    finally:
        netns.down(a.prefix, state)
        shutil.rmtree(work, ignore_errors=True)
    print_table(results)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_table(results: dict[str, Any]) -> None:
    print("nmap -sV light = -sV --version-light -T4 --host-timeout 60s (hosts that time out are dropped)")
    print(
        f"lab: {results['devices']} devices, built in {results['lab_up_seconds']} s"
        + (f"; {results['nmap_version']}" if "nmap_version" in results else "")
    )
    header = (
        f"{'tool':<16}{'wall s':>8}{'peak RSS MB':>13}{'found':>9}{'maker accuracy':>16}{'named makers':>14}"
    )
    print(header + f"{'accuracy, banner-only personas':>32}")
    for name, r in results["tools"].items():
        acc = f"{r['maker_accuracy'] * 100:.1f} %" if "maker_accuracy" in r else "-"
        found = f"{r['found']}/{r['devices']}" if "found" in r else "-"
        named = r.get("named_makers_right", "-")
        plain = "-"
        if "banner_only_accuracy" in r:
            plain = f"{r['banner_only_accuracy'] * 100:.1f} % of {r['banner_only_devices']}"
        print(f"{name:<16}{r['seconds']!s:>8}{r['peak_rss_mb']:>13}{found:>9}{acc:>16}{named:>14}{plain:>32}")
    wsdd = results["tools"].get("nmap wsdd")
    if wsdd:
        print(
            f"nmap wsdd: {wsdd['found']} ONVIF devices decoded; {wsdd['replies_not_decoded']} replies heard "
            "but not decoded (nmap 7.93 drops MessageIDs without 'urn:', nmap#3123)"
        )
    cam = results["tools"].get("camscan scan")
    if cam and "ports_missed" in cam:
        print(f"camscan: camera ports listening but not reported open: {cam['ports_missed']}")
    if cam and cam.get("timing"):
        t = cam["timing"]
        probes = t.get("probe_seconds", {})
        total = sum(probes.values()) or 1.0
        share = ", ".join(
            f"{k} {v / total * 100:.0f} %" for k, v in sorted(probes.items(), key=lambda kv: -kv[1])
        )
        print(
            f"camscan: discovery listeners {t.get('discovery_seconds')} s, "
            f"whole scan {t.get('elapsed_seconds')} s; share of probe time: {share}"
        )
        for d in cam.get("discovery", []):
            print(
                f"  {d['probe']:<12} {d['status']:<8} hosts {d['hosts']:>4}  sent {d['sent']:>5}  "
                f"received {d['received']:>5}  {d['elapsed']} s"
            )
    if "nmap" in results:
        print(f"nmap: {results['nmap']}")


if __name__ == "__main__":
    sys.exit(main())
