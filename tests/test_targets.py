"""Target specs a user types, and the scope guard that refuses what they must not scan by accident."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from camscan.targets import TargetError, parse_targets, subtract


def no_dns(name: str) -> list[str]:
    raise OSError("no DNS in tests")


def test_single_address_cidr_and_ranges() -> None:
    assert list(parse_targets(["192.168.1.7"]).addresses()) == ["192.168.1.7"]
    assert parse_targets(["10.0.0.0/24"]).count == 254
    assert list(parse_targets(["10.0.0.5-8"]).addresses()) == ["10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"]
    assert parse_targets(["10.0.0.250-10.0.1.5"]).count == 12
    assert parse_targets(["10.9.0.0/31"]).count == 2


def test_host_bits_in_cidr_are_accepted_and_overlaps_merge() -> None:
    ts = parse_targets(["10.0.0.77/24", "10.0.0.5", "10.0.0.0/25"])
    assert ts.intervals == ((int(IPv4Address("10.0.0.1")), int(IPv4Address("10.0.0.254"))),)


def test_hostname_resolves_through_the_resolver() -> None:
    ts = parse_targets(["cam-01.site.example"], resolve=lambda name: ["192.168.4.20"])
    assert list(ts.addresses()) == ["192.168.4.20"]


def test_each_typed_host_name_is_kept_with_the_addresses_it_gave() -> None:
    dns = {"nvr.site.example.": ["10.9.0.5", "10.9.0.6"], "cam-01.site.example": ["10.9.0.7"]}
    ts = parse_targets(["nvr.site.example.", "cam-01.site.example", "10.9.0.8"], resolve=dns.__getitem__)
    assert ts.names_of("10.9.0.6") == ("nvr.site.example",) and ts.names_of("10.9.0.7") == (
        "cam-01.site.example",
    )
    assert (
        ts.names_of("10.9.0.8") == () and ts.without([(int(IPv4Address("10.9.0.5")),) * 2]).names == ts.names
    )


def test_file_of_targets_with_comments(tmp_path: Path) -> None:
    f = tmp_path / "site.txt"
    f.write_text("# cameras VLAN\n10.20.0.0/30\n\n10.20.1.9  # the NVR\n")
    assert list(parse_targets([f"@{f}"]).addresses()) == ["10.20.0.1", "10.20.0.2", "10.20.1.9"]
    assert parse_targets([f"@{f}"]).count == 3  # /30 without network and broadcast, plus one


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("8.8.8.8", "public"),
        ("0.0.0.0/0", "includes 255.255.255.255/32, the limited broadcast address"),
        ("224.0.0.251", "multicast"),
        ("10.0.0.300", "not an IPv4 address"),
        ("10.0.0.9-3", "ends before"),
        ("10.0.0.1-999", "above 255"),
        ("10.0.0.0/33", "CIDR"),
        ("fe80::1", "IPv6"),
        ("bad_host!", "not an address"),
        ("no-such-host.invalid", "does not resolve"),
        ("@/nonexistent/targets.txt", "No such file"),
        ("", "empty"),
    ],
)
def test_bad_targets_give_one_clear_line(spec: str, words: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_targets([spec], resolve=no_dns)
    message = str(info.value)
    assert words in message
    assert "\n" not in message


def test_public_addresses_need_allow_public() -> None:
    assert list(parse_targets(["8.8.8.8"], allow_public=True).addresses()) == ["8.8.8.8"]


def test_private_and_loopback_ranges_are_allowed() -> None:
    for spec in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.77.0.0/24", "100.64.0.0/24"):
        parse_targets([spec], max_hosts=1 << 24)


def test_size_cap_refuses_huge_scans_unless_raised() -> None:
    with pytest.raises(TargetError, match="--max-hosts"):
        parse_targets(["10.0.0.0/15"])
    assert parse_targets(["10.0.0.0/15"], max_hosts=200_000).count == 131_070


def test_a_range_across_a_public_block_is_refused() -> None:
    with pytest.raises(TargetError, match="public"):
        parse_targets(["192.167.255.250-192.168.0.5"])


def test_nested_file_reference_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("@other.txt\n")
    with pytest.raises(TargetError, match="nested"):
        parse_targets([f"@{f}"])


def test_excludes_take_addresses_out_of_the_targets(tmp_path: Path) -> None:
    skip = tmp_path / "skip.txt"
    skip.write_text("# the NVR room\n10.1.0.128/25\n")
    ts = parse_targets(["10.1.0.0/24", "10.2.0.0/24"], exclude=["10.1.0.5", "10.2.0.10-20", f"@{skip}"])
    assert ts.count == 254 - 1 - 127 + 254 - 11
    assert not ts.contains("10.1.0.5") and not ts.contains("10.1.0.200") and not ts.contains("10.2.0.15")
    assert ts.contains("10.1.0.6") and ts.contains("10.2.0.21")
    assert ts.excluded == ("10.1.0.5", "10.2.0.10-20", f"@{skip}")


def test_a_public_exclude_is_fine_and_the_cap_counts_what_is_left() -> None:
    ts = parse_targets(["10.0.0.0/16"], exclude=["8.8.8.8", "10.0.0.0/17"], max_hosts=40_000)
    assert ts.count == 65_534 - 32_767


def test_subtract_cuts_and_merges() -> None:
    assert subtract([(1, 10), (20, 30)], [(5, 6), (9, 22), (30, 40)]) == ((1, 4), (7, 8), (23, 29))
    assert subtract([(1, 10)], []) == ((1, 10),)
    assert subtract([(1, 10)], [(0, 100)]) == ()


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("192.0.2.10", "192.0.2.10 is in 192.0.2.0/24, documentation range TEST-NET-1 (RFC 5737)"),
        ("198.51.100.0/24", "documentation range TEST-NET-2 (RFC 5737)"),
        ("203.0.113.7", "documentation range TEST-NET-3 (RFC 5737)"),
        ("192.0.0.0/16", "192.0.0.0/16 includes 192.0.2.0/24, documentation range TEST-NET-1"),
        ("240.0.0.1", "240.0.0.1 is in 240.0.0.0/4, reserved for future use"),
        ("255.255.255.255", "the limited broadcast address"),
        ("239.255.255.250", "multicast (RFC 5771)"),
        ("0.0.0.0", '"this network"'),
        ("0.1.2.3-10", '"this network"'),
    ],
)
def test_reserved_ranges_are_refused_in_their_own_words_even_with_allow_public(spec: str, words: str) -> None:
    for allow_public in (False, True):
        with pytest.raises(TargetError) as info:
            parse_targets([spec], allow_public=allow_public, resolve=no_dns)
        message = str(info.value)
        assert words in message and "\n" not in message
        assert "public" not in message  # a reserved range is not called public


def test_benchmarking_range_is_allowed_like_a_private_network() -> None:
    assert parse_targets(["198.18.0.0/30"]).count == 2
    assert parse_targets(["198.19.255.254"]).count == 1
    with pytest.raises(TargetError, match="public"):
        parse_targets(["198.20.0.1"])
