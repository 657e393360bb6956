"""Hikvision SADP (UDP 37020): build the inquiry, parse a device's ProbeMatch (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from camscan import caps
from camscan.oui import normalise_mac
from camscan.parse import xmlsafe
from camscan.parse.fields import ipv4 as read_ipv4
from camscan.parse.fields import port as read_port

MAX_BYTES = caps.SADP_XML
MAX_FIELDS = 128
MAX_VALUE = 512

_UUID_TEXT = re.compile(r"^[0-9A-Za-z-]{1,64}$")


class SadpParseError(ValueError):
    """A SADP datagram could not be read; the message is one line."""


class SadpEcho(SadpParseError):
    """The datagram is a SADP inquiry (a <Probe>), e.g. our own multicast looped back: not a device."""


@dataclass(frozen=True, slots=True)
class SadpReply:
    """What a Hikvision (or Hikvision-OEM) device says about itself in a SADP ProbeMatch."""

    uuid: str | None
    types: str | None
    device_type: str | None
    description: str | None  # DeviceDescription: the model, e.g. DS-2CD2142FWD-I
    serial: str | None  # DeviceSN
    mac: str | None  # normalised aa:bb:cc:dd:ee:ff
    ipv4: str | None
    software_version: str | None
    dsp_version: str | None
    oem_info: str | None
    activated: bool | None
    http_port: int | None
    command_port: int | None
    boot_time: str | None
    raw: Mapping[str, str] = field(default_factory=dict, hash=False)


def build_inquiry(uuid: str) -> bytes:
    """The SADP inquiry a discovery tool multicasts; uuid identifies the request."""
    if not _UUID_TEXT.match(uuid):
        raise ValueError(f"SADP request uuid must be letters, digits and hyphens: {uuid[:80]!r}")
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>{uuid}</Uuid><Types>inquiry</Types></Probe>'
    ).encode()


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"true": True, "false": False}.get(value.lower())


def parse_probe_match(data: bytes) -> SadpReply:
    """Read a SADP ProbeMatch; SadpEcho for an inquiry, SadpParseError for anything else unreadable."""
    try:
        root = xmlsafe.parse(data, max_bytes=MAX_BYTES, max_depth=8)
    except xmlsafe.XmlError as exc:
        raise SadpParseError(f"SADP: {exc}") from None
    kind = xmlsafe.local(root.tag)
    if kind == "Probe":
        raise SadpEcho("SADP inquiry (a <Probe>), not a device answer")
    if kind != "ProbeMatch":
        raise SadpParseError(f"SADP: expected <ProbeMatch>, got <{kind[:40]}>")
    raw: dict[str, str] = {}
    for sub in root:
        if len(raw) >= MAX_FIELDS:
            break
        name = xmlsafe.local(sub.tag)
        if len(sub) or name in raw:  # only simple elements; the first of a repeated name wins
            continue
        raw[name[:64]] = (sub.text or "").strip()[:MAX_VALUE]

    def get(name: str) -> str | None:
        return raw.get(name) or None

    mac_text = get("MAC")
    return SadpReply(
        uuid=get("Uuid"),
        types=get("Types"),
        device_type=get("DeviceType"),
        description=get("DeviceDescription"),
        serial=get("DeviceSN"),
        mac=normalise_mac(mac_text) if mac_text else None,
        ipv4=read_ipv4(get("IPv4Address")),
        software_version=get("SoftwareVersion"),
        dsp_version=get("DSPVersion"),
        oem_info=get("OEMInfo"),
        activated=_bool(get("Activated")),
        http_port=read_port(get("HttpPort")),
        command_port=read_port(get("CommandPort")),
        boot_time=get("BootTime"),
        raw=raw,
    )
