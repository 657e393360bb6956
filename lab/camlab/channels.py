"""Discovery channels of a persona: optional [wsdiscovery] [onvif] [sadp] [dhip] [dvrip] [mdns] [ssdp] tables.

Strings take the persona placeholders (``{serial}``, ``{mac}``, ``{mac_hex}``, ``{ip}``, ``{uuid}``... see
personas.py); ``{port}`` is the channel's own TCP port (the ONVIF port). Keys, with defaults::

    [wsdiscovery]          # WS-Discovery on UDP 3702 (multicast 239.255.255.250 + unicast)
    types = ["dn:NetworkVideoTransmitter", "tds:Device"]   # dn:/tds: QNames only
    scopes = ["onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/MAC/{mac}"]
    xaddrs = []            # default: the [onvif] service, http://{ip}[:{port}]/onvif/device_service
    endpoint = "uuid"      # "uuid" (stable random v4) | "v1-mac" (time-based, node = MAC: Hikvision)
                           # | "bosch" (MAC + reversed MAC) | "tapo" (TP-Link prefix + MAC) | "urn:..."
    answer_typed = true    # answer a Probe for dn:NetworkVideoTransmitter (or any type it has)
    answer_untyped = true  # answer a Probe without Types (false: typed-only, as D-Link DCS-2310L)
    metadata_version = 1

    [onvif]                # ONVIF device service: POST /onvif/device_service on an http service's port
    port = 80
    manufacturer, model, firmware, serial = "{serial}", hardware_id    # GetDeviceInformation
    mac = "{mac}"          # GetNetworkInterfaces HwAddress
    auth = "anonymous"     # or "required": a WS-UsernameToken digest for username/password, created
    username = "admin"     # near the device clock (GetSystemDateAndTime, clock_skew seconds off)
    password = "camscan-lab"
    clock_skew = 0         # seconds the device clock is ahead (negative: behind), |skew| <= 10 days
    scopes = [...]         # GetScopes (needs a token when auth = "required"); default: the [wsdiscovery]
                           # scopes, which is what a device announces; none at all: an empty list
    hostname = "..."       # GetHostname Name; default: the model, else "IPC"

    [sadp]                 # Hikvision SADP on UDP 37020 (multicast 239.255.255.250 + unicast)
    device_type, description, serial = "{serial}", software_version, dsp_version, oem_info,
    boot_time, activated = true, http_port = 80, command_port = 8000

    [dhip]                 # Dahua DHIP on UDP 37810 (multicast 239.255.255.251 + unicast)
    device_class, device_type, serial = "{serial}", vendor, version, machine_name,
    http_port = 80, port = 37777

    [dvrip]                # legacy Dahua search on UDP 5050 (broadcast + unicast)
    model, serial = "{serial}", version = "2.608.0.0", hostname, http_port = 80,
    tcp_port = 37777, udp_port = 37778

    [[mdns]]               # DNS-SD services (namespace lab only); a single [mdns] table works too
    type = "_axis-video._tcp.local."   # _axis-video _axis-nvr _CGI _arec _http _rtsp _onvif
    instance = "AXIS M3045-V - {MAC_HEX}"
    host = "axis-{mac_hex}.local."
    port = 80              # default: the lowest http service port
    txt = { macaddress = "{MAC_HEX}" }

    [ssdp]                 # SSDP on UDP 1900 (multicast 239.255.255.250 + unicast)
    server = "Linux/4.9 UPnP/1.0 ..."  # SERVER header (required)
    st = "urn:schemas-upnp-org:device:Basic:1"   # ssdp:all and upnp:rootdevice are answered too
    port = 80              # an http service: GET <location> there returns the description XML
    location = "/description.xml"
    udn = "uuid:{uuid}"
    friendly_name, manufacturer, manufacturer_url, model_name, model_number, model_description, serial
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from camlab.checks import check_keys, fail, flag, integer, pairs, port, string, strings, table

CHANNELS: tuple[str, ...] = ("wsdiscovery", "onvif", "sadp", "dhip", "dvrip", "mdns", "ssdp")
MULTICAST_CHANNELS = frozenset({"wsdiscovery", "sadp", "dhip", "ssdp"})
DEFAULT_TYPES = ("dn:NetworkVideoTransmitter", "tds:Device")
ENDPOINT_LAYOUTS = frozenset({"uuid", "v1-mac", "bosch", "tapo"})
MDNS_TYPES = frozenset({"_axis-video", "_axis-nvr", "_CGI", "_arec", "_http", "_rtsp", "_onvif"})
MAX_SKEW = 10 * 86400

_QNAME = re.compile(r"^(dn|tds):[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_MDNS_TYPE = re.compile(r"^(_[A-Za-z0-9-]{1,15})\._(tcp|udp)\.local\.$")
_VERSION = re.compile(r"^\d{1,5}\.\d{1,5}\.\d{1,5}\.\d{1,5}$")


@dataclass(frozen=True, slots=True)
class WsdSpec:
    """How the device answers WS-Discovery probes."""

    types: tuple[str, ...] = DEFAULT_TYPES
    scopes: tuple[str, ...] = ()
    xaddrs: tuple[str, ...] = ()
    endpoint: str = "uuid"
    answer_typed: bool = True
    answer_untyped: bool = True
    metadata_version: int = 1


@dataclass(frozen=True, slots=True)
class OnvifSpec:
    """The ONVIF device service the device runs on one of its HTTP ports."""

    port: int = 80
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = "{serial}"
    hardware_id: str | None = None
    mac: str = "{mac}"
    auth: Literal["anonymous", "required"] = "anonymous"
    username: str = "admin"
    password: str = "camscan-lab"  # noqa: S105 -- the simulated camera's published lab password
    clock_skew: int = 0
    scopes: tuple[str, ...] | None = None  # None: the [wsdiscovery] scopes
    hostname: str | None = None  # None: the model, else "IPC"


@dataclass(frozen=True, slots=True)
class SadpSpec:
    """The Hikvision SADP ProbeMatch fields."""

    device_type: str | None = None
    description: str | None = None
    serial: str | None = "{serial}"
    software_version: str | None = None
    dsp_version: str | None = None
    oem_info: str | None = None
    boot_time: str | None = None
    activated: bool = True
    http_port: int = 80
    command_port: int = 8000


@dataclass(frozen=True, slots=True)
class DhipSpec:
    """The Dahua DHIP deviceInfo fields."""

    device_class: str | None = None
    device_type: str | None = None
    serial: str | None = "{serial}"
    vendor: str | None = None
    version: str | None = None
    machine_name: str | None = None
    http_port: int = 80
    port: int = 37777


@dataclass(frozen=True, slots=True)
class DvripSpec:
    """The legacy Dahua UDP 5050 search reply fields."""

    model: str | None = None
    serial: str | None = "{serial}"
    version: tuple[int, int, int, int] = (2, 608, 0, 0)
    hostname: str | None = None
    http_port: int = 80
    tcp_port: int = 37777
    udp_port: int = 37778


@dataclass(frozen=True, slots=True)
class MdnsService:
    """One DNS-SD service instance the device registers."""

    type: str
    instance: str
    host: str
    port: int
    txt: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SsdpSpec:
    """The SSDP answer and the UPnP device description."""

    server: str
    st: str = "urn:schemas-upnp-org:device:Basic:1"
    port: int = 80
    location: str = "/description.xml"
    udn: str = "uuid:{uuid}"
    friendly_name: str | None = None
    manufacturer: str | None = None
    manufacturer_url: str | None = None
    model_name: str | None = None
    model_number: str | None = None
    model_description: str | None = None
    serial: str | None = None


@dataclass(frozen=True, slots=True)
class Channels:
    """Which discovery channels a persona answers, and how."""

    wsdiscovery: WsdSpec | None = None
    onvif: OnvifSpec | None = None
    sadp: SadpSpec | None = None
    dhip: DhipSpec | None = None
    dvrip: DvripSpec | None = None
    mdns: tuple[MdnsService, ...] = ()
    ssdp: SsdpSpec | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The channels present, in CHANNELS order."""
        return tuple(name for name in CHANNELS if getattr(self, name))


def _text(where: str, data: Mapping[str, Any], key: str) -> str | None:
    return string(where, data, key, line=True)


def _wsd(where: str, data: Mapping[str, Any], has_onvif: bool) -> WsdSpec:
    check_keys(
        where,
        data,
        ("types", "scopes", "xaddrs", "endpoint", "answer_typed", "answer_untyped", "metadata_version"),
    )
    types = strings(where, data, "types") or DEFAULT_TYPES
    for qname in types:
        if not _QNAME.match(qname):
            raise fail(where, f"type {qname!r} must be a dn: or tds: QName")
    endpoint = string(where, data, "endpoint", line=True) or "uuid"
    if endpoint not in ENDPOINT_LAYOUTS and ":" not in endpoint:
        raise fail(where, f"'endpoint' must be one of {', '.join(sorted(ENDPOINT_LAYOUTS))} or a URI")
    xaddrs = strings(where, data, "xaddrs") or ()
    if not xaddrs and not has_onvif:
        raise fail(where, "needs 'xaddrs' or an [onvif] table")
    typed, untyped = flag(where, data, "answer_typed", True), flag(where, data, "answer_untyped", True)
    if not (typed or untyped):
        raise fail(where, "answers no probe (answer_typed and answer_untyped both false)")
    return WsdSpec(
        types=types,
        scopes=strings(where, data, "scopes") or (),
        xaddrs=xaddrs,
        endpoint=endpoint,
        answer_typed=typed,
        answer_untyped=untyped,
        metadata_version=integer(where, data, "metadata_version", 1, 0, 2**32 - 1),
    )


def _onvif(where: str, data: Mapping[str, Any]) -> OnvifSpec:
    check_keys(
        where,
        data,
        (
            "port",
            "manufacturer",
            "model",
            "firmware",
            "serial",
            "hardware_id",
            "mac",
            "auth",
            "username",
            "password",
            "clock_skew",
            "scopes",
            "hostname",
        ),
    )
    auth = data.get("auth", "anonymous")
    if auth not in ("anonymous", "required"):
        raise fail(where, "'auth' must be anonymous or required")
    return OnvifSpec(
        port=port(where, data, "port", 80),
        manufacturer=_text(where, data, "manufacturer"),
        model=_text(where, data, "model"),
        firmware=_text(where, data, "firmware"),
        serial=_text(where, data, "serial") if "serial" in data else "{serial}",
        hardware_id=_text(where, data, "hardware_id"),
        mac=_text(where, data, "mac") or "{mac}",
        auth=auth,
        username=_text(where, data, "username") or "admin",
        password=_text(where, data, "password") or "camscan-lab",
        clock_skew=integer(where, data, "clock_skew", 0, -MAX_SKEW, MAX_SKEW),
        scopes=strings(where, data, "scopes"),
        hostname=_text(where, data, "hostname"),
    )


def _sadp(where: str, data: Mapping[str, Any]) -> SadpSpec:
    check_keys(
        where,
        data,
        (
            "device_type",
            "description",
            "serial",
            "software_version",
            "dsp_version",
            "oem_info",
            "boot_time",
            "activated",
            "http_port",
            "command_port",
        ),
    )
    return SadpSpec(
        device_type=_text(where, data, "device_type"),
        description=_text(where, data, "description"),
        serial=_text(where, data, "serial") if "serial" in data else "{serial}",
        software_version=_text(where, data, "software_version"),
        dsp_version=_text(where, data, "dsp_version"),
        oem_info=_text(where, data, "oem_info"),
        boot_time=_text(where, data, "boot_time"),
        activated=flag(where, data, "activated", True),
        http_port=port(where, data, "http_port", 80),
        command_port=port(where, data, "command_port", 8000),
    )


def _dhip(where: str, data: Mapping[str, Any]) -> DhipSpec:
    check_keys(
        where,
        data,
        ("device_class", "device_type", "serial", "vendor", "version", "machine_name", "http_port", "port"),
    )
    return DhipSpec(
        device_class=_text(where, data, "device_class"),
        device_type=_text(where, data, "device_type"),
        serial=_text(where, data, "serial") if "serial" in data else "{serial}",
        vendor=_text(where, data, "vendor"),
        version=_text(where, data, "version"),
        machine_name=_text(where, data, "machine_name"),
        http_port=port(where, data, "http_port", 80),
        port=port(where, data, "port", 37777),
    )


def _dvrip(where: str, data: Mapping[str, Any]) -> DvripSpec:
    check_keys(where, data, ("model", "serial", "version", "hostname", "http_port", "tcp_port", "udp_port"))
    version = _text(where, data, "version") or "2.608.0.0"
    if not _VERSION.match(version) or any(int(p) > 65535 for p in version.split(".")):
        raise fail(where, "'version' must be four numbers 0..65535 like 2.608.0.0")
    a, b, c, d = (int(p) for p in version.split("."))
    hostname = _text(where, data, "hostname")
    if hostname is not None and len(hostname.encode()) > 16:
        raise fail(where, "'hostname' must fit in 16 bytes")
    return DvripSpec(
        model=_text(where, data, "model"),
        serial=_text(where, data, "serial") if "serial" in data else "{serial}",
        version=(a, b, c, d),
        hostname=hostname,
        http_port=port(where, data, "http_port", 80),
        tcp_port=port(where, data, "tcp_port", 37777),
        udp_port=port(where, data, "udp_port", 37778),
    )


def _mdns_one(where: str, data: object, default_port: int) -> MdnsService:
    if not isinstance(data, Mapping):
        raise fail(where, "each [[mdns]] must be a table")
    check_keys(where, data, ("type", "instance", "host", "port", "txt"))
    stype = string(where, data, "type", required=True, line=True) or ""
    m = _MDNS_TYPE.match(stype)
    if not m or m.group(1) not in MDNS_TYPES:
        raise fail(where, f"type {stype!r} must be one of {', '.join(sorted(MDNS_TYPES))} + ._tcp.local.")
    instance = string(where, data, "instance", required=True, line=True) or ""
    host = string(where, data, "host", required=True, line=True) or ""
    if not host.endswith(".local."):
        raise fail(where, f"host {host!r} must end in .local.")
    return MdnsService(
        type=stype,
        instance=instance,
        host=host,
        port=port(where, data, "port", default_port),
        txt=pairs(where, data, "txt"),
    )


def _ssdp(where: str, data: Mapping[str, Any]) -> SsdpSpec:
    keys = (
        "server",
        "st",
        "port",
        "location",
        "udn",
        "friendly_name",
        "manufacturer",
        "manufacturer_url",
        "model_name",
        "model_number",
        "model_description",
        "serial",
    )
    check_keys(where, data, keys)
    location = _text(where, data, "location") or "/description.xml"
    if not location.startswith("/") or "?" in location:
        raise fail(where, "'location' must be a path starting with '/'")
    return SsdpSpec(
        server=string(where, data, "server", required=True, line=True) or "",
        st=_text(where, data, "st") or "urn:schemas-upnp-org:device:Basic:1",
        port=port(where, data, "port", 80),
        location=location,
        udn=_text(where, data, "udn") or "uuid:{uuid}",
        **{k: _text(where, data, k) for k in keys[5:]},
    )


def parse_channels(where: str, data: Mapping[str, Any], http_ports: frozenset[int]) -> Channels:
    """The discovery tables of one persona; `http_ports` are its plain-HTTP service ports."""
    onvif_raw = table(where, data, "onvif")
    onvif = _onvif(f"{where} [onvif]", onvif_raw) if onvif_raw is not None else None
    if onvif is not None and onvif.port not in http_ports:
        raise fail(where, f"[onvif] port {onvif.port} is not an http [[service]] of this persona")
    wsd_raw = table(where, data, "wsdiscovery")
    sadp_raw, dhip_raw, dvrip_raw = (table(where, data, k) for k in ("sadp", "dhip", "dvrip"))
    ssdp_raw = table(where, data, "ssdp")
    ssdp = _ssdp(f"{where} [ssdp]", ssdp_raw) if ssdp_raw is not None else None
    if ssdp is not None and ssdp.port not in http_ports:
        raise fail(where, f"[ssdp] port {ssdp.port} is not an http [[service]] of this persona")
    mdns_raw = data.get("mdns")
    default_port = min(http_ports) if http_ports else 80
    if mdns_raw is None:
        mdns: tuple[MdnsService, ...] = ()
    elif isinstance(mdns_raw, Mapping):
        mdns = (_mdns_one(f"{where} [mdns]", mdns_raw, default_port),)
    elif isinstance(mdns_raw, list) and 0 < len(mdns_raw) <= 8:
        mdns = tuple(_mdns_one(f"{where} [[mdns]] {i + 1}", m, default_port) for i, m in enumerate(mdns_raw))
    else:
        raise fail(where, "[mdns] must be a table or 1..8 [[mdns]] tables")
    wsd = _wsd(f"{where} [wsdiscovery]", wsd_raw, onvif is not None) if wsd_raw is not None else None
    return Channels(
        wsdiscovery=wsd,
        onvif=onvif,
        sadp=_sadp(f"{where} [sadp]", sadp_raw) if sadp_raw is not None else None,
        dhip=_dhip(f"{where} [dhip]", dhip_raw) if dhip_raw is not None else None,
        dvrip=_dvrip(f"{where} [dvrip]", dvrip_raw) if dvrip_raw is not None else None,
        mdns=mdns,
        ssdp=ssdp,
    )
