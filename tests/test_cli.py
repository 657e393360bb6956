"""The command line contract: one clear line and exit 2 for bad input, before any packet is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from camscan import cli, scancmd, targets

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_packets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to sweep fails the test: bad input must stop before the network is touched."""

    async def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a packet would have been sent")

    def no_dns(name: str) -> list[str]:
        raise AssertionError(f"a DNS query for {name!r} would have been sent")

    monkeypatch.setattr(scancmd, "run_scan", forbidden)
    monkeypatch.setattr(targets, "_system_resolver", no_dns)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("camscan: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["scan", "8.8.8.0/24"], "public"),
        (["scan", "10.0.0.0/8"], "--max-hosts"),
        (["scan", "10.0.0.1-300"], "above 255"),
        (["scan", "10.0.0.1/40"], "CIDR"),
        (["scan", "10.0.0.1", "--ports", "99999"], "--ports"),
        (["scan", "10.0.0.1", "--port-map", "80"], "--port-map"),
        (["scan", "10.0.0.1", "--watchlist", "no-such-list"], "no-such-list"),
        (["scan", "10.0.0.1", "--fingerprints", "/nonexistent/fp"], "/nonexistent/fp"),
        (["scan", "10.0.0.1", "--profile", "reckless"], "--profile"),
        (["scan", "10.0.0.1", "--ping-ports", "80,70000"], "--ping-ports"),
        (["scan", "10.0.0.0/30", "--exclude", "10.0.0.0/29"], "every target address is excluded"),
        (["scan", "10.0.0.1", "--exclude", "10.0.0.300"], "10.0.0.300"),
        (["scan", "10.0.0.1", "--exclude-file", "/nonexistent/skip.txt"], "/nonexistent/skip.txt"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(args: list[str], words: str) -> None:
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2
    assert words in one_error_line(result.stderr)


def test_bad_watchlist_file_is_named(tmp_path: Path) -> None:
    bad = sorted((FIXTURES / "watchlists" / "bad").glob("*.toml"))[0]
    result = runner.invoke(cli.app, ["scan", "10.0.0.1", "--watchlist", str(bad)])
    assert result.exit_code == 2
    assert bad.name in one_error_line(result.stderr)


@pytest.mark.parametrize("folder", sorted(p.name for p in (FIXTURES / "fingerprints").glob("bad_*")))
def test_bad_fingerprint_file_is_named(folder: str) -> None:
    result = runner.invoke(
        cli.app, ["scan", "10.0.0.1", "--fingerprints", str(FIXTURES / "fingerprints" / folder)]
    )
    assert result.exit_code == 2
    assert ".toml" in one_error_line(result.stderr)


def test_bad_json_target_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = runner.invoke(cli.app, ["scan", "8.8.8.8", "--json", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


def test_watchlist_show_prints_every_builtin_list_with_sources() -> None:
    result = runner.invoke(cli.app, ["watchlist", "show"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("us-fcc-covered", "us-ndaa-889", "uk-prc-nil", "uk-bscc-2023"):
        assert name in result.stdout
    assert "ezviz" in result.stdout  # subsidiaries are shown under their parent


def test_fingerprints_test_passes_on_the_builtin_data() -> None:
    result = runner.invoke(cli.app, ["fingerprints", "test"])
    assert result.exit_code == 0, result.stdout
    assert "all pass" in result.stdout


def test_fingerprints_match_explains_a_value() -> None:
    result = runner.invoke(cli.app, ["fingerprints", "match", "http.realm", "Login to ND021811019863"])
    assert result.exit_code == 0
    assert "manufacturer=dahua" in result.stdout and "serial=ND021811019863" in result.stdout
    miss = runner.invoke(cli.app, ["fingerprints", "match", "http.server", "Some Unknown Server/1.0"])
    assert miss.exit_code == 1
    unknown = runner.invoke(cli.app, ["fingerprints", "match", "no.such.field", "x"])
    assert unknown.exit_code == 2


def test_a_scan_that_fails_exits_3_never_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Exit 1 means 'watchlisted' to cron jobs: an unexpected failure must not be mistaken for a finding."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("socket table exhausted")

    monkeypatch.setattr(scancmd, "run_scan", broken)
    out = tmp_path / "report.json"
    result = runner.invoke(cli.app, ["scan", "10.0.0.1", "--json", str(out)])
    assert result.exit_code == 3
    assert "socket table exhausted" in one_error_line(result.stderr)
    assert not out.exists()


def test_fingerprint_file_for_an_unknown_field_is_refused(tmp_path: Path) -> None:
    entry = 'id = "x1"\npattern = "^X$"\nclaims = { device_type = "camera" }\n'
    entry += 'strength = "weak"\nsource = "s"\n'
    (tmp_path / "mine.toml").write_text(f'field = "http.servr"\n[[fingerprint]]\n{entry}')
    result = runner.invoke(cli.app, ["fingerprints", "test", "--fingerprints", str(tmp_path)])
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "mine.toml" in line and "unknown field 'http.servr'" in line and "http.server" in line


def test_fingerprints_stats_counts_makers_labels_and_fields() -> None:
    result = runner.invoke(cli.app, ["fingerprints", "stats", "--list"])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    makers = int(out.split("makers: ", 1)[1].split(" surveillance makers", 1)[0])
    assert makers >= 80
    assert "OEM labels" in out and "name no maker" in out and "http.title" in out
    listed = next(line for line in out.splitlines() if line.startswith("makers: ") and "named" not in line)
    assert {"hikvision", "dahua", "uniview", "xiongmai", "axis"} <= set(listed.split()[1:])
