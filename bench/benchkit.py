"""What the benchmarks share: measuring a command in a namespace, and scoring hosts found and makers named."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET  # parses nmap's own output file, not network input
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camscan.vendors import VendorDB


@dataclass
class Run:
    """One measured command."""

    name: str
    seconds: float
    peak_rss_mb: float
    code: int
    hung: bool = False  # it finished its work but had to be killed to exit


def in_ns(netns: str, *cmd: str) -> list[str]:
    """A command run inside the lab's scanner namespace."""
    return ["ip", "netns", "exec", netns, *cmd]


def nmap_version() -> str:
    """The first line of `nmap --version`, for the benchmark's header."""
    out = subprocess.run(
        ["nmap", "--version"],  # noqa: S607 -- nmap from PATH, as the user would run it
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return out.splitlines()[0] if out else "nmap (version unknown)"


def measure(name: str, cmd: list[str], budget: float | None = None, done_marker: bytes | None = None) -> Run:
    """Run a command; wall time and the peak RSS of it and its children (wait4); killed after `budget` s.

    `done_marker`: stderr text that means the tool has finished but may not exit (masscan's countdown
    going negative, robertdavidgraham/masscan#144 and #558); the clock stops when it appears, the tool
    is killed, and the run is marked `hung`."""
    started = time.monotonic()
    seconds: float | None = None
    # stderr goes to a file, not a pipe: nmap's timing warnings and masscan's status line would fill
    # an unread pipe and block the tool on its next write, which the clock would then count
    with tempfile.TemporaryFile() as err:
        # camscan, nmap or masscan with arguments the bench built (no shell, no outside input)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)  # noqa: S603
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            over = budget is not None and time.monotonic() - started > budget
            if over or (done_marker is not None and done_marker in _tail(err.fileno())):
                seconds = None if over else time.monotonic() - started
                if over:
                    proc.terminate()
                else:
                    proc.kill()  # a hung masscan ignores SIGINT and SIGTERM
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        hung = seconds is not None
        seconds = seconds if seconds is not None else time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if budget is not None and seconds > budget:
            print(f"{name} did not finish within {budget:.0f} s: stopped", file=sys.stderr)
        elif hung:
            print(f"{name} finished after {seconds:.1f} s but did not exit: killed", file=sys.stderr)
        elif proc.returncode not in (0, 1):
            tail = _tail(err.fileno(), 800).decode(errors="replace")
            print(f"{name} exited {proc.returncode}: {tail}", file=sys.stderr)
    return Run(name, seconds, usage.ru_maxrss / 1024, proc.returncode, hung)


def _tail(fd: int, size: int = 256) -> bytes:
    """The last `size` bytes written to a file."""
    end = os.fstat(fd).st_size
    return os.pread(fd, size, max(0, end - size))


def expected(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["ip"]: d["expect"] for d in manifest["devices"]}


def _accuracy(predicted: dict[str, str | None], found: set[str], truth: dict[str, dict[str, Any]]) -> float:
    right = sum(
        1 for ip, exp in truth.items() if ip in found and predicted.get(ip) == exp.get("manufacturer")
    )
    return right / len(truth) if truth else 0.0


def score(
    predicted: dict[str, str | None], found: set[str], truth: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Hosts found and makers right (a host not found counts as wrong); also over the personas whose maker
    shows without the discovery protocols (what a `--discovery none --no-onvif` scan can know)."""
    named = [ip for ip, exp in truth.items() if exp.get("manufacturer")]
    named_right = sum(1 for ip in named if ip in found and predicted.get(ip) == truth[ip]["manufacturer"])
    plain = {ip: exp for ip, exp in truth.items() if not exp.get("needs_discovery")}
    return {
        "found": len(found & truth.keys()),
        "devices": len(truth),
        "maker_accuracy": _accuracy(predicted, found, truth),
        "named_makers_right": f"{named_right}/{len(named)}",
        "banner_only_accuracy": _accuracy(predicted, found, plain),
        "banner_only_devices": len(plain),
    }


def camscan_predictions(report: dict[str, Any]) -> tuple[dict[str, str | None], set[str]]:
    return {d["ip"]: d["manufacturer"] for d in report["devices"]}, {d["ip"] for d in report["devices"]}


def ports_missed(report: dict[str, Any], devices: list[dict[str, Any]], ports: tuple[int, ...]) -> int:
    """Camera ports these lab devices listen on that the report does not list open (a port check lost)."""
    listed = {d["ip"]: set(d["open_ports"]) for d in report["devices"]}
    return sum(len((set(dev["ports"]) & set(ports)) - listed.get(dev["ip"], set())) for dev in devices)


def nmap_predictions(xml_path: Path, vendors: VendorDB) -> tuple[dict[str, str | None], set[str]]:
    """nmap's maker for each host: its service product strings first, then its MAC vendor, as vendor ids."""
    predicted: dict[str, str | None] = {}
    found: set[str] = set()
    root = ET.parse(xml_path).getroot()  # noqa: S314 -- nmap's own -oX output, written by this run
    for host in root.iter("host"):
        status = host.find("status")
        if status is None or status.get("state") != "up":
            continue
        ip = next((a.get("addr") for a in host.iter("address") if a.get("addrtype") == "ipv4"), None)
        if ip is None:
            continue
        found.add(ip)
        maker = None
        for svc in host.iter("service"):
            for attr in ("product", "extrainfo", "devicetype", "hostname"):
                text = svc.get(attr)
                if text and maker is None:
                    maker = vendors.from_name(text) or _first_word_vendor(text, vendors)
        if maker is None:
            mac_vendor = next(
                (a.get("vendor") for a in host.iter("address") if a.get("addrtype") == "mac"), None
            )
            maker = vendors.from_name(mac_vendor) if mac_vendor else None
        if maker is not None:
            maker = vendors.maker_of(maker)
        predicted[ip] = maker
    return predicted, found


def wsdd_hosts(xml_path: Path) -> tuple[set[str], int]:
    """Addresses nmap's broadcast-wsdd-discover decoded, and how many replies it heard but could not decode
    (nmap 7.93 drops ProbeMatches whose MessageID lacks 'urn:', nmap#3123)."""
    root = ET.parse(xml_path).getroot()  # noqa: S314 -- nmap's own -oX output, written by this run
    text = "".join(el.get("output", "") for el in root.iter("script"))
    undecoded = text.count("Failed to decode response")
    return set(re.findall(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b", text)) - {"239.255.255.250"}, undecoded


def _first_word_vendor(text: str, vendors: VendorDB) -> str | None:
    # nmap products read like "Hikvision IPCam control port" or "Dahua Rtsp Server": try the leading word.
    word = text.split()[0] if text.split() else ""
    return vendors.from_name(word) if len(word) > 2 else None
