"""What a simulated device answers to one discovery datagram (WS-Discovery, SADP, DHIP, DVRIP): pure builders.

Each `answer_*` takes the device and the datagram and returns the reply datagrams (often none: not addressed
to this device, or not a request). Garbage raises ValueError (the responder counts it and carries on).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import socket
import struct
import uuid
from collections.abc import Callable

from camlab.channels import DhipSpec, DvripSpec, SadpSpec, WsdSpec
from camlab.encoders import build_probe_matches, build_sadp_probe_match
from camlab.plan import LabDevice
from camscan.parse import dhip, dvrip, soap, xmlsafe

MAX_REQUEST = 16 * 1024  # discovery requests are small; bigger datagrams are not requests
_SADP_UUID = re.compile(r"^[0-9A-Za-z-]{1,64}$")

Answer = Callable[[LabDevice, bytes], list[bytes]]


def _netmask(device: LabDevice) -> str:
    net = ipaddress.IPv4Network(device.network or f"{device.ip}/24", strict=False)
    return str(net.netmask)


def _gateway(device: LabDevice) -> str:
    net = ipaddress.IPv4Network(device.network or f"{device.ip}/24", strict=False)
    return str(net.network_address + 1)


def _opt(device: LabDevice, value: str | None) -> str | None:
    return None if value is None else device.render(value)


# ---------------------------------------------------------------- WS-Discovery


def endpoint_address(device: LabDevice, spec: WsdSpec) -> str:
    """The EndpointReference address in the layout the persona asks for."""
    hexmac = device.mac.replace(":", "")
    if spec.endpoint == "uuid":
        return f"urn:uuid:{device.uuid}"
    seed = hashlib.sha256(f"{device.persona.id}/{device.mac}/epr".encode()).hexdigest()
    if spec.endpoint == "v1-mac":  # time-based UUID whose node is the MAC (Hikvision, GeoVision)
        return f"urn:uuid:{seed[:8]}-{seed[8:12]}-1{seed[12:15]}-8{seed[15:18]}-{hexmac}"
    if spec.endpoint == "bosch":  # MAC, then the same MAC byte-reversed (EdgeX macmapper_test.go)
        raw = bytes.fromhex(hexmac)
        return f"urn:uuid:{uuid.UUID(bytes=raw + raw[::-1] + bytes.fromhex(seed[:8]))}"
    if spec.endpoint == "tapo":  # TP-Link constant prefix + MAC
        return f"uuid:3fa1fe68-b915-4053-a3e1-{hexmac}"
    return device.render(spec.endpoint)


def default_xaddr(device: LabDevice, port: int) -> str:
    """http://<ip>[:<port>]/onvif/device_service, as devices write it (no :80)."""
    where = device.ip if port == 80 else f"{device.ip}:{port}"
    return f"http://{where}/onvif/device_service"


def wsd_probe_match(device: LabDevice, spec: WsdSpec) -> soap.ProbeMatch:
    """The ProbeMatch this device reports (also used by tests to know what to expect)."""
    onvif = device.persona.channels.onvif
    port = onvif.port if onvif is not None else 80
    extra = {"port": str(port)}
    xaddrs = tuple(device.render(x, extra) for x in spec.xaddrs) or (default_xaddr(device, port),)
    return soap.ProbeMatch(
        endpoint=endpoint_address(device, spec),
        types=spec.types,
        xaddrs=xaddrs,
        scopes=tuple(device.render(s, extra) for s in spec.scopes),
        metadata_version=spec.metadata_version,
        relates_to=None,
        message_id=None,
    )


def _local(qname: str) -> str:
    return qname.rpartition(":")[2]


def answer_wsd(device: LabDevice, data: bytes) -> list[bytes]:
    """A ProbeMatches for a Probe this device matches (typed and/or untyped, as the persona says)."""
    spec = device.persona.channels.wsdiscovery
    if spec is None:
        return []
    try:
        probe = soap.parse_probe(data)
    except soap.SoapParseError as exc:
        raise ValueError(str(exc)) from None
    if probe is None or not probe.message_id:
        return []  # a ProbeMatches, Hello or Bye; or a Probe without MessageID, which cannot be related
    if probe.types:
        mine = {_local(t) for t in spec.types}
        if not spec.answer_typed or not {_local(t) for t in probe.types} <= mine:
            return []
    elif not spec.answer_untyped:
        return []
    match = wsd_probe_match(device, spec)
    return [build_probe_matches([match], message_id=f"uuid:{uuid.uuid4()}", relates_to=probe.message_id)]


# ---------------------------------------------------------------- Hikvision SADP


def sadp_fields(device: LabDevice, spec: SadpSpec, request_uuid: str) -> dict[str, str]:
    """The ProbeMatch children in the order Hikvision firmware sends them."""
    fields: dict[str, str | None] = {
        "Uuid": request_uuid,
        "Types": "inquiry",
        "DeviceType": _opt(device, spec.device_type),
        "DeviceDescription": _opt(device, spec.description),
        "DeviceSN": _opt(device, spec.serial),
        "CommandPort": str(spec.command_port),
        "HttpPort": str(spec.http_port),
        "MAC": device.mac.replace(":", "-"),
        "IPv4Address": device.ip,
        "IPv4SubnetMask": _netmask(device),
        "IPv4Gateway": _gateway(device),
        "IPv6Address": "::",
        "IPv6Gateway": "::",
        "IPv6MaskLen": "64",
        "DHCP": "false",
        "AnalogChannelNum": "0",
        "DigitalChannelNum": "1",
        "SoftwareVersion": _opt(device, spec.software_version),
        "DSPVersion": _opt(device, spec.dsp_version),
        "BootTime": _opt(device, spec.boot_time),
        "Activated": "true" if spec.activated else "false",
        "PasswordResetAbility": "true",
        "OEMInfo": _opt(device, spec.oem_info),
    }
    return {k: v for k, v in fields.items() if v is not None}


def answer_sadp(device: LabDevice, data: bytes) -> list[bytes]:
    """A ProbeMatch for a SADP inquiry (Types inquiry or inquiry_v32)."""
    spec = device.persona.channels.sadp
    if spec is None:
        return []
    try:
        root = xmlsafe.parse(data, max_bytes=MAX_REQUEST, max_depth=4)
    except xmlsafe.XmlError as exc:
        raise ValueError(f"SADP: {exc}") from None
    if xmlsafe.local(root.tag) != "Probe":
        return []  # another device's ProbeMatch
    kind = xmlsafe.text(xmlsafe.child(root, "Types"), 32) or ""
    request_uuid = xmlsafe.text(xmlsafe.child(root, "Uuid"), 64) or ""
    if not kind.lower().startswith("inquiry") or not _SADP_UUID.match(request_uuid):
        return []
    return [build_sadp_probe_match(sadp_fields(device, spec, request_uuid))]


# ---------------------------------------------------------------- Dahua DHIP


def dhip_document(device: LabDevice, spec: DhipSpec) -> dict[str, object]:
    """The client.notifyDevInfo JSON document."""
    info: dict[str, object] = {
        "DeviceClass": _opt(device, spec.device_class),
        "DeviceType": _opt(device, spec.device_type),
        "HttpPort": spec.http_port,
        "IPv4Address": {
            "DefaultGateway": _gateway(device),
            "DhcpEnable": False,
            "IPAddress": device.ip,
            "SubnetMask": _netmask(device),
        },
        "MachineName": _opt(device, spec.machine_name),
        "Port": spec.port,
        "SerialNo": _opt(device, spec.serial),
        "Vendor": _opt(device, spec.vendor),
        "Version": _opt(device, spec.version),
    }
    return {
        "mac": device.mac,
        "method": dhip.REPLY_METHOD,
        "params": {"deviceInfo": {k: v for k, v in info.items() if v is not None}},
    }


def answer_dhip(device: LabDevice, data: bytes) -> list[bytes]:
    """client.notifyDevInfo for a DHDiscover.search (same request id)."""
    spec = device.persona.channels.dhip
    if spec is None:
        return []
    try:
        dhip.parse_reply(data)
    except dhip.DhipEcho:  # exactly a well-formed DHDiscover.search
        request_id = dhip.HEADER.unpack_from(data)[2]
        body = json.dumps(dhip_document(device, spec), separators=(",", ":")).encode()
        return [dhip.build_frame(body, request_id=request_id)]
    except dhip.DhipParseError as exc:
        raise ValueError(str(exc)) from None
    return []  # another device's notifyDevInfo


# ---------------------------------------------------------------- Dahua DVRIP (UDP 5050)


def dvrip_reply(device: LabDevice, spec: DvripSpec) -> bytes:
    """The binary search reply (layout in camscan/parse/dvrip.py)."""
    model = (_opt(device, spec.model) or "").encode()
    lines = [
        f"Name:{_opt(device, spec.hostname) or ''}",
        f"Device:{_opt(device, spec.model) or ''}",
        f"SerialNo:{_opt(device, spec.serial) or ''}",
    ]
    section2 = device.mac.encode() + model
    section3 = ("\r\n".join(lines) + "\r\n").encode()
    head = bytearray(dvrip.FIXED_SIZE)
    head[0:2] = dvrip.REPLY_MAGIC
    struct.pack_into("<H", head, 2, len(section2))
    struct.pack_into("<H", head, 20, len(section3))
    struct.pack_into("<4H", head, 32, *spec.version)
    hostname = (_opt(device, spec.hostname) or "").encode()[:16]
    head[40 : 40 + len(hostname)] = hostname
    gateway = _gateway(device)
    for offset, addr in ((56, device.ip), (60, _netmask(device)), (64, gateway), (68, gateway)):
        head[offset : offset + 4] = socket.inet_aton(addr)
    struct.pack_into("<HHH", head, 94, spec.http_port, 443, spec.tcp_port)
    struct.pack_into("<H", head, 104, spec.udp_port)
    return bytes(head) + section2 + section3


def answer_dvrip(device: LabDevice, data: bytes) -> list[bytes]:
    """The search reply for a UDP 5050 search request."""
    spec = device.persona.channels.dvrip
    if spec is None:
        return []
    if data[:2] == dvrip.REQUEST_MAGIC and len(data) <= 64:
        return [dvrip_reply(device, spec)]
    if data[:2] == dvrip.REPLY_MAGIC:
        return []  # another device's answer
    raise ValueError(f"not a DVRIP search: starts {data[:4].hex()}")
