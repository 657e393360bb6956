"""Who a sighting is: its identity keys (serial, MAC, ONVIF endpoint UUID, then address), in order of trust.

A camera keeps its serial number through a relabel, a firmware update and any number of DHCP leases; its MAC
through all but a board swap; its WS-Discovery endpoint UUID (urn:uuid:…) for as long as its configuration
lasts. The address is used only for a device that offers none of the three: otherwise DHCP churn would make
one device of two.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal

Kind = Literal["serial", "mac", "uuid", "ip"]
KINDS: tuple[Kind, ...] = ("serial", "mac", "uuid", "ip")
MAX_KEY = 256
# Placeholders firmwares put where a serial belongs: never an identity.
_NOT_SERIALS = frozenset(
    {
        "",
        "0",
        "00000000",
        "000000000000",
        "123456",
        "123456789",
        "1234567890",
        "none",
        "null",
        "n/a",
        "na",
        "unknown",
        "default",
        "serial",
        "xxxxxxxx",
        "ffffffff",
    }
)
_ALL_SAME = re.compile(r"^(.)\1*$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
ENDPOINT_FIELD = "wsd.endpoint"


def serial_key(serial: str | None) -> str | None:
    """A serial number as a key (upper case, spaces dropped), or None for a placeholder."""
    if not serial:
        return None
    text = "".join(serial.split()).upper()[:MAX_KEY]
    if text.lower() in _NOT_SERIALS or len(text) < 4 or _ALL_SAME.match(text):
        return None
    return text


def mac_key(mac: str | None) -> str | None:
    """A globally administered, non-zero MAC as a key; a randomised (locally administered) one is none."""
    if not mac or not _MAC.match(mac):
        return None
    if int(mac[:2], 16) & 0x02 or int(mac[:2], 16) & 0x01 or mac == "00:00:00:00:00:00":
        return None
    return mac


def endpoint_uuid(value: str | None) -> str | None:
    """The UUID of a WS-Discovery endpoint address ('urn:uuid:…', 'uuid:…' or bare), lower case."""
    if not value:
        return None
    text = value.strip().lower()
    for prefix in ("urn:uuid:", "uuid:", "urn:"):
        text = text.removeprefix(prefix)
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return None if parsed.int == 0 else str(parsed)


def device_endpoint(device: Mapping[str, Any]) -> str | None:
    """The ONVIF WS-Discovery endpoint UUID among a report device's evidence, if it sent one."""
    for ev in device.get("evidence", ()):
        if ev.get("field") == ENDPOINT_FIELD:
            found = endpoint_uuid(ev.get("value"))
            if found:
                return found
    return None


def identity_keys(device: Mapping[str, Any]) -> list[tuple[Kind, str]]:
    """A report device's keys, most trusted first; its address only when it has no other."""
    keys: list[tuple[Kind, str]] = []
    for kind, value in (
        ("serial", serial_key(device.get("serial"))),
        ("mac", mac_key(device.get("mac"))),
        ("uuid", device_endpoint(device)),
    ):
        if value:
            keys.append((kind, value))  # type: ignore[arg-type]
    if not keys:
        keys.append(("ip", device["ip"]))
    return keys
