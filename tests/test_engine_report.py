"""The engine in process: a scan cut short still builds a whole report; progress shows found and left."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from rich.console import Console
from rich.progress import Progress

from camscan.context import Timeouts
from camscan.engine import Knowledge, ScanOptions, Stop, run_scan
from camscan.engine import Progress as EngineProgress
from camscan.fingerprints import FingerprintDB
from camscan.options import parse_port_map
from camscan.report.build import ranges
from camscan.scancmd import RichProgress, progress_columns
from camscan.targets import parse_targets
from camscan.vendors import VendorDB
from camscan.watchlist import select


def knowledge() -> Knowledge:
    vendors = VendorDB.builtin()
    return Knowledge(FingerprintDB.load([], vendor_ids=vendors.ids()), vendors, select([], vendors))


def options(manifest: dict[str, Any], count: int, **kw: Any) -> ScanOptions:
    ips = [d["ip"] for d in manifest["devices"]][:count]
    port_map = ",".join(f"{k}={v}" for k, v in manifest["port_map"].items())
    return ScanOptions(
        targets=parse_targets([f"{ips[0]}-{ips[-1].rsplit('.', 1)[1]}"]),
        port_map=parse_port_map(port_map) if port_map else {},
        arp=False,
        **kw,
    )


class Recorder(EngineProgress):
    def __init__(self) -> None:
        self.stages: list[tuple[str, int]] = []
        self.statuses: list[str] = []

    def stage(self, name: str, total: int) -> None:
        self.stages.append((name, total))

    def status(self, text: str) -> None:
        self.statuses.append(text)


def test_ranges_name_first_and_last_address() -> None:
    intervals = [(167772161, 167772163), (167772170, 167772170), (167772172, 167772173)]
    assert ranges(intervals) == ["10.0.0.1-10.0.0.3", "10.0.0.10", "10.0.0.12-10.0.0.13"]
    assert ranges([]) == []


def test_progress_names_hosts_found_and_addresses_left(loopback_lab: dict[str, Any]) -> None:
    rec = Recorder()
    report = asyncio.run(run_scan(options(loopback_lab, 8, discovery=()), knowledge(), rec))
    assert report.complete
    assert [name for name, _ in rec.stages] == ["scanning", "probing"]
    assert rec.statuses[-1] == "8 hosts found, 8 probed, 0 addresses left"


def test_rich_progress_shows_found_left_and_eta() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=140)

    with Progress(*progress_columns(), console=console, auto_refresh=False) as bar:
        shown = RichProgress(bar)
        shown.stage("discovery", 100)
        shown.advance(40)
        shown.status("7 hosts found, 60 addresses left")
        bar.refresh()
    text = screen.getvalue()
    assert "40/100" in text and "7 hosts found, 60 addresses left" in text and "eta" in text


def test_a_stop_before_the_sweep_ends_gives_a_report_of_what_was_found(loopback_lab: dict[str, Any]) -> None:
    stop = Stop()

    async def scan_then_stop() -> Any:
        scan = asyncio.ensure_future(
            run_scan(options(loopback_lab, 63, timeouts=Timeouts(host=60, probe=30)), knowledge(), stop=stop)
        )
        await asyncio.sleep(3)
        stop.request("SIGTERM")
        return await scan

    report = asyncio.run(scan_then_stop())
    assert report.interrupted == "SIGTERM" and not report.deadline_hit and not report.complete
    assert report.devices and any(d.watchlisted for d in report.devices)
    assert report.coverage.unfinished.hosts >= 1


def test_the_deadline_in_process_marks_the_report(loopback_lab: dict[str, Any]) -> None:
    opts = options(loopback_lab, 63, timeouts=Timeouts(host=60, probe=30, scan=3))
    report = asyncio.run(run_scan(opts, knowledge()))
    assert report.deadline_hit and report.interrupted is None and not report.coverage.complete
    hostile = {d["ip"] for d in loopback_lab["devices"] if d["persona"].startswith("hostile")}
    assert set(report.coverage.unfinished.host_ips) <= hostile | {d.ip for d in report.devices}
