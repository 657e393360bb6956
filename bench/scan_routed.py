"""Benchmark: a routed /16 (devices on several /24s behind a router, the rest dropped silently), in one run:
camscan beside nmap -sn, nmap -sV on the live hosts' camera ports, and masscan where installed.

Run as root: `make bench-routed` (or `.venv/bin/python bench/scan_routed.py --count 200`). Traffic stays
inside the lab's own network namespaces. Prints wall time, peak RSS, packets per second, live hosts found
and maker accuracy side by side, the floor (addresses x probes / rate), the same for a /20, and whether each
device gets the same verdict in the /16 scan as in a scan of its own /24.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import (
    Run,
    camscan_predictions,
    expected,
    in_ns,
    measure,
    nmap_predictions,
    nmap_version,
    ports_missed,
    score,
)

from camlab import netns, routed
from camlab.counters import PacketCounter
from camscan import defaults
from camscan.vendors import VendorDB

VERDICT = ("manufacturer", "brand", "is_camera", "device_type", "watchlisted")
# Packets camscan sends to an address ARP cannot settle: ICMP echo, one SYN per ping port, and the liveness
# request of WS-Discovery, SADP, DHIP and DVRIP.
PROBES_PER_ADDRESS = 1 + len(defaults.PING_PORTS) + 4


def note(text: str) -> None:
    """A progress line on stderr, so a long run (nmap -sn over a /16 takes most of it) shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def camscan_run(
    name: str, scanner: str, targets: list[str], work: Path, extra: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One camscan scan in the scanner namespace: its numbers and its report."""
    note(f"{name}: camscan scan {' '.join(targets)}")
    out = work / f"{name}.json"
    cmd = in_ns(
        scanner, sys.executable, "-m", "camscan", "scan", *targets, "--json", str(out), "--quiet", *extra
    )
    with PacketCounter(scanner) as counter:
        run = measure(name, cmd)
        packets = counter.count()
    report = json.loads(out.read_text())
    numbers = {
        "seconds": round(run.seconds, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "packets": packets,
        "packets_per_second": round(packets / run.seconds),
        "exit": run.code,
        "complete": report["coverage"]["complete"],
        "addresses": report["coverage"]["addresses"],
        "live": len(report["devices"]),
    }
    return numbers, report


def verdicts(report: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {d["ip"]: tuple(d[k] for k in VERDICT) for d in report["devices"]}


def per_segment_check(
    manifest: dict[str, Any], wide: dict[str, Any], scanner: str, work: Path, extra: list[str]
) -> dict[str, Any]:
    """Scan each device /24 alone and compare every device's verdict with the one of the wide scan."""
    wide_v = verdicts(wide)
    same, differ = 0, []
    for seg in manifest["segments"]:
        _, report = camscan_run(f"seg-{seg['subnet'].split('.')[2]}", scanner, [seg["subnet"]], work, extra)
        for ip, verdict in verdicts(report).items():
            if ip not in {d["ip"] for d in manifest["devices"]}:
                continue  # the router's own interface
            if wide_v.get(ip) == verdict:
                same += 1
            else:
                differ.append({"ip": ip, "alone": verdict, "in_the_16": wide_v.get(ip)})
    return {"same": same, "differ": differ}


def sn_row(run: Run, live: set[str], truth: dict[str, Any]) -> dict[str, Any]:
    """One nmap -sn line of the table; live_hosts is taken out again for the missed-hosts check."""
    return {
        "seconds": round(run.seconds, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "live": len(live),
        "found": len(live & truth.keys()),
        "devices": len(truth),
        "live_hosts": sorted(live),
    }


def nmap_runs(
    manifest: dict[str, Any], scanner: str, work: Path, budget: float, vendors: VendorDB
) -> dict[str, dict[str, Any]]:
    truth = expected(manifest)
    supernet = manifest["supernet"]
    out: dict[str, dict[str, Any]] = {}
    note(f"nmap -sn -T4 {supernet}")
    sn_cmd = in_ns(scanner, "nmap", "-sn", "-n", "-T4", supernet, "-oX", str(work / "sn.xml"))
    sn = measure("nmap -sn", sn_cmd, budget=budget)
    if sn.seconds > budget:  # stopped: its XML is unfinished, so nothing it found can be scored
        out["nmap -sn -T4"] = {"seconds": f">{budget:.0f} (stopped)", "peak_rss_mb": round(sn.peak_rss_mb, 1)}
        # Every live address is on the device /24s (the rest of the /16 is a blackhole route), so
        # nmap -sn on those alone still says which hosts it can find
        segments = [s["subnet"] for s in manifest["segments"]]
        note(f"nmap -sn -T4 on the device /24s {' '.join(segments)}")
        seg_cmd = in_ns(scanner, "nmap", "-sn", "-n", "-T4", *segments, "-oX", str(work / "sn24.xml"))
        sn = measure("nmap -sn /24s", seg_cmd, budget=budget)
        live = nmap_predictions(work / "sn24.xml", vendors)[1]
        out["nmap -sn -T4, the device /24s"] = sn_row(sn, live, truth)
    else:
        live = nmap_predictions(work / "sn.xml", vendors)[1]
        out["nmap -sn -T4"] = sn_row(sn, live, truth)
    (work / "live.txt").write_text("\n".join(sorted(live)) + "\n")
    ports = ",".join(map(str, defaults.PORTS))
    light = ["-sV", "--version-light", "-n", "-Pn", "-p", ports, "-T4", "--host-timeout", "60s"]
    cmd = in_ns(scanner, "nmap", *light, "-iL", str(work / "live.txt"), "-oX", str(work / "sv.xml"))
    note(f"nmap -sV on {len(live)} hosts")
    sv = measure("nmap -sV", cmd, budget=budget)
    if sv.seconds <= budget:
        out["nmap -sV light, live hosts"] = {
            "seconds": round(sv.seconds, 2),
            "peak_rss_mb": round(sv.peak_rss_mb, 1),
            **score(*nmap_predictions(work / "sv.xml", vendors), truth),
        }
    return out


def masscan_records(text: str) -> list[dict[str, Any]]:
    """masscan's -oJ list; from a masscan that had to be killed, the records it had written whole."""
    try:
        records: list[dict[str, Any]] = json.loads(text or "[]")
    except json.JSONDecodeError:  # killed: the list is cut, and what it still buffered is lost
        whole = text[: text.rfind("}\n,\n") + 1]
        records = json.loads(whole + "\n]") if whole else []
    return records


def masscan_run(
    manifest: dict[str, Any], scanner: str, work: Path, rate: float, budget: float
) -> dict[str, Any] | None:
    if shutil.which("masscan") is None:
        return None
    router = manifest["router"]["transit_ip"]
    ports = ",".join(map(str, defaults.PORTS))
    args = ["-p", ports, "--rate", str(int(rate)), "-e", manifest["interface"], "--router-ip", router]
    cmd = in_ns(scanner, "masscan", manifest["supernet"], *args, "--wait", "2", "-oJ", str(work / "m.json"))
    note("masscan")
    run = measure("masscan", cmd, budget=budget, done_marker=b"waiting -")
    if run.seconds > budget:  # stopped: its JSON list is unfinished
        return {"seconds": f">{budget:.0f} (stopped)", "peak_rss_mb": round(run.peak_rss_mb, 1)}
    text = (work / "m.json").read_text() if (work / "m.json").exists() else "[]"
    hosts = {item["ip"] for item in masscan_records(text)}
    truth = expected(manifest)
    addresses = ipaddress.IPv4Network(manifest["supernet"]).num_addresses
    return {
        "seconds": round(run.seconds, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        # masscan#144: a masscan that never exits loses the records it still buffered; found is a floor
        "hung": run.hung,
        "found": len(hosts & truth.keys()),
        "devices": len(truth),
        "live": len(hosts),
        "floor_seconds": round(addresses * len(defaults.PORTS) / rate, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200, help="devices (default 200)")
    ap.add_argument("--segments", type=int, default=4, help="device /24s in the /16 (default 4)")
    ap.add_argument("--prefix", default="csroute")
    ap.add_argument("--no-nmap", action="store_true")
    ap.add_argument("--no-masscan", action="store_true")
    ap.add_argument("--no-per-24", action="store_true", help="skip scanning each /24 alone")
    ap.add_argument(
        "--nmap-budget", type=float, default=3600.0, help="stop each nmap or masscan after this many s"
    )
    ap.add_argument("--scan-args", default="", help="extra camscan scan arguments")
    ap.add_argument("--json", help="also write the numbers here")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print(
            "bench/scan_routed.py builds a namespace lab: run it as root (make bench-routed)", file=sys.stderr
        )
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a SIGTERM still tears the lab down
    work = Path(tempfile.mkdtemp(prefix="camscan-routed-"))
    state = work / "lab"
    t0 = time.monotonic()
    manifest = routed.up(a.prefix, routed.layout(segments=a.segments), count=a.count, state_dir=state)
    scanner = manifest["scanner_netns"]
    truth = expected(manifest)
    vendors = VendorDB.builtin()
    extra = ["--config", manifest["snmp"]["camscan_config"]["v2c"], *a.scan_args.split()]
    rate = defaults.PROFILES[defaults.DEFAULT_PROFILE].rate
    supernet = ipaddress.IPv4Network(manifest["supernet"])
    results: dict[str, Any] = {
        "devices": len(truth),
        "segments": [s["subnet"] for s in manifest["segments"]],
        "supernet": str(supernet),
        "lab_up_seconds": round(time.monotonic() - t0, 2),
        "rate": rate,
        "floor_seconds": round((supernet.num_addresses - 2) * PROBES_PER_ADDRESS / rate, 1),
        "tools": {},
    }
    try:
        numbers, wide = camscan_run("camscan-16", scanner, [str(supernet)], work, extra)
        missed16 = ports_missed(wide, manifest["devices"], defaults.PORTS)
        results["tools"]["camscan /16"] = {
            **numbers,
            **score(*camscan_predictions(wide), truth),
            "ports_missed": missed16,
        }
        results["camscan_timing"] = wide["scan"]["timing"]
        results["camscan_liveness"] = wide["scan"]["liveness"]
        first = ipaddress.IPv4Network(manifest["segments"][0]["subnet"]).supernet(new_prefix=20)
        numbers20, report20 = camscan_run("camscan-20", scanner, [str(first)], work, extra)
        truth20 = {ip: e for ip, e in truth.items() if ipaddress.IPv4Address(ip) in first}
        results["tools"]["camscan /20"] = {**numbers20, **score(*camscan_predictions(report20), truth20)}
        in20 = [d for d in manifest["devices"] if d["ip"] in truth20]
        results["tools"]["camscan /20"]["ports_missed"] = ports_missed(report20, in20, defaults.PORTS)
        results["floor_20_seconds"] = round((first.num_addresses - 2) * PROBES_PER_ADDRESS / rate, 1)
        if not a.no_per_24:
            results["per_24"] = per_segment_check(manifest, wide, scanner, work, extra)
        if not a.no_nmap and shutil.which("nmap"):
            results["tools"].update(nmap_runs(manifest, scanner, work, a.nmap_budget, vendors))
            note(f"nmap -sn -T4 {first}")
            sn20 = measure("nmap -sn /20", in_ns(scanner, "nmap", "-sn", "-n", "-T4", str(first), "-oX",
                                                 str(work / "sn20.xml")))  # fmt: skip
            found20 = nmap_predictions(work / "sn20.xml", vendors)[1]
            results["tools"]["nmap -sn -T4 /20"] = {
                "seconds": round(sn20.seconds, 2),
                "peak_rss_mb": round(sn20.peak_rss_mb, 1),
                "found": len(found20 & truth20.keys()),
                "devices": len(truth20),
            }
            rows = results["tools"].values()
            nmap_live = {host for row in rows for host in row.pop("live_hosts", ())}
            results["nmap_live_missed_by_camscan"] = sorted(nmap_live - {d["ip"] for d in wide["devices"]})
            results["nmap_version"] = nmap_version()
        if not a.no_masscan:
            mass = masscan_run(manifest, scanner, work, rate, a.nmap_budget)
            if mass is not None:
                results["tools"]["masscan"] = mass
    finally:
        netns.down(a.prefix, state)
        shutil.rmtree(work, ignore_errors=True)
    if a.json:  # first, so that the numbers survive a fault in printing them
        Path(a.json).write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    return 0


def print_table(results: dict[str, Any]) -> None:
    print(
        f"routed lab: {results['devices']} devices on {', '.join(results['segments'])} inside "
        f"{results['supernet']} (the rest dropped silently), built in {results['lab_up_seconds']} s"
        + (f"; {results['nmap_version']}" if "nmap_version" in results else "")
    )
    print(
        f"camscan floor: {results['floor_seconds']} s for the /16 and {results.get('floor_20_seconds')} s "
        f"for the /20 (addresses x {PROBES_PER_ADDRESS} packets / {results['rate']:.0f} per s)"
    )
    head = f"{'tool':<28}{'wall s':>8}{'RSS MB':>8}{'pkt/s':>8}{'found':>9}{'live':>6}{'maker accuracy':>16}"
    print(head)
    for name, r in results["tools"].items():
        acc = f"{r['maker_accuracy'] * 100:.1f} %" if "maker_accuracy" in r else "-"
        found = f"{r['found']}/{r['devices']}" if "found" in r else "-"
        pps = str(r.get("packets_per_second", "-"))
        live = str(r.get("live", "-"))
        print(f"{name:<28}{r['seconds']!s:>8}{r['peak_rss_mb']:>8}{pps:>8}{found:>9}{live:>6}{acc:>16}")
    for name, r in results["tools"].items():
        if "ports_missed" in r:
            print(f"{name}: camera ports listening but not reported open: {r['ports_missed']}")
    mass = results["tools"].get("masscan")
    if mass and mass.get("hung"):
        print(
            "masscan did not exit (robertdavidgraham/masscan#144): its time is when its wait ran out, and "
            "found counts only the records it had written"
        )
    if mass and "floor_seconds" in mass:
        print(f"masscan floor: {mass['floor_seconds']} s (addresses x {len(defaults.PORTS)} ports / rate)")
    if "per_24" in results:
        p = results["per_24"]
        print(
            f"same verdict in the /16 as in a scan of its own /24: {p['same']} devices; differ: {p['differ']}"
        )
    if "nmap_live_missed_by_camscan" in results:
        print(f"hosts nmap -sn found that camscan missed: {results['nmap_live_missed_by_camscan'] or 'none'}")
    liveness = results.get("camscan_liveness")
    if liveness:
        print(f"camscan liveness: {liveness}")


if __name__ == "__main__":
    sys.exit(main())
