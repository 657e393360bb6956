"""Three sweeps of a lab whose devices are added, removed, moved, relabelled: `camscan diff` says just that.

Runs on SQLite and on a real PostgreSQL server; a second test writes two sites into one PostgreSQL database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from camlab.loopback import ThreadedLab
from tests.e2ekit import validate
from tests.sweepkit import LabError, Placed, camscan, free_base, serve, site_toml

HIK = Placed("hikvision-ds2cd2142", 2, "44:19:b6:4d:00:00", "DS-2CD2142FWD-I20170725AAWR733059001")
AXIS = Placed("axis-m3045", 3, "ac:cc:8e:4d:00:01", None)
DAHUA = Placed("dahua-ipc-hfw2431", 4, "a0:bd:1d:4d:00:02", "5F0A1B2PAG59002")
HP = Placed("hp-laserjet-m404", 5, "3c:d9:2b:4d:00:04", "PHB3059004")
REOLINK = Placed("reolink-rlc510a", 6, "ec:71:db:4d:00:05", "RL5100059005")
NVR = Placed("hikvision-nvr-ds7608", 8, "68:6d:bc:4d:00:06", "DS-7608NI-K20820190403CCRRD1234059")
# the same camera (its MAC and serial) answering with a HiLook label: relabelled between sweeps
HIK_AS_HILOOK = Placed("relabel-hilook-b140h", 2, HIK.mac, HIK.serial)

AXIS_MOVED, HP_MOVED = (
    Placed(AXIS.persona, 9, AXIS.mac, AXIS.serial),
    Placed(HP.persona, 7, HP.mac, HP.serial),
)
SWEEPS = [
    [HIK, AXIS, DAHUA, HP],
    [HIK, AXIS_MOVED, HP, REOLINK],  # axis moved, dahua gone, reolink new
    [HIK_AS_HILOOK, AXIS_MOVED, HP_MOVED, REOLINK, NVR],  # relabelled, printer moved, a watchlisted NVR new
]  # fmt: skip


def changes(doc: dict[str, Any], base: str) -> set[tuple[str, ...]]:
    """Every change of the lab's devices in a diff JSON as (kind, host[, host]), host numbers on the lab /24.

    On loopback every 127.x address answers (the kernel resets connections to any of them), so the addresses
    no device holds show up as hosts with no ports, no MAC and no serial: known by their address alone. They
    come and go as devices take and leave addresses; they are left out here.
    """
    host = lambda ip: ip.rsplit(".", 1)[1]  # noqa: E731
    found: set[tuple[str, ...]] = set()
    for kind, items in doc["changes"].items():
        for item in items:
            if item["identity"] == "ip":
                assert item["manufacturer"] is None and item["mac"] is None, item
                continue
            if kind == "moved":
                found.add((kind, host(item["from"]), host(item["to"])))
            else:
                found.add((kind, host(item["ip"])))
    assert all(item[1] and base for item in found)
    return found


def sweep_lab(placed: list[Placed], tmp: Path, step: int, base: str) -> tuple[ThreadedLab, Path]:
    lab = serve(placed, base, tmp / f"lab{step}")
    config = tmp / "camscan.toml"
    config.write_text(site_toml("hq", f"{base[:-1]}2-9", lab.manifest))
    return lab, config


def test_three_sweeps_report_exactly_what_was_added_removed_moved_and_relabelled(tmp_path: Path) -> None:
    # SQLite here; PostgreSQL runs the same history code in the store, two-site and kill tests
    db_target = str(tmp_path / "history.sqlite")
    base = free_base()
    codes, stderr = [], ""
    for step, placed in enumerate(SWEEPS, 1):
        try:
            lab, config = sweep_lab(placed, tmp_path, step, base)
        except LabError as exc:  # pragma: no cover - a random loopback /24 taken by another run
            pytest.skip(f"loopback lab: {exc}")
        try:
            extra = ["--log-json", "--jsonl", str(tmp_path / "sweep.jsonl")] if step == 3 else []
            run = camscan(
                "sweep", "--config", str(config), "--db", db_target, "--fail-on", "new-watchlisted", *extra
            )
        finally:
            lab.stop()
        codes.append(run.code)
        stderr = run.stderr
        assert "Traceback" not in run.stderr, run.stderr
    # newly watchlisted: the first sweep's Hikvision and Dahua, the third's NVR; nothing new in the second
    assert codes == [1, 0, 1], stderr
    latest = camscan("diff", "--db", db_target, "--json")
    assert latest.code == 1  # watchlisted devices are present (the default --fail-on)
    assert changes(latest.json(), base) == {
        ("changed", "2"), ("moved", "5", "7"), ("new", "8"), ("newly_watchlisted", "8")
    }  # fmt: skip
    relabel = latest.json()["changes"]["changed"][0]
    assert relabel["changes"]["brand"] == {"from": "hikvision", "to": "hilook"}
    assert relabel["manufacturer"] == "hikvision" and relabel["identity"] in ("serial", "mac")
    first = camscan("diff", "1", "2", "--db", db_target, "--json")
    assert changes(first.json(), base) == {
        ("moved", "3", "9"),
        ("gone", "4"),
        ("remediated", "4"),
        ("new", "6"),
    }
    assert first.json()["to"]["status"] == "complete"
    _check_outputs(tmp_path, db_target, stderr)


def _check_outputs(tmp_path: Path, db_target: str, stderr: str) -> None:
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events] == ["sweep.start", "sweep.stored", "sweep.end"]
    assert events[-1]["exit_code"] == 1 and events[-1]["newly_watchlisted"] == 1
    lines = [json.loads(line) for line in (tmp_path / "sweep.jsonl").read_text().splitlines()]
    assert len(lines) == 8 and {line["site"] for line in lines} == {"hq"}  # .2-.9: five devices, three empty
    assert sorted(line["ip"].rsplit(".", 1)[1] for line in lines if line["identity"] != "ip") == list("26789")
    assert all(line["scan_id"] and line["time"] and line["watchlists"] for line in lines)
    assert all(wl["updated"] and wl["source"] for wl in lines[0]["watchlists"])
    listed = camscan("history", "list", "--db", db_target, "--json").json()
    assert [(s["id"], s["status"]) for s in listed] == [(3, "complete"), (2, "complete"), (1, "complete")]
    report = camscan("history", "export", "2", "--db", db_target, "-f", "json")
    validate(json.loads(report.stdout))


def test_two_sites_write_one_postgresql_database_and_diff_across_sites(tmp_path: Path, pg_url: str) -> None:
    base = free_base()
    north, south = [HIK, AXIS], [DAHUA, HP]
    lab = serve([*north, *south], base, tmp_path / "lab")
    try:
        prefix = base[:-1]
        config = tmp_path / "camscan.toml"
        config.write_text(
            site_toml("north", f"{prefix}2-3", lab.manifest)
            + site_toml("south", f"{prefix}4-5", lab.manifest)
        )
        runs = [camscan("sweep", "--config", str(config), "--db", pg_url, "--quiet") for _ in range(2)]
    finally:
        lab.stop()
    assert [r.code for r in runs] == [1, 1], runs[0].stderr
    listed = camscan("history", "list", "--db", pg_url, "--json").json()
    assert sorted((s["site"], s["alive"]) for s in listed) == [("north", 2)] * 2 + [("south", 2)] * 2
    per_site = camscan("diff", "--db", pg_url, "--json").json()
    assert sorted(d["site"] for d in per_site) == ["north", "south"]
    assert all(sum(d["counts"].values()) == 0 for d in per_site)
    ids = {s["site"]: s["id"] for s in listed}
    across = camscan("diff", str(ids["north"]), str(ids["south"]), "--db", pg_url, "--json").json()
    assert changes(across, base) == {
        ("gone", "2"), ("gone", "3"), ("remediated", "2"),
        ("new", "4"), ("new", "5"), ("newly_watchlisted", "4"),
    }  # fmt: skip
