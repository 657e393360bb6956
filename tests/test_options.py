"""Option values a user types: port lists, port maps, MAC files."""

from __future__ import annotations

from pathlib import Path

import pytest

from camscan.options import OptionError, parse_port_map, parse_ports, read_mac_file


def test_port_lists_and_ranges() -> None:
    assert parse_ports("554,80,8000-8002,80") == (80, 554, 8000, 8001, 8002)


@pytest.mark.parametrize("text", ["0", "70000", "http", "90-80", ",", "1-2000"])
def test_bad_ports_are_refused(text: str) -> None:
    with pytest.raises(OptionError):
        parse_ports(text)


def test_port_map() -> None:
    assert parse_port_map("80=10080, 554=10554") == {80: 10080, 554: 10554}
    with pytest.raises(OptionError, match="PORT=PORT"):
        parse_port_map("80:10080")


def test_mac_file_accepts_spaces_commas_and_comments(tmp_path: Path) -> None:
    f = tmp_path / "leases.txt"
    f.write_text("# dhcp export\n10.0.0.5 44-19-B6-12-34-56\n10.0.0.6,3cef.8c00.0001  # nvr\n\n")
    assert read_mac_file(f) == {"10.0.0.5": "44:19:b6:12:34:56", "10.0.0.6": "3c:ef:8c:00:00:01"}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("10.0.0.5\n", "expected 'IP MAC'"),
        ("10.0.0.999 44:19:b6:12:34:56\n", "not an IPv4"),
        ("10.0.0.5 not-a-mac\n", "not a MAC"),
    ],
)
def test_bad_mac_file_names_the_line(tmp_path: Path, content: str, words: str) -> None:
    f = tmp_path / "m.txt"
    f.write_text(content)
    with pytest.raises(OptionError, match=words) as info:
        read_mac_file(f)
    assert "line 1" in str(info.value)


def test_missing_mac_file(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="No such file"):
        read_mac_file(tmp_path / "absent.txt")
