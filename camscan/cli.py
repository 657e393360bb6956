"""The camscan command line: scan, watchlist, fingerprints, lab."""

from __future__ import annotations

import asyncio
import math
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer
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
from rich.table import Table

# typer's own copy of click: its base for usage errors (an unknown option, a value out of range)
from typer._click.exceptions import ClickException

from camscan import __version__, defaults
from camscan.cli_sweep import register as register_sweep
from camscan.context import Timeouts
from camscan.credentials import onvif_credentials
from camscan.engine import Knowledge, ScanOptions, Stop, run_scan
from camscan.engine import Progress as EngineProgress
from camscan.fingerprints import FingerprintDB, FingerprintError, self_test, stats
from camscan.inputs import InputError
from camscan.lab_command import register as register_lab
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
from camscan.watchlist import Watchlist, select

EXIT_CLEAN, EXIT_WATCHLISTED, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INCOMPLETE = 0, 1, 2, 3, 4
EXIT_REPORT_FAILED = 5  # the scan ran, but its report could not be written (the findings went to stderr)

app = typer.Typer(
    help="Find the IP cameras on your networks and name their real manufacturer, relabels included.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
watchlist_app = typer.Typer(help="Show the watchlists camscan flags devices against.", no_args_is_help=True)
fingerprints_app = typer.Typer(help="Test and explore the fingerprint database.", no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(fingerprints_app, name="fingerprints")
register_lab(app)  # `camscan lab ...` runs the separately installed camlab; a scan never imports it

err = Console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One clear line on stderr, then the exit code."""
    err.print(f"camscan: error: {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def bad_input() -> Iterator[None]:
    """Turn any bad-user-input exception into one line and exit code 2."""
    try:
        yield
    except InputError as exc:
        fail(str(exc))


def load_fingerprints(dirs: Sequence[Path], vendors: VendorDB) -> FingerprintDB:
    """Built-in fingerprints plus the user's folders (validated, so a bad file stops before any packet)."""
    for folder in dirs:
        if not folder.is_dir():
            raise FingerprintError(f"{folder}: not a folder of fingerprint .toml files")
    return FingerprintDB.load(list(dirs), vendor_ids=vendors.ids())


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


class Aborted(BaseException):
    """A second SIGINT or SIGTERM: stop now, write nothing (a BaseException, like KeyboardInterrupt)."""

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


Targets = Annotated[
    list[str], typer.Argument(help="Addresses, CIDRs, ranges (a-b, 10.0.0.5-40), host names, @file.")
]


@app.command()
def scan(
    targets: Targets,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the JSON report here ('-' = stdout).")
    ] = None,
    csv_out: Annotated[
        str | None, typer.Option("--csv", help="Write a CSV (one row per device) ('-' = stdout).")
    ] = None,
    ports: Annotated[str | None, typer.Option(help="TCP ports to try, e.g. 80,443,554,8000-8010.")] = None,
    interface: Annotated[str | None, typer.Option("--interface", "-i", help="Interface for ARP.")] = None,
    watchlist: Annotated[
        list[str] | None,
        typer.Option("--watchlist", "-w", help="Built-in list name or a list file (repeat)."),
    ] = None,
    fingerprints: Annotated[
        list[Path] | None,
        typer.Option("--fingerprints", help="Folder of your own fingerprint files (repeat)."),
    ] = None,
    profile: Annotated[
        str,
        typer.Option(
            help="Pacing preset: gentle (fragile systems), normal, fast. Options below override it."
        ),
    ] = defaults.DEFAULT_PROFILE,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Packets (connects, pings, datagrams) per second, at most.", min=1, max=defaults.MAX_RATE
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(help="Connections open at once, at most.", min=16, max=defaults.MAX_CONCURRENCY),
    ] = None,
    per_host: Annotated[
        int | None, typer.Option(help="Probe connections to one host at once.", min=1, max=16)
    ] = None,
    connect_timeout: Annotated[
        float | None, typer.Option(help="Seconds for one TCP connect of a live host.", min=0.05)
    ] = None,
    probe_timeout: Annotated[
        float | None, typer.Option(help="Seconds for one probe of one port.", min=0.1)
    ] = None,
    host_timeout: Annotated[
        float | None, typer.Option(help="Seconds for everything done to one host.", min=0.1)
    ] = None,
    deadline: Annotated[
        float, typer.Option(help="Seconds for the whole scan.", min=1)
    ] = defaults.SCAN_DEADLINE,
    exclude: Annotated[
        str | None, typer.Option(help="Addresses, CIDRs or ranges to leave out, comma-separated.")
    ] = None,
    exclude_file: Annotated[
        Path | None, typer.Option(help="File of addresses, CIDRs or ranges to leave out (one a line).")
    ] = None,
    ping_ports: Annotated[
        str | None, typer.Option(help="TCP ping ports for addresses ARP cannot settle ('' for none).")
    ] = None,
    icmp: Annotated[bool, typer.Option(help="ICMP echo for addresses ARP cannot settle.")] = True,
    allow_public: Annotated[
        bool, typer.Option(help="Allow globally routable targets (with permission!).")
    ] = False,
    max_hosts: Annotated[
        int, typer.Option(help="Refuse target sets larger than this.", min=1)
    ] = defaults.MAX_HOSTS,
    port_map: Annotated[
        str | None,
        typer.Option(help="Connect to other ports than the logical ones, e.g. 80=10080 (labs, NAT)."),
    ] = None,
    macs: Annotated[
        Path | None,
        typer.Option(help="File of 'IP MAC' lines for hosts ARP cannot reach (DHCP/switch export)."),
    ] = None,
    arp: Annotated[bool, typer.Option(help="ARP sweep on-link ranges when privileged.")] = True,
    multicast: Annotated[
        bool,
        typer.Option(help="Multicast discovery on local segments."),
    ] = True,
    unicast_discovery: Annotated[
        bool, typer.Option(help="Send discovery requests to every target address (finds routed cameras).")
    ] = True,
    discovery: Annotated[
        str | None,
        typer.Option(help="Discovery protocols to use (wsdiscovery,sadp,dhip,dvrip,mdns,ssdp; all)."),
    ] = None,
    discovery_wait: Annotated[
        float, typer.Option(help="Seconds to listen for discovery replies.", min=0.1)
    ] = 1.5,
    onvif: Annotated[bool, typer.Option(help="Ask ONVIF device services who made them (SOAP).")] = True,
    onvif_user: Annotated[
        str | None, typer.Option(help="ONVIF user name (with --onvif-password-file).")
    ] = None,
    onvif_password_file: Annotated[
        Path | None, typer.Option(help="File whose first line is the ONVIF password.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="TOML config: per-subnet ONVIF credentials ([[onvif]]) and SNMP routers ([[snmp]])."
        ),
    ] = None,
    allow_readable_secrets: Annotated[
        bool, typer.Option(help="Accept secret files that others can read (refused by default, as ssh does).")
    ] = False,
    table: Annotated[
        bool | None, typer.Option(help="Print the device table (default: when on a terminal).")
    ] = None,
    progress: Annotated[
        bool | None, typer.Option(help="Show a progress bar (default: when on a terminal).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Scan, identify cameras, flag watchlisted makers.

    Exit 0 finished and nothing watchlisted, 1 something watchlisted, 2 bad input, 3 failed, 4 did not finish.
    """
    with bad_input():
        pace = defaults.PROFILES.get(profile)
        if pace is None:
            raise OptionError(f"--profile: {profile!r} is not one of {', '.join(defaults.PROFILES)}")
        check_outputs([("--json", json_out), ("--csv", csv_out)])
        check_finite(
            rate=rate,
            connect_timeout=connect_timeout,
            probe_timeout=probe_timeout,
            host_timeout=host_timeout,
            deadline=deadline,
            discovery_wait=discovery_wait,
        )
        if exclude is not None and not exclude.strip():
            raise OptionError("--exclude: an empty list")
        excludes = [x for x in (exclude or "").split(",") if x.strip()]
        if exclude_file is not None:
            excludes.append(f"@{exclude_file}")
        target_set = parse_targets(targets, allow_public=allow_public, max_hosts=max_hosts, exclude=excludes)
        opts = ScanOptions(
            targets=target_set,
            ports=parse_ports(ports) if ports is not None else defaults.PORTS,
            ping_ports=parse_ports(ping_ports, "--ping-ports", empty_ok=True)
            if ping_ports is not None
            else defaults.PING_PORTS,
            interface=interface,
            profile=pace.name,
            rate=rate or pace.rate,
            concurrency=concurrency or pace.concurrency,
            per_host=per_host or pace.per_host,
            sweep_per_host=pace.sweep_per_host,
            timeouts=Timeouts(
                connect=connect_timeout or pace.connect,
                probe=probe_timeout or pace.probe,
                host=host_timeout or pace.host,
                scan=deadline,
            ),
            port_map=parse_port_map(port_map) if port_map is not None else {},
            macs=read_mac_file(macs) if macs else {},
            arp=arp,
            icmp=icmp,
            multicast=multicast,
            unicast_discovery=unicast_discovery,
            discovery=parse_discovery(discovery) if discovery is not None else DISCOVERY_PROTOCOLS,
            discovery_wait=discovery_wait,
            onvif=onvif,
            onvif_credentials=onvif_credentials(
                onvif_user, onvif_password_file, config, allow_readable_secrets
            ),
        )
        routers = snmp_routers(config, allow_readable_secrets=allow_readable_secrets)
        vendors = VendorDB.builtin()
        lists = select(watchlist or [], vendors)
        db = load_fingerprints(fingerprints or [], vendors)
    for line in weak_protocol_warnings(routers, config) if config else ():
        err.print(f"camscan: warning: {escape(line)}", highlight=False, soft_wrap=True)
    know = Knowledge(fingerprints=db, vendors=vendors, watchlists=lists)
    to_stdout = "-" in (json_out, csv_out)
    show_progress = (not quiet) and (progress if progress is not None else err.is_terminal)
    out = Console(stderr=to_stdout)
    if not out.is_terminal:
        out.width = max(out.width, 150)  # a forced table into a file or pipe: do not fold every cell
    show_table = (not quiet) and (table if table is not None else (out.is_terminal and not to_stdout))
    with stop_on_signals() as stop:
        try:
            report = _run(opts, know, stop, show_progress, routers)
            _write_outputs(report, json_out, csv_out)
        except Aborted as exc:
            fail(f"aborted by a second {exc.signame}: no report written", EXIT_FAILED)
        flagged = [d for d in report.devices if d.watchlisted]
        if show_table:
            render_table(report, out)
        elif not quiet and not to_stdout:
            print("\n".join(summary_lines(report)))
        if not report.complete:
            err.print(incomplete_notice(report, deadline), highlight=False, soft_wrap=True)
    if flagged:
        raise typer.Exit(EXIT_WATCHLISTED)
    raise typer.Exit(EXIT_CLEAN if report.complete else EXIT_INCOMPLETE)


def _run(
    opts: ScanOptions, know: Knowledge, stop: Stop, show_progress: bool, routers: Sequence[SnmpRouter]
) -> Report:
    """Run the scan (with a progress bar when asked); a failure of the scan itself exits 3 with one line."""
    try:
        if show_progress:
            with Progress(*progress_columns(), console=err, transient=True) as bar:
                return asyncio.run(run_scan(opts, know, RichProgress(bar), stop=stop, snmp_routers=routers))
        return asyncio.run(run_scan(opts, know, stop=stop, snmp_routers=routers))
    except Exception as exc:  # exit 1 means "watchlisted": a crash must never look like a finding
        fail(f"scan failed: {type(exc).__name__}: {exc}", EXIT_FAILED)


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
        raise typer.Exit(EXIT_REPORT_FAILED) from None


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


@watchlist_app.command("show")
def watchlist_show(
    watchlist: Annotated[
        list[str] | None,
        typer.Option("--watchlist", "-w", help="Built-in list name or a list file (repeat)."),
    ] = None,
) -> None:
    """Print the lists in force (all built-in ones unless --watchlist picks)."""
    with bad_input():
        vendors = VendorDB.builtin()
        lists = select(watchlist or [], vendors)
    console = Console()
    for wl in lists:
        _print_watchlist(console, wl, vendors)


def _print_watchlist(console: Console, wl: Watchlist, vendors: VendorDB) -> None:
    console.print(f"[bold]{escape(wl.id)}[/bold]: {escape(wl.title)}")
    console.print(f"  source: {escape(wl.source)}" + (f" <{escape(wl.url)}>" if wl.url else ""))
    table = Table(show_edge=False, pad_edge=False)
    for name in ("vendor", "also covers", "scope", "reason", "source"):
        table.add_column(name, overflow="fold")
    for entry in wl.entries:
        also = sorted(vendors.affiliates_of(entry.vendor) - {entry.vendor}) if entry.affiliates else []
        table.add_row(
            entry.vendor, ", ".join(also) or "-", entry.scope, escape(entry.reason), escape(entry.source)
        )
    console.print(table)
    console.print()


FingerprintDirs = Annotated[
    list[Path] | None, typer.Option("--fingerprints", help="Folder of your own fingerprint files (repeat).")
]


@fingerprints_app.command("test")
def fingerprints_test(fingerprints: FingerprintDirs = None) -> None:
    """Replay every entry's examples and counterexamples (built-in and yours)."""
    with bad_input():
        vendors = VendorDB.builtin()
        db = load_fingerprints(fingerprints or [], vendors)
    failures = self_test(db, vendors.ids())
    entries = db.entries()
    examples = sum(len(e.examples) for e in entries)
    for line in failures:
        print(f"FAIL {line}")
    print(
        f"{len(entries)} fingerprints in {len(db.fields())} fields, {examples} examples: "
        + ("all pass" if not failures else f"{len(failures)} failures")
    )
    raise typer.Exit(1 if failures else 0)


@fingerprints_app.command("stats")
def fingerprints_stats(
    fingerprints: FingerprintDirs = None,
    list_vendors: Annotated[bool, typer.Option("--list", help="List the vendor ids named.")] = False,
) -> None:
    """Count the makers, OEM labels, entries and fields the database covers."""
    with bad_input():
        vendors = VendorDB.builtin()
        db = load_fingerprints(fingerprints or [], vendors)
    for line in stats.render(stats.compute(db, vendors), list_vendors):
        print(line)


@fingerprints_app.command("match")
def fingerprints_match(
    field: Annotated[
        str, typer.Argument(help="Observation field, e.g. http.server, http.realm, rtsp.server.")
    ],
    value: Annotated[str, typer.Argument(help="The value a device sent.")],
    fingerprints: FingerprintDirs = None,
) -> None:
    """Show which entries match a value, first (the one used) to last."""
    with bad_input():
        vendors = VendorDB.builtin()
        db = load_fingerprints(fingerprints or [], vendors)
    if field not in db.fields():
        fail(f"unknown field {field!r}; fields: {', '.join(sorted(db.fields()))}")
    matches = db.match_all(field, value)
    if not matches:
        print(f"no fingerprint in {field} matches {value!r}")
        raise typer.Exit(1)
    for rank, m in enumerate(matches):
        claims = ", ".join(f"{k}={v}" for k, v in m.claims.items())
        used = "used" if rank == 0 else "shadowed"
        print(f"{m.fingerprint} [{m.strength}, {used}] {claims}  (source: {m.source})")


@app.command()
def version() -> None:
    """Print camscan's version."""
    print(f"camscan {__version__}")


register_sweep(app)  # sweep, diff, history (camscan/cli_sweep.py)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: usage mistakes are one line and exit 2, like every other bad input."""
    try:
        code = app(args=list(argv) if argv is not None else None, prog_name="camscan", standalone_mode=False)
    except ClickException as exc:  # an unknown option, a value out of range: not a 6-line usage box
        err.print(f"camscan: error: {escape(exc.format_message())}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
    except (KeyboardInterrupt, typer.Abort):  # before the scan's own handlers (or after): nothing written
        err.print("camscan: interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
