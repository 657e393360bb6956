"""The observation-field vocabulary: every field a probe emits, what it means, how far it is trusted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from camscan.models import Strength

# How a field relates to who made the device; fusion weighs makers by it.
#   stack  - written by the maker's own software (server banners, realms, discovery protocols, web client
#            code): a relabeller rarely touches it.
#   format - a value whose *format* is the maker's (firmware version, serial, model and hardware-id
#            numbering): the maker's firmware writes it whatever label is on the box.
#   label  - branding a relabeller sets (ONVIF Manufacturer, page titles, copyright lines, MAC blocks):
#            it names the brand and only suggests the maker.
#   detail - says nothing about the maker by itself (status codes, clock offsets, MACs, locations).
#   recorded - kept as evidence for the reader, never trusted (a reply naming another host's address).
Role = Literal["stack", "format", "label", "detail", "recorded"]
ROLES: tuple[Role, ...] = ("stack", "format", "label", "detail", "recorded")
MAKER_ROLES: frozenset[Role] = frozenset({"stack", "format"})


@dataclass(frozen=True, slots=True)
class ClaimRule:
    """How a field's value becomes a claim without a fingerprint: a vendor name, or a value under a key."""

    kind: Literal["name", "value"]
    key: str = ""  # claim key of a value rule: model, firmware, serial or hostname
    prefix: str = ""  # only values starting with this (case-insensitive), which is then cut off


@dataclass(frozen=True, slots=True)
class Field:
    """One observation field: who emits it, what it tells, and how fingerprints on it may claim."""

    name: str
    probes: tuple[str, ...]
    role: Role
    doc: str
    names: bool = False  # its values name a product or vendor: unmatched ones are reported for new entries
    rule: ClaimRule | None = None
    max_strength: Strength = "strong"
    long: bool = False  # a long value (a page body): searched up to a larger cap
    note: str | None = None  # for recorded fields: why the value is shown but not trusted


NAME = ClaimRule("name")
_NOT_ITS_OWN = "the reply names another address than the one it came from: recorded, not trusted"

_FIELDS: tuple[Field, ...] = (
    # ---- HTTP(S) landing page and the same-host page it redirects to
    Field("http.status", ("http", "rtsp"), "detail", "HTTP status code of the answer"),
    Field("http.server", ("http",), "stack", "Server response header", names=True),
    Field("http.realm", ("http",), "stack", "realm of a WWW-Authenticate challenge", names=True),
    Field("http.location", ("http",), "stack", "Location header of a redirect", names=True),
    Field("http.cookie", ("http",), "stack", "a Set-Cookie header, as sent"),
    Field("http.cookie_name", ("http",), "stack", "the name of a cookie the page sets (value dropped)"),
    Field("http.title", ("http",), "label", "<title> of the page, whitespace collapsed", names=True),
    Field("http.body", ("http",), "stack", "decoded body prefix (up to 64 KiB)", long=True),
    Field("http.copyright", ("http",), "label", "a copyright line of the page", names=True, rule=NAME),
    Field("http.script", ("http",), "stack", "path of a script or stylesheet the page loads"),
    Field("http.image", ("http",), "stack", "path of an image or icon the page shows"),
    Field("http.js_var", ("http",), "stack", "a JavaScript string variable, as name=value"),
    Field("http.meta", ("http",), "stack", "a <meta> author, generator or description, as name=content"),
    Field("http.redirect", ("http",), "stack", "target of a client-side redirect (meta refresh, script)"),
    # ---- TLS certificate of an HTTPS port
    Field("tls.subject", ("tls", "http"), "stack", "certificate subject (RFC 4514)", names=True),
    Field("tls.issuer", ("tls", "http"), "stack", "certificate issuer (RFC 4514)", names=True),
    # ---- RTSP (OPTIONS / DESCRIBE without credentials)
    Field("rtsp.server", ("rtsp",), "stack", "RTSP Server header", names=True),
    Field("rtsp.realm", ("rtsp",), "stack", "realm of an RTSP WWW-Authenticate challenge", names=True),
    Field("rtsp.public", ("rtsp",), "detail", "RTSP Public header (methods)"),
    Field("rtsp.status", ("rtsp",), "detail", "RTSP status code"),
    # ---- ONVIF WS-Discovery ProbeMatch, and the device service's GetScopes (same scope vocabulary)
    Field("wsd.types", ("wsdiscovery",), "stack", "ProbeMatch Types"),
    Field("wsd.xaddr", ("wsdiscovery",), "stack", "a device-service address (XAddr)"),
    Field(
        "wsd.endpoint",
        ("wsdiscovery",),
        "recorded",
        "EndpointReference address",
        note="the device's WS-Discovery endpoint UUID: says nothing of its maker; kept to know it again",
    ),
    Field("wsd.scopes", ("wsdiscovery",), "detail", "all scopes, space separated"),
    Field("wsd.metadata_version", ("wsdiscovery",), "detail", "MetadataVersion"),
    Field(
        "wsd.scope.name", ("wsdiscovery", "onvif"), "label", "onvif://…/name/ scope", names=True, rule=NAME
    ),
    Field(
        "wsd.scope.hardware",
        ("wsdiscovery", "onvif"),
        "format",
        "onvif://…/hardware/ scope (the model)",
        names=True,
        rule=ClaimRule("value", "model"),
    ),
    Field("wsd.scope.location", ("wsdiscovery", "onvif"), "detail", "onvif://…/location/ scope"),
    Field("wsd.scope.mac", ("wsdiscovery", "onvif"), "detail", "onvif://…/MAC/ scope"),
    Field("wsd.scope.profile", ("wsdiscovery", "onvif"), "detail", "onvif://…/Profile/ scope"),
    Field("wsd.scope.type", ("wsdiscovery", "onvif"), "stack", "onvif://…/type/ scope"),
    Field(
        "wsd.scope.other",
        ("wsdiscovery", "onvif"),
        "stack",
        "any other scope (vendor extensions)",
        # Hanwha and HeroSpeed name their maker in an onvif vendor-extension scope.
        rule=ClaimRule("name", prefix="manufacturer/"),
    ),
    Field(
        "wsd.claimed_address",
        ("wsdiscovery",),
        "recorded",
        "an XAddr on another host's address",
        note="the reply names another host's address: recorded, not followed or trusted",
    ),
    # ---- ONVIF device service (SOAP)
    Field(
        "onvif.manufacturer", ("onvif",), "label", "GetDeviceInformation Manufacturer", names=True, rule=NAME
    ),
    Field(
        "onvif.model", ("onvif",), "format", "GetDeviceInformation Model", rule=ClaimRule("value", "model")
    ),
    Field(
        "onvif.firmware",
        ("onvif",),
        "format",
        "GetDeviceInformation FirmwareVersion",
        rule=ClaimRule("value", "firmware"),
    ),
    Field(
        "onvif.serial",
        ("onvif",),
        "format",
        "GetDeviceInformation SerialNumber",
        rule=ClaimRule("value", "serial"),
    ),
    Field("onvif.hardware_id", ("onvif",), "format", "GetDeviceInformation HardwareId"),
    Field(
        "onvif.auth",
        ("onvif",),
        "detail",
        "how GetDeviceInformation answered: anonymous, credentials, refused",
    ),
    Field("onvif.fault", ("onvif",), "detail", "SOAP fault code of a refused request"),
    Field("onvif.clock_offset", ("onvif",), "detail", "device clock minus ours, seconds"),
    Field("onvif.hostname", ("onvif",), "detail", "GetHostname Name", rule=ClaimRule("value", "hostname")),
    Field("onvif.service", ("onvif",), "stack", "a service namespace GetServices lists"),
    # ---- Hikvision SADP (UDP 37020)
    Field("sadp.reply", ("sadp",), "stack", "a SADP ProbeMatch arrived"),
    Field("sadp.device_type", ("sadp",), "format", "DeviceType code"),
    Field(
        "sadp.description",
        ("sadp",),
        "format",
        "DeviceDescription (the model)",
        rule=ClaimRule("value", "model"),
    ),
    Field("sadp.serial", ("sadp",), "format", "DeviceSN", rule=ClaimRule("value", "serial")),
    Field(
        "sadp.software_version", ("sadp",), "format", "SoftwareVersion", rule=ClaimRule("value", "firmware")
    ),
    Field("sadp.dsp_version", ("sadp",), "format", "DSPVersion"),
    Field("sadp.oem_info", ("sadp",), "label", "OEMInfo (the label's name)", names=True, rule=NAME),
    Field("sadp.activated", ("sadp",), "detail", "Activated"),
    Field("sadp.claimed_address", ("sadp",), "recorded", "an IPv4Address of another host", note=_NOT_ITS_OWN),
    # ---- Dahua DHIP (UDP 37810) and legacy DVRIP search (UDP 5050)
    Field("dhip.reply", ("dhip",), "stack", "a DHIP notifyDevInfo arrived"),
    Field("dhip.vendor", ("dhip",), "label", "deviceInfo.Vendor (the label's name)", names=True, rule=NAME),
    Field("dhip.device_type", ("dhip",), "format", "deviceInfo.DeviceType", rule=ClaimRule("value", "model")),
    Field("dhip.device_class", ("dhip",), "format", "deviceInfo.DeviceClass"),
    Field("dhip.serial", ("dhip",), "format", "deviceInfo.SerialNo", rule=ClaimRule("value", "serial")),
    Field("dhip.version", ("dhip",), "format", "deviceInfo.Version", rule=ClaimRule("value", "firmware")),
    Field("dhip.machine_name", ("dhip",), "detail", "deviceInfo.MachineName"),
    Field("dhip.claimed_address", ("dhip",), "recorded", "an IPv4Address of another host", note=_NOT_ITS_OWN),
    Field("dvrip.reply", ("dvrip",), "stack", "a DVRIP search reply arrived"),
    Field("dvrip.model", ("dvrip",), "format", "model of the search reply"),
    Field("dvrip.serial", ("dvrip",), "format", "serial of the search reply"),
    Field("dvrip.version", ("dvrip",), "format", "version of the search reply"),
    Field("dvrip.claimed_address", ("dvrip",), "recorded", "an address of another host", note=_NOT_ITS_OWN),
    # ---- mDNS / DNS-SD
    Field("mdns.service", ("mdns",), "stack", "a service type the host announces"),
    Field("mdns.instance", ("mdns",), "label", "a service instance name", names=True),
    Field("mdns.host", ("mdns",), "format", "the SRV target host name"),
    Field("mdns.txt", ("mdns",), "stack", "a TXT record entry, key=value"),
    # ---- SSDP search reply and UPnP device description
    Field("ssdp.server", ("ssdp",), "stack", "SERVER header of a search reply", names=True),
    Field("ssdp.st", ("ssdp",), "detail", "ST header of a search reply"),
    Field("ssdp.location", ("ssdp",), "detail", "LOCATION header of a search reply"),
    Field("upnp.manufacturer", ("ssdp",), "label", "device description manufacturer", names=True, rule=NAME),
    Field(
        "upnp.model_name",
        ("ssdp",),
        "format",
        "device description modelName",
        rule=ClaimRule("value", "model"),
    ),
    Field("upnp.model_number", ("ssdp",), "format", "device description modelNumber"),
    Field("upnp.model_description", ("ssdp",), "label", "device description modelDescription"),
    Field("upnp.friendly_name", ("ssdp",), "label", "device description friendlyName"),
    Field(
        "upnp.serial",
        ("ssdp",),
        "format",
        "device description serialNumber",
        rule=ClaimRule("value", "serial"),
    ),
    # ---- names the host goes by (camscan.hostnames)
    Field("name.ptr", ("names",), "detail", "its reverse DNS (PTR) name"),
    Field("name.netbios", ("names",), "detail", "the name of its NetBIOS node-status answer"),
    Field("name.llmnr", ("names",), "detail", "its LLMNR (RFC 4795) reverse name"),
    # ---- link layer and ports
    Field("mac.address", ("arp", "wsdiscovery", "onvif", "sadp", "dhip", "dvrip", "mdns"), "detail", "a MAC"),
    Field("mac.oui", ("arp",), "label", "registrant of the MAC block (evidence, not a probe observation)"),
    # An open port alone never proves a maker.
    Field("tcp.port", ("tcp",), "stack", "an open TCP port", max_strength="weak"),
)

FIELDS: Mapping[str, Field] = MappingProxyType({f.name: f for f in _FIELDS})


def get(name: str) -> Field | None:
    """The declared field of this name, or None."""
    return FIELDS.get(name)


def role(name: str) -> Role:
    """The role of a field; an undeclared one says nothing about the maker."""
    field = FIELDS.get(name)
    return field.role if field else "detail"


def emitted_by(probe: str) -> frozenset[str]:
    """Names of the fields this probe may emit."""
    return frozenset(f.name for f in _FIELDS if probe in f.probes)


def of_role(*roles: Role) -> frozenset[str]:
    """Names of the fields with one of these roles."""
    return frozenset(f.name for f in _FIELDS if f.role in roles)


CLAIM_RULES: Mapping[str, ClaimRule] = MappingProxyType({f.name: f.rule for f in _FIELDS if f.rule})
NAMING_FIELDS = frozenset(f.name for f in _FIELDS if f.names)
LONG_FIELDS = frozenset(f.name for f in _FIELDS if f.long)
RECORDED_NOTES: Mapping[str, str] = MappingProxyType({f.name: f.note for f in _FIELDS if f.note})
LABEL_FIELDS = of_role("label")
