"""WS-Discovery 2005/04 (as ONVIF uses it) and ONVIF device SOAP: build probes, parse answers (no I/O).

The device side (ProbeMatches) is built by the lab (camlab.encoders) on top of `envelope`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote
from xml.sax.saxutils import escape

from camscan import caps
from camscan.parse import xmlsafe

MAX_BYTES = caps.SOAP_XML
MAX_MATCHES = 64
MAX_ITEMS = 64  # per whitespace-separated list (Types, Scopes, XAddrs)
MAX_TOKEN = 1024
MAX_FIELD = 256

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSD_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
# Prefixes a Types list may use in what we build; each is declared only when used.
TYPE_NAMESPACES = {
    "dn": "http://www.onvif.org/ver10/network/wsdl",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
}
DEVICE_INFO_FIELDS = ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")

ONVIF_SCOPE = "onvif://www.onvif.org/"
SCOPE_KEYS = frozenset({"name", "hardware", "location", "mac", "profile", "type"})
OTHER = "other"

_QNAME = re.compile(r"^([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)$")
_UUID = re.compile(r"^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$")
_TAPO_PREFIX = "3fa1fe68b9154053a3e1"  # TP-Link Tapo: constant prefix + MAC (EdgeX macmapper_test.go)


class SoapParseError(ValueError):
    """A SOAP / WS-Discovery message could not be read; the message is one line."""


@dataclass(frozen=True, slots=True)
class ProbeMatch:
    """One WS-Discovery ProbeMatch: who answered, what it is, where its services are."""

    endpoint: str
    types: tuple[str, ...]
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    metadata_version: int | None
    relates_to: str | None
    message_id: str | None

    def scope_values(self, key: str) -> list[str]:
        """Decoded values of one ONVIF scope key (e.g. "name", "hardware", "mac"), in message order."""
        return decode_scopes(self.scopes).get(_scope_key(key), [])


@dataclass(frozen=True, slots=True)
class Probe:
    """A WS-Discovery Probe as a device (or our lab responder) receives it."""

    message_id: str | None
    types: tuple[str, ...]


def message_uri(message_id: str) -> str:
    """A WS-Addressing MessageID as a URI (a bare UUID gets `uuid:`)."""
    return message_id if ":" in message_id else f"uuid:{message_id}"


def type_namespaces(types: Sequence[str]) -> str:
    """The xmlns declarations for the dn:/tds: prefixes a Types list uses (ValueError for any other)."""
    decls: dict[str, str] = {}
    for qname in types:
        m = _QNAME.match(qname)
        if not m or m.group(1) not in TYPE_NAMESPACES:
            known = ", ".join(sorted(TYPE_NAMESPACES))
            raise ValueError(f"unsupported WS-Discovery type {qname!r} (known prefixes: {known})")
        decls[m.group(1)] = TYPE_NAMESPACES[m.group(1)]
    return "".join(f' xmlns:{p}="{ns}"' for p, ns in sorted(decls.items()))


def envelope(namespaces: str, header: str, body: str) -> bytes:
    """A SOAP 1.2 envelope with prefixes s: (SOAP), a: (WS-Addressing), d: (WS-Discovery), `namespaces`."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:a="{WSA}" xmlns:d="{WSD}"{namespaces}>'
        f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def build_probe(message_id: str, types: str | None = "dn:NetworkVideoTransmitter") -> bytes:
    """A WS-Discovery Probe; types None sends an untyped probe (every target service answers)."""
    type_list = types.split() if types else []
    header = (
        f"<a:MessageID>{escape(message_uri(message_id))}</a:MessageID>"
        f'<a:To s:mustUnderstand="true">{WSD_TO}</a:To>'
        f'<a:Action s:mustUnderstand="true">{WSD}/Probe</a:Action>'
    )
    body = f"<d:Probe><d:Types>{' '.join(type_list)}</d:Types></d:Probe>" if type_list else "<d:Probe/>"
    return envelope(type_namespaces(type_list), header, body)


def _parse_envelope(data: bytes) -> ET.Element:
    try:
        root = xmlsafe.parse(data, max_bytes=MAX_BYTES)
    except xmlsafe.XmlError as exc:
        raise SoapParseError(str(exc)) from None
    if xmlsafe.local(root.tag) != "Envelope":
        raise SoapParseError(f"not a SOAP envelope (root element is <{xmlsafe.local(root.tag)[:40]}>)")
    return root


def _body(root: ET.Element) -> ET.Element:
    body = xmlsafe.child(root, "Body")
    if body is None:
        raise SoapParseError("SOAP envelope has no Body")
    return body


def _tokens(elem: ET.Element | None) -> tuple[str, ...]:
    if elem is None or not elem.text:
        return ()
    out: list[str] = []
    for token in elem.text.split():
        if len(out) >= MAX_ITEMS:
            break
        out.append(token[:MAX_TOKEN])
    return tuple(out)


def _uint32(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if number < 2**32 else None


def parse_probe_matches(data: bytes) -> list[ProbeMatch]:
    """Every ProbeMatch in a ProbeMatches message (namespace- and prefix-agnostic); [] for other messages."""
    root = _parse_envelope(data)
    body = _body(root)
    header = xmlsafe.child(root, "Header")
    relates_to = xmlsafe.text(xmlsafe.child(header, "RelatesTo"), MAX_TOKEN)
    message_id = xmlsafe.text(xmlsafe.child(header, "MessageID"), MAX_TOKEN)
    found: list[ProbeMatch] = []
    for pm in xmlsafe.descendants(body, "ProbeMatch"):
        if len(found) >= MAX_MATCHES:
            break
        epr = xmlsafe.child(pm, "EndpointReference")
        found.append(
            ProbeMatch(
                endpoint=xmlsafe.text(xmlsafe.child(epr, "Address"), MAX_TOKEN) or "",
                types=_tokens(xmlsafe.child(pm, "Types")),
                xaddrs=_tokens(xmlsafe.child(pm, "XAddrs")),
                scopes=_tokens(xmlsafe.child(pm, "Scopes")),
                metadata_version=_uint32(xmlsafe.text(xmlsafe.child(pm, "MetadataVersion"), 16)),
                relates_to=relates_to,
                message_id=message_id,
            )
        )
    return found


def parse_probe(data: bytes) -> Probe | None:
    """The Probe in a message (what a responder receives, or our own probe echoed back); None otherwise."""
    root = _parse_envelope(data)
    probe = xmlsafe.child(_body(root), "Probe")
    if probe is None:
        return None
    message_id = xmlsafe.text(xmlsafe.child(xmlsafe.child(root, "Header"), "MessageID"), MAX_TOKEN)
    return Probe(message_id=message_id, types=_tokens(xmlsafe.child(probe, "Types")))


def _scope_key(key: str) -> str:
    return key.lower() if key.lower() in SCOPE_KEYS else key


def decode_scopes(scopes: Iterable[str]) -> dict[str, list[str]]:
    """onvif://www.onvif.org/<key>/<value...> -> {key: [values]} (percent-decoded); others under "other"."""
    out: dict[str, list[str]] = {}
    for scope in scopes:
        if scope[: len(ONVIF_SCOPE)].lower() != ONVIF_SCOPE:
            out.setdefault(OTHER, []).append(scope)
            continue
        raw_key, _, raw_value = scope[len(ONVIF_SCOPE) :].partition("/")
        key = unquote(raw_key, errors="replace").strip()
        value = unquote(raw_value, errors="replace").strip()
        if not key:
            out.setdefault(OTHER, []).append(scope)
        elif value:  # "location/" (Axis) or a bare key carries no value
            out.setdefault(_scope_key(key), []).append(value)
    return out


def _is_unicast_global(node: bytes) -> bool:
    return node[0] & 0b11 == 0 and any(node)


def _mac(node: bytes) -> str:
    return ":".join(f"{b:02x}" for b in node)


def mac_from_endpoint(endpoint: str) -> str | None:
    """The MAC embedded in an EndpointReference UUID (Hikvision/GeoVision v1 node, Tapo, Bosch), else None."""
    text = endpoint.strip().lower()
    for prefix in ("urn:uuid:", "uuid:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    m = _UUID.match(text)
    if not m:
        return None
    digits = "".join(m.groups())
    raw = bytes.fromhex(digits)
    # Bosch: MAC in the first 6 bytes, then the same MAC byte-reversed (chance match: 2^-48).
    if raw[6:12] == raw[5::-1] and _is_unicast_global(raw[:6]):
        return _mac(raw[:6])
    node = raw[10:]
    if digits.startswith(_TAPO_PREFIX):
        return _mac(node) if _is_unicast_global(node) else None
    # A time-based (version 1) UUID carries the host MAC as its node (RFC 4122 variant, or NCS as GeoVision).
    # Random (v4) UUIDs and v1 UUIDs with a random node (multicast bit set) say nothing about the MAC.
    version = raw[6] >> 4
    microsoft_or_reserved = raw[8] & 0xC0 == 0xC0
    if version == 1 and not microsoft_or_reserved and _is_unicast_global(node):
        return _mac(node)
    return None


def _fault_code(root: ET.Element) -> str | None:
    fault = next(xmlsafe.descendants(xmlsafe.child(root, "Body"), "Fault"), None)
    if fault is None:
        return None
    code = xmlsafe.child(fault, "Code")
    if code is not None:  # SOAP 1.2: the innermost Subcode is the most specific
        best = xmlsafe.text(xmlsafe.child(code, "Value"), MAX_FIELD)
        sub = xmlsafe.child(code, "Subcode")
        while sub is not None:
            best = xmlsafe.text(xmlsafe.child(sub, "Value"), MAX_FIELD) or best
            sub = xmlsafe.child(sub, "Subcode")
        if best:
            return best
    legacy = xmlsafe.text(xmlsafe.child(fault, "faultcode"), MAX_FIELD)  # SOAP 1.1
    if legacy:
        return legacy
    reason = xmlsafe.child(fault, "Reason")
    return (
        xmlsafe.text(xmlsafe.child(reason, "Text"), MAX_FIELD)
        or xmlsafe.text(xmlsafe.child(fault, "faultstring"), MAX_FIELD)
        or "fault"
    )


def parse_fault(data: bytes) -> str | None:
    """The most specific fault code of a SOAP Fault (e.g. "ter:NotAuthorized"); None if it is not a fault."""
    root = _parse_envelope(data)
    _body(root)
    return _fault_code(root)


def parse_device_information(data: bytes) -> dict[str, str]:
    """Manufacturer, Model, FirmwareVersion, SerialNumber, HardwareId from a GetDeviceInformationResponse."""
    root = _parse_envelope(data)
    resp = next(xmlsafe.descendants(_body(root), "GetDeviceInformationResponse"), None)
    if resp is None:
        fault = _fault_code(root)
        if fault is not None:
            raise SoapParseError(f"SOAP fault {fault} instead of GetDeviceInformationResponse")
        raise SoapParseError("no GetDeviceInformationResponse in the SOAP body")
    info: dict[str, str] = {}
    for name in DEVICE_INFO_FIELDS:
        value = xmlsafe.text(xmlsafe.child(resp, name), MAX_FIELD)
        if value:
            info[name] = value
    return info
