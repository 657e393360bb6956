"""camscan.toml with [[site]]s: a bad file is one line naming file, line and key (exit 2); old keys work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from camscan import config
from camscan.cli import app
from camscan.credentials import load_config
from camscan.history.database import open_engine, parse_target
from camscan.history.lock import site_lock
from camscan.sites import Keep, parse_keep, read_history, read_sites
from camscan.snmpconfig import snmp_routers
from tests.sweepkit import Run


def camscan(*args: str) -> Run:
    """The command in this process (a bad config never gets as far as a packet)."""
    result = CliRunner().invoke(app, list(args))
    return Run(result.exit_code, result.stdout, result.stderr)


GOOD_SITE = '[[site]]\nname = "hq"\ntargets = ["10.1.0.0/24"]\n'


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            GOOD_SITE + 'profile = "slow"\n',
            4,
            "[[site]] \"hq\": profile: 'slow' is not one of gentle, normal, fast",
        ),
        (GOOD_SITE + "deadlin = 60\n", 4, '[[site]] "hq": deadlin: unknown key'),
        (
            GOOD_SITE + 'onvif_password = "hunter2"\n',
            4,
            "onvif_password: secrets never go in the config file",
        ),
        (
            GOOD_SITE + '\n[[site]]\nname = "hq"\ntargets = ["10.2.0.0/24"]\n',
            6,
            "name: a second site named 'hq'",
        ),
        (
            GOOD_SITE + '[site.placement]\ncameras = ["10.1.8.0/33"]\n',
            5,
            "placement.cameras: '10.1.8.0/33' is not",
        ),
        (GOOD_SITE + 'keep = "forever"\n', 4, "keep: 'forever' is not a number of sweeps"),
        ('[[site]]\nname = "hq"\ntargets = ["10.1.0.300"]\n', 3, '[[site]] "hq": targets:'),
        ('[[site]]\nname = "hq"\n\ntargets = 7\n', 4, "targets: must be a list of non-empty strings"),
        (GOOD_SITE + "interface = eth0\n", 4, "not valid TOML"),
        ("[sites]\nname = 1\n", 1, "unknown section 'sites'"),
        ('[history]\ndb = "postgresql://u:pw@db/camscan"\n' + GOOD_SITE, 2, "no password in the URL"),
    ],
)
def test_a_bad_config_is_one_line_naming_file_line_and_key_and_exit_2(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    path = tmp_path / "camscan.toml"
    path.write_text(text)
    run = camscan("sweep", "--config", str(path), "--db", str(tmp_path / "h.sqlite"))
    assert run.code == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(f"camscan: error: {path} line {line}: ") and expected in lines[0], lines[0]
    assert "hunter2" not in run.stderr and "pw@" not in run.stderr
    assert not (tmp_path / "h.sqlite").exists()  # nothing was created before the input was checked


def test_sites_live_beside_the_onvif_and_snmp_entries(tmp_path: Path) -> None:
    (tmp_path / "onvif.pw").write_text("secret-onvif\n")
    (tmp_path / "onvif.pw").chmod(0o600)
    community = tmp_path / "community"
    community.write_text("secret-snmp\n")
    community.chmod(0o600)
    path = tmp_path / "camscan.toml"
    path.write_text(
        '[history]\ndb = "hist/h.sqlite"\nkeep = "90d"\n\n'
        '[[onvif]]\nnetwork = "10.1.0.0/16"\nusername = "audit"\npassword_file = "onvif.pw"\n\n'
        '[[snmp]]\nnetwork = "10.1.0.0/16"\nrouter = "10.1.0.1"\nversion = "2c"\n'
        'community_file = "community"\n\n'
        + GOOD_SITE
        + 'profile = "gentle"\nports = [80, 554]\nkeep = 30\ndiscovery = ["wsdiscovery", "sadp"]\n'
        '[site.placement]\nno_watchlisted = ["10.1.0.0/24"]\ncameras = ["10.1.8.0/22"]\n'
        '[site.notify]\nwebhook = "https://siem.example.invalid/hook"\nwebhook_secret_env = "HOOK_SECRET"\n'
    )
    cfg = config.load(path)
    (site,) = read_sites(cfg)
    assert (site.name, site.targets, site.keep, site.options["profile"]) == (
        "hq",
        ("10.1.0.0/24",),
        Keep(30),
        "gentle",
    )
    assert site.options["ports"] == "80,554" and site.options["discovery"] == ("wsdiscovery", "sadp")
    assert [str(n) for n in site.placement.no_watchlisted] == ["10.1.0.0/24"]
    assert site.notify.webhook_secret_env == "HOOK_SECRET"
    assert read_history(cfg).db == str(tmp_path / "hist" / "h.sqlite") and read_history(cfg).keep == Keep(
        days=90
    )
    assert [str(n) for n, _ in load_config(path)] == ["10.1.0.0/16"]
    assert [str(r.router) for r in snmp_routers(path)] == ["10.1.0.1"]
    assert parse_keep("12") == Keep(sweeps=12) and parse_keep("7d") == Keep(days=7)


def test_a_second_sweep_of_a_running_site_says_so_and_exits_6(tmp_path: Path) -> None:
    path = tmp_path / "camscan.toml"
    path.write_text(GOOD_SITE.replace("10.1.0.0/24", "127.0.0.1"))
    db = tmp_path / "h.sqlite"
    target = parse_target(str(db))
    engine = open_engine(target, create=True)
    with site_lock(engine, target, "hq"):
        run = camscan("sweep", "--config", str(path), "--db", str(db), "--quiet")
    assert run.code == 6
    assert "site hq: a sweep of site 'hq' is already running" in run.stderr
