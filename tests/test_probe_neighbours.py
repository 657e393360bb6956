"""Reading the kernel ARP cache (/proc/net/arp format)."""

from __future__ import annotations

from pathlib import Path

from camscan.probes.neighbours import parse_neighbours, read_neighbours

PROC_NET_ARP = """\
IP address       HW type     Flags       HW address            Mask     Device
10.0.0.5         0x1         0x2         44:19:B6:12:34:56     *        eth0
10.0.0.6         0x1         0x0         00:00:00:00:00:00     *        eth0
10.0.0.7         0x1         0x6         38:af:29:00:00:07     *        eth1
10.0.0.8         0x1         0x2         00:00:00:00:00:00     *        eth0
10.0.0.9         0x1         0x2         not-a-mac             *        eth0
999.0.0.1        0x1         0x2         38:af:29:00:00:01     *        eth0
10.0.0.10        0x1         zz          38:af:29:00:00:0a     *        eth0
short line
\x00\xff garbage \t
"""


def test_complete_entries_only(tmp_path: Path) -> None:
    path = tmp_path / "arp"
    path.write_text(PROC_NET_ARP, encoding="latin-1")
    assert read_neighbours(str(path)) == {
        "10.0.0.5": ("44:19:b6:12:34:56", "eth0"),
        "10.0.0.7": ("38:af:29:00:00:07", "eth1"),  # flags 0x6 = complete + permanent
    }


def test_missing_file_means_no_neighbours(tmp_path: Path) -> None:
    assert read_neighbours(str(tmp_path / "nope")) == {}


def test_header_only_and_empty() -> None:
    assert parse_neighbours("") == {}
    assert parse_neighbours(PROC_NET_ARP.splitlines()[0]) == {}
