"""ICMP echo (RFC 792): build a request, read a reply; pure, no I/O."""

from __future__ import annotations

import struct

ECHO_REPLY, ECHO_REQUEST = 0, 8
HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
PAYLOAD = b"camscan liveness"  # 16 bytes: small, and says who asked to anyone reading a capture


class IcmpParseError(ValueError):
    """Bytes that are not an ICMP echo reply we can read."""


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, sequence: int, payload: bytes = PAYLOAD) -> bytes:
    """An echo request with its checksum filled in."""
    bare = HEADER.pack(ECHO_REQUEST, 0, 0, ident & 0xFFFF, sequence & 0xFFFF) + payload
    return HEADER.pack(ECHO_REQUEST, 0, checksum(bare), ident & 0xFFFF, sequence & 0xFFFF) + payload


def echo_reply(data: bytes, *, with_ip_header: bool) -> tuple[int, int]:
    """(identifier, sequence) of an echo reply; raw sockets hand over the IPv4 header too, ping sockets not.

    Raises IcmpParseError for anything else (other ICMP types, truncated or malformed packets).
    """
    if with_ip_header:
        if len(data) < 20 or data[0] >> 4 != 4:
            raise IcmpParseError("not an IPv4 packet")
        data = data[(data[0] & 0x0F) * 4 :]
    if len(data) < HEADER.size:
        raise IcmpParseError("shorter than an ICMP header")
    kind, code, _sum, ident, sequence = HEADER.unpack_from(data)
    if kind != ECHO_REPLY or code != 0:
        raise IcmpParseError(f"ICMP type {kind} code {code}, not an echo reply")
    return ident, sequence
