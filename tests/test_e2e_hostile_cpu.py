"""Devices built to burn CPU (punycode pages, titles that make a backtracking engine loop) beside normal ones:
every normal device keeps its verdict, the scan stays on time, a catastrophic user pattern included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camlab.loopback import ThreadedLab
from tests.e2ekit import ScanRun, run_scan, validate
from tests.labkit import start_loopback_lab
from tests.test_hostile_charset import punycode_page

HOSTILE = 20
# The two patterns: exponential for a backtracking engine on a title of digits that does not match.
CATASTROPHIC = r"""field = "http.title"

[[fingerprint]]
id = "user-digits-camera"
pattern = '^(\d|\d\d)+ Camera$'
claims = { device_type = "camera" }
strength = "weak"
source = "a user's own rule"
examples = [ { value = "12 Camera" } ]
counterexamples = [ "12 Cameras" ]

[[fingerprint]]
id = "user-stars"
pattern = '\d*\d*\d*\d*\d*x'
claims = { device_type = "camera" }
strength = "weak"
source = "a user's own rule"
examples = [ { value = "123x" } ]
counterexamples = [ "123" ]
"""


def _persona(name: str, content_type: str, body: str) -> str:
    return f"""id = "{name}"
description = "CPU-hostile web page"
mac = "02:ba:d0:99:00:00"
source = "authored hostile host"

[[service]]
port = 80
kind = "http"
status = 200
headers = [["Content-Type", "{content_type}"]]
body = '''{body}'''

[expect]
is_camera = false
watchlisted = false
"""


@pytest.fixture(scope="module")
def hostile_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedLab]:
    """Twenty CPU-hostile devices on a /24 of their own: punycode pages and backtracking titles."""
    folder = tmp_path_factory.mktemp("hostile-personas")
    page = punycode_page().decode("ascii")
    (folder / "hostile-punycode.toml").write_text(
        _persona("hostile-punycode", "text/html; charset=punycode", page)
    )
    title = "<html><head><title>" + "1" * 4000 + " Camera!</title></head></html>"
    (folder / "hostile-backtrack.toml").write_text(_persona("hostile-backtrack", "text/html", title))
    lab = start_loopback_lab(tmp_path_factory.mktemp("hostile-lab"), count=HOSTILE, personas=folder)
    try:
        yield lab
    finally:
        lab.stop()


def _args(manifest: dict[str, Any], *ranges: str) -> list[str]:
    args = [*ranges, "--no-arp", "--host-timeout", "4", "--probe-timeout", "2", "--deadline", "60"]
    args += ["--port-map", ",".join(f"{k}={v}" for k, v in manifest["port_map"].items())]
    return [*args, "--macs", manifest["macs_file"]]


def _range(manifest: dict[str, Any]) -> str:
    ips = [d["ip"] for d in manifest["devices"]]
    return f"{ips[0]}-{ips[-1].rsplit('.', 1)[1]}"


def _verdicts(run: ScanRun, ips: set[str]) -> dict[str, tuple[Any, ...]]:
    keys = ("manufacturer", "brand", "is_camera", "device_type", "watchlisted", "model", "firmware")
    return {d["ip"]: tuple(d[k] for k in keys) for d in run.report["devices"] if d["ip"] in ips}


def test_cpu_hostile_devices_change_no_verdict_and_little_time(
    loopback_lab: dict[str, Any], hostile_lab: ThreadedLab, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "http.title.toml").write_text(CATASTROPHIC)
    normal = {d["ip"] for d in loopback_lab["devices"]}
    # the same user rules both times: they are the catastrophic patterns, and they claim what they claim
    alone = run_scan(
        [*_args(loopback_lab, _range(loopback_lab)), "--fingerprints", str(rules)], tmp_path / "a.json"
    )
    started = time.monotonic()
    both = run_scan(
        [
            *_args(loopback_lab, _range(loopback_lab), _range(hostile_lab.manifest)),
            "--fingerprints",
            str(rules),
        ],
        tmp_path / "both.json",
    )
    validate(both.report)
    assert both.report["coverage"]["complete"], both.stderr
    assert _verdicts(both, normal) == _verdicts(alone, normal)
    hostile = [d for d in both.report["devices"] if d["ip"] not in normal]
    assert len(hostile) == HOSTILE and not any(d["watchlisted"] for d in hostile)
    punycode = [p for d in hostile for p in d["probes"] if p["error"] and "punycode" in p["error"]]
    assert punycode  # the probe says it read those pages as Latin-1
    assert time.monotonic() - started < 1.5 * alone.seconds + 1.0, (alone.seconds, both.seconds)


def test_a_catastrophic_user_pattern_on_a_hostile_title_finishes_in_its_deadline(
    hostile_lab: ThreadedLab, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "http.title.toml").write_text(CATASTROPHIC)
    manifest = hostile_lab.manifest
    args = [
        _range(manifest),
        "--no-arp",
        "--deadline",
        "20",
        "--fingerprints",
        str(rules),
        "--discovery",
        "none",
    ]
    args += ["--port-map", ",".join(f"{k}={v}" for k, v in manifest["port_map"].items())]
    run = run_scan(args, tmp_path / "r.json", timeout=60)
    assert run.report["coverage"]["complete"] and run.code == 0, run.stderr
    assert run.seconds < 20
