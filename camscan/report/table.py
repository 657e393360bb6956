"""The terminal table: one row per device, watchlisted first."""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from camscan.models import Device, Report

# Device strings are hostile: no escape sequences or control characters reach the terminal.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _safe(value: object | None, limit: int = 40) -> Text:
    if value is None or value == "":
        return Text("-", style="dim")
    text = CONTROL.sub("?", str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return Text(text)


def _order(d: Device) -> tuple[int, int, tuple[int, ...]]:
    return (
        0 if d.watchlisted else 1,
        0 if d.verdict.is_camera else 1,
        tuple(int(x) for x in d.ip.split(".")),
    )


def render_table(report: Report, console: Console) -> None:
    """Print the device table and a one-line summary."""
    table = Table(title=f"camscan: {', '.join(report.scan.targets)}", title_justify="left")
    for name in ("IP", "MAC", "Maker", "Brand", "Model", "Firmware", "Conf.", "WATCHLISTED"):
        table.add_column(name, overflow="fold")
    for d in sorted(report.devices, key=_order):
        v = d.verdict
        maker = _safe(v.manufacturer) if v.manufacturer else _safe(v.device_type and f"({v.device_type})")
        count = len(d.watchlist)
        flag = Text(f"YES ({count} list{'s' if count > 1 else ''})", style="bold red") if count else Text("")
        table.add_row(
            _safe(d.ip),
            _safe(d.mac),
            maker,
            _safe(v.brand),
            _safe(v.model),
            _safe(v.firmware, 28),
            Text(f"{v.confidence:.2f}") if v.manufacturer or v.is_camera else Text("-", style="dim"),
            flag,
        )
    console.print(table)
    c = report.coverage
    flagged = sum(1 for d in report.devices if d.watchlisted)
    summary = (
        f"{c.addresses} addresses, {c.alive} alive, {c.cameras} cameras "
        f"({c.unidentified_cameras} of unknown make), {flagged} watchlisted; "
        f"MACs via {report.scan.mac_method}"
    )
    if report.deadline_hit:
        summary += "; the scan deadline cut probing short"
    console.print(Text(summary, style="bold red" if flagged else "bold"))
    if flagged:
        names = sorted({h.list for d in report.devices for h in d.watchlist})
        note = f"lists: {', '.join(names)} (reasons and sources in the JSON report)"
        console.print(Text(note, style="dim"))
