"""Legacy Dahua DVRIP discovery (UDP 5050 broadcast): build the request, parse the binary reply (no I/O).

Layout (DahuaConsole net.py dh_discover; UniversalScanner Dahua1.cs; python-dvr SearchDahua), little-endian:
  0  u16 magic 0x00b3 (reply; the request is a3 01 00 01)   2 u16 length of section 2
  20 u16 length of section 3     32 4 x u16 version        40 16-byte NUL-padded host name
  56 IPv4 address, 60 netmask, 64 gateway, 68 DNS (network byte order)
  94 u16 HTTP port   96 u16 HTTPS port   98 u16 TCP (DVRIP) port   104 u16 UDP port
  120 section 2: 17-char MAC then the model; then section 3: "Key:Value" lines (Name, Device, SerialNo...)
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from camscan import caps
from camscan.oui import normalise_mac

REQUEST = bytes.fromhex("a3010001" + "00" * 12 + "02" + "00" * 15)
REPLY_MAGIC = b"\xb3\x00"
REQUEST_MAGIC = b"\xa3\x01"
FIXED_SIZE = 120
MAC_TEXT = 17  # "aa:bb:cc:dd:ee:ff"
MAX_DATAGRAM = caps.DVRIP_DATAGRAM
MAX_FIELDS = 64
MAX_VALUE = 256
_LENGTHS = struct.Struct("<2sH16xH")  # magic, section-2 length, section-3 length at offset 20
_VERSION = struct.Struct("<4H")
_PORTS = struct.Struct("<HHH4xH")  # at 94: http, https, tcp, (max conns, ssl), udp


class DvripParseError(ValueError):
    """A DVRIP discovery datagram could not be read; the message is one line."""


class DvripEcho(DvripParseError):
    """The datagram is a DVRIP search request, e.g. our own broadcast looped back: not a device."""


@dataclass(frozen=True, slots=True)
class DvripReply:
    """What a legacy Dahua (or Dahua-OEM) device says about itself on UDP 5050."""

    version: str
    hostname: str | None
    ipv4: str | None
    mac: str | None  # normalised aa:bb:cc:dd:ee:ff
    model: str | None
    serial: str | None
    http_port: int | None
    https_port: int | None
    tcp_port: int | None
    udp_port: int | None
    raw: Mapping[str, str] = field(default_factory=dict, hash=False)


def build_search() -> bytes:
    """The 32-byte search request broadcast to UDP 5050."""
    return REQUEST


def _text(data: bytes) -> str | None:
    value = data.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
    return value[:MAX_VALUE] or None


def _port(value: int) -> int | None:
    return value or None


def _lines(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    text = data.replace(b"\x00", b"").decode("utf-8", errors="replace")
    for line in text.splitlines():
        if len(out) >= MAX_FIELDS:
            break
        key, sep, value = line.partition(":")
        key = key.strip()[:64]
        if sep and key and key not in out:
            out[key] = value.strip()[:MAX_VALUE]
    return out


def parse_reply(data: bytes) -> DvripReply:
    """Read a UDP 5050 search reply; DvripEcho for a search request, DvripParseError otherwise."""
    if len(data) > MAX_DATAGRAM:
        raise DvripParseError(f"DVRIP datagram of {len(data)} bytes is over the {MAX_DATAGRAM} limit")
    if data[:2] == REQUEST_MAGIC:
        raise DvripEcho("DVRIP search request, not a device answer")
    if data[:2] != REPLY_MAGIC:
        raise DvripParseError(f"not a DVRIP search reply: starts {data[:4].hex()}")
    if len(data) < FIXED_SIZE:
        raise DvripParseError(
            f"DVRIP reply of {len(data)} bytes is shorter than the {FIXED_SIZE}-byte header"
        )
    _, len2, len3 = _LENGTHS.unpack_from(data)
    tail = data[FIXED_SIZE:]
    if len2 + len3 > len(tail):
        declared = len2 + len3
        raise DvripParseError(f"DVRIP reply declares {declared} trailing bytes, datagram carries {len(tail)}")
    if len2 == len3 == 0:  # no declared sections: MAC then model (python-dvr), or MAC then Key:Value lines
        rest = tail[MAC_TEXT:]
        section2, section3 = (tail[:MAC_TEXT], rest) if b":" in rest else (tail, b"")
    else:
        section2, section3 = tail[:len2], tail[len2 : len2 + len3]
    http, https, tcp, udp = _PORTS.unpack_from(data, 94)
    ip = data[56:60]
    raw = _lines(section3)
    mac_text = _text(section2[:MAC_TEXT])
    return DvripReply(
        version=".".join(str(n) for n in _VERSION.unpack_from(data, 32)),
        hostname=_text(data[40:56]),
        ipv4=str(ipaddress.IPv4Address(ip)) if any(ip) else None,
        mac=normalise_mac(mac_text) if mac_text else None,
        model=_text(section2[MAC_TEXT:]) or raw.get("Device") or None,
        serial=raw.get("SerialNo") or None,
        http_port=_port(http),
        https_port=_port(https),
        tcp_port=_port(tcp),
        udp_port=_port(udp),
        raw=raw,
    )
