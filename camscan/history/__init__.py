"""Sweep history: every sweep stored (SQLite or PostgreSQL), devices followed across IP changes, diffs."""

from camscan.history.database import HistoryError, Target, open_engine, parse_target
from camscan.history.lock import SweepLocked, site_lock

__all__ = ["HistoryError", "SweepLocked", "Target", "open_engine", "parse_target", "site_lock"]
