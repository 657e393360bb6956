"""--rate is the one pacing number: counted on the wire, no second carries more packets than it allows."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from camlab.counters import PacketCounter
from tests.e2ekit import validate

pytestmark = pytest.mark.netns

RATE = 1500
# A /22 the router drops silently (every address costs the whole liveness check) and a /24 of devices.
TARGETS = ["10.88.16.0/22", "10.88.77.0/24"]


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
    out = tmp_path / "r.json"
    config = routed_lab["snmp"]["camscan_config"]["v2c"]
    cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "camscan", "scan", *TARGETS, "--rate", str(RATE),
           "--config", config, "--host-timeout", "4", "--json", str(out), "--quiet"]  # fmt: skip
    samples: list[tuple[float, float, int]] = []
    # What the scanner starts: TCP SYNs (pings, port checks, probe connections), UDP datagrams (discovery,
    # SNMP) and ICMP echo requests, counted by nftables in its namespace.
    with PacketCounter(ns) as counter:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            before = time.monotonic()
            count = counter.count()
            samples.append((before, time.monotonic(), count))
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        samples.append((time.monotonic(), time.monotonic(), counter.count()))
        stderr = proc.stderr.read() if proc.stderr else ""
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
