"""A real install: camscan's wheel, built from the tree and installed into a fresh venv with no source tree on
its path, carries its data (vendors, OUIs, watchlists, fingerprints, schema) and scans the loopback lab.

The fresh venv gets camscan from the wheel only; its dependencies come from this test's own venv, listed by a
.pth file (pip's cache is not an index, and the test must not download): the wheel's declared requirements
are then checked against them with `pip check`, so a bound that excludes what the tests run on fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest

from camscan import __version__
from tests.e2ekit import ScanRun, lab_args, mismatches, validate

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("camscan", "pyproject.toml", "README.md", "LICENSE")


@dataclass(frozen=True)
class Installed:
    """The built wheel and the fresh venv it went into."""

    wheel: Path
    venv: Path
    elsewhere: Path  # a folder outside the source tree, to run in

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the venv's own `camscan` console script with a clean environment."""
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.elsewhere), "LANG": "C.UTF-8"}
        return subprocess.run(
            [str(self.venv / "bin" / "camscan"), *args],
            capture_output=True,
            text=True,
            cwd=self.elsewhere,
            env=env,
            timeout=timeout,
        )


def _copy_sources(target: Path) -> None:
    target.mkdir()
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, target / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("install")
    source, wheels, venv, elsewhere = work / "src", work / "wheels", work / "venv", work / "elsewhere"
    _copy_sources(source)  # a copy: the build's own build/ and egg-info never land in the tree
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("camscan-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "zz-test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return Installed(wheel, venv, elsewhere)


def test_the_wheel_carries_the_data_the_licence_and_its_metadata(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    data = {n for n in names if not n.endswith(".py") and n.startswith("camscan/")}
    shipped = {
        p.relative_to(ROOT).as_posix()
        for pattern in ("data/*.toml", "data/*.csv", "data/watchlists/*.toml", "fingerprints/data/*.toml")
        for p in (ROOT / "camscan").glob(pattern)
    }
    assert shipped <= data and "camscan/report/schema.json" in data and "camscan/py.typed" in data
    assert not any(n.startswith(("tests/", "lab/", "camlab/", "bench/")) for n in names)
    info = f"camscan-{__version__}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    meta = Parser().parsestr(zipfile.ZipFile(installed.wheel).read(f"{info}/METADATA").decode())
    assert meta["License-Expression"] == "MIT" and meta["Version"] == __version__
    requires = meta.get_all("Requires-Dist") or []
    unbounded = [r for r in requires if "extra ==" not in r and "<" not in r]
    assert requires and unbounded == []


def test_the_installed_copy_is_the_one_that_runs_and_its_requirements_hold(installed: Installed) -> None:
    python = str(installed.venv / "bin" / "python")
    where = subprocess.run(
        [python, "-c", "import camscan; print(camscan.__file__)"],
        capture_output=True,
        text=True,
        cwd=installed.elsewhere,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.venv) and not Path(where).is_relative_to(ROOT / "camscan")
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert installed.run("--version").stdout == f"camscan {__version__}\n"


def test_the_installed_data_answers(installed: Installed) -> None:
    lists = installed.run("watchlist", "show")
    assert lists.returncode == 0 and "us-fcc-covered" in lists.stdout, lists.stderr
    selftest = installed.run("fingerprints", "test")
    assert selftest.returncode == 0, selftest.stdout[-500:] + selftest.stderr


def test_shell_completion_is_offered(installed: Installed) -> None:
    script = installed.run("--show-completion", "bash")
    assert script.returncode == 0 and "_CAMSCAN_COMPLETE=complete_bash" in script.stdout
    env = {
        "_CAMSCAN_COMPLETE": "complete_bash",
        "COMP_WORDS": "camscan sc",
        "COMP_CWORD": "1",
        "PATH": "/usr/bin",
    }
    words = subprocess.run(
        [str(installed.venv / "bin" / "camscan")], capture_output=True, text=True, env=env, timeout=60
    )
    assert words.stdout.split() == ["scan"]


def test_the_installed_camscan_scans_the_loopback_lab(
    installed: Installed, loopback_lab: dict[str, Any]
) -> None:
    out = installed.elsewhere / "report.json"
    scan = installed.run("scan", *lab_args(loopback_lab), "--json", str(out), "--quiet")
    assert scan.returncode == 1, scan.stderr  # the lab holds watchlisted makers
    report = json.loads(out.read_text())
    validate(report)
    assert report["tool"]["version"] == __version__
    assert mismatches(ScanRun(scan.returncode, report, scan.stdout, scan.stderr, 0.0), loopback_lab) == []
