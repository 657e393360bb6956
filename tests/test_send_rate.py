"""--rate is the one pacing number: counted on the wire, no second carries more packets than it allows."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2ekit import validate

pytestmark = pytest.mark.netns

RATE = 1500
# A /22 the router drops silently (every address costs the whole liveness check) and a /24 of devices.
TARGETS = ["10.88.16.0/22", "10.88.77.0/24"]
TABLE = "camscan_rate_test"
# What the scanner starts: TCP SYNs (pings, port checks, probe connections), UDP datagrams (discovery,
# SNMP) and ICMP echo requests. Answers to what others started (RST, ACK, echo replies) are not counted.
RULES = f"""
table inet {TABLE} {{
    counter sent {{ }}
    chain out {{
        type filter hook output priority 0; policy accept;
        tcp flags & (syn | ack) == syn counter name "sent"
        meta l4proto udp counter name "sent"
        icmp type echo-request counter name "sent"
    }}
}}
"""


def _nft(ns: str, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, "nft", *args], input=stdin, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _count(ns: str) -> int:
    data = json.loads(_nft(ns, "-j", "list", "counter", "inet", TABLE, "sent"))
    return int(next(item["counter"]["packets"] for item in data["nftables"] if "counter" in item))


def _busiest_second(samples: list[tuple[float, float, int]]) -> tuple[int, float]:
    """Most packets counted between two samples that are surely within one second of each other.

    A sample is (taken before, taken after, count): the counter was read somewhere in between, so a pair
    whose later "after" is within 1 s of the earlier "before" spans at most one second of the wire."""
    most, span = 0, 0.0
    for i, (before, _, first) in enumerate(samples):
        for _, after, last in samples[i + 1 :]:
            if after - before > 1.0:
                break
            if last - first > most:
                most, span = last - first, after - before
    return most, span


def test_the_measured_send_rate_never_exceeds_rate(routed_lab: dict[str, Any], tmp_path: Path) -> None:
    ns = routed_lab["scanner_netns"]
    _nft(ns, "-f", "-", stdin=RULES)
    out = tmp_path / "r.json"
    config = routed_lab["snmp"]["camscan_config"]["v2c"]
    cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "camscan", "scan", *TARGETS, "--rate", str(RATE),
           "--config", config, "--host-timeout", "4", "--json", str(out), "--quiet"]  # fmt: skip
    samples: list[tuple[float, float, int]] = []
    try:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            before = time.monotonic()
            count = _count(ns)
            samples.append((before, time.monotonic(), count))
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        samples.append((time.monotonic(), time.monotonic(), _count(ns)))
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        _nft(ns, "delete", "table", "inet", TABLE)
    assert proc.returncode == 1, stderr  # the /24 holds watchlisted cameras
    report = json.loads(out.read_text())
    validate(report)
    total = samples[-1][2]
    addresses = report["coverage"]["addresses"]
    assert total >= addresses * 8  # ICMP, 3 TCP pings and 4 discovery requests for every address at least
    most, span = _busiest_second(samples)
    assert most <= RATE, f"{most} packets within {span:.3f} s at --rate {RATE}"
    # Not a vacuous pass: for a while at least, the sweep sent as fast as the rate let it.
    assert most >= RATE * 0.8, f"at most {most} packets in a second ({total} in {elapsed:.1f} s)"
