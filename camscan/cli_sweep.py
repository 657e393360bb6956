"""The sweep commands' options: `camscan sweep`, `camscan diff`, `camscan history list|show|export|prune`.

The work is in camscan.sweepcmd, imported when a command runs, so `camscan scan` never loads the database
and template libraries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from camscan import config as configs
from camscan import defaults

history_app = typer.Typer(help="Stored sweeps: list, show, export, prune.", no_args_is_help=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help=f"camscan.toml (default: {configs.default_config_path()}).")
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="History: an SQLite path or postgresql://user@host/db (default: [history] db, "
        f"else {configs.default_history_path()}).",
    ),
]
SiteOpt = Annotated[list[str] | None, typer.Option("--site", help="Only this site (repeat).")]
OneSite = Annotated[str | None, typer.Option("--site", help="The site, for latest/previous.")]
SweepArg = Annotated[str, typer.Argument(metavar="SWEEP", help="Number, id prefix, 'latest' or 'previous'.")]
FailOnOpt = Annotated[
    str,
    typer.Option("--fail-on", help="What exits 1: new-watchlisted, any-watchlisted (default), any-change."),
]
Out = Annotated[str | None, typer.Option(help="Write it here ({site} = the site's name).")]


def sweep(
    site: SiteOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    keep: Annotated[
        str | None, typer.Option(help="Keep the newest N sweeps per site, or Nd: N days.")
    ] = None,
    fail_on: FailOnOpt = "any-watchlisted",
    json_out: Annotated[str | None, typer.Option("--json", help="Write the JSON report ({site}).")] = None,
    jsonl_out: Annotated[
        str | None, typer.Option("--jsonl", help="Write JSON Lines, one device a line.")
    ] = None,
    csv_out: Annotated[str | None, typer.Option("--csv", help="Write a CSV, one device a row.")] = None,
    html_out: Annotated[str | None, typer.Option("--html", help="Write the HTML audit report.")] = None,
    notify_file: Annotated[Path | None, typer.Option(help="Write the changes (JSON) here ({site}).")] = None,
    webhook: Annotated[str | None, typer.Option(help="POST the changes (JSON) to this URL.")] = None,
    webhook_secret_env: Annotated[
        str | None, typer.Option(help="Env variable with the webhook's HMAC secret.")
    ] = None,
    webhook_secret_file: Annotated[
        Path | None, typer.Option(help="File with the webhook's HMAC secret.")
    ] = None,
    syslog: Annotated[bool, typer.Option(help="Send a summary of the changes to syslog (/dev/log).")] = False,
    profile: Annotated[str | None, typer.Option(help="Pacing preset (overrides the site's).")] = None,
    deadline: Annotated[float | None, typer.Option(help="Seconds for each site's scan.", min=1)] = None,
    rate: Annotated[
        float | None, typer.Option(help="Packets per second, at most.", min=1, max=defaults.MAX_RATE)
    ] = None,
    host_timeout: Annotated[float | None, typer.Option(help="Seconds for one host.", min=0.1)] = None,
    probe_timeout: Annotated[float | None, typer.Option(help="Seconds for one probe.", min=0.1)] = None,
    interface: Annotated[str | None, typer.Option("--interface", "-i", help="Interface for ARP.")] = None,
    watchlist: Annotated[
        list[str] | None, typer.Option("--watchlist", "-w", help="Lists to flag against.")
    ] = None,
    allow_readable_secrets: Annotated[
        bool, typer.Option(help="Accept secret files others can read.")
    ] = False,
    table: Annotated[
        bool | None, typer.Option(help="Print the changes as a table (default: on a terminal).")
    ] = None,
    progress: Annotated[
        bool | None, typer.Option(help="Show a progress bar (default: on a terminal).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing but errors and warnings.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug events too.")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log events as JSON lines on stderr.")] = False,
) -> None:
    """Sweep the configured sites, store each sweep, print what changed since the last.

    Exit 0 nothing to report, 1 watchlisted or misplaced (see --fail-on), 2 bad input, 3 failed, 4 a sweep did
    not finish, 5 an export could not be written, 6 a sweep of that site was already running.
    """
    args = dict(locals())  # the options, before the import below adds a name
    from camscan import sweepcmd

    sweepcmd.sweep(sweepcmd.SweepRequest(**args))


def diff(
    old: Annotated[
        str | None, typer.Argument(help="The earlier sweep (number, id prefix, 'previous').")
    ] = None,
    new: Annotated[str | None, typer.Argument(help="The later sweep (default: the latest).")] = None,
    site: SiteOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
    fail_on: FailOnOpt = "any-watchlisted",
    table: Annotated[bool | None, typer.Option(help="A table (default: on a terminal).")] = None,
) -> None:
    """What changed between two sweeps (default: the last two of each site).

    Exit 0 nothing to report, 1 watchlisted or misplaced (see --fail-on), 2 bad input, 4 the later sweep
    did not finish.
    """
    args = dict(locals())  # the options, before the import below adds a name
    from camscan import sweepcmd

    sweepcmd.diff(**args)


@history_app.command("list")
def history_list(
    site: SiteOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option(help="Newest N sweeps.", min=1)] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The stored sweeps, newest first (every site unless --site)."""
    args = dict(locals())  # the options, before the import below adds a name
    from camscan import sweepcmd

    sweepcmd.history_list(**args)


@history_app.command("show")
def history_show(
    sweep_ref: SweepArg = "latest", site: OneSite = None, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """One sweep: its record and its devices."""
    args = dict(locals())  # the options, before the import below adds a name
    from camscan import sweepcmd

    sweepcmd.history_show(**args)


@history_app.command("export")
def history_export(
    sweep_ref: SweepArg = "latest",
    fmt: Annotated[str, typer.Option("--format", "-f", help="json, jsonl, csv or html.")] = "json",
    out: Annotated[str, typer.Option("--out", "-o", help="File to write ('-' = stdout).")] = "-",
    site: OneSite = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Export a stored sweep: the JSON report, JSON Lines, CSV or the HTML audit report."""
    args = dict(locals())  # the options, before the import below adds a name
    from camscan import sweepcmd

    sweepcmd.history_export(**args)


@history_app.command("prune")
def history_prune(
    keep: Annotated[str, typer.Option(help="Keep the newest N sweeps per site, or Nd: N days.")],
    site: SiteOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Delete old sweeps (and the devices seen only in them)."""
    args = dict(locals())  # the options, before the import below adds a name
    from camscan import sweepcmd

    sweepcmd.history_prune(**args)


def register(app: typer.Typer) -> None:
    """Add sweep, diff and history to the camscan command."""
    app.command()(sweep)
    app.command()(diff)
    app.add_typer(history_app, name="history")
