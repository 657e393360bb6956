"""`camscan lab …`: clear errors, a foreground loopback server that prints its scan command, status."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from camlab import cli, manifest
from camlab.cli import app as lab_app
from camlab.personas import load_personas
from camlab.plan import default_personas_dir, loopback_port_map

runner = CliRunner()


@pytest.fixture
def state_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every default state dir at a temporary base (as root and as a user)."""
    base = tmp_path / "run"
    monkeypatch.setattr(manifest, "STATE_BASE", base)
    monkeypatch.setattr(cli, "STATE_BASE", base)
    monkeypatch.setattr(manifest, "default_state_dir", lambda name: base / name)
    monkeypatch.setattr(cli, "default_state_dir", lambda name: base / name)
    return base


def test_serve_needs_loopback() -> None:
    result = runner.invoke(lab_app, ["serve"])
    assert result.exit_code == 2 and "only --loopback" in result.stderr


def test_up_without_root_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = runner.invoke(lab_app, ["up", "--prefix", "tnoroot"])
    assert result.exit_code == 2
    assert "needs root" in result.stderr and "lab serve --loopback" in result.stderr


def test_bad_personas_dir_is_one_line(tmp_path: Path, state_base: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x.toml").write_text('id = "x"\n', encoding="utf-8")
    result = runner.invoke(lab_app, ["serve", "--loopback", "--personas", str(tmp_path / "p")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "x.toml" in lines[0] and "missing 'mac'" in lines[0]


def test_status_without_labs(state_base: Path) -> None:
    result = runner.invoke(lab_app, ["status"])
    assert result.exit_code == 0 and "no lab running" in result.stdout


def test_foreground_loopback_serves_until_interrupted(tmp_path: Path, state_base: Path) -> None:
    base = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0"
    state = state_base / "loopback"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "camscan",
            "lab",
            "serve",
            "--loopback",
            "--base",
            base,
            "--count",
            "4",
            "--state-dir",
            str(state),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("serving" in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        net = base.rsplit(".", 1)[0]
        first = load_personas(default_personas_dir())[:4]  # the devices are the first personas, by id
        pmap = ",".join(f"{k}={v}" for k, v in loopback_port_map([q for p in first for q in p.ports]).items())
        command = f"camscan scan {net}.2-5 --port-map {pmap} --macs {state}/macs.txt"
        assert any(command in line for line in lines), lines
        assert any("discovery: 1 UDP responders, unicast only" in line for line in lines), lines  # DHIP
        reply = httpx.get(f"http://{net}.2:10080/", timeout=5)  # acti-e32, the first persona
        assert reply.headers["server"].startswith("Httpd v1.0")
        status = runner.invoke(lab_app, ["status"])
        assert "loopback: loopback, 4 devices" in status.stdout and command in status.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)
    assert code == 0
    assert not state.exists()
