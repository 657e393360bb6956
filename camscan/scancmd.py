"""What `camscan scan` does once its options are parsed: check every input, run the scan, report, exit."""

from __future__ import annotations

import asyncio
import math
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from camscan import defaults
from camscan.context import Timeouts
from camscan.credentials import onvif_credentials
from camscan.engine import Knowledge, ScanOptions, Stop, run_scan
from camscan.engine import Progress as EngineProgress
from camscan.exitcodes import (
    EXIT_CLEAN,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_REPORT_FAILED,
    EXIT_WATCHLISTED,
)
from camscan.fingerprints import FingerprintDB, FingerprintError
from camscan.models import Report
from camscan.options import (
    DISCOVERY_PROTOCOLS,
    OptionError,
    parse_discovery,
    parse_port_map,
    parse_ports,
    read_mac_file,
)
from camscan.report import render_csv, render_json, render_table, write_atomic
from camscan.report.atomic import check_outputs
from camscan.snmpconfig import SnmpRouter, snmp_routers, weak_protocol_warnings
from camscan.targets import parse_targets
from camscan.vendors import VendorDB
from camscan.watchlist import select

err = Console(stderr=True)


class ScanExit(Exception):
    """How the scan command ends: an exit code, and one line for stderr if there is something to say."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or str(code))
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """The scan command's options as the user gave them (None: not given, the profile decides)."""

    targets: list[str]
    json_out: str | None = None
    csv_out: str | None = None
    ports: str | None = None
    interface: str | None = None
    watchlist: list[str] | None = None
    fingerprints: list[Path] | None = None
    profile: str = defaults.DEFAULT_PROFILE
    rate: float | None = None
    concurrency: int | None = None
    per_host: int | None = None
    connect_timeout: float | None = None
    probe_timeout: float | None = None
    host_timeout: float | None = None
    deadline: float = defaults.SCAN_DEADLINE
    exclude: str | None = None
    exclude_file: Path | None = None
    ping_ports: str | None = None
    icmp: bool = True
    allow_public: bool = False
    max_hosts: int = defaults.MAX_HOSTS
    port_map: str | None = None
    macs: Path | None = None
    arp: bool = True
    multicast: bool = True
    unicast_discovery: bool = True
    discovery: str | None = None
    discovery_wait: float = defaults.DISCOVERY_WAIT
    onvif: bool = True
    reverse_dns: bool = True
    netbios: bool = True
    onvif_user: str | None = None
    onvif_password_file: Path | None = None
    config: Path | None = None
    allow_readable_secrets: bool = False
    table: bool | None = None
    progress: bool | None = None
    quiet: bool = False


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything a scan needs, checked: options, knowledge, SNMP routers."""

    opts: ScanOptions
    know: Knowledge
    routers: tuple[SnmpRouter, ...]


def load_fingerprints(dirs: Sequence[Path], vendors: VendorDB) -> FingerprintDB:
    """Built-in fingerprints plus the user's folders (validated, so a bad file stops before any packet)."""
    for folder in dirs:
        if not folder.is_dir():
            raise FingerprintError(f"{folder}: not a folder of fingerprint .toml files")
    return FingerprintDB.load(list(dirs), vendor_ids=vendors.ids())


def _excludes(req: ScanRequest) -> list[str]:
    if req.exclude is not None and not req.exclude.strip():
        raise OptionError("--exclude: an empty list")
    excludes = [x for x in (req.exclude or "").split(",") if x.strip()]
    if req.exclude_file is not None:
        excludes.append(f"@{req.exclude_file}")
    return excludes


def scan_options(req: ScanRequest) -> ScanOptions:
    """The scan's options: the profile's pacing, overridden by what the user gave (raises InputError)."""
    pace = defaults.PROFILES.get(req.profile)
    if pace is None:
        raise OptionError(f"--profile: {req.profile!r} is not one of {', '.join(defaults.PROFILES)}")
    check_finite(
        rate=req.rate,
        connect_timeout=req.connect_timeout,
        probe_timeout=req.probe_timeout,
        host_timeout=req.host_timeout,
        deadline=req.deadline,
        discovery_wait=req.discovery_wait,
    )
    targets = parse_targets(
        req.targets, allow_public=req.allow_public, max_hosts=req.max_hosts, exclude=_excludes(req)
    )
    ping = parse_ports(req.ping_ports, "--ping-ports", empty_ok=True) if req.ping_ports is not None else None
    return ScanOptions(
        targets=targets,
        ports=parse_ports(req.ports) if req.ports is not None else defaults.PORTS,
        ping_ports=defaults.PING_PORTS if ping is None else ping,
        interface=req.interface,
        profile=pace.name,
        rate=req.rate or pace.rate,
        concurrency=req.concurrency or pace.concurrency,
        per_host=req.per_host or pace.per_host,
        sweep_per_host=pace.sweep_per_host,
        timeouts=Timeouts(
            connect=req.connect_timeout or pace.connect,
            probe=req.probe_timeout or pace.probe,
            host=req.host_timeout or pace.host,
            scan=req.deadline,
        ),
        port_map=parse_port_map(req.port_map) if req.port_map is not None else {},
        macs=read_mac_file(req.macs) if req.macs else {},
        arp=req.arp,
        icmp=req.icmp,
        multicast=req.multicast,
        unicast_discovery=req.unicast_discovery,
        discovery=parse_discovery(req.discovery) if req.discovery is not None else DISCOVERY_PROTOCOLS,
        discovery_wait=req.discovery_wait,
        onvif=req.onvif,
        reverse_dns=req.reverse_dns,
        netbios=req.netbios,
        onvif_credentials=onvif_credentials(
            req.onvif_user, req.onvif_password_file, req.config, req.allow_readable_secrets
        ),
    )


def prepare(req: ScanRequest) -> Prepared:
    """Check every input before the first packet: outputs, options, files, watchlists, fingerprints."""
    check_outputs([("--json", req.json_out), ("--csv", req.csv_out)])
    opts = scan_options(req)
    routers = snmp_routers(req.config, allow_readable_secrets=req.allow_readable_secrets)
    vendors = VendorDB.builtin()
    lists = select(req.watchlist or [], vendors)
    db = load_fingerprints(req.fingerprints or [], vendors)
    return Prepared(opts, Knowledge(fingerprints=db, vendors=vendors, watchlists=lists), routers)


def execute(req: ScanRequest, ready: Prepared) -> int:
    """Run the scan, write and show its report; the exit code (ScanExit for a failure)."""
    for line in weak_protocol_warnings(ready.routers, req.config) if req.config else ():
        err.print(f"camscan: warning: {escape(line)}", highlight=False, soft_wrap=True)
    to_stdout = "-" in (req.json_out, req.csv_out)
    show_progress = (not req.quiet) and (req.progress if req.progress is not None else err.is_terminal)
    out = Console(stderr=to_stdout)
    if not out.is_terminal:
        out.width = max(out.width, 150)  # a forced table into a file or pipe: do not fold every cell
    show_table = (not req.quiet) and (
        req.table if req.table is not None else out.is_terminal and not to_stdout
    )
    with stop_on_signals() as stop:
        try:
            report = _run(ready, stop, show_progress)
            _write_outputs(report, req.json_out, req.csv_out)
        except Aborted as exc:
            raise ScanExit(EXIT_FAILED, f"aborted by a second {exc.signame}: no report written") from None
        if show_table:
            render_table(report, out)
        elif not req.quiet and not to_stdout:
            print("\n".join(summary_lines(report)))
        if not report.complete:
            err.print(incomplete_notice(report, req.deadline), highlight=False, soft_wrap=True)
    if any(d.watchlisted for d in report.devices):
        return EXIT_WATCHLISTED
    return EXIT_CLEAN if report.complete else EXIT_INCOMPLETE


class RichProgress(EngineProgress):
    """A progress bar on stderr for people at a terminal: stage, steps, hosts found, what is left, ETA."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: object | None = None

    def stage(self, name: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)  # type: ignore[arg-type]
        self.task = self.progress.add_task(name, total=max(total, 1), status="")

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)  # type: ignore[arg-type]

    def status(self, text: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, status=text)  # type: ignore[arg-type]


def progress_columns() -> tuple[ProgressColumn, ...]:
    """Stage, bar, steps, what the stage found and has left, time spent and the estimate of time left."""
    return (
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )


class Aborted(KeyboardInterrupt):
    """A second SIGINT or SIGTERM: stop now, write nothing.

    A KeyboardInterrupt, because asyncio lets those (and SystemExit) out of the callback they interrupt: any
    other exception raised from a signal handler inside a callback is logged and swallowed by the loop."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


@contextmanager
def stop_on_signals() -> Iterator[Stop]:
    """SIGINT/SIGTERM once: finish early and report what was found; twice: abort, leaving no file."""
    stop = Stop()

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.reason is not None:
            raise Aborted(name)
        stop.request(name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def incomplete_notice(report: Report, deadline: float) -> str:
    """One line saying why a scan did not finish and what it left undone (never claims more than it did)."""
    c, u = report.coverage, report.coverage.unfinished
    why = (
        f"stopped by {report.interrupted}"
        if report.interrupted
        else f"the scan deadline ({deadline:g} s) passed"
    )
    return (
        f"camscan: incomplete: {why}; {u.addresses:,} of {c.addresses:,} addresses were not probed to the "
        f"end and {u.hosts:,} live hosts were not fully probed; the report lists the {c.alive:,} hosts found "
        "so far (coverage.unfinished says what is missing)"
    )


def _run(ready: Prepared, stop: Stop, show_progress: bool) -> Report:
    """Run the scan (with a progress bar when asked); a failure of the scan itself exits 3 with one line."""
    opts, know, routers = ready.opts, ready.know, ready.routers
    try:
        if show_progress:
            with Progress(*progress_columns(), console=err, transient=True) as bar:
                return asyncio.run(run_scan(opts, know, RichProgress(bar), stop=stop, snmp_routers=routers))
        return asyncio.run(run_scan(opts, know, stop=stop, snmp_routers=routers))
    except Exception as exc:  # exit 1 means "watchlisted": a crash must never look like a finding
        raise ScanExit(EXIT_FAILED, f"scan failed: {type(exc).__name__}: {exc}") from None


def _write_outputs(report: Report, json_out: str | None, csv_out: str | None) -> None:
    """Write the reports; if one cannot be written (a full disk, a closed pipe), the findings still reach
    the user on stderr and the exit code says the scan ran but its report was not written."""
    try:
        if json_out:
            write_atomic(json_out, render_json(report))
        if csv_out:
            write_atomic(csv_out, render_csv(report))
    except OSError as exc:
        err.print(
            f"camscan: error: cannot write the report: {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        for line in summary_lines(report):
            err.print(escape(line), highlight=False, soft_wrap=True)
        raise ScanExit(EXIT_REPORT_FAILED) from None


def summary_lines(report: Report) -> list[str]:
    """A line for cron and pipes, then one line per watchlisted device."""
    c = report.coverage
    flagged = [d for d in report.devices if d.watchlisted]
    lines = [
        f"camscan: {c.addresses} addresses, {c.alive} alive, {c.cameras} cameras, {len(flagged)} watchlisted"
    ]
    for d in flagged:
        v = d.verdict
        lines.append(
            f"WATCHLISTED {d.ip} {d.mac or '-'} {v.manufacturer} brand={v.brand} model={v.model or '-'} "
            f"lists={','.join(h.list for h in d.watchlist)}"
        )
    return lines


def check_finite(**values: float | None) -> None:
    """Refuse infinite and not-a-number values (a report holding Infinity is not JSON strict parsers read)."""
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise OptionError(f"--{name.replace('_', '-')}: {value} is not a finite number")
