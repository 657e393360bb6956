"""The history database's tables (SQLAlchemy Core): sweeps, the devices each saw, their evidence and flags.

A device seen in a sweep is a *sighting* (`devices`); the thing that was seen, followed across IP changes by
its serial, MAC or ONVIF endpoint UUID, is an *asset* (`assets`, found through `asset_keys`).
Alembic migrations (camscan/history/migrations) create and evolve exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()
Json = JSON().with_variant(JSONB(), "postgresql")
SITE = 63
TEXT = 512

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("site", String(SITE), nullable=False),
    # running -> complete | incomplete (deadline, signal) | failed | abandoned (the process died)
    Column("status", String(16), nullable=False),
    Column("note", Text, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("scanner", String(255), nullable=False),  # host name and pid of the sweep
    Column("camscan_version", String(32), nullable=False),
    Column("scan_id", String(36), nullable=True),  # the report's scan.id
    Column("targets", Json, nullable=False),
    Column("deadline_hit", Boolean, nullable=False, default=False),
    Column("interrupted", String(16), nullable=True),
    Column("addresses", Integer, nullable=False, default=0),
    Column("alive", Integer, nullable=False, default=0),
    Column("cameras", Integer, nullable=False, default=0),
    Column("watchlisted", Integer, nullable=False, default=0),
    Column("violations", Integer, nullable=False, default=0),
    Column("scan", Json, nullable=True),  # the report's "scan" object
    Column("coverage", Json, nullable=True),  # the report's "coverage" object
    Column("unmatched", Json, nullable=True),
    Column("watchlists", Json, nullable=True),  # id, title, source, url, updated, origin of each list used
    Column("placement", Json, nullable=True),  # the site's placement policy when it ran
    Index("ix_sweeps_site_started", "site", "started_at"),
)

assets = Table(
    "assets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(SITE), nullable=False),
    Column("first_sweep", Integer, nullable=False),
    Column("last_sweep", Integer, nullable=False),
    Index("ix_assets_site", "site"),
)

asset_keys = Table(
    "asset_keys",
    metadata,
    Column("site", String(SITE), primary_key=True),
    Column("kind", String(8), primary_key=True),  # serial, mac, uuid, ip (in that order of trust)
    Column("value", String(TEXT), primary_key=True),
    Column("asset_id", Integer, ForeignKey("assets.id", ondelete="CASCADE"), nullable=False),
    Index("ix_asset_keys_asset", "asset_id"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sweep_id", Integer, ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
    Column("asset_id", Integer, ForeignKey("assets.id", ondelete="SET NULL"), nullable=True),
    Column("identity", String(8), nullable=False),  # the key that named the asset: serial, mac, uuid, ip
    Column("ip", String(15), nullable=False),
    Column("mac", String(17), nullable=True),
    Column("mac_vendor", Text, nullable=True),
    Column("mac_source", String(16), nullable=True),
    Column("hostname", Text, nullable=True),
    Column("endpoint", String(64), nullable=True),  # ONVIF WS-Discovery endpoint UUID
    Column("is_camera", Boolean, nullable=False),
    Column("device_type", String(16), nullable=True),
    Column("manufacturer", Text, nullable=True),
    Column("brand", Text, nullable=True),
    Column("model", Text, nullable=True),
    Column("firmware", Text, nullable=True),
    Column("serial", Text, nullable=True),
    Column("confidence", Float, nullable=False),
    Column("watchlisted", Boolean, nullable=False),
    Column("placement", Json, nullable=False),  # placement violations, one sentence each
    Column("details", Json, nullable=False),  # the rest of the report's device: ports, found_by, probes...
    Index("ix_devices_sweep", "sweep_id"),
    Index("ix_devices_asset", "asset_id"),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("probe", String(32), nullable=False),
    Column("port", Integer, nullable=True),
    Column("field", String(64), nullable=False),
    Column("value", Text, nullable=False),
    Column("fingerprint", String(128), nullable=True),
    Column("claims", Json, nullable=False),
    Column("strength", String(8), nullable=False),
    Column("note", Text, nullable=True),
    Index("ix_evidence_device", "device_id"),
)

flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("list", String(64), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", Text, nullable=False),
    Index("ix_flags_device", "device_id"),
)

TABLES = ("sweeps", "assets", "asset_keys", "devices", "evidence", "flags")
VERSION_TABLE = "camscan_schema_version"  # Alembic's version table, named so a shared database can tell
# The revisions camscan's migrations define, oldest first (a test checks this against Alembic's own list):
# an up-to-date database is recognised without loading Alembic, which takes longer than a small sweep.
REVISIONS = ("0001",)
HEAD = REVISIONS[-1]
