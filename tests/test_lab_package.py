"""The lab is its own package: a scan never loads it, `camscan lab` hands over to it, it works installed."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camscan import lab_command
from camscan.cli import app

ROOT = Path(__file__).resolve().parent.parent
PERSONAS = ROOT / "lab" / "camlab" / "personas"


def test_importing_the_command_line_does_not_load_the_lab() -> None:
    code = "import sys, camscan.cli; print(json.dumps([m for m in sys.modules if m.startswith('camlab')]))"
    out = subprocess.run(
        [sys.executable, "-c", f"import json; {code}"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert json.loads(out) == []


def test_no_camscan_module_imports_the_lab() -> None:
    offenders = []
    for path in sorted((ROOT / "camscan").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "camlab"]
    assert offenders == []


def test_camscan_lab_without_the_lab_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_command, "lab_installed", lambda: False)
    result = CliRunner().invoke(app, ["lab", "up", "--routed"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install" in lines[0] and "camscan-lab" in lines[0]


def test_camscan_lab_runs_camlab_under_its_own_name(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    forwarded = subprocess.run(
        [sys.executable, "-m", "camscan", "lab", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    direct = subprocess.run(
        [sys.executable, "-m", "camlab", "status"], capture_output=True, text=True, env=env, timeout=60
    )
    assert (forwarded.returncode, forwarded.stdout) == (direct.returncode, direct.stdout)
    helped = subprocess.run(
        [sys.executable, "-m", "camscan", "lab", "--help"], capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0 and "Usage: camscan lab" in helped.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "camscan", "lab", "serve"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "only --loopback" in bad.stderr


def test_an_installed_lab_wheel_serves_its_own_personas(tmp_path: Path) -> None:
    wheels, target, source = tmp_path / "wheels", tmp_path / "site", tmp_path / "src"
    # a copy, so the build's own build/ and egg-info never land in the source tree
    shutil.copytree(ROOT / "lab", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = wheels.glob("camscan_lab-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("camlab/personas/")}
    in_tree = {f"camlab/{p.relative_to(PERSONAS.parent).as_posix()}" for p in PERSONAS.rglob("*.toml")}
    assert shipped == in_tree
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    code = (
        "import json, camlab; from camlab.loopback import plan_loopback; "
        "print(json.dumps([camlab.__file__, len(plan_loopback(None, None))]))"
    )
    run = tmp_path / "elsewhere"  # outside the source tree, so only the installed copy can be found
    run.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=run,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert out.returncode == 0, out.stderr
    where, devices = json.loads(out.stdout)
    assert Path(where).is_relative_to(target)
    assert devices == len(list(PERSONAS.glob("*.toml")))
