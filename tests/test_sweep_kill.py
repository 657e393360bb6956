"""SIGKILL a sweep mid-way on the namespace lab: earlier history stays, a second sweep meanwhile exits 6,
and the next sweep succeeds (marking the killed one abandoned)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camlab import netns
from camlab.plan import LabError, default_personas_dir
from camscan.history import read
from camscan.history.database import open_engine, parse_target
from tests.labkit import require_netns
from tests.pgkit import socket_url
from tests.sweepkit import camscan

pytestmark = pytest.mark.netns

SUBNET = "10.79.0.0/24"
PERSONAS = (
    "hikvision-ds2cd2142",
    "axis-m3045",
    "hostile-drip",
)  # the drip holds its probes for as long as allowed


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_netns()
    personas = tmp_path_factory.mktemp("personas")
    for name in PERSONAS:
        shutil.copy(Path(str(default_personas_dir() / f"{name}.toml")), personas / f"{name}.toml")
    prefix, state = "k" + uuid.uuid4().hex[:7], tmp_path_factory.mktemp("kill-lab")
    try:
        manifest = netns.up(prefix, SUBNET, len(PERSONAS), personas, state_dir=state)
    except LabError as exc:
        netns.down(prefix, state)
        pytest.fail(f"cannot build the namespace lab: {exc}")
    try:
        yield manifest
    finally:
        netns.down(prefix, state)


def _wait_for_running(db: str, timeout: float = 30.0) -> None:
    engine = open_engine(parse_target(db), create=False)
    ends = time.monotonic() + timeout
    try:
        while time.monotonic() < ends:
            if any(s.status == "running" for s in read.sweeps(engine, "lab")):
                time.sleep(1.0)  # into the scan itself
                return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError("the second sweep never started")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigkill_mid_sweep_loses_nothing_and_the_next_sweep_succeeds(
    kind: str, small_lab: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        db_target = reader = str(tmp_path / "history.sqlite")
    else:  # the sweeps run in the lab's namespace: they reach the server over its Unix socket
        reader = str(request.getfixturevalue("pg_url"))
        db_target = socket_url(reader)
    ns = small_lab["scanner_netns"]
    config = tmp_path / "camscan.toml"
    config.write_text(
        f'[[site]]\nname = "lab"\ntargets = ["{SUBNET}"]\ninterface = "scan0"\n'
        "host_timeout = 2\nprobe_timeout = 1\ndiscovery_wait = 0.3\n"
    )
    sweep = ["sweep", "--config", str(config), "--db", db_target, "--quiet"]
    first = camscan(*sweep, netns=ns)
    assert first.code == 1, first.stderr  # the Hikvision is watchlisted
    slow = [*sweep, "--host-timeout", "60", "--probe-timeout", "50"]
    victim = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "camscan", *slow],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for_running(reader)
        meanwhile = camscan(*sweep, netns=ns)
        assert meanwhile.code == 6 and "is already running (sweep 2 by" in meanwhile.stderr, meanwhile.stderr
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(10) == -signal.SIGKILL
    finally:
        if victim.poll() is None:
            victim.kill()
    engine = open_engine(parse_target(reader), create=False)
    assert [(s.id, s.status) for s in read.sweeps(engine, "lab")] == [(2, "running"), (1, "complete")]
    assert len(read.devices(engine, 1)) == 3
    after = camscan(*sweep, netns=ns)
    assert after.code == 1, after.stderr
    assert [(s.id, s.status) for s in read.sweeps(engine, "lab")] == [
        (3, "complete"),
        (2, "abandoned"),
        (1, "complete"),
    ]
    engine.dispose()
    unchanged = camscan("diff", "--db", reader, "--json").json()
    assert (
        unchanged["from"]["id"] == 1 and unchanged["to"]["id"] == 3 and sum(unchanged["counts"].values()) == 0
    )
