"""The HTML audit report: one self-contained file an auditor could sign (Jinja2, autoescaped, no scripts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2

from camscan import __version__
from camscan.history import diff
from camscan.history.read import Sweep, stamp

Device = Mapping[str, Any]
TIMEOUTS = frozenset({"timeout", "error", "too-large", "protocol-error"})


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("camscan.export", "templates"),
        autoescape=True,  # every device string is hostile until proven otherwise
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def why_unidentified(device: Device, unmatched_ips: set[str]) -> str:
    """Why a live host has no maker, in the words an auditor reads."""
    if not device["open_ports"]:
        how = ", ".join(device["found_by"]) or "discovery"
        return f"answered ({how}) but has none of the checked ports open"
    if device["ip"] in unmatched_ips:
        return "sent banners that no fingerprint knows (listed as unmatched)"
    if any(p["status"] in TIMEOUTS for p in device["probes"]):
        return "its probes timed out or failed"
    return "its answers name no maker"


def maker_summary(devices: Sequence[Device]) -> list[dict[str, Any]]:
    """Devices by maker and brand (unknown last): how many, how many cameras, how many watchlisted."""
    groups: dict[tuple[str, str], Counter[str]] = {}
    for d in devices:
        key = (d["manufacturer"] or "", d["brand"] or d["manufacturer"] or "")
        count = groups.setdefault(key, Counter())
        count["devices"] += 1
        count["cameras"] += d["is_camera"]
        count["watchlisted"] += d["watchlisted"]
    rows = [{"manufacturer": m or "unknown", "brand": b or "unknown", **c} for (m, b), c in groups.items()]
    return sorted(
        rows, key=lambda r: (r["manufacturer"] == "unknown", -r["devices"], r["manufacturer"], r["brand"])
    )


def audit_context(
    sweep: Sweep, devices: Sequence[Device], before: Sweep | None, before_devices: Sequence[Device] | None
) -> dict[str, Any]:
    """Everything the template shows, computed here so the template only lays it out."""
    scan, coverage = sweep.scan or {}, sweep.coverage or {}
    unmatched_ips = {u["ip"] for u in sweep.unmatched or []}
    unknown = [d for d in devices if not d["manufacturer"]]
    reasons = Counter(why_unidentified(d, unmatched_ips) for d in unknown)
    changes = diff.compare(before, before_devices or [], sweep, devices)
    return {
        "version": __version__,
        "sweep": sweep,
        "started": stamp(sweep.started_at),
        "finished": stamp(sweep.finished_at),
        "scan": scan,
        "coverage": coverage,
        "options": scan.get("options", {}),
        "liveness": scan.get("liveness", {}),
        "counts": {
            "devices": len(devices),
            "cameras": sum(1 for d in devices if d["is_camera"]),
            "watchlisted": sum(1 for d in devices if d["watchlisted"]),
            "violations": sum(1 for d in devices if d.get("placement")),
            "unidentified": len(unknown),
        },
        "unidentified": [{"device": d, "why": why_unidentified(d, unmatched_ips)} for d in unknown],
        "reasons": sorted(reasons.items(), key=lambda item: -item[1]),
        "makers": maker_summary(devices),
        "watchlisted": [d for d in devices if d["watchlisted"]],
        "misplaced": [d for d in devices if d.get("placement")],
        "watchlists": sweep.watchlists or [],
        "placement": {"no_watchlisted": [], "cameras": [], **(sweep.placement or {})},
        "before": before,
        "before_started": stamp(before.started_at) if before else None,
        "changes": diff.to_json(changes)["counts"],
    }


def render_html(
    sweep: Sweep,
    devices: Sequence[Device],
    before: Sweep | None = None,
    before_devices: Sequence[Device] | None = None,
) -> str:
    """The audit report of one sweep (with what changed since `before`) as one HTML document."""
    template = _environment().get_template("audit.html.j2")
    return template.render(audit_context(sweep, devices, before, before_devices))
