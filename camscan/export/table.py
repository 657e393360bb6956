"""CSV of a stored sweep: the columns of `camscan scan --csv`, plus the site, sweep and placement."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from camscan.history.read import Sweep
from camscan.report.csv import COLUMNS, _cell

EXTRA = ("site", "sweep", "asset", "identity", "placement")


def render_csv(sweep: Sweep, devices: Sequence[Mapping[str, Any]]) -> str:
    """CSV text with a header row (device strings can never become spreadsheet formulas)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*COLUMNS, *EXTRA))
    for d in devices:
        values = {
            **d,
            "confidence": f"{d['confidence']:.2f}",
            "watchlists": " ".join(h["list"] for h in d["watchlist"]),
            "watchlist_reason": d["watchlist"][0]["reason"] if d["watchlist"] else "",
            "open_ports": " ".join(map(str, d["open_ports"])),
            "evidence": "; ".join(f"{e['field']}={e['value'][:80]}" for e in d["evidence"]),
            "site": sweep.site,
            "sweep": sweep.id,
            "placement": "; ".join(d.get("placement") or []),
        }
        writer.writerow([_cell(values.get(name)) for name in (*COLUMNS, *EXTRA)])
    return out.getvalue()
