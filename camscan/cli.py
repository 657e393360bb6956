"""The camscan command line: scan, watchlist, fingerprints, lab."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# typer's own copy of click: its base for usage errors (an unknown option, a value out of range)
from typer._click.exceptions import ClickException

from camscan import __version__, defaults
from camscan.cli_sweep import register as register_sweep
from camscan.cliout import bad_input, err, fail
from camscan.exitcodes import EXIT_BAD_INPUT
from camscan.fingerprints import self_test, stats
from camscan.lab_command import register as register_lab
from camscan.scancmd import ScanExit, ScanRequest, execute, load_fingerprints, prepare
from camscan.vendors import VendorDB
from camscan.watchlist import Watchlist, select

app = typer.Typer(
    help="Find the IP cameras on your networks and name their real manufacturer, relabels included.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
watchlist_app = typer.Typer(help="Show the watchlists camscan flags devices against.", no_args_is_help=True)
fingerprints_app = typer.Typer(help="Test and explore the fingerprint database.", no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(fingerprints_app, name="fingerprints")
register_lab(app)  # `camscan lab ...` runs the separately installed camlab; a scan never imports it


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"camscan {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print camscan's version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Find the IP cameras on your networks and name their real manufacturer, relabels included."""


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
    reverse_dns: Annotated[
        bool, typer.Option(help="Ask your resolvers each live host's reverse DNS (PTR) name.")
    ] = True,
    netbios: Annotated[bool, typer.Option(help="Ask each live host its NetBIOS and LLMNR names.")] = True,
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

    Exit 0 finished and nothing watchlisted, 1 something watchlisted, 2 bad input, 3 failed, 4 did not finish,
    5 the report could not be written.
    """
    req = ScanRequest(**locals())
    try:
        with bad_input():
            ready = prepare(req)
        code = execute(req, ready)
    except ScanExit as exc:
        if exc.message:
            fail(exc.message, exc.code)
        raise typer.Exit(exc.code) from None
    raise typer.Exit(code)


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
