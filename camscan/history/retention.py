"""Retention: keep the newest N sweeps of a site, or those of the last N days; drop what only they held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from camscan.history import schema as t
from camscan.history.store import utcnow, writing
from camscan.sites import Keep


def prune(engine: Engine, site: str, keep: Keep) -> int:
    """Delete the site's sweeps beyond `keep` (never a running one, never the newest); returns how many."""
    s = t.sweeps.c
    with writing(engine) as conn, conn.begin():
        ids = list(conn.execute(sa.select(s.id, s.started_at).where(s.site == site).order_by(s.id.desc())))
        if keep.sweeps is not None:
            doomed = [row.id for row in ids[keep.sweeps :]]
        else:
            horizon = utcnow() - timedelta(days=keep.days or 0)
            doomed = [row.id for row in ids[1:] if _aware(row.started_at) < horizon]
        if not doomed:
            return 0
        running = set(
            conn.execute(sa.select(s.id).where(s.id.in_(doomed) & (s.status == "running"))).scalars()
        )
        doomed = [i for i in doomed if i not in running]
        for chunk in (doomed[i : i + 500] for i in range(0, len(doomed), 500)):
            device_ids = sa.select(t.devices.c.id).where(t.devices.c.sweep_id.in_(chunk))
            conn.execute(t.evidence.delete().where(t.evidence.c.device_id.in_(device_ids)))
            conn.execute(t.flags.delete().where(t.flags.c.device_id.in_(device_ids)))
            conn.execute(t.devices.delete().where(t.devices.c.sweep_id.in_(chunk)))
            conn.execute(t.sweeps.delete().where(s.id.in_(chunk)))
        seen = sa.select(t.devices.c.asset_id).where(t.devices.c.asset_id.is_not(None)).distinct()
        orphans = sa.select(t.assets.c.id).where((t.assets.c.site == site) & t.assets.c.id.not_in(seen))
        conn.execute(t.asset_keys.delete().where(t.asset_keys.c.asset_id.in_(orphans)))
        conn.execute(t.assets.delete().where(t.assets.c.id.in_(orphans)))
        return len(doomed)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
