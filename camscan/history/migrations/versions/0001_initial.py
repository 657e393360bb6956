"""The first history schema: sweeps, assets and their keys, devices, evidence, flags.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Create the six tables and their indexes."""
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("site", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scanner", sa.String(255), nullable=False),
        sa.Column("camscan_version", sa.String(32), nullable=False),
        sa.Column("scan_id", sa.String(36), nullable=True),
        sa.Column("targets", Json, nullable=False),
        sa.Column("deadline_hit", sa.Boolean, nullable=False),
        sa.Column("interrupted", sa.String(16), nullable=True),
        sa.Column("addresses", sa.Integer, nullable=False),
        sa.Column("alive", sa.Integer, nullable=False),
        sa.Column("cameras", sa.Integer, nullable=False),
        sa.Column("watchlisted", sa.Integer, nullable=False),
        sa.Column("violations", sa.Integer, nullable=False),
        sa.Column("scan", Json, nullable=True),
        sa.Column("coverage", Json, nullable=True),
        sa.Column("unmatched", Json, nullable=True),
        sa.Column("watchlists", Json, nullable=True),
        sa.Column("placement", Json, nullable=True),
    )
    op.create_index("ix_sweeps_site_started", "sweeps", ["site", "started_at"])
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(63), nullable=False),
        sa.Column("first_sweep", sa.Integer, nullable=False),
        sa.Column("last_sweep", sa.Integer, nullable=False),
    )
    op.create_index("ix_assets_site", "assets", ["site"])
    op.create_table(
        "asset_keys",
        sa.Column("site", sa.String(63), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("value", sa.String(512), primary_key=True),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_asset_keys_asset", "asset_keys", ["asset_id"])
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sweep_id", sa.Integer, sa.ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("assets.id", ondelete="SET NULL"), nullable=True),
        sa.Column("identity", sa.String(8), nullable=False),
        sa.Column("ip", sa.String(15), nullable=False),
        sa.Column("mac", sa.String(17), nullable=True),
        sa.Column("mac_vendor", sa.Text, nullable=True),
        sa.Column("mac_source", sa.String(16), nullable=True),
        sa.Column("hostname", sa.Text, nullable=True),
        sa.Column("endpoint", sa.String(64), nullable=True),
        sa.Column("is_camera", sa.Boolean, nullable=False),
        sa.Column("device_type", sa.String(16), nullable=True),
        sa.Column("manufacturer", sa.Text, nullable=True),
        sa.Column("brand", sa.Text, nullable=True),
        sa.Column("model", sa.Text, nullable=True),
        sa.Column("firmware", sa.Text, nullable=True),
        sa.Column("serial", sa.Text, nullable=True),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("watchlisted", sa.Boolean, nullable=False),
        sa.Column("placement", Json, nullable=False),
        sa.Column("details", Json, nullable=False),
    )
    op.create_index("ix_devices_sweep", "devices", ["sweep_id"])
    op.create_index("ix_devices_asset", "devices", ["asset_id"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
        sa.Column("probe", sa.String(32), nullable=False),
        sa.Column("port", sa.Integer, nullable=True),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=True),
        sa.Column("claims", Json, nullable=False),
        sa.Column("strength", sa.String(8), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_evidence_device", "evidence", ["device_id"])
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
        sa.Column("list", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )
    op.create_index("ix_flags_device", "flags", ["device_id"])


def downgrade() -> None:
    """Drop everything (only for development: camscan itself never downgrades)."""
    for table in ("flags", "evidence", "devices", "asset_keys", "assets", "sweeps"):
        op.drop_table(table)
