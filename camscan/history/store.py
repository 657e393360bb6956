"""Writing sweeps: a 'running' row first, then everything the scan found in one transaction.

A sweep killed before its results are written leaves its 'running' row and nothing else; the next sweep of
the site (holding the site's lock, so that row cannot be alive) marks it 'abandoned'. Earlier sweeps are never
touched by either.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from camscan import __version__
from camscan.history import schema as t
from camscan.history.identity import Kind, device_endpoint, identity_keys

DETAIL_KEYS = ("mac_router", "mac_randomised", "hostnames", "open_ports", "found_by", "conflicts", "probes")
STATUSES = ("running", "complete", "incomplete", "failed", "abandoned")


def utcnow() -> datetime:
    """Now, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def clean(value: Any) -> Any:
    """Device strings as PostgreSQL stores them: NUL characters (never text) become U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    return value


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no id for a new row")
    return int(key[0])


def writing(engine: Engine) -> Connection:
    """A connection whose transactions take SQLite's write lock at once (no effect on PostgreSQL)."""
    return engine.connect().execution_options(write=True)


def begin_sweep(engine: Engine, site: str, targets: Sequence[str]) -> int:
    """Record that a sweep of `site` started (committed at once) and return its id."""
    with writing(engine) as conn, conn.begin():
        result = conn.execute(
            t.sweeps.insert().values(
                uuid=str(uuid.uuid4()),
                site=site,
                status="running",
                started_at=utcnow(),
                scanner=f"{socket.gethostname()}[{os.getpid()}]"[:255],
                camscan_version=__version__,
                targets=list(targets),
                deadline_hit=False,
                addresses=0,
                alive=0,
                cameras=0,
                watchlisted=0,
                violations=0,
            )
        )
        return _new_id(result)


def abandon_stale(engine: Engine, site: str, keep: int | None = None) -> int:
    """Mark the site's 'running' sweeps (other than `keep`) abandoned; call only while holding its lock."""
    where = (t.sweeps.c.site == site) & (t.sweeps.c.status == "running")
    if keep is not None:
        where &= t.sweeps.c.id != keep
    with writing(engine) as conn, conn.begin():
        result = conn.execute(
            t.sweeps.update()
            .where(where)
            .values(
                status="abandoned", note="the sweep ended without recording its results (killed, crashed)"
            )
        )
        return int(result.rowcount)


def end_sweep(engine: Engine, sweep_id: int, status: str, note: str) -> None:
    """Close a sweep that has no results to record (failed, aborted)."""
    with writing(engine) as conn, conn.begin():
        conn.execute(
            t.sweeps.update()
            .where(t.sweeps.c.id == sweep_id)
            .values(status=status, note=note[:2000], finished_at=utcnow())
        )


def _asset_for(
    conn: Connection, site: str, keys: list[tuple[Kind, str]], claimed: set[int], sweep_id: int
) -> tuple[int, str]:
    """The asset the most trusted key already names (not yet taken in this sweep), else a new one."""
    for kind, value in keys:
        found = conn.execute(
            sa.select(t.asset_keys.c.asset_id).where(
                (t.asset_keys.c.site == site)
                & (t.asset_keys.c.kind == kind)
                & (t.asset_keys.c.value == value)
            )
        ).scalar()
        if found is not None and found not in claimed:
            conn.execute(t.assets.update().where(t.assets.c.id == found).values(last_sweep=sweep_id))
            return int(found), kind
    result = conn.execute(t.assets.insert().values(site=site, first_sweep=sweep_id, last_sweep=sweep_id))
    return _new_id(result), keys[0][0]


def _bind_keys(conn: Connection, site: str, keys: list[tuple[Kind, str]], asset: int) -> None:
    """Every key of the sighting now names its asset (a MAC moved to a new serial follows the serial)."""
    for kind, value in keys:
        where = (
            (t.asset_keys.c.site == site) & (t.asset_keys.c.kind == kind) & (t.asset_keys.c.value == value)
        )
        if conn.execute(t.asset_keys.update().where(where).values(asset_id=asset)).rowcount == 0:
            conn.execute(t.asset_keys.insert().values(site=site, kind=kind, value=value, asset_id=asset))


def _device_row(
    dev: Mapping[str, Any], sweep_id: int, asset: int, via: str, placement: list[str]
) -> dict[str, Any]:
    names = (
        "ip",
        "mac",
        "mac_vendor",
        "mac_source",
        "hostname",
        "is_camera",
        "device_type",
        "manufacturer",
        "brand",
        "model",
        "firmware",
        "serial",
        "confidence",
        "watchlisted",
    )
    return {
        **{name: dev.get(name) for name in names},
        "sweep_id": sweep_id,
        "asset_id": asset,
        "identity": via,
        "endpoint": device_endpoint(dev),
        "placement": placement,
        "details": {key: dev.get(key) for key in DETAIL_KEYS},
    }


def _insert_device(
    conn: Connection, dev: Mapping[str, Any], sweep_id: int, asset: int, via: str, placement: list[str]
) -> None:
    device_id = conn.execute(t.devices.insert().values(**_device_row(dev, sweep_id, asset, via, placement)))
    row_id = _new_id(device_id)
    evidence = [
        {
            "device_id": row_id,
            "probe": e["probe"],
            "port": e.get("port"),
            "field": e["field"],
            "value": e["value"],
            "fingerprint": e.get("fingerprint"),
            "claims": e.get("claims", {}),
            "strength": e["strength"],
            "note": e.get("note"),
        }
        for e in dev.get("evidence", ())
    ]
    if evidence:
        conn.execute(t.evidence.insert(), evidence)
    hits = [
        {"device_id": row_id, **{k: h[k] for k in ("list", "entity", "reason", "source")}}
        for h in dev.get("watchlist", ())
    ]
    if hits:
        conn.execute(t.flags.insert(), hits)


def _order(devices: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Best-identified sightings first, so a weak key never takes an asset a strong one would have named."""
    rank = {"serial": 0, "mac": 1, "uuid": 2, "ip": 3}
    return sorted(devices, key=lambda d: (rank[identity_keys(d)[0][0]], d["ip"]))


def record_sweep(
    engine: Engine,
    sweep_id: int,
    site: str,
    report: Mapping[str, Any],
    *,
    watchlists: Sequence[Mapping[str, str]],
    placement_policy: Mapping[str, Any],
    violations: Mapping[str, list[str]],
) -> None:
    """Store a finished scan (the report's JSON form) as the sweep's results, in one transaction."""
    report = clean(report)
    scan, coverage = report["scan"], report["coverage"]
    devices = report["devices"]
    with writing(engine) as conn, conn.begin():
        claimed: set[int] = set()
        for dev in _order(devices):
            keys = identity_keys(dev)
            asset, via = _asset_for(conn, site, keys, claimed, sweep_id)
            claimed.add(asset)
            _bind_keys(conn, site, keys, asset)
            _insert_device(conn, dev, sweep_id, asset, via, violations.get(dev["ip"], []))
        conn.execute(
            t.sweeps.update()
            .where(t.sweeps.c.id == sweep_id)
            .values(
                status="complete" if scan["complete"] else "incomplete",
                note=None if scan["complete"] else _incomplete_note(scan, coverage),
                finished_at=utcnow(),
                scan_id=scan["id"],
                targets=scan["targets"],
                deadline_hit=scan["deadline_hit"],
                interrupted=scan["interrupted"],
                addresses=coverage["addresses"],
                alive=coverage["alive"],
                cameras=coverage["cameras"],
                watchlisted=sum(1 for d in devices if d["watchlisted"]),
                violations=sum(1 for d in devices if violations.get(d["ip"])),
                scan=scan,
                coverage=coverage,
                unmatched=report["unmatched"],
                watchlists=list(watchlists),
                placement=dict(placement_policy),
            )
        )


def _incomplete_note(scan: Mapping[str, Any], coverage: Mapping[str, Any]) -> str:
    why = f"stopped by {scan['interrupted']}" if scan["interrupted"] else "the scan deadline passed"
    left = coverage["unfinished"]
    return f"{why}: {left['addresses']} addresses and {left['hosts']} live hosts not probed to the end"
