"""SSDP for simulated devices: answer M-SEARCH on UDP 1900 and serve the UPnP device description XML."""

from __future__ import annotations

from camlab.channels import SsdpSpec
from camlab.encoders import build_ssdp_reply, build_upnp_description
from camlab.plan import LabDevice

MAX_REQUEST = 8 * 1024
MAX_HEADERS = 32
ALL = "ssdp:all"
ROOT = "upnp:rootdevice"


def parse_msearch(data: bytes) -> dict[str, str] | None:
    """Lower-cased headers of an M-SEARCH request; None for other SSDP messages; ValueError for garbage."""
    if len(data) > MAX_REQUEST:
        raise ValueError(f"SSDP datagram of {len(data)} bytes is over {MAX_REQUEST}")
    text = data.decode("latin-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    first = lines[0].strip()
    if first.startswith(("NOTIFY ", "HTTP/1.")):
        return None  # announcements and other devices' answers
    if first.upper() != "M-SEARCH * HTTP/1.1":
        raise ValueError(f"not an SSDP request: {first[:40]!r}")
    headers: dict[str, str] = {}
    for line in lines[1 : 1 + MAX_HEADERS]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _targets(device: LabDevice, spec: SsdpSpec, st: str) -> list[str]:
    udn = device.render(spec.udn)
    if st == ALL:
        return [ROOT, spec.st]
    if st in (ROOT, spec.st, udn):
        return [st]
    return []


def location(device: LabDevice, spec: SsdpSpec) -> str:
    """The LOCATION URL (logical port; a loopback scan maps it like any other port)."""
    return f"http://{device.ip}:{spec.port}{spec.location}"


def answer_ssdp(device: LabDevice, data: bytes) -> list[bytes]:
    """One HTTP/1.1 200 answer per matching search target (ssdp:all: root device + device type)."""
    spec = device.persona.channels.ssdp
    if spec is None:
        return []
    headers = parse_msearch(data)
    if headers is None or headers.get("man", "").strip('"') != "ssdp:discover":
        return []
    udn = device.render(spec.udn)
    out = []
    for target in _targets(device, spec, headers.get("st", "")):
        usn = udn if target == udn else f"{udn}::{target}"
        out.append(
            build_ssdp_reply(
                {
                    "CACHE-CONTROL": "max-age=1800",
                    "EXT": "",
                    "LOCATION": location(device, spec),
                    "SERVER": device.render(spec.server),
                    "ST": target,
                    "USN": usn,
                }
            )
        )
    return out


def description_xml(device: LabDevice, spec: SsdpSpec) -> bytes:
    """The UPnP device description served at the LOCATION path."""
    fields = [
        ("deviceType", spec.st),
        ("friendlyName", spec.friendly_name),
        ("manufacturer", spec.manufacturer),
        ("manufacturerURL", spec.manufacturer_url),
        ("modelDescription", spec.model_description),
        ("modelName", spec.model_name),
        ("modelNumber", spec.model_number),
        ("serialNumber", spec.serial),
        ("UDN", spec.udn),
        ("presentationURL", f"http://{device.ip}/"),
    ]
    return build_upnp_description({name: device.render(value) for name, value in fields if value})
