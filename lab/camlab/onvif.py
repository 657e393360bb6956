"""The ONVIF device service of a simulated device: enough SOAP for onvif-zeep-async and camscan's probe.

Operations: GetSystemDateAndTime (the device clock, skewed as the persona says), GetDeviceInformation,
GetNetworkInterfaces, GetServices, GetCapabilities, GetHostname, GetScopes (the scopes the device announces
by WS-Discovery, unless the persona lists others). With ``auth = "required"`` only the ONVIF
PRE_AUTH operations answer without a WS-UsernameToken whose PasswordDigest matches the lab credentials and
whose Created time is within TOKEN_WINDOW of the device clock; everything else gets a ter:NotAuthorized fault.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from camlab.channels import OnvifSpec
from camlab.plan import LabDevice
from camscan.parse import xmlsafe

PATH = "/onvif/device_service"
MAX_BODY = 64 * 1024
TOKEN_WINDOW = 300  # seconds between a token's Created and the device clock
PRE_AUTH = frozenset(
    {
        "GetSystemDateAndTime",
        "GetServices",
        "GetCapabilities",
        "GetServiceCapabilities",
        "GetWsdlUrl",
        "GetHostname",
        "GetEndpointReference",
    }
)
DIGEST_TYPE = "#PasswordDigest"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    f'xmlns:tds="{NS_DEVICE}" xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:ter="http://www.onvif.org/ver10/error"><env:Body>'
)
_TAIL = "</env:Body></env:Envelope>"


def device_clock(spec: OnvifSpec, now: dt.datetime | None = None) -> dt.datetime:
    """What the device believes the UTC time is."""
    return (now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=spec.clock_skew)


def _envelope(body: str) -> bytes:
    return (_HEAD + body + _TAIL).encode("utf-8")


def fault(code: str, subcode: str, reason: str) -> bytes:
    """A SOAP 1.2 fault with an ONVIF subcode (e.g. env:Sender / ter:NotAuthorized)."""
    return _envelope(
        f"<env:Fault><env:Code><env:Value>{code}</env:Value><env:Subcode><env:Value>{subcode}</env:Value>"
        "</env:Subcode></env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{escape(reason)}</env:Text></env:Reason></env:Fault>'
    )


def _e(device: LabDevice, value: str | None) -> str:
    return escape(device.render(value or ""))


def _date_time(clock: dt.datetime) -> str:
    return (
        f"<tt:Time><tt:Hour>{clock.hour}</tt:Hour><tt:Minute>{clock.minute}</tt:Minute>"
        f"<tt:Second>{clock.second}</tt:Second></tt:Time><tt:Date><tt:Year>{clock.year}</tt:Year>"
        f"<tt:Month>{clock.month}</tt:Month><tt:Day>{clock.day}</tt:Day></tt:Date>"
    )


def _xaddr(device: LabDevice, spec: OnvifSpec) -> str:
    where = device.ip if spec.port == 80 else f"{device.ip}:{spec.port}"
    return f"http://{where}{PATH}"


def scopes(device: LabDevice, spec: OnvifSpec) -> tuple[str, ...]:
    """The scope URIs GetScopes lists: the persona's own, else the ones its WS-Discovery replies carry."""
    wsd = device.persona.channels.wsdiscovery
    listed = spec.scopes if spec.scopes is not None else (wsd.scopes if wsd is not None else ())
    extra = {"port": str(spec.port)}
    return tuple(device.render(scope, extra) for scope in listed)


def _scopes_response(device: LabDevice, spec: OnvifSpec) -> str:
    # ONVIF Core: scopes set by the firmware are Fixed, the rest Configurable; which is which does not
    # matter to a reader, so the type/profile/hardware ones are Fixed as on most devices.
    items = []
    for scope in scopes(device, spec):
        fixed = any(f"/{key}/" in scope.lower() for key in ("type", "profile", "hardware"))
        items.append(
            f"<tds:Scopes><tt:ScopeDef>{'Fixed' if fixed else 'Configurable'}</tt:ScopeDef>"
            f"<tt:ScopeItem>{escape(scope)}</tt:ScopeItem></tds:Scopes>"
        )
    return f"<tds:GetScopesResponse>{''.join(items)}</tds:GetScopesResponse>"


def _operation(device: LabDevice, spec: OnvifSpec, name: str) -> str | None:
    if name == "GetSystemDateAndTime":
        clock = device_clock(spec)
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
            f"<tt:UTCDateTime>{_date_time(clock)}</tt:UTCDateTime>"
            f"<tt:LocalDateTime>{_date_time(clock)}</tt:LocalDateTime>"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )
    if name == "GetDeviceInformation":
        return (
            "<tds:GetDeviceInformationResponse>"
            f"<tds:Manufacturer>{_e(device, spec.manufacturer)}</tds:Manufacturer>"
            f"<tds:Model>{_e(device, spec.model)}</tds:Model>"
            f"<tds:FirmwareVersion>{_e(device, spec.firmware)}</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{_e(device, spec.serial)}</tds:SerialNumber>"
            f"<tds:HardwareId>{_e(device, spec.hardware_id)}</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )
    if name == "GetNetworkInterfaces":
        prefix = (device.network or "/24").rpartition("/")[2]
        return (
            '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
            "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
            f"<tt:HwAddress>{_e(device, spec.mac)}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
            "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
            f"<tt:Address>{device.ip}</tt:Address><tt:PrefixLength>{prefix}</tt:PrefixLength></tt:Manual>"
            "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
            "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
        )
    if name == "GetServices":
        return (
            "<tds:GetServicesResponse><tds:Service>"
            f"<tds:Namespace>{NS_DEVICE}</tds:Namespace><tds:XAddr>{_xaddr(device, spec)}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>5</tt:Minor></tds:Version>"
            "</tds:Service></tds:GetServicesResponse>"
        )
    if name == "GetCapabilities":
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device>"
            f"<tt:XAddr>{_xaddr(device, spec)}</tt:XAddr>"
            "</tt:Device></tds:Capabilities></tds:GetCapabilitiesResponse>"
        )
    if name == "GetHostname":
        return (
            "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>"
            f"<tt:Name>{_e(device, spec.hostname or spec.model) or 'IPC'}</tt:Name>"
            "</tds:HostnameInformation></tds:GetHostnameResponse>"
        )
    if name == "GetScopes":
        return _scopes_response(device, spec)
    return None


def _parse_created(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def token_ok(spec: OnvifSpec, header: ET.Element | None, now: dt.datetime | None = None) -> bool:
    """A WS-UsernameToken PasswordDigest for the lab credentials, created near the device clock."""
    token = next(xmlsafe.descendants(xmlsafe.child(header, "Security"), "UsernameToken"), None)
    if token is None:
        return False
    password = xmlsafe.child(token, "Password")
    username = xmlsafe.text(xmlsafe.child(token, "Username"), 256)
    nonce_text = xmlsafe.text(xmlsafe.child(token, "Nonce"), 256)
    created = xmlsafe.text(xmlsafe.child(token, "Created"), 64)
    if password is None or username != spec.username or nonce_text is None or created is None:
        return False
    if not str(password.get("Type", "")).endswith(DIGEST_TYPE):
        return False
    when = _parse_created(created)
    if when is None or abs((when - device_clock(spec, now)).total_seconds()) > TOKEN_WINDOW:
        return False
    try:
        nonce = base64.b64decode(nonce_text, validate=True)
    except (binascii.Error, ValueError):
        return False
    # WS-UsernameToken PasswordDigest is SHA-1 by the OASIS specification: the camera's check, as specified
    digest = hashlib.sha1(nonce + created.encode() + spec.password.encode()).digest()  # noqa: S324
    expected = base64.b64encode(digest)
    return hmac.compare_digest(expected, (password.text or "").strip().encode())


def handle(device: LabDevice, spec: OnvifSpec, body: bytes) -> tuple[int, bytes]:
    """(HTTP status, SOAP envelope) for one POST to the device service."""
    try:
        root = xmlsafe.parse(body, max_bytes=MAX_BODY)
    except xmlsafe.XmlError as exc:
        return 400, fault("env:Sender", "ter:WellFormed", f"not well-formed XML: {exc}"[:200])
    body_elem = xmlsafe.child(root, "Body")
    request = next(iter(body_elem), None) if body_elem is not None else None
    if xmlsafe.local(root.tag) != "Envelope" or request is None:
        return 400, fault("env:Sender", "ter:InvalidArgs", "not a SOAP request")
    name = xmlsafe.local(request.tag)
    if spec.auth == "required" and name not in PRE_AUTH and not token_ok(spec, xmlsafe.child(root, "Header")):
        return 400, fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized")
    answer = _operation(device, spec, name)
    if answer is None:
        return 400, fault("env:Receiver", "ter:ActionNotSupported", f"{name[:60]} is not supported")
    return 200, _envelope(answer)
