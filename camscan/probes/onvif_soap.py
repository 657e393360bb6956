"""ONVIF device-service SOAP for the host probe: requests, UsernameToken digest, answers (no I/O)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from camscan.oui import normalise_mac
from camscan.parse import soap, xmlsafe

SOAP_ENV = soap.SOAP_ENV
TDS = "http://www.onvif.org/ver10/device/wsdl"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
# the WS-Security password type URI, not a password
PASSWORD_DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"  # noqa: S105
)
BASE64_BINARY = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
MAX_BYTES = soap.MAX_BYTES
MAX_MACS = 4  # an NVR may list several NICs; more is noise
MAX_SCOPES = 32  # a device lists a dozen scopes; more is noise
MAX_SERVICES = 24  # ONVIF defines about twenty services
MAX_TEXT = 256  # a host name, scope or namespace longer than this is not one

# Identity: clock, device information, MACs. Extra detail a device may give anonymously: host name,
# scopes (names, OEM labels, hardware ids) and services (GetServices is PRE_AUTH in ONVIF Core's access
# classes; GetHostname and GetScopes are READ_SYSTEM, which many firmwares still answer without a token).
OPERATIONS = (
    "GetSystemDateAndTime",
    "GetDeviceInformation",
    "GetNetworkInterfaces",
    "GetHostname",
    "GetScopes",
    "GetServices",
)
EXTRA_OPERATIONS = ("GetHostname", "GetScopes", "GetServices")
# Operations that take fixed arguments; the rest are sent empty.
_ARGUMENTS = {"GetServices": "<tds:IncludeCapability>false</tds:IncludeCapability>"}

# Fault subcodes that mean "who are you?" (ONVIF Core ter:NotAuthorized, WS-Security faults).
_AUTH_FAULTS = frozenset(
    {"notauthorized", "failedauthentication", "invalidsecurity", "invalidsecuritytoken", "failedcheck"}
)
# Faults that say nothing about who is asking: a signed retry would not change the answer.
_UNRELATED_FAULTS = frozenset(
    {"actionnotsupported", "receiver", "server", "versionmismatch", "mustunderstand", "dataencodingunknown"}
)
_ZERO_MACS = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})


def content_type(operation: str) -> str:
    """The SOAP 1.2 Content-Type with the action parameter some firmwares route on."""
    return f'{CONTENT_TYPE}; action="{TDS}/{operation}"'


def created_text(when: dt.datetime) -> str:
    """A wsu:Created timestamp in UTC Zulu form (Hikvision rejects a +00:00 offset)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security UsernameToken PasswordDigest: Base64(SHA-1(nonce + created + password))."""
    # surrogatepass: a password with lone surrogates must not raise an error that quotes it
    secret = password.encode("utf-8", "surrogatepass")
    # SHA-1 because WS-UsernameToken PasswordDigest is defined with it (OASIS); cameras accept nothing else
    digest = hashlib.sha1(nonce + created.encode("ascii") + secret).digest()  # noqa: S324
    return base64.b64encode(digest).decode("ascii")


def security_header(username: str, password: str, *, created: dt.datetime, nonce: bytes) -> str:
    """A wsse:Security header carrying a digest UsernameToken (the password itself is never sent)."""
    stamp = created_text(created)
    return (
        f'<wsse:Security s:mustUnderstand="1" xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
        f"<wsse:Username>{escape(username)}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_DIGEST}">{password_digest(nonce, stamp, password)}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{BASE64_BINARY}">{base64.b64encode(nonce).decode("ascii")}</wsse:Nonce>'
        f"<wsu:Created>{stamp}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def build_request(operation: str, security: str = "") -> bytes:
    """A SOAP 1.2 request for a device-service operation, optionally with a security header."""
    if operation not in OPERATIONS:
        raise ValueError(f"unsupported ONVIF operation {operation!r}")
    header = f"<s:Header>{security}</s:Header>" if security else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:tds="{TDS}">{header}'
        f"<s:Body>{_operation_element(operation)}</s:Body></s:Envelope>"
    ).encode()


def _operation_element(operation: str) -> str:
    arguments = _ARGUMENTS.get(operation)
    return f"<tds:{operation}>{arguments}</tds:{operation}>" if arguments else f"<tds:{operation}/>"


def is_auth_fault(code: str | None) -> bool:
    """True for a fault code that says the request lacked valid credentials."""
    return code is not None and code.rpartition(":")[2].lower() in _AUTH_FAULTS


def may_be_auth_fault(code: str | None) -> bool:
    """True unless the fault clearly has nothing to do with credentials."""
    # A missing token draws ter:NotAuthorized, a bare env:Sender, vendor codes or only a reason text.
    return code is not None and code.rpartition(":")[2].lower() not in _UNRELATED_FAULTS


def _envelope_body(data: bytes) -> ET.Element:
    try:
        root = xmlsafe.parse(data, max_bytes=MAX_BYTES)
    except xmlsafe.XmlError as exc:
        raise soap.SoapParseError(str(exc)) from None
    if xmlsafe.local(root.tag) != "Envelope":
        raise soap.SoapParseError(f"not a SOAP envelope (root element is <{xmlsafe.local(root.tag)[:40]}>)")
    body = xmlsafe.child(root, "Body")
    if body is None:
        raise soap.SoapParseError("SOAP envelope has no Body")
    return body


def _int(elem: ET.Element | None, name: str) -> int | None:
    value = xmlsafe.text(xmlsafe.child(elem, name), 8)
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def parse_system_time(data: bytes) -> dt.datetime | None:
    """The device's UTC clock from a GetSystemDateAndTimeResponse; None when it gives no usable UTC time."""
    body = _envelope_body(data)
    utc = next(xmlsafe.descendants(body, "UTCDateTime"), None)
    date, time = xmlsafe.child(utc, "Date"), xmlsafe.child(utc, "Time")
    parts = [_int(date, "Year"), _int(date, "Month"), _int(date, "Day")]
    clock = [_int(time, "Hour"), _int(time, "Minute"), _int(time, "Second")]
    if None in parts or None in clock:
        return None
    year, month, day = (p or 0 for p in parts)
    hour, minute, second = (c or 0 for c in clock)
    if not (1970 <= year <= 2200) or hour > 24 or minute > 60 or second > 61:
        return None
    try:
        base = dt.datetime(year, month, day, tzinfo=dt.UTC)
    except ValueError:
        return None
    # Firmwares overflow (24:00:00, :60 leap seconds); a timedelta absorbs that instead of rejecting it.
    return base + dt.timedelta(hours=hour, minutes=minute, seconds=second)


def parse_hw_addresses(data: bytes) -> list[str]:
    """Normalised MACs (aa:bb:cc:dd:ee:ff) of a GetNetworkInterfacesResponse, in document order."""
    body = _envelope_body(data)
    if next(xmlsafe.descendants(body, "GetNetworkInterfacesResponse"), None) is None:
        raise soap.SoapParseError("no GetNetworkInterfacesResponse in the SOAP body")
    macs: list[str] = []
    for elem in xmlsafe.descendants(body, "HwAddress"):
        mac = normalise_mac(xmlsafe.text(elem, 64) or "")
        if mac is None or mac in _ZERO_MACS or mac in macs or int(mac[:2], 16) & 1:
            continue
        macs.append(mac)
        if len(macs) >= MAX_MACS:
            break
    return macs


def _response(data: bytes, name: str) -> ET.Element:
    body = _envelope_body(data)
    found = next(xmlsafe.descendants(body, name), None)
    if found is None:
        raise soap.SoapParseError(f"no {name} in the SOAP body")
    return found


def _clean(text: str | None) -> str | None:
    value = " ".join((text or "").split())
    return value if value and value.isprintable() and len(value) <= MAX_TEXT else None


def parse_hostname(data: bytes) -> str | None:
    """The Name of a GetHostnameResponse; None when the device reports none."""
    info = _response(data, "GetHostnameResponse")
    return _clean(xmlsafe.text(next(xmlsafe.descendants(info, "Name"), None), MAX_TEXT + 1))


def parse_scopes(data: bytes) -> list[str]:
    """The ScopeItem URIs of a GetScopesResponse, in document order, without duplicates."""
    response = _response(data, "GetScopesResponse")
    scopes: list[str] = []
    for elem in xmlsafe.descendants(response, "ScopeItem"):
        scope = _clean(xmlsafe.text(elem, MAX_TEXT + 1))
        if scope and " " not in scope and scope not in scopes:
            scopes.append(scope)
            if len(scopes) >= MAX_SCOPES:
                break
    return scopes


def parse_services(data: bytes) -> list[str]:
    """The service Namespaces of a GetServicesResponse, in document order, without duplicates."""
    response = _response(data, "GetServicesResponse")
    namespaces: list[str] = []
    for service in xmlsafe.descendants(response, "Service"):
        namespace = _clean(xmlsafe.text(xmlsafe.child(service, "Namespace"), MAX_TEXT + 1))
        if namespace and " " not in namespace and namespace not in namespaces:
            namespaces.append(namespace)
            if len(namespaces) >= MAX_SERVICES:
                break
    return namespaces
