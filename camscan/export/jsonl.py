"""JSON Lines: one device per line, each with the sweep, site, time and the watchlists it was judged by."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from camscan.history.read import Sweep, stamp


def watchlist_versions(sweep: Sweep) -> list[dict[str, str]]:
    """Each list the sweep flagged against: id, its date (`updated`) and its source."""
    return [{k: wl.get(k, "") for k in ("id", "updated", "source")} for wl in sweep.watchlists or []]


def render_jsonl(sweep: Sweep, devices: Sequence[Mapping[str, Any]]) -> str:
    """The lines (each a complete JSON object), ending in a newline; empty for a sweep with no devices."""
    head = {
        "scan_id": sweep.scan_id,
        "sweep": sweep.id,
        "site": sweep.site,
        "time": stamp(sweep.finished_at or sweep.started_at),
        "complete": sweep.complete,
        "watchlists": watchlist_versions(sweep),
    }
    lines = [json.dumps({**head, **dev}, ensure_ascii=False, separators=(",", ":")) for dev in devices]
    return "".join(line + "\n" for line in lines)
