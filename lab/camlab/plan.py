"""Lay devices out on a subnet: addresses, MACs, serials, real ports, and the placeholder text they serve."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable

from camlab.personas import Persona, PersonaError, load_personas, replicate

LOOPBACK_PORT_SHIFT = 10000  # loopback mode runs without root: ports < 1024 move up by this much
FIRST_HOST = 2  # .1 is the scanner (flat lab) or the router (routed lab); devices start at .2
ROUTED_SET = "routed"  # personas/routed/: cases only a routed lab tests (ping only, no ping, MAC only)


class LabError(RuntimeError):
    """The lab cannot be built, served or torn down; the message is one line."""


class LabInputError(LabError):
    """The lab was asked for something impossible (bad subnet, count, prefix, persona; no root)."""


@dataclass(frozen=True, slots=True)
class LabDevice:
    """One simulated device on the lab network."""

    ip: str
    mac: str
    persona: Persona
    serial: str | None
    port_map: dict[int, int] = field(default_factory=dict)  # logical -> real, only where they differ
    network: str | None = None  # the lab subnet (CIDR)

    def real_port(self, port: int) -> int:
        """The port the server actually listens on for a logical port."""
        return self.port_map.get(port, port)

    @property
    def uuid(self) -> str:
        """A stable random-looking (version 4) UUID for this device: same persona and MAC, same UUID."""
        digest = hashlib.sha256(f"{self.persona.id}/{self.mac}".encode()).digest()[:16]
        return str(uuid.UUID(bytes=digest, version=4))

    @property
    def stray_ip(self) -> str:
        """An address of the lab subnet no device uses (the last host), for replies claiming another host."""
        if self.network is None:
            return self.ip
        return str(ipaddress.IPv4Network(self.network).broadcast_address - 1)

    def render(self, text: str, extra: Mapping[str, str] | None = None) -> str:
        """Fill the persona placeholders (and `extra` ones, e.g. {port}); a fresh nonce per call."""
        if "{" not in text:
            return text
        hexmac = self.mac.replace(":", "")
        for key, value in (
            ("{serial}", self.serial or ""),
            ("{mac_hex}", hexmac),
            ("{MAC_HEX}", hexmac.upper()),
            ("{mac}", self.mac),
            ("{MAC}", self.mac.upper()),
            ("{ip}", self.ip),
        ):
            text = text.replace(key, value)
        if "{serial9}" in text:
            text = text.replace("{serial9}", (self.serial or "")[-9:])
        if "{uuid}" in text:
            text = text.replace("{uuid}", self.uuid)
        if "{stray_ip}" in text:
            text = text.replace("{stray_ip}", self.stray_ip)
        for key, value in (extra or {}).items():
            text = text.replace("{" + key + "}", value)
        while "{nonce}" in text:
            text = text.replace("{nonce}", secrets.token_hex(16), 1)
        return text


def device_ifname(ip: str, network: str) -> str:
    """The namespace lab's macvlan name for a device: mv<host offset in the subnet>."""
    net = ipaddress.IPv4Network(network, strict=False)
    return f"mv{int(ipaddress.IPv4Address(ip)) - int(net.network_address)}"


def default_personas_dir() -> Traversable:
    """The personas shipped with camlab (package data, so an installed copy has them too)."""
    return resources.files("camlab") / "personas"


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    """An IPv4 subnet of /16 to /29 for a lab."""
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise LabInputError(f"bad subnet {text!r}: expected IPv4 CIDR like 10.77.0.0/24") from None
    if not 16 <= net.prefixlen <= 29:
        raise LabInputError(f"subnet {net} must be /16 to /29")
    return net


def loopback_port_map(ports: Sequence[int]) -> dict[int, int]:
    """Logical -> real port for loopback mode: privileged ports move up by 10000."""
    return {p: p + LOOPBACK_PORT_SHIFT for p in sorted(set(ports)) if p < 1024}


def plan_devices(
    personas: Sequence[Persona], count: int, subnet: str, *, loopback: bool = False
) -> list[LabDevice]:
    """Device i of `count` gets host address .(i+2) of `subnet` and persona i mod len(personas)."""
    net = parse_subnet(subnet)
    room = net.num_addresses - FIRST_HOST - 1
    if not 1 <= count <= room:
        raise LabInputError(f"device count must be 1..{room} for {net}")
    if loopback and not net.is_loopback:
        raise LabInputError(f"loopback mode needs a 127.0.0.0/8 subnet, not {net}")
    try:
        replicas = replicate(personas, count)
    except PersonaError as exc:
        raise LabInputError(str(exc)) from None
    devices = []
    for rep in replicas:
        ports = rep.persona.ports
        pmap = loopback_port_map(ports) if loopback else {}
        real = [pmap.get(p, p) for p in ports]
        if len(set(real)) != len(real):
            raise LabInputError(f"persona {rep.persona.id}: ports collide after the loopback shift")
        ip = str(net.network_address + FIRST_HOST + rep.index)
        devices.append(
            LabDevice(
                ip=ip, mac=rep.mac, persona=rep.persona, serial=rep.serial, port_map=pmap, network=str(net)
            )
        )
    return devices


def load_plan(
    personas_dir: Traversable | None, count: int | None, subnet: str, *, loopback: bool
) -> list[LabDevice]:
    """Load personas and plan `count` devices (default: one per persona)."""
    personas = load_personas(personas_dir or default_personas_dir())
    return plan_devices(personas, count or len(personas), subnet, loopback=loopback)


def load_routed_personas(personas_dir: Traversable | None) -> list[Persona]:
    """The personas of a routed lab: the directory's own plus its routed/ set, sorted by id."""
    base = personas_dir or default_personas_dir()
    personas = load_personas(base)
    extra = base / ROUTED_SET
    if extra.is_dir():
        personas = sorted([*personas, *load_personas(extra)], key=lambda p: p.id)
    return personas


def plan_segments(
    personas: Sequence[Persona], count: int, segments: Sequence[ipaddress.IPv4Network]
) -> list[LabDevice]:
    """`count` devices spread over `segments` in blocks (the first count % n get one more), hosts from .2."""
    if not segments:
        raise LabInputError("a routed lab needs at least one segment")
    room = min(seg.num_addresses for seg in segments) - FIRST_HOST - 1
    if not 1 <= count <= room * len(segments):
        raise LabInputError(f"device count must be 1..{room * len(segments)} for {len(segments)} segments")
    try:
        replicas = replicate(personas, count)
    except PersonaError as exc:
        raise LabInputError(str(exc)) from None
    share, extra = divmod(count, len(segments))
    devices: list[LabDevice] = []
    for k, seg in enumerate(segments):
        block = replicas[len(devices) : len(devices) + share + (k < extra)]
        for host, rep in enumerate(block, start=FIRST_HOST):
            devices.append(
                LabDevice(
                    ip=str(seg.network_address + host),
                    mac=rep.mac,
                    persona=rep.persona,
                    serial=rep.serial,
                    network=str(seg),
                )
            )
    return devices
