"""One entry point for every export format of a stored sweep."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from camscan.export.jsonl import render_jsonl
from camscan.export.table import render_csv
from camscan.history import read
from camscan.history.database import HistoryError

FORMATS = ("json", "jsonl", "csv", "html")


def render(engine: Engine, sweep: read.Sweep, fmt: str) -> str:
    """The sweep in `fmt` (json: the report contract; jsonl; csv; html: the audit report)."""
    if fmt == "json":
        return json.dumps(read.report(engine, sweep), indent=2, ensure_ascii=False) + "\n"
    if not sweep.has_results:
        raise HistoryError(f"sweep {sweep.id} ({sweep.status}) recorded no results")
    devices = read.devices(engine, sweep.id)
    if fmt == "jsonl":
        return render_jsonl(sweep, devices)
    if fmt == "csv":
        return render_csv(sweep, devices)
    if fmt == "html":
        from camscan.export.html import render_html  # Jinja2 loads only for the audit report

        before = read.previous(engine, sweep)
        return render_html(sweep, devices, before, read.devices(engine, before.id) if before else None)
    raise ValueError(f"unknown export format {fmt!r}")
