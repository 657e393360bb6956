"""What `camscan sweep`, `diff` and `history` do (cli_sweep declares their options; this holds the work)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import Engine

from camscan import cliout, logs
from camscan import config as configs
from camscan.cliout import err, fail
from camscan.config import ConfigError, ConfigFile
from camscan.exitcodes import EXIT_FAILED
from camscan.exitcodes import EXIT_REPORT_FAILED as EXIT_UNWRITTEN
from camscan.export import FORMATS, render
from camscan.history import diff as diffs
from camscan.history import read, retention
from camscan.history import render as show
from camscan.history.database import HistoryError, Target, open_engine, parse_target
from camscan.history.diff import FAIL_ON, Diff, FailOn
from camscan.notify import deliver, notify_file_path
from camscan.options import OptionError
from camscan.report.atomic import check_outputs, write_atomic
from camscan.siteopts import PreparedSite, prepare
from camscan.sites import Keep, Notify, Site, parse_keep, read_history, read_sites
from camscan.sweep import Outcome, combined_exit, scan_runner, sweep_site


@contextmanager
def bad_input() -> Iterator[None]:
    """Config, option and history problems: one line, exit 2, before any packet."""
    with cliout.bad_input(HistoryError, ValueError):
        yield


def _config(path: Path | None, required: bool) -> ConfigFile | None:
    if path is None:
        default = configs.default_config_path()
        if not default.exists():
            if required:
                raise ConfigError(f"no config file: pass --config or write {default}")
            return None
        path = default
    return configs.load(path)


def _fail_on(text: str) -> FailOn:
    if text not in FAIL_ON:
        raise OptionError(f"--fail-on: {text!r} is not one of {', '.join(FAIL_ON)}")
    return text


def _open(db: str | None, config: ConfigFile | None, *, create: bool) -> tuple[Engine, Target]:
    settings = read_history(config) if config else None
    target = parse_target(
        db or (settings.db if settings and settings.db else str(configs.default_history_path()))
    )
    return open_engine(target, create=create), target


def _keep(text: str | None, site: Site, config: ConfigFile) -> Keep | None:
    if text is not None:
        return parse_keep(text)
    return site.keep or read_history(config).keep


def _pick(sites: list[Site], names: Sequence[str] | None, config: ConfigFile) -> list[Site]:
    if not sites:
        raise ConfigError(f"{config.path}: no [[site]] entries to sweep")
    if not names:
        return sites
    known = {s.name: s for s in sites}
    missing = [n for n in names if n not in known]
    if missing:
        raise ConfigError(f"{config.path}: no [[site]] named {missing[0]!r} (sites: {', '.join(known)})")
    return [known[n] for n in names]


def _exports(outcome: Outcome, engine: Engine, wanted: dict[str, str | None]) -> None:
    if outcome.sweep is None or not outcome.sweep.has_results:
        return
    for fmt, path in wanted.items():
        if path:
            write_atomic(
                path if path == "-" else str(notify_file_path(Path(path), outcome.site)),
                render(engine, outcome.sweep, fmt),
            )


def _notify(outcome: Outcome, notify: Notify, fail_on: FailOn, allow_readable: bool) -> None:
    if outcome.diff is None:
        return
    payload = diffs.to_json(outcome.diff, fail_on)
    if notify.file is not None:
        notify = Notify(
            notify_file_path(notify.file, outcome.site),
            *(getattr(notify, k) for k in ("webhook", "webhook_secret_file", "webhook_secret_env", "syslog")),
        )
    for problem in deliver(notify, payload, show.headline(outcome.diff), allow_readable):
        logs.event("notify.failed", 30, site=outcome.site, problem=problem)
        err.print(f"camscan: warning: {escape(problem)}", highlight=False, soft_wrap=True)


def _print(outcome: Outcome, table: bool, quiet: bool) -> None:
    if outcome.diff is None:
        err.print(
            f"camscan: site {escape(outcome.site)}: {escape(outcome.message or '')}",
            highlight=False,
            soft_wrap=True,
        )
        return
    if not outcome.diff.new.complete:
        err.print(
            f"camscan: incomplete: site {escape(outcome.site)}: {escape(outcome.diff.new.note or '')}",
            highlight=False,
            soft_wrap=True,
        )
    if quiet:
        return
    if table:
        show.diff_table(outcome.diff, Console())
    else:
        for line in show.diff_lines(outcome.diff):
            print(line)


def _prepare_all(
    sites: list[Site], config: ConfigFile, overrides: dict[str, Any], allow: bool
) -> list[PreparedSite]:
    ready = [prepare(site, config, overrides, allow_readable_secrets=allow) for site in sites]
    for p in ready:
        for line in p.warnings:
            err.print(f"camscan: warning: {escape(line)}", highlight=False, soft_wrap=True)
    return ready


@dataclass(frozen=True, slots=True)
class SweepRequest:
    """The sweep command's options as the user gave them (None: not given, the site's config decides)."""

    site: list[str] | None
    config: Path | None
    db: str | None
    keep: str | None
    fail_on: str
    json_out: str | None
    jsonl_out: str | None
    csv_out: str | None
    html_out: str | None
    notify_file: Path | None
    webhook: str | None
    webhook_secret_env: str | None
    webhook_secret_file: Path | None
    syslog: bool
    profile: str | None
    deadline: float | None
    rate: float | None
    host_timeout: float | None
    probe_timeout: float | None
    interface: str | None
    watchlist: list[str] | None
    allow_readable_secrets: bool
    table: bool | None
    progress: bool | None
    quiet: bool
    verbose: bool
    log_json: bool


def sweep(req: SweepRequest) -> None:
    """Sweep the configured sites, store each sweep, print what changed since the last (the exit codes are
    in camscan.exitcodes and the README)."""
    from camscan.scancmd import stop_on_signals

    logs.setup(verbose=req.verbose, as_json=req.log_json, quiet=req.quiet)
    overrides = {
        "profile": req.profile,
        "deadline": req.deadline,
        "rate": req.rate,
        "host_timeout": req.host_timeout,
        "probe_timeout": req.probe_timeout,
        "interface": req.interface,
        "watchlists": tuple(req.watchlist) if req.watchlist else None,
    }
    wanted = {"json": req.json_out, "jsonl": req.jsonl_out, "csv": req.csv_out, "html": req.html_out}
    with bad_input():
        cfg = _config(req.config, required=True)
        if cfg is None:  # _config raises first; this is for the type checker
            raise ConfigError("no config file")
        chosen = _pick(read_sites(cfg), req.site, cfg)
        policy = _fail_on(req.fail_on)
        keeps = {s.name: _keep(req.keep, s, cfg) for s in chosen}
        check_outputs([(f"--{kind}", path) for kind, path in wanted.items()])
        ready = _prepare_all(chosen, cfg, overrides, req.allow_readable_secrets)
        engine, target = _open(req.db, cfg, create=True)
    shown = _Shown(
        progress=not req.quiet and (req.progress if req.progress is not None else err.is_terminal),
        table=not req.quiet and (req.table if req.table is not None else sys.stdout.isatty()),
        quiet=req.quiet,
    )
    cli_notify = Notify(
        req.notify_file,
        req.webhook,
        req.webhook_secret_file,
        req.webhook_secret_env,
        "" if req.syslog else None,
    )
    outcomes: list[Outcome] = []
    with stop_on_signals() as stop:
        for prepared in ready:
            if stop.reason is not None:
                break
            run = _SiteRun(prepared, engine, target, stop, keeps, policy, shown)
            outcomes.append(_sweep_and_report(run, wanted, cli_notify, req.allow_readable_secrets))
    engine.dispose()
    raise typer.Exit(combined_exit(outcomes) if outcomes else EXIT_FAILED)


@dataclass(frozen=True, slots=True)
class _Shown:
    """What the person (or cron) sees."""

    progress: bool
    table: bool
    quiet: bool


@dataclass(frozen=True, slots=True)
class _SiteRun:
    """One site's sweep and everything it needs."""

    prepared: PreparedSite
    engine: Engine
    target: Target
    stop: Any  # camscan.engine.Stop (imported with the scan machinery, only when a sweep runs)
    keeps: dict[str, Keep | None]
    policy: FailOn
    shown: _Shown


def _sweep_and_report(
    run: _SiteRun, wanted: dict[str, str | None], cli_notify: Notify, allow: bool
) -> Outcome:
    """Sweep one site, show what changed, write the exports, send the notifications."""
    from camscan.scancmd import Aborted, RichProgress, progress_columns

    try:
        outcome = _one(
            run.prepared, run.engine, run.target, run.stop, run.keeps, run.policy, run.shown.progress,
            RichProgress, progress_columns,
        )  # fmt: skip
    except Aborted as exc:
        fail(f"aborted by a second {exc.signame}: the sweep was recorded as failed", EXIT_FAILED)
    except HistoryError as exc:
        fail(str(exc), EXIT_FAILED)
    _print(outcome, run.shown.table, run.shown.quiet)
    try:
        _exports(outcome, run.engine, wanted)
    except (OSError, HistoryError) as exc:
        fail(f"cannot write an export: {exc}", EXIT_UNWRITTEN)
    for channel in (run.prepared.site.notify, cli_notify):
        _notify(outcome, channel, run.policy, allow)
    return outcome


def _one(
    prepared: PreparedSite,
    engine: Engine,
    target: Target,
    stop: Any,
    keeps: dict[str, Keep | None],
    policy: FailOn,
    show_progress: bool,
    rich_progress: Any,
    columns: Any,
) -> Outcome:
    from rich.progress import Progress

    if not show_progress:
        return sweep_site(
            prepared,
            engine,
            target,
            stop=stop,
            runner=scan_runner(),
            keep=keeps[prepared.site.name],
            fail_on=policy,
        )
    with Progress(*columns(), console=err, transient=True) as bar:
        return sweep_site(
            prepared,
            engine,
            target,
            stop=stop,
            runner=scan_runner(lambda: rich_progress(bar)),
            keep=keeps[prepared.site.name],
            fail_on=policy,
        )


def diff(
    *,
    old: str | None,
    new: str | None,
    site: list[str] | None,
    config: Path | None,
    db: str | None,
    json_out: bool,
    fail_on: str,
    table: bool | None,
) -> None:
    """What changed between two sweeps (default: the last two of each site).

    Exit 0 nothing to report, 1 watchlisted or misplaced (see --fail-on), 2 bad input, 4 the later sweep
    did not finish.
    """
    with bad_input():
        cfg = _config(config, required=False)
        policy = _fail_on(fail_on)
        engine, _ = _open(db, cfg, create=False)
        pairs = _diff_pairs(engine, old, new, site)
        results = [_diff_of(engine, a, b) for a, b in pairs]
    if json_out:
        documents = [diffs.to_json(d, policy) for d in results]
        print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, ensure_ascii=False))
    else:
        use_table = table if table is not None else sys.stdout.isatty()
        for d in results:
            if use_table:
                show.diff_table(d, Console())
            else:
                print("\n".join(show.diff_lines(d)))
    codes = [Outcome(d.new.site, d.exit_code(policy)) for d in results]
    raise typer.Exit(combined_exit(codes))


def _diff_pairs(
    engine: Engine, old: str | None, new: str | None, sites: Sequence[str] | None
) -> list[tuple[read.Sweep | None, read.Sweep]]:
    if old is not None:
        only = sites[0] if sites and len(sites) == 1 else None
        later = read.find(engine, new or "latest", only)
        return [(read.find(engine, old, only if old in ("latest", "previous") else None), later)]
    names = list(sites) if sites else read.sites(engine)
    if not names:
        raise HistoryError("no sweeps recorded yet")
    pairs: list[tuple[read.Sweep | None, read.Sweep]] = []
    for name in names:
        later = read.find(engine, "latest", name)
        pairs.append((read.previous(engine, later), later))
    return pairs


def _diff_of(engine: Engine, old: read.Sweep | None, new: read.Sweep) -> Diff:
    for s in (old, new):
        if s is not None and not s.has_results:
            raise HistoryError(f"sweep {s.id} ({s.status}) recorded no results to compare")
    old_devices = read.devices(engine, old.id, evidence=False) if old else []
    return diffs.compare(old, old_devices, new, read.devices(engine, new.id, evidence=False))


def history_list(
    *, site: list[str] | None, config: Path | None, db: str | None, limit: int, json_out: bool
) -> None:
    """The stored sweeps, newest first (every site unless --site)."""
    with bad_input():
        engine, _ = _open(db, _config(config, required=False), create=False)
        found = [s for name in (site or [None]) for s in read.sweeps(engine, name, limit=limit)]  # type: ignore[list-item]
    found.sort(key=lambda s: -s.id)
    if json_out:
        keys = (
            "id",
            "site",
            "status",
            "note",
            "scanner",
            "scan_id",
            "targets",
            "addresses",
            "alive",
            "cameras",
            "watchlisted",
            "violations",
        )
        rows = [
            {
                **{k: getattr(s, k) for k in keys},
                "started_at": read.stamp(s.started_at),
                "finished_at": read.stamp(s.finished_at),
            }
            for s in found
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif sys.stdout.isatty():
        show.sweeps_table(found, Console())
    else:
        print("\n".join(show.sweep_lines(found)))


def history_show(*, sweep_ref: str, site: str | None, config: Path | None, db: str | None) -> None:
    """One sweep: its record and its devices."""
    with bad_input():
        engine, _ = _open(db, _config(config, required=False), create=False)
        found = read.find(engine, sweep_ref, site)
        devices = read.devices(engine, found.id, evidence=False) if found.has_results else []
    title = (
        f"sweep {found.id} of {show.safe(found.site)}: {read.stamp(found.started_at)}, {found.status}"
        f"{', ' + show.safe(found.note, 200) if found.note else ''}"
    )
    show.devices_table(
        devices, Console(width=max(Console().width, 150) if not sys.stdout.isatty() else None), title
    )


def history_export(
    *, sweep_ref: str, fmt: str, out: str, site: str | None, config: Path | None, db: str | None
) -> None:
    """Export a stored sweep: the JSON report, JSON Lines, CSV or the HTML audit report."""
    with bad_input():
        if fmt not in FORMATS:
            raise OptionError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        engine, _ = _open(db, _config(config, required=False), create=False)
        text = render(engine, read.find(engine, sweep_ref, site), fmt)
    try:
        write_atomic(out, text)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}", EXIT_FAILED)


def history_prune(*, keep: str, site: list[str] | None, config: Path | None, db: str | None) -> None:
    """Delete old sweeps (and devices seen only in them)."""
    with bad_input():
        policy = parse_keep(keep)
        engine, _ = _open(db, _config(config, required=False), create=True)
        names = list(site) if site else read.sites(engine)
    for name in names:
        print(f"{name}: {retention.prune(engine, name, policy)} sweeps deleted")
