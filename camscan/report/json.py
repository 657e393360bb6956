"""The JSON report (schema_version 1, the contract other tools rely on)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from camscan import __version__
from camscan.models import Device, Evidence, Report

SCHEMA_VERSION = 1
MAX_EVIDENCE_VALUE = 512


def _clip(value: str) -> str:
    return value if len(value) <= MAX_EVIDENCE_VALUE else value[:MAX_EVIDENCE_VALUE] + "…"


def _evidence(ev: Evidence) -> dict[str, Any]:
    out: dict[str, Any] = {
        "probe": ev.probe,
        "port": ev.port,
        "field": ev.field,
        "value": _clip(ev.value),
        "fingerprint": ev.fingerprint,
        "claims": dict(ev.claims),
        "strength": ev.strength,
    }
    if ev.note:
        out["note"] = ev.note
    return out


def _device(d: Device) -> dict[str, Any]:
    v = d.verdict
    return {
        "ip": d.ip,
        "mac": d.mac,
        "mac_vendor": d.mac_vendor,
        "mac_source": d.mac_source,
        "mac_router": d.mac_router,
        "mac_randomised": d.mac is not None and int(d.mac[:2], 16) & 0x02 == 0x02,
        "hostname": d.hostname,
        "hostnames": [{"name": name, "source": source} for name, source in d.hostnames],
        "open_ports": list(d.open_ports),
        "found_by": list(d.found_by),
        "is_camera": v.is_camera,
        "device_type": v.device_type,
        "manufacturer": v.manufacturer,
        "brand": v.brand,
        "model": v.model,
        "firmware": v.firmware,
        "serial": v.serial,
        "confidence": v.confidence,
        "watchlisted": d.watchlisted,
        "watchlist": [
            {"list": h.list, "entity": h.entity, "reason": h.reason, "source": h.source} for h in d.watchlist
        ],
        "conflicts": list(v.conflicts),
        "evidence": [_evidence(e) for e in d.evidence],
        "probes": [
            {
                "probe": r.probe,
                "port": r.port,
                "status": r.status.value,
                "error": r.error,
                "elapsed": round(r.elapsed, 3),
            }
            for r in d.probes
        ],
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    s, c = report.scan, report.coverage
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "camscan", "version": __version__},
        "scan": {
            "id": s.id,
            "started_at": s.started_at,
            "finished_at": s.finished_at,
            "targets": list(s.targets),
            "probes": list(s.probes),
            "mac_method": s.mac_method,
            "watchlists": list(s.watchlists),
            "deadline_hit": report.deadline_hit,
            "interrupted": report.interrupted,
            "complete": report.complete,
            "options": dict(s.options),
            "discovery": [dict(d) for d in s.discovery],
            "segments": list(s.segments),
            "timing": dict(s.timing),
            "liveness": {
                "addresses": s.liveness.addresses,
                "settled": s.liveness.settled,
                "icmp": s.liveness.icmp,
                "ping_ports": list(s.liveness.ping_ports),
                "pings": s.liveness.pings,
                "ping_answers": s.liveness.ping_answers,
                "echo_sent": s.liveness.echo_sent,
                "echo_replies": s.liveness.echo_replies,
                "unreachable": s.liveness.unreachable,
                "found_by": dict(s.liveness.found_by),
            },
        },
        "coverage": {
            "addresses": c.addresses,
            "alive": c.alive,
            "probed": c.probed,
            "cameras": c.cameras,
            "unidentified_cameras": c.unidentified_cameras,
            "errors": c.errors,
            "complete": c.complete,
            "unfinished": {
                "addresses": c.unfinished.addresses,
                "address_ranges": list(c.unfinished.address_ranges),
                "hosts": c.unfinished.hosts,
                "host_ips": list(c.unfinished.host_ips),
                "truncated": c.unfinished.truncated,
            },
        },
        "devices": [_device(d) for d in report.devices],
        "unmatched": [
            {"ip": u.ip, "probe": u.probe, "port": u.port, "field": u.field, "value": u.value}
            for u in report.unmatched
        ],
    }


def render_json(report: Report) -> str:
    """Pretty JSON text of the report, ending in a newline."""
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"


@cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema the report follows (shipped as package data)."""
    text = resources.files("camscan.report").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
