"""Helpers for the history tests: the recorded sweep report, variants of it, and storing them."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from camscan.history import read, store
from camscan.history.database import open_engine, parse_target

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "history" / "loopback-sweep.json"
NO_WATCHLISTS: tuple[dict[str, str], ...] = ()


def recorded() -> dict[str, Any]:
    """The recorded six-device loopback sweep report."""
    report: dict[str, Any] = json.loads(FIXTURE.read_text())
    return report


def device(report: Mapping[str, Any], model_or_ip: str) -> dict[str, Any]:
    """A device of a report by address or by a model substring."""
    for d in report["devices"]:
        if d["ip"] == model_or_ip or (d["model"] and model_or_ip in d["model"]):
            return dict(d)
    raise KeyError(model_or_ip)


def variant(
    report: Mapping[str, Any],
    *,
    moves: Mapping[str, str] | None = None,
    drop: Iterable[str] = (),
    change: Mapping[str, Mapping[str, Any]] | None = None,
    complete: bool = True,
) -> dict[str, Any]:
    """A later sweep of the same site: devices moved (ip -> ip), dropped, or with fields changed."""
    out = copy.deepcopy(dict(report))
    gone = set(drop)
    devices = []
    for d in out["devices"]:
        if d["ip"] in gone:
            continue
        d.update((change or {}).get(d["ip"], {}))
        d["ip"] = (moves or {}).get(d["ip"], d["ip"])
        devices.append(d)
    out["devices"] = devices
    out["scan"] = {**out["scan"], "id": str(uuid.uuid4()), "complete": complete, "deadline_hit": not complete}
    return out


def record(
    engine: Engine, site: str, report: Mapping[str, Any], violations: Mapping[str, list[str]] | None = None
) -> read.Sweep:
    """Store a report as a finished sweep of `site` and return it."""
    sweep_id = store.begin_sweep(engine, site, report["scan"]["targets"])
    store.record_sweep(
        engine,
        sweep_id,
        site,
        report,
        watchlists=NO_WATCHLISTS,
        placement_policy={},
        violations=violations or {},
    )
    return read.find(engine, str(sweep_id))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A history database to create: an SQLite path, or a fresh database on the throw-away PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_target: str) -> Engine:
    """An open, migrated history database (either kind)."""
    return open_engine(parse_target(db_target), create=True)
