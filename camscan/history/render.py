"""Showing history on a terminal or in a cron mail: what changed, the sweeps, a sweep's devices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from camscan.history.diff import Diff
from camscan.history.read import Sweep, stamp
from camscan.report.table import CONTROL

Device = Mapping[str, Any]


def safe(value: object, limit: int = 60) -> str:
    """A device string fit for a terminal line: no control characters, bounded."""
    text = CONTROL.sub("?", "-" if value is None or value == "" else str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def who(d: Device) -> str:
    """'hikvision (brand ezviz) DS-2CD2142 fw V5.5.0'."""
    parts = [safe(d.get("manufacturer") or "unknown maker")]
    if d.get("brand") and d.get("brand") != d.get("manufacturer"):
        parts.append(f"(brand {safe(d['brand'])})")
    for key, label in (("model", ""), ("firmware", "fw ")):
        if d.get(key):
            parts.append(label + safe(d[key], 40))
    return " ".join(parts)


def _tag(d: Device) -> str:
    return " WATCHLISTED" if d.get("watchlisted") else ""


def change_rows(diff: Diff) -> list[tuple[str, str, str]]:
    """(what, address, detail) for every change, findings first."""
    rows = [("NEWLY WATCHLISTED", safe(d["ip"]), who(d)) for d in diff.newly_watchlisted]
    rows += [
        (
            "PLACEMENT",
            safe(m.device["ip"]),
            f"{who(m.device)}: {safe('; '.join(m.violations), 200)}" + ("" if m.new else " (as before)"),
        )
        for m in diff.misplaced
    ]
    rows += [("REMEDIATED", safe(d["ip"]), f"{who(d)} is gone") for d in diff.remediated]
    rows += [("NEW", safe(d["ip"]), who(d) + _tag(d)) for d in diff.added]
    rows += [("GONE", safe(d["ip"]), who(d) + _tag(d)) for d in diff.gone if d not in diff.remediated]
    rows += [
        ("MOVED", f"{safe(m.before['ip'])} -> {safe(m.after['ip'])}", who(m.after) + _tag(m.after))
        for m in diff.moved
    ]
    for c in diff.changed:
        detail = ", ".join(f"{k} {safe(a, 40)} -> {safe(b, 40)}" for k, (a, b) in c.fields.items())
        rows.append(("CHANGED", safe(c.after["ip"]), detail + _tag(c.after)))
    rows += [("UNSEEN", safe(d["ip"]), who(d) + " (the sweep did not finish)") for d in diff.unseen]
    return rows


def headline(diff: Diff) -> str:
    """One line: the sweep, what it covered, what it found, what changed."""
    s = diff.new
    since = f"since sweep {diff.old.id}" if diff.old else "first sweep of the site"
    counts = (
        f"{len(diff.added)} new, {len(diff.gone)} gone, {len(diff.moved)} moved, "
        f"{len(diff.changed)} changed, {len(diff.newly_watchlisted)} newly watchlisted, "
        f"{len(diff.remediated)} remediated"
    )
    status = "" if s.complete else f" INCOMPLETE ({safe(s.note, 200)})"
    return (
        f"camscan: site {safe(s.site)} sweep {s.id}: {s.addresses} addresses, {s.alive} alive, "
        f"{s.cameras} cameras, {len(diff.watchlisted)} watchlisted, "
        f"{len(diff.misplaced)} placement violations; "
        f"{since}: {counts}{status}"
    )


def diff_lines(diff: Diff) -> list[str]:
    """The headline and one line per change (cron mail, pipes)."""
    return [headline(diff), *(f"{what} {where} {detail}" for what, where, detail in change_rows(diff))]


def diff_table(diff: Diff, console: Console) -> None:
    """The changes as a table (a terminal)."""
    console.print(Text(headline(diff)))
    rows = change_rows(diff)
    if not rows:
        return
    table = Table(show_edge=False, pad_edge=False)
    for name in ("change", "address", "device"):
        table.add_column(name, overflow="fold")
    for what, where, detail in rows:
        style = "bold red" if what in ("NEWLY WATCHLISTED", "PLACEMENT") or "WATCHLISTED" in detail else None
        table.add_row(Text(what, style=style or ""), Text(where), Text(detail))
    console.print(table)


def sweeps_table(sweeps: Sequence[Sweep], console: Console) -> None:
    """`camscan history list`."""
    table = Table(show_edge=False, pad_edge=False)
    for name in (
        "sweep",
        "site",
        "started",
        "status",
        "addresses",
        "alive",
        "cameras",
        "watchlisted",
        "placement",
        "note",
    ):
        table.add_column(name, overflow="fold")
    for s in sweeps:
        style = "red" if s.watchlisted or s.violations else ""
        table.add_row(
            str(s.id),
            Text(safe(s.site)),
            stamp(s.started_at) or "-",
            s.status,
            str(s.addresses),
            str(s.alive),
            str(s.cameras),
            Text(str(s.watchlisted), style=style),
            str(s.violations),
            Text(safe(s.note, 80)),
        )
    console.print(table)


def sweep_lines(sweeps: Sequence[Sweep]) -> list[str]:
    """`camscan history list` for pipes: one tab-separated line per sweep."""
    return [
        "\t".join(
            map(
                str,
                (
                    s.id,
                    safe(s.site),
                    stamp(s.started_at),
                    s.status,
                    s.addresses,
                    s.alive,
                    s.cameras,
                    s.watchlisted,
                    s.violations,
                ),
            )
        )
        for s in sweeps
    ]


def devices_table(devices: Sequence[Device], console: Console, title: str) -> None:
    """`camscan history show`: one row per device, watchlisted first."""
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for name in (
        "IP",
        "MAC",
        "Serial",
        "Maker",
        "Brand",
        "Model",
        "Firmware",
        "Asset",
        "Id by",
        "WATCHLISTED",
    ):
        table.add_column(name, overflow="fold")
    order = sorted(devices, key=lambda d: (not d["watchlisted"], not d["is_camera"]))
    for d in order:
        flagged = ",".join(h["list"] for h in d["watchlist"])
        table.add_row(
            *(
                Text(safe(d.get(k), 40))
                for k in ("ip", "mac", "serial", "manufacturer", "brand", "model", "firmware")
            ),
            str(d.get("asset") or "-"),
            d.get("identity") or "-",
            Text(flagged or "-", style="bold red" if flagged else ""),
        )
    console.print(table)
