"""Bad input is one line and exit 2 before the first packet; a report that cannot be written never loses the
findings; outputs are written where the user meant, and nothing else is damaged."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from camscan.report import atomic
from camscan.scancmd import Aborted, stop_on_signals
from tests.e2ekit import validate


def camscan(*args: str, user: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "camscan", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)


def one_line_exit_2(run: subprocess.CompletedProcess[str], words: str) -> None:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1 and lines[0].startswith("camscan: error: "), run.stderr
    assert words in lines[0], lines[0]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["@/dev/zero"], "not a regular file"),
        (["10.0.0.1", "--macs", "/dev/zero"], "not a regular file"),
        (["10.0.0.1", "--config", "/dev/zero"], "not a regular file"),
        (["10.0.0.1", "--exclude-file", "/dev/zero"], "not a regular file"),
        (["10.0.0.1", "--onvif-user", "u", "--onvif-password-file", "/dev/zero"], "not a regular file"),
        (["10.0.0.1", "--deadline", "inf"], "--deadline: inf is not a finite number"),
        (["10.0.0.1", "--rate", "nan"], "--rate"),
        (["10.0.0.1", "--rate", "0"], "--rate"),
        (["10.0.0.1", "--host-timeout", "-1"], "--host-timeout"),
        (["10.0.0.1", "--no-such-option"], "--no-such-option"),
        (["10.0.0.1", "--ports", ""], "--ports: no ports given"),
        (["10.0.0.1", "--json", ""], "--json: an empty path"),
        (["10.0.0.1", "--csv", " "], "--csv: an empty path"),
        (["10.0.0.1", "--exclude", ""], "--exclude: an empty list"),
        (["10.0.0.1", "--json", "-", "--csv", "-"], "both write to standard output"),
        (["10.0.0.1", "--json", "/nonexistent-dir/r.json"], "does not exist"),
        (["10.0.0.1", "--json", "/etc"], "a folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_packet(args: list[str], words: str) -> None:
    one_line_exit_2(camscan("scan", *args), words)


def test_the_same_file_for_json_and_csv_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "r.json")
    run = camscan("scan", "10.0.0.1", "--json", str(tmp_path / "r.json"), "--csv", str(link))
    one_line_exit_2(run, "both write to")


def test_a_read_only_folder_is_refused_before_the_scan() -> None:
    top = Path(tempfile.mkdtemp(prefix="camscan-ro-"))
    try:
        top.chmod(0o755)  # others may look in, not write
        # root writes anywhere: run as nobody, for whom the folder is what it is for a user
        user = "65534" if os.geteuid() == 0 else None
        run = camscan("scan", "10.0.0.1", "--json", str(top / "r.json"), user=user)
        one_line_exit_2(run, "cannot write in")
    finally:
        shutil.rmtree(top)


def test_a_readable_password_file_is_refused_unless_allowed(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    pw.chmod(0o644)
    one_line_exit_2(
        camscan("scan", "10.0.0.1", "--onvif-user", "u", "--onvif-password-file", str(pw)),
        "--allow-readable-secrets",
    )


def lab_args(manifest: dict[str, Any]) -> list[str]:
    device = next(d for d in manifest["devices"] if d["expect"].get("watchlisted"))
    args = [device["ip"], "--no-arp", "--host-timeout", "3", "--discovery", "none"]
    if manifest["port_map"]:
        args += ["--port-map", ",".join(f"{k}={v}" for k, v in manifest["port_map"].items())]
    return args


def test_a_full_disk_loses_no_findings(loopback_lab: dict[str, Any]) -> None:
    run = camscan("scan", *lab_args(loopback_lab), "--json", "/dev/full", "--quiet")
    assert run.returncode == 5, run.stderr
    assert "cannot write the report" in run.stderr and "No space left" in run.stderr
    assert "WATCHLISTED " in run.stderr  # the findings reached the user anyway
    assert "Traceback" not in run.stderr


def test_a_symlink_is_followed_and_stays_a_symlink(loopback_lab: dict[str, Any], tmp_path: Path) -> None:
    real = tmp_path / "reports" / "site.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    run = camscan("scan", *lab_args(loopback_lab), "--json", str(link), "--quiet")
    assert run.returncode == 1, run.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    validate(json.loads(real.read_text()))
    assert sorted(p.name for p in real.parent.iterdir()) == ["site.json"]  # no temporary file left


def test_dev_stdout_is_written_in_place(loopback_lab: dict[str, Any]) -> None:
    run = camscan("scan", *lab_args(loopback_lab), "--json", "/dev/stdout", "--quiet")
    assert run.returncode == 1, run.stderr
    validate(json.loads(run.stdout))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # (and no device node was replaced by a file)
    assert os.path.islink("/dev/stdout") or stat.S_ISCHR(os.lstat("/dev/stdout").st_mode)


def test_a_second_signal_while_the_report_is_written_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.json"

    def fsync_then_sigterm(fd: int) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # the first asks to stop (the write goes on)...
        os.kill(os.getpid(), signal.SIGTERM)  # ...the second aborts, in the middle of the write

    monkeypatch.setattr(atomic.os, "fsync", fsync_then_sigterm)
    with pytest.raises(Aborted), stop_on_signals():
        atomic.write_atomic(str(target), "{}\n")
    assert list(tmp_path.iterdir()) == []


def test_a_reserved_range_is_named_for_what_it_is() -> None:
    one_line_exit_2(camscan("scan", "192.0.2.10"), "documentation")


def test_a_second_signal_inside_an_event_loop_callback_still_aborts() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        # a signal that lands while the loop runs some callback (a socket closing, say) is raised in it
        loop.call_soon(os.kill, os.getpid(), signal.SIGTERM)
        loop.call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.sleep(1)

    with pytest.raises(Aborted), stop_on_signals():
        asyncio.run(main())
