"""History on SQLite and a real PostgreSQL: round trips, identity across moves, diffs, refusals, retention."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from camscan.history import diff, read, retention, schema, store
from camscan.history.database import HistoryError, open_engine, parse_target
from camscan.history.identity import identity_keys
from camscan.history.lock import SweepLocked, site_lock
from camscan.sites import Keep
from tests.e2ekit import validate
from tests.historykit import db_target, device, engine, record, recorded, variant

__all__ = ["db_target", "engine"]  # fixtures
VERSION = sa.table(schema.VERSION_TABLE, sa.column("version_num"))


def compare(engine: Engine, old: read.Sweep, new: read.Sweep) -> diff.Diff:
    return diff.compare(old, read.devices(engine, old.id), new, read.devices(engine, new.id))


def test_a_stored_sweep_exports_the_report_it_recorded(engine: Engine) -> None:
    original = recorded()
    sweep = record(engine, "lab", original)
    assert (sweep.status, sweep.alive, sweep.watchlisted) == ("complete", 6, 3)
    again = read.report(engine, sweep)
    validate(again)
    assert again["devices"] == sorted(original["devices"], key=lambda d: [int(x) for x in d["ip"].split(".")])
    assert again["scan"] == original["scan"] and again["coverage"] == original["coverage"]


def test_a_device_at_a_new_address_is_one_device_that_moved(engine: Engine) -> None:
    first = record(engine, "lab", recorded())
    second = record(
        engine,
        "lab",
        variant(recorded(), moves={"127.201.7.3": "127.201.7.40", "127.201.7.6": "127.201.7.41"}),
    )
    changes = compare(engine, first, second)
    assert sorted((m.before["ip"], m.after["ip"]) for m in changes.moved) == [
        ("127.201.7.3", "127.201.7.40"),
        ("127.201.7.6", "127.201.7.41"),
    ]
    assert not (changes.added or changes.gone or changes.changed or changes.newly_watchlisted)
    assets = {d["ip"]: d["asset"] for d in read.devices(engine, first.id)}
    assert {d["ip"]: d["asset"] for d in read.devices(engine, second.id)}["127.201.7.40"] == assets[
        "127.201.7.3"
    ]


def test_serial_outranks_mac_and_a_randomised_mac_is_no_identity() -> None:
    ezviz = device(recorded(), "CS-C3TN")
    assert ezviz["mac_randomised"]
    kinds = [kind for kind, _ in identity_keys(ezviz)]
    assert kinds[0] == "serial" and "mac" not in kinds
    silent = device(recorded(), "127.201.7.7")
    assert [kind for kind, _ in identity_keys({**silent, "mac": None})] == ["ip"]


def test_a_board_swap_follows_the_serial_not_the_mac(engine: Engine) -> None:
    report = recorded()
    axis, hp = device(report, "M3045"), device(report, "M404")
    first = record(engine, "lab", report)
    # the Axis's serial now comes with the printer's MAC: the serial names the device
    swapped = variant(report, change={axis["ip"]: {"mac": hp["mac"]}}, drop=[hp["ip"]])
    second = record(engine, "lab", swapped)
    before = {d["ip"]: d["asset"] for d in read.devices(engine, first.id)}
    after = {d["ip"]: (d["asset"], d["identity"]) for d in read.devices(engine, second.id)}
    assert after[axis["ip"]] == (before[axis["ip"]], "serial")
    assert [d["ip"] for d in compare(engine, first, second).gone] == [hp["ip"]]


def test_relabel_gone_new_and_remediated_are_reported_exactly(engine: Engine) -> None:
    report = recorded()
    dahua, axis = device(report, "IPC-HFW2431"), device(report, "M3045")
    first = record(engine, "lab", report)
    later = variant(
        report,
        drop=[dahua["ip"]],
        change={axis["ip"]: {"brand": "acme", "model": "M3046-V", "firmware": "10.12.1"}},
    )
    changes = compare(engine, first, record(engine, "lab", later))
    assert [d["ip"] for d in changes.gone] == [d["ip"] for d in changes.remediated] == [dahua["ip"]]
    assert [(c.after["ip"], c.fields) for c in changes.changed] == [
        (axis["ip"], {"brand": ("axis", "acme"), "model": ("M3045-V", "M3046-V")})
    ]  # the firmware it did not report before is no change: a field one sweep could not read
    assert not changes.added and not changes.moved
    assert changes.exit_code("any-watchlisted") == 1 and changes.exit_code("new-watchlisted") == 0
    assert changes.exit_code("any-change") == 1


def test_an_unfinished_sweep_does_not_call_the_unseen_gone_and_exits_4(engine: Engine) -> None:
    report = recorded()
    clean = variant(report, drop=[d["ip"] for d in report["devices"] if d["watchlisted"]])
    first = record(engine, "lab", clean)
    cut = variant(clean, drop=["127.201.7.3"], complete=False)
    changes = compare(engine, first, record(engine, "lab", cut))
    assert (
        [d["ip"] for d in changes.unseen] == ["127.201.7.3"] and not changes.gone and not changes.remediated
    )
    assert changes.exit_code() == 4
    assert diff.to_json(changes)["counts"]["unseen"] == 1


def test_a_killed_sweep_is_abandoned_by_the_next_and_history_stays(engine: Engine) -> None:
    first = record(engine, "lab", recorded())
    killed = store.begin_sweep(engine, "lab", ["127.201.7.2-7"])  # and then nothing: SIGKILL
    assert store.abandon_stale(engine, "lab") == 1
    states = {s.id: s.status for s in read.sweeps(engine, "lab")}
    assert states == {first.id: "complete", killed: "abandoned"}
    assert len(read.devices(engine, first.id)) == 6
    assert read.find(engine, "latest", "lab").id == first.id


def test_one_sweep_of_a_site_at_a_time(engine: Engine, db_target: str) -> None:
    target = parse_target(db_target)
    with site_lock(engine, target, "north"):
        with pytest.raises(SweepLocked, match="already running"), site_lock(engine, target, "north"):
            pass
        with site_lock(engine, target, "south"):
            pass
    with site_lock(engine, target, "north"):
        pass


def test_retention_keeps_the_newest_and_drops_what_only_old_sweeps_saw(engine: Engine) -> None:
    report = recorded()
    gone = {"serial": "PHB-GONE-0001", "mac": "3c:d9:2b:4d:ff:ff"}  # a printer only the oldest sweep saw
    old = record(engine, "lab", variant(report, change={"127.201.7.6": gone}))
    for _ in range(3):
        record(engine, "lab", report)
    other = record(engine, "elsewhere", report)
    assert retention.prune(engine, "lab", Keep(sweeps=2)) == 2
    assert [s.site for s in read.sweeps(engine)] == ["elsewhere", "lab", "lab"]
    assert retention.prune(engine, "lab", Keep(days=30)) == 0
    with engine.connect() as conn:
        keys = set(
            conn.execute(
                sa.select(schema.asset_keys.c.value).where(schema.asset_keys.c.site == "lab")
            ).scalars()
        )
    assert (
        "PHB-GONE-0001" not in keys
        and "3c:d9:2b:4d:ff:ff" not in keys
        and old.id not in {s.id for s in read.sweeps(engine)}
    )
    assert read.find(engine, str(other.id)).alive == 6


def test_the_migrations_create_exactly_the_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": schema.VERSION_TABLE})
        assert compare_metadata(context, schema.metadata) == []


def test_a_database_from_a_newer_camscan_is_refused_and_left_alone(engine: Engine, db_target: str) -> None:
    record(engine, "lab", recorded())
    with engine.begin() as conn:
        conn.execute(VERSION.update().values(version_num="9999"))
    engine.dispose()
    before = _fingerprint(db_target)
    for create in (True, False):
        with pytest.raises(HistoryError, match=r"newer than this camscan knows .*left untouched"):
            open_engine(parse_target(db_target), create=create)
    assert _fingerprint(db_target) == before


def test_a_foreign_database_is_refused(db_target: str) -> None:
    raw = open_engine(parse_target(db_target), create=True)  # make it, then make it look like someone else's
    with raw.begin() as conn:
        sa.Table(schema.VERSION_TABLE, sa.MetaData(), autoload_with=conn).drop(conn)
    raw.dispose()
    with pytest.raises(HistoryError, match="not camscan's"):
        open_engine(parse_target(db_target), create=True)


def test_a_corrupt_sqlite_file_is_reported_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a database" * 64)
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="not an SQLite database"):
        open_engine(parse_target(str(path)), create=True)
    real = tmp_path / "real.sqlite"
    open_engine(parse_target(str(real)), create=True).dispose()
    broken = bytearray(real.read_bytes())
    broken[100:4096] = b"\xff" * (4096 - 100)  # the schema page overwritten
    real.write_bytes(bytes(broken))
    with pytest.raises(HistoryError, match=r"corrupt|malformed"):
        open_engine(parse_target(str(real)), create=True)
    assert path.read_bytes() == before and real.read_bytes() == bytes(broken)


def test_device_strings_with_nul_are_kept(engine: Engine) -> None:
    report = variant(recorded(), change={"127.201.7.6": {"model": "Laser\x00Jet"}})
    sweep = record(engine, "lab", report)
    assert device(read.report(engine, sweep), "127.201.7.6")["model"] == "Laser\ufffdJet"


def _fingerprint(target: str) -> str:
    if "://" not in target:
        return hashlib.sha256(Path(target).read_bytes()).hexdigest()
    engine = sa.create_engine(target.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(VERSION.c.version_num)).all()
        count = conn.exec_driver_sql("SELECT count(*) FROM devices").scalar()
    engine.dispose()
    return f"{rows}/{count}"


def test_the_revisions_camscan_knows_are_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "camscan.history:migrations")
    script = ScriptDirectory.from_config(cfg)
    assert tuple(reversed([r.revision for r in script.walk_revisions()])) == schema.REVISIONS
    assert script.get_current_head() == schema.HEAD
