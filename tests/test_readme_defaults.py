"""Every default and figure the README states about scanning is the one the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from camscan import defaults

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
NORMAL = defaults.PROFILES[defaults.DEFAULT_PROFILE]


def _table(header: str) -> list[list[str]]:
    """The rows of the README table whose header line starts with `header`, as stripped cells."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _number(value: float) -> str:
    return f"{value:,g}" if value < 1000 else f"{value:,.0f}"


def test_the_option_table_states_the_code_defaults() -> None:
    stated = {row[0]: row[-1] for row in _table("| option | meaning | default |")}
    expected = {
        "`--ports LIST`": ",".join(map(str, defaults.PORTS)),
        "`--profile NAME`": defaults.DEFAULT_PROFILE,
        "`--rate N`": _number(NORMAL.rate),
        "`--concurrency N`": _number(NORMAL.concurrency),
        "`--per-host N`": _number(NORMAL.per_host),
        "`--connect-timeout S`": _number(NORMAL.connect),
        "`--probe-timeout S`": _number(NORMAL.probe),
        "`--host-timeout S`": _number(NORMAL.host),
        "`--deadline S`": _number(defaults.SCAN_DEADLINE),
        "`--ping-ports LIST`": ",".join(map(str, defaults.PING_PORTS)),
        "`--max-hosts N`": _number(defaults.MAX_HOSTS),
        "`--discovery-wait S`": _number(defaults.DISCOVERY_WAIT),
    }
    assert {k: stated.get(k) for k in expected} == expected


def test_the_profile_table_states_the_presets() -> None:
    rows = {row[0].strip("`"): row for row in _table("| profile |")}
    assert set(rows) == set(defaults.PROFILES)
    for name, p in defaults.PROFILES.items():
        _, rate, connections, per_host, timeouts, _ = rows[name]
        assert (rate, connections, per_host) == (_number(p.rate), _number(p.concurrency), str(p.per_host))
        assert timeouts == f"{p.connect:g}, {p.probe:g}, {p.host:g} s"


def test_the_floor_example_is_computed_with_the_code_figures() -> None:
    per_address = 1 + len(defaults.PING_PORTS) + 4  # ICMP, TCP pings, four discovery requests
    match = re.search(r"addresses × (\d+) ÷ rate\*\*.*?(\d[\d,]*) × (\d+) ÷ ([\d,]+) = (\d+) s", README, re.S)
    assert match is not None
    assert int(match[1]) == int(match[3]) == per_address
    addresses, rate = int(match[2].replace(",", "")), int(match[4].replace(",", ""))
    assert (addresses, rate) == (65_534, NORMAL.rate)
    assert int(match[5]) == round(addresses * per_address / rate)
