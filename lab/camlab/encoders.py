"""Device-side encoders: the replies a simulated device sends, which camscan only ever parses (pure, no I/O).

WS-Discovery ProbeMatches, a Hikvision SADP ProbeMatch, an SSDP search reply and a UPnP device description.
camscan keeps what a scanner sends (probes, inquiries, searches) and the parsers; round-trip tests pair them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from camscan.parse import soap

_SADP_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_SSDP_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9.-]{0,63}$")
_UPNP_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def build_probe_matches(matches: Sequence[soap.ProbeMatch], *, message_id: str, relates_to: str) -> bytes:
    """A WS-Discovery ProbeMatches answer relating to the Probe `relates_to`."""
    all_types = [t for m in matches for t in m.types]
    header = (
        f"<a:MessageID>{escape(soap.message_uri(message_id))}</a:MessageID>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        f'<a:To s:mustUnderstand="true">{soap.ANONYMOUS}</a:To>'
        f'<a:Action s:mustUnderstand="true">{soap.WSD}/ProbeMatches</a:Action>'
    )
    parts: list[str] = []
    for m in matches:
        version = (
            ""
            if m.metadata_version is None
            else f"<d:MetadataVersion>{m.metadata_version}</d:MetadataVersion>"
        )
        parts.append(
            "<d:ProbeMatch>"
            f"<a:EndpointReference><a:Address>{escape(m.endpoint)}</a:Address></a:EndpointReference>"
            f"<d:Types>{' '.join(m.types)}</d:Types>"
            f"<d:Scopes>{escape(' '.join(m.scopes))}</d:Scopes>"
            f"<d:XAddrs>{escape(' '.join(m.xaddrs))}</d:XAddrs>{version}"
            "</d:ProbeMatch>"
        )
    body = f"<d:ProbeMatches>{''.join(parts)}</d:ProbeMatches>"
    return soap.envelope(soap.type_namespaces(all_types), header, body)


def build_sadp_probe_match(fields: Mapping[str, str]) -> bytes:
    """A SADP ProbeMatch datagram with these child elements, in order."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<ProbeMatch>"]
    for name, value in fields.items():
        if not _SADP_TAG.match(name):
            raise ValueError(f"not a usable SADP element name: {name[:80]!r}")
        lines.append(f"<{name}>{escape(value)}</{name}>")
    lines.append("</ProbeMatch>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_ssdp_reply(headers: Mapping[str, str]) -> bytes:
    """An SSDP `HTTP/1.1 200 OK` search reply with these headers, in order."""
    lines = ["HTTP/1.1 200 OK"]
    for name, value in headers.items():
        if not _SSDP_HEADER.match(name) or _CONTROL.search(value):
            raise ValueError(f"not a usable SSDP header: {name[:40]!r}")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def build_upnp_description(fields: Mapping[str, str]) -> bytes:
    """A UPnP device description whose root device has these child elements (e.g. modelName)."""
    lines = [
        '<?xml version="1.0"?>',
        '<root xmlns="urn:schemas-upnp-org:device-1-0">',
        "<specVersion><major>1</major><minor>0</minor></specVersion>",
        "<device>",
    ]
    for name, value in fields.items():
        if not _UPNP_TAG.match(name):
            raise ValueError(f"not a usable UPnP element name: {name[:40]!r}")
        lines.append(f"<{name}>{escape(value)}</{name}>")
    lines += ["</device>", "</root>"]
    return ("\n".join(lines) + "\n").encode("utf-8")
