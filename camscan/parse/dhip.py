"""Dahua DHIP discovery (UDP 37810): build DHDiscover.search, parse client.notifyDevInfo (no I/O)."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from camscan import caps
from camscan.oui import normalise_mac
from camscan.parse.fields import ipv4 as read_ipv4
from camscan.parse.fields import port as read_port
from camscan.parse.fields import text as read_text

MAGIC = b"\x20\x00\x00\x00DHIP"  # header size 0x20 (LE) + "DHIP"
HEADER = struct.Struct("<8sIIIIII")  # magic, session id, request id, length, 0, expected length, 0
HEADER_SIZE = HEADER.size
MAX_DATAGRAM = caps.DHIP_DATAGRAM
MAX_BODY = caps.DHIP_BODY
MAX_FIELDS = 128
MAX_VALUE = 512
MAX_DEPTH = 4  # of nested objects flattened into raw
SEARCH_METHOD = "DHDiscover.search"
REPLY_METHOD = "client.notifyDevInfo"
SEARCH_BODY = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'


class DhipParseError(ValueError):
    """A DHIP datagram could not be read; the message is one line."""


class DhipEcho(DhipParseError):
    """The datagram is a DHDiscover.search request, e.g. our own multicast looped back: not a device."""


@dataclass(frozen=True, slots=True)
class DhipReply:
    """What a Dahua (or Dahua-OEM) device says about itself in client.notifyDevInfo."""

    request_id: int
    mac: str | None  # normalised aa:bb:cc:dd:ee:ff
    device_class: str | None
    device_type: str | None  # the model, e.g. IPC-HDW5831R-ZE
    serial: str | None
    vendor: str | None
    version: str | None
    machine_name: str | None
    ipv4: str | None
    http_port: int | None
    port: int | None  # the private SDK port, 37777 by default
    raw: Mapping[str, str] = field(default_factory=dict, hash=False)


def build_frame(body: bytes, *, request_id: int = 0, session_id: int = 0) -> bytes:
    """One DHIP datagram: the 32-byte header (little-endian ids and lengths) followed by body."""
    if len(body) > MAX_BODY:
        raise ValueError(f"DHIP body of {len(body)} bytes is over the {MAX_BODY} limit")
    return HEADER.pack(MAGIC, session_id, request_id, len(body), 0, len(body), 0) + body


def build_search(request_id: int = 1) -> bytes:
    """The DHDiscover.search request a discovery tool multicasts to 239.255.255.251:37810."""
    return build_frame(SEARCH_BODY, request_id=request_id)


def _json_int(text: str) -> int:
    if len(text) > 20:  # nothing in a discovery reply is that long; refuse before int() does the work
        raise ValueError("number too long")
    return int(text)


def _split(data: bytes) -> tuple[int, bytes]:
    if len(data) > MAX_DATAGRAM:
        raise DhipParseError(f"DHIP datagram of {len(data)} bytes is over the {MAX_DATAGRAM} limit")
    if len(data) < HEADER_SIZE:
        raise DhipParseError(f"DHIP datagram of {len(data)} bytes is shorter than the 32-byte header")
    magic, _session, request_id, length, _, expected, _ = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise DhipParseError(f"not DHIP: header starts {data[:8].hex()}")
    carried = len(data) - HEADER_SIZE
    if length > carried:
        raise DhipParseError(f"DHIP header declares {length} body bytes, datagram carries {carried}")
    if length > MAX_BODY:
        raise DhipParseError(f"DHIP body of {length} bytes is over the {MAX_BODY} limit")
    if expected != length:
        raise DhipParseError(f"DHIP body split over datagrams ({length} of {expected} bytes)")
    return request_id, data[HEADER_SIZE : HEADER_SIZE + length]


def _load(body: bytes) -> dict[str, object]:
    try:
        text = body.rstrip(b"\x00 \t\r\n").decode("utf-8")
        doc = json.loads(text, parse_int=_json_int)
    except UnicodeDecodeError:
        raise DhipParseError("DHIP body is not UTF-8") from None
    except RecursionError:
        raise DhipParseError("DHIP body JSON nested too deep") from None
    except ValueError as exc:
        raise DhipParseError(f"DHIP body is not JSON: {str(exc)[:80]}") from None
    if not isinstance(doc, dict):
        raise DhipParseError("DHIP body is not a JSON object")
    return doc


def _flatten(obj: Mapping[str, object], out: dict[str, str], prefix: str = "", depth: int = 0) -> None:
    for key, value in obj.items():
        if len(out) >= MAX_FIELDS:
            return
        name = read_text(f"{prefix}{key}"[:128])
        if isinstance(value, dict):
            if depth < MAX_DEPTH:
                _flatten(value, out, f"{name}.", depth + 1)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[name] = read_text(str(value)[:MAX_VALUE])


def parse_reply(data: bytes) -> DhipReply:
    """Read a client.notifyDevInfo datagram; DhipEcho for a search request, DhipParseError otherwise."""
    request_id, body = _split(data)
    doc = _load(body)
    method = doc.get("method")
    if method == SEARCH_METHOD:
        raise DhipEcho("DHIP DHDiscover.search request, not a device answer")
    if method != REPLY_METHOD:
        shown = method[:60] if isinstance(method, str) else type(method).__name__
        raise DhipParseError(f"DHIP method {shown!r} is not {REPLY_METHOD}")
    params = doc.get("params")
    info = params.get("deviceInfo") if isinstance(params, dict) else None
    raw: dict[str, str] = {}
    if isinstance(info, dict):
        _flatten(info, raw)

    def get(name: str) -> str | None:
        return raw.get(name) or None

    top_mac = doc.get("mac")
    mac_text = read_text(top_mac) if isinstance(top_mac, str) and top_mac else get("MAC")
    return DhipReply(
        request_id=request_id,
        mac=normalise_mac(mac_text) if mac_text else None,
        device_class=get("DeviceClass"),
        device_type=get("DeviceType"),
        serial=get("SerialNo"),
        vendor=get("Vendor"),
        version=get("Version"),
        machine_name=get("MachineName"),
        ipv4=read_ipv4(get("IPv4Address.IPAddress")),
        http_port=read_port(get("HttpPort")),
        port=read_port(get("Port")),
        raw=raw,
    )
