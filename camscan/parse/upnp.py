"""SSDP search requests and replies (HTTPU), UPnP device descriptions (XML): build searches, parse answers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from camscan import caps
from camscan.parse import xmlsafe

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
MAX_DATAGRAM = caps.SSDP_DATAGRAM
MAX_HEADERS = caps.SSDP_HEADERS  # header lines read from one datagram
MAX_VALUE = 512  # characters kept of one header or description field
MAX_DESCRIPTION = caps.UPNP_DESCRIPTION  # default byte cap of a device description

_STATUS = re.compile(r"^HTTP/1\.[01]\s+(\d{3})(?:\s|$)")
_ST_TEXT = re.compile(r"^[A-Za-z0-9:._/-]{1,200}$")
_HOST_TEXT = re.compile(r"^[0-9.]{7,15}(?::\d{1,5})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WANTED = ("server", "st", "usn", "location")
_DEVICE_FIELDS = {
    "deviceType": "device_type",
    "friendlyName": "friendly_name",
    "manufacturer": "manufacturer",
    "manufacturerURL": "manufacturer_url",
    "modelDescription": "model_description",
    "modelName": "model_name",
    "modelNumber": "model_number",
    "serialNumber": "serial",
    "UDN": "udn",
}


class UpnpParseError(ValueError):
    """An SSDP datagram or a device description could not be read; the message is one line."""


class SsdpEcho(UpnpParseError):
    """The datagram is an M-SEARCH request (e.g. our own looped back): not a device's answer."""


@dataclass(frozen=True, slots=True)
class SsdpReply:
    """The headers of one SSDP search reply that say who answered and where its description is."""

    server: str | None
    st: str | None
    usn: str | None
    location: str | None


@dataclass(frozen=True, slots=True)
class UpnpDevice:
    """The root device of a UPnP description: who made it and what it is called."""

    device_type: str | None = None
    friendly_name: str | None = None
    manufacturer: str | None = None
    manufacturer_url: str | None = None
    model_description: str | None = None
    model_name: str | None = None
    model_number: str | None = None
    serial: str | None = None
    udn: str | None = None


def build_msearch(st: str, host: str = f"{SSDP_GROUP}:{SSDP_PORT}", mx: int = 1) -> bytes:
    """An M-SEARCH request for search target st, sent to host ("ip:port"), answers spread over mx seconds."""
    if not _ST_TEXT.match(st):
        raise ValueError(f"not a usable SSDP search target: {st[:80]!r}")
    if not _HOST_TEXT.match(host):
        raise ValueError(f"SSDP host must be ip or ip:port: {host[:80]!r}")
    if not 1 <= mx <= 5:
        raise ValueError(f"SSDP MX must be 1 to 5 seconds, not {mx}")
    return (
        f'M-SEARCH * HTTP/1.1\r\nHOST: {host}\r\nMAN: "ssdp:discover"\r\nMX: {mx}\r\nST: {st}\r\n\r\n'
    ).encode("ascii")


def clean(value: str, max_len: int = MAX_VALUE) -> str:
    """value capped at max_len characters with control characters removed, then stripped."""
    return _CONTROL.sub("", value[: max_len * 2]).strip()[:max_len].strip()


def parse_search_reply(data: bytes) -> SsdpReply:
    """Read an SSDP search reply; raise SsdpEcho for an M-SEARCH and UpnpParseError for anything else."""
    if len(data) > MAX_DATAGRAM:
        raise UpnpParseError(f"SSDP datagram is {len(data)} bytes, more than {MAX_DATAGRAM}")
    lines = data.decode("latin-1").split("\n", MAX_HEADERS + 1)[: MAX_HEADERS + 1]
    first = lines[0].strip()
    if first.upper().startswith("M-SEARCH "):
        raise SsdpEcho("an M-SEARCH request, not a reply")
    status = _STATUS.match(first)
    if status is None:
        raise UpnpParseError(f"not an SSDP reply: {clean(first, 60)!r}")
    if status.group(1) != "200":
        raise UpnpParseError(f"SSDP reply status {status.group(1)}, not 200")
    found: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        key = name.strip().lower()
        if not sep:
            if not line.strip():
                break  # end of the header block
            continue
        if key in _WANTED and key not in found:
            found[key] = clean(value)
    return SsdpReply(*(found.get(key) or None for key in _WANTED))


def parse_description(data: bytes, max_bytes: int = MAX_DESCRIPTION) -> UpnpDevice:
    """Read the root device of a UPnP device description; raise UpnpParseError (one line) if unusable."""
    try:
        root = xmlsafe.parse(data, max_bytes=max_bytes)
    except xmlsafe.XmlError as exc:
        raise UpnpParseError(f"device description: {exc}") from None
    if xmlsafe.local(root.tag) != "root":
        raise UpnpParseError(f"device description root is <{clean(xmlsafe.local(root.tag), 40)}>, not <root>")
    device = xmlsafe.child(root, "device")
    if device is None:
        raise UpnpParseError("device description has no <device>")
    values: dict[str, str] = {}
    for sub in device:
        attr = _DEVICE_FIELDS.get(xmlsafe.local(sub.tag))
        text = xmlsafe.text(sub, MAX_VALUE * 2)
        if attr is not None and attr not in values and text is not None:
            cleaned = clean(text)
            if cleaned:
                values[attr] = cleaned
    return UpnpDevice(**values)
