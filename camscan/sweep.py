"""One scheduled sweep of one site: lock, record the start, scan, store, compare with the last, prune."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from camscan import placement
from camscan.engine import Progress, Stop, run_scan
from camscan.exitcodes import EXIT_CLEAN, EXIT_FAILED, EXIT_INCOMPLETE, EXIT_LOCKED
from camscan.exitcodes import EXIT_WATCHLISTED as EXIT_FOUND
from camscan.history import diff as diffs
from camscan.history import read, retention, store
from camscan.history.database import Target
from camscan.history.diff import Diff, FailOn
from camscan.history.lock import SweepLocked, site_lock
from camscan.logs import event
from camscan.models import Report
from camscan.report.json import report_to_dict
from camscan.siteopts import PreparedSite
from camscan.sites import Keep

# Several sites in one run: the most urgent code wins. A finding first (exit 1 is never hidden), then a
# failure, a site that was already being swept, an unfinished sweep, and only then "all clear".
PRECEDENCE = (EXIT_FOUND, EXIT_FAILED, EXIT_LOCKED, EXIT_INCOMPLETE, EXIT_CLEAN)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one site's sweep ended."""

    site: str
    code: int
    sweep: read.Sweep | None = None
    diff: Diff | None = None
    report: Report | None = None
    message: str | None = None  # why there is no diff: locked, failed
    seconds: float = 0.0


def combined_exit(outcomes: list[Outcome]) -> int:
    """The run's exit code from every site's."""
    codes = {o.code for o in outcomes}
    return next((code for code in PRECEDENCE if code in codes), EXIT_CLEAN)


Runner = Callable[[PreparedSite, Stop], Report]


def scan_runner(progress: Callable[[], Progress | None] | None = None) -> Runner:
    """run_scan in a fresh event loop, with an optional progress display."""

    def run(prepared: PreparedSite, stop: Stop) -> Report:
        return asyncio.run(
            run_scan(
                prepared.options,
                prepared.knowledge,
                progress() if progress else None,
                stop=stop,
                snmp_routers=prepared.routers,
            )
        )

    return run


def _store(engine: Engine, sweep_id: int, prepared: PreparedSite, report: Report) -> dict[str, Any]:
    doc = report_to_dict(report)
    misplaced = placement.by_address(doc["devices"], prepared.site.placement)
    store.record_sweep(
        engine,
        sweep_id,
        prepared.site.name,
        doc,
        watchlists=prepared.watchlists,
        placement_policy=placement.policy_record(prepared.site.placement),
        violations=misplaced,
    )
    return doc


def _compare(engine: Engine, sweep_id: int) -> tuple[read.Sweep, Diff]:
    new = read.find(engine, str(sweep_id))
    before = read.previous(engine, new)
    old_devices = read.devices(engine, before.id, evidence=False) if before else []
    return new, diffs.compare(before, old_devices, new, read.devices(engine, sweep_id))


def _begin(engine: Engine, prepared: PreparedSite) -> int:
    """Mark sweeps a killed run left behind as abandoned, and record this one's start (its own commit)."""
    name = prepared.site.name
    abandoned = store.abandon_stale(engine, name)
    if abandoned:
        event("sweep.abandoned", logging.WARNING, site=name, sweeps=abandoned)
    sweep_id = store.begin_sweep(engine, name, prepared.site.targets)
    event(
        "sweep.start",
        site=name,
        sweep=sweep_id,
        targets=list(prepared.site.targets),
        addresses=prepared.options.targets.count,
        profile=prepared.options.profile,
    )
    return sweep_id


def sweep_site(
    prepared: PreparedSite,
    engine: Engine,
    target: Target,
    *,
    stop: Stop,
    runner: Runner,
    keep: Keep | None = None,
    fail_on: FailOn = "any-watchlisted",
) -> Outcome:
    """Sweep one site under its lock; a scan failure is recorded and returned (exit 3), never raised."""
    name, started = prepared.site.name, time.monotonic()
    try:
        with site_lock(engine, target, name):
            sweep_id = _begin(engine, prepared)
            try:
                report = runner(prepared, stop)
            except Exception as exc:  # the scan itself failed: recorded, and exit 3, never "watchlisted"
                store.end_sweep(engine, sweep_id, "failed", f"{type(exc).__name__}: {exc}")
                event("sweep.failed", logging.ERROR, site=name, sweep=sweep_id, error=type(exc).__name__)
                return Outcome(name, EXIT_FAILED, message=f"scan failed: {type(exc).__name__}: {exc}")
            except BaseException as exc:  # a second signal: no results, but the row says why
                store.end_sweep(engine, sweep_id, "failed", f"aborted: {exc}")
                raise
            scanned = time.monotonic()
            _store(engine, sweep_id, prepared, report)
            new, diff = _compare(engine, sweep_id)
            event(
                "sweep.stored",
                site=name,
                sweep=sweep_id,
                status=new.status,
                devices=new.alive,
                watchlisted=new.watchlisted,
                seconds=round(time.monotonic() - scanned, 3),
            )
            if keep is not None:
                pruned = retention.prune(engine, name, keep)
                if pruned:
                    event("sweep.pruned", site=name, sweeps=pruned, keep=str(keep))
    except SweepLocked as exc:
        event("sweep.locked", logging.WARNING, site=name)
        return Outcome(name, EXIT_LOCKED, message=str(exc))
    seconds = time.monotonic() - started
    code = diff.exit_code(fail_on)
    event(
        "sweep.end",
        site=name,
        sweep=sweep_id,
        exit_code=code,
        seconds=round(seconds, 3),
        **diffs.to_json(diff, fail_on)["counts"],
    )
    return Outcome(name, code, new, diff, report, seconds=seconds)
