"""One CSV row per device, for spreadsheets; safe against formula injection from device strings."""

from __future__ import annotations

import csv
import io

from camscan.models import Report

COLUMNS = (
    "ip",
    "mac",
    "mac_vendor",
    "manufacturer",
    "brand",
    "model",
    "firmware",
    "serial",
    "device_type",
    "is_camera",
    "confidence",
    "watchlisted",
    "watchlists",
    "watchlist_reason",
    "open_ports",
    "evidence",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    # A banner like "=HYPERLINK(...)" must stay text in Excel and LibreOffice.
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render_csv(report: Report) -> str:
    """CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for d in report.devices:
        v = d.verdict
        evidence = "; ".join(f"{e.field}={e.value[:80]}" for e in d.evidence)
        row = (
            d.ip,
            d.mac,
            d.mac_vendor,
            v.manufacturer,
            v.brand,
            v.model,
            v.firmware,
            v.serial,
            v.device_type,
            v.is_camera,
            f"{v.confidence:.2f}",
            d.watchlisted,
            " ".join(h.list for h in d.watchlist),
            d.watchlist[0].reason if d.watchlist else "",
            " ".join(map(str, d.open_ports)),
            evidence,
        )
        writer.writerow([_cell(x) for x in row])
    return out.getvalue()
