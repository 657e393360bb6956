"""The routed lab on paper (any user): segments, device layout, firewall rules, routed personas, the CLI."""

from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camlab import firewall, routed
from camlab.cli import app
from camlab.personas import PersonaError, load_persona
from camlab.plan import LabInputError, default_personas_dir, load_routed_personas, plan_segments

ROUTED = {"ping-only-switch", "dahua-ipc-ping-prohibited", "uniview-ipc2122-maconly"}


def test_default_segments_are_four_separate_24s_spread_over_the_16() -> None:
    lay = routed.layout()
    assert lay.supernet == ipaddress.IPv4Network("10.88.0.0/16")
    thirds = [int(str(s.network_address).split(".")[2]) for s in lay.segments]
    assert len(thirds) == 4 and all(b - a > 1 for a, b in itertools.pairwise(thirds))
    assert not any(lay.transit.overlaps(s) for s in lay.segments)
    assert (lay.router_ip, lay.scanner_ip) == ("10.87.255.253", "10.87.255.254")


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"supernet": "10.88.0.0/24"}, "must be /8 to /23"),
        ({"supernet": "10.88.1.0/16"}, "bad supernet"),
        ({"explicit": ["10.89.3.0/24"]}, "inside 10.88.0.0/16"),
        ({"explicit": ["10.88.3.0/25"]}, "must be a /24"),
        ({"explicit": ["10.88.3.0/24", "10.88.3.0/24"]}, "twice"),
        ({"supernet": "10.88.0.0/20", "segments": 17}, "segments must be 1..16"),
        ({"transit": "10.88.3.4/30", "explicit": ["10.88.3.0/24"]}, "outside the segments"),
    ],
)
def test_impossible_layouts_are_refused_with_the_reason(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(LabInputError, match=problem):
        routed.layout(**kwargs)  # type: ignore[arg-type]


def test_devices_fill_the_segments_in_blocks_from_host_2() -> None:
    personas = load_routed_personas(None)
    segs = routed.layout(explicit=["10.88.3.0/24", "10.88.250.0/24", "10.88.77.0/24"]).segments
    devices = plan_segments(personas, 200, segs)
    by_segment = {str(s): [d for d in devices if d.network == str(s)] for s in segs}
    assert [len(v) for v in by_segment.values()] == [67, 67, 66]
    assert [d.ip for d in by_segment["10.88.77.0/24"][:2]] == ["10.88.77.2", "10.88.77.3"]
    assert len({d.mac for d in devices}) == 200
    with pytest.raises(LabInputError, match=r"1\.\.759"):
        plan_segments(personas, 760, segs)


def test_the_routed_set_joins_the_default_personas_only_in_a_routed_lab() -> None:
    assert {p.id for p in load_routed_personas(None)} >= ROUTED
    assert not ROUTED & {p.name.removesuffix(".toml") for p in default_personas_dir().iterdir()}
    switch = next(p for p in load_routed_personas(None) if p.id == "ping-only-switch")
    assert (switch.services, switch.icmp, switch.closed_ports) == ((), True, "drop")


def test_firewall_rules_follow_the_personas() -> None:
    personas = {p.id: p for p in load_routed_personas(None)}
    chosen = [personas[i] for i in ("dahua-ipc-ping-prohibited", "ping-only-switch", "axis-m3045")]
    devices = plan_segments(chosen, 3, routed.layout(explicit=["10.88.3.0/24"]).segments)
    rules = firewall.ruleset(devices)
    assert "ip daddr 10.88.3.2 icmp type echo-request drop" in rules  # the Dahua drops ping only
    assert "ip daddr 10.88.3.3 meta l4proto tcp drop" in rules  # the switch: no port at all answers
    assert "ip daddr 10.88.3.3 meta l4proto udp drop" in rules
    assert "10.88.3.4" not in rules  # the Axis is unfiltered
    assert firewall.ruleset(devices[2:]) == "table ip camlab\ndelete table ip camlab\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("icmp = false\n", "needs a \\[\\[service\\]\\] or icmp = true"),
        ('icmp = "no"\n', "'icmp' must be true or false"),
        ('closed_ports = "reject"\n[[service]]\nport = 80\nkind = "http"\n', "'closed_ports' must be one of"),
    ],
)
def test_bad_liveness_keys_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        f'id = "x"\ndescription = "d"\nmac = "00:1a:1e:00:00:00"\n{text}'
        "[expect]\nis_camera = false\nwatchlisted = false\n"
    )
    with pytest.raises(PersonaError, match=problem):
        load_persona(path)


def test_routed_options_without_routed_are_refused() -> None:
    result = CliRunner().invoke(app, ["up", "--supernet", "10.88.0.0/16", "--segment", "10.88.3.0/24"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "camlab: --supernet, --segment need --routed"
    bad = CliRunner().invoke(app, ["up", "--routed", "--segment", "10.99.3.0/24"])
    assert bad.exit_code == 2 and "must be a /24 inside 10.88.0.0/16" in bad.stderr
