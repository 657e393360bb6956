"""Reading history back: sweeps, the devices each saw (in the report's own shape), whole reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from camscan import __version__
from camscan.history import schema as t
from camscan.history.database import HistoryError
from camscan.report.json import SCHEMA_VERSION

WITH_RESULTS = ("complete", "incomplete")  # sweeps that stored what they found


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stamp(value: datetime | None) -> str | None:
    """A time as the report writes it (UTC, Z)."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None  # type: ignore[union-attr]


@dataclass(frozen=True, slots=True)
class Sweep:
    """One stored sweep's record (without its devices)."""

    id: int
    uuid: str
    site: str
    status: str
    note: str | None
    started_at: datetime
    finished_at: datetime | None
    scanner: str
    camscan_version: str
    scan_id: str | None
    targets: list[str]
    deadline_hit: bool
    interrupted: str | None
    addresses: int
    alive: int
    cameras: int
    watchlisted: int
    violations: int
    scan: dict[str, Any] | None
    coverage: dict[str, Any] | None
    unmatched: list[dict[str, Any]] | None
    watchlists: list[dict[str, str]] | None
    placement: dict[str, Any] | None

    @property
    def complete(self) -> bool:
        """The scan ran to its end."""
        return self.status == "complete"

    @property
    def has_results(self) -> bool:
        """Its devices were recorded (complete or incomplete, not failed, abandoned or running)."""
        return self.status in WITH_RESULTS


def _sweep(row: sa.Row[Any]) -> Sweep:
    data = dict(row._mapping)
    data["started_at"] = _utc(data["started_at"])
    data["finished_at"] = _utc(data["finished_at"])
    return Sweep(**data)


def sweeps(
    engine: Engine, site: str | None = None, *, limit: int | None = None, with_results: bool = False
) -> list[Sweep]:
    """Sweeps, newest first, of one site or all."""
    query = sa.select(t.sweeps).order_by(t.sweeps.c.id.desc())
    if site is not None:
        query = query.where(t.sweeps.c.site == site)
    if with_results:
        query = query.where(t.sweeps.c.status.in_(WITH_RESULTS))
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_sweep(row) for row in conn.execute(query)]


def sites(engine: Engine) -> list[str]:
    """Every site with history, by name."""
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(t.sweeps.c.site).distinct()).scalars())


def find(engine: Engine, ref: str, site: str | None = None) -> Sweep:
    """A sweep by number (12), by its uuid or scan id (or a unique prefix of 8+), or 'latest'/'previous'."""
    if ref in ("latest", "previous"):
        found = sweeps(engine, site, limit=2, with_results=True)
        index = 0 if ref == "latest" else 1
        if len(found) <= index:
            where = f" of site {site!r}" if site else ""
            raise HistoryError(f"no {ref} sweep with results{where}")
        return found[index]
    with engine.connect() as conn:
        if ref.isdigit():
            row = conn.execute(sa.select(t.sweeps).where(t.sweeps.c.id == int(ref))).first()
            rows = [row] if row is not None else []
        elif len(ref) >= 8:
            like = f"{ref.lower()}%"
            rows = list(
                conn.execute(
                    sa.select(t.sweeps).where(t.sweeps.c.uuid.like(like) | t.sweeps.c.scan_id.like(like))
                )
            )
        else:
            rows = []
    if len(rows) != 1:
        raise HistoryError(f"sweep {ref!r}: {'no such sweep' if not rows else 'more than one sweep matches'}")
    return _sweep(rows[0])


def devices(engine: Engine, sweep_id: int, *, evidence: bool = True) -> list[dict[str, Any]]:
    """The sweep's devices as report devices, plus `asset`, `identity` and `placement`; by address."""
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(t.devices).where(t.devices.c.sweep_id == sweep_id)))
        ids = [row.id for row in rows]
        hits: dict[int, list[dict[str, Any]]] = defaultdict(list)
        evs: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for hit in conn.execute(
                sa.select(t.flags).where(t.flags.c.device_id.in_(chunk)).order_by(t.flags.c.id)
            ):
                hits[hit.device_id].append(
                    {k: getattr(hit, k) for k in ("list", "entity", "reason", "source")}
                )
            if evidence:
                query = (
                    sa.select(t.evidence).where(t.evidence.c.device_id.in_(chunk)).order_by(t.evidence.c.id)
                )
                for ev in conn.execute(query):
                    evs[ev.device_id].append(_evidence(ev))
    out = [_device(row, hits[row.id], evs[row.id]) for row in rows]
    return sorted(out, key=lambda d: tuple(int(x) for x in d["ip"].split(".")))


def _evidence(ev: sa.Row[Any]) -> dict[str, Any]:
    out = {
        k: getattr(ev, k) for k in ("probe", "port", "field", "value", "fingerprint", "claims", "strength")
    }
    if ev.note:
        out["note"] = ev.note
    return out


def _device(row: sa.Row[Any], hits: list[dict[str, Any]], evs: list[dict[str, Any]]) -> dict[str, Any]:
    """In the order of the report contract, then the history's own keys."""
    d = row.details
    return {
        "ip": row.ip,
        "mac": row.mac,
        "mac_vendor": row.mac_vendor,
        "mac_source": row.mac_source,
        "mac_router": d.get("mac_router"),
        "mac_randomised": bool(d.get("mac_randomised")),
        "hostname": row.hostname,
        "hostnames": d.get("hostnames") or [],
        "open_ports": d.get("open_ports") or [],
        "found_by": d.get("found_by") or [],
        "is_camera": row.is_camera,
        "device_type": row.device_type,
        "manufacturer": row.manufacturer,
        "brand": row.brand,
        "model": row.model,
        "firmware": row.firmware,
        "serial": row.serial,
        "confidence": row.confidence,
        "watchlisted": row.watchlisted,
        "watchlist": hits,
        "conflicts": d.get("conflicts") or [],
        "evidence": evs,
        "probes": d.get("probes") or [],
        "asset": row.asset_id,
        "identity": row.identity,
        "endpoint": row.endpoint,
        "placement": row.placement or [],
    }


HISTORY_KEYS = ("asset", "identity", "endpoint", "placement")


def report(engine: Engine, sweep: Sweep) -> dict[str, Any]:
    """The sweep as a JSON report (schema_version 1), as `camscan scan --json` wrote it."""
    if not sweep.has_results or sweep.scan is None or sweep.coverage is None:
        raise HistoryError(f"sweep {sweep.id} ({sweep.status}) recorded no results")
    devs = [{k: v for k, v in d.items() if k not in HISTORY_KEYS} for d in devices(engine, sweep.id)]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "camscan", "version": sweep.camscan_version or __version__},
        "scan": sweep.scan,
        "coverage": sweep.coverage,
        "devices": devs,
        "unmatched": sweep.unmatched or [],
    }


def previous(engine: Engine, sweep: Sweep) -> Sweep | None:
    """The site's last sweep with results before this one."""
    query = (
        sa.select(t.sweeps)
        .where(
            (t.sweeps.c.site == sweep.site) & (t.sweeps.c.id < sweep.id) & t.sweeps.c.status.in_(WITH_RESULTS)
        )
        .order_by(t.sweeps.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return _sweep(row) if row is not None else None


def count_rows(engine: Engine, tables: Sequence[str] = t.TABLES) -> dict[str, int]:
    """Rows per table (for `history list --stats` and the tests)."""
    with engine.connect() as conn:
        return {
            name: int(
                conn.execute(sa.select(sa.func.count()).select_from(t.metadata.tables[name])).scalar_one()
            )
            for name in tables
        }
