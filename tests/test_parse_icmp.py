"""ICMP echo: requests carry a valid checksum; only echo replies are read; nothing else escapes the parser."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camscan.parse.icmp import ECHO_REPLY, IcmpParseError, checksum, echo_reply, echo_request


def test_the_checksum_is_rfc_1071s() -> None:
    # RFC 1071 section 3's worked example: the one's complement sum of these words is 0xddf2
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == (~0xDDF2) & 0xFFFF
    assert checksum(b"\x01") == (~0x0100) & 0xFFFF  # an odd length is padded with a zero byte


def test_a_request_checks_out_and_carries_our_identifier() -> None:
    packet = echo_request(0xBEEF, 7)
    assert packet[0] == 8 and checksum(packet) == 0  # a packet with its checksum in sums to zero
    assert struct.unpack("!HH", packet[4:8]) == (0xBEEF, 7)


def test_a_reply_is_read_with_and_without_the_ip_header() -> None:
    body = bytearray(echo_request(0x1234, 9))
    body[0] = ECHO_REPLY
    ip_header = bytes([0x45]) + bytes(19)
    assert echo_reply(bytes(body), with_ip_header=False) == (0x1234, 9)
    assert echo_reply(ip_header + bytes(body), with_ip_header=True) == (0x1234, 9)


@pytest.mark.parametrize(
    ("data", "with_header"),
    [
        (echo_request(1, 1), False),  # a request, not a reply
        (bytes([3, 1]) + bytes(30), False),  # destination unreachable
        (b"\x00\x00", False),  # truncated
        (bytes([0x60]) + bytes(40), True),  # an IPv6 header
        (bytes([0x4F]) + bytes(30), True),  # a header longer than the packet
    ],
)
def test_anything_but_an_echo_reply_is_refused(data: bytes, with_header: bool) -> None:
    with pytest.raises(IcmpParseError):
        echo_reply(data, with_ip_header=with_header)


@given(st.binary(max_size=200), st.booleans())
def test_fuzzed_packets_raise_only_the_parse_error(data: bytes, with_header: bool) -> None:
    try:
        ident, seq = echo_reply(data, with_ip_header=with_header)
    except IcmpParseError:
        return
    assert 0 <= ident <= 0xFFFF and 0 <= seq <= 0xFFFF
