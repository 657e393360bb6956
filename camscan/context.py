"""What every probe gets: shared clients, limits, timeouts, caps and the port mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

import httpx

from camscan.limits import Limits

DEFAULT_PORTS: tuple[int, ...] = (80, 443, 554, 8000, 8080, 8443, 37777, 2020, 8899, 8554)
HTTP_PORTS = frozenset({80, 8080, 8000, 2020, 8899, 8081, 8888})
HTTPS_PORTS = frozenset({443, 8443})
RTSP_PORTS = frozenset({554, 8554})


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed for each stage."""

    connect: float = 1.5  # one TCP connect during discovery
    probe: float = 3.0  # one whole probe of one port (connect, send, read)
    host: float = 8.0  # everything done to one host
    scan: float = 300.0  # the whole scan


@dataclass(frozen=True, slots=True)
class Caps:
    """Byte limits for anything read from the network."""

    body: int = 64 * 1024  # HTTP body bytes kept
    header: int = 16 * 1024  # HTTP / RTSP header block
    rtsp: int = 16 * 1024  # whole RTSP response
    banner: int = 4096  # raw TCP banner


@dataclass(slots=True)
class ScanContext:
    """Shared state for one scan; tests swap any part (httpx transport, limits, timeouts)."""

    http: httpx.AsyncClient
    limits: Limits
    timeouts: Timeouts = field(default_factory=Timeouts)
    caps: Caps = field(default_factory=Caps)
    # logical port -> port actually connected to (labs and port forwards); the report shows logical ports
    port_map: Mapping[int, int] = field(default_factory=dict)
    # ONVIF credentials by network (most specific first); None: anonymous requests only
    onvif_credentials: Sequence[tuple[IPv4Network, OnvifCredentials]] = ()

    def onvif_credentials_for(self, ip: str) -> OnvifCredentials | None:
        """The credentials the user gave for this address, if any."""
        addr = IPv4Address(ip)
        for net, creds in self.onvif_credentials:
            if addr in net:
                return creds
        return None

    def real_port(self, port: int) -> int:
        """The port to connect to for a logical port."""
        return self.port_map.get(port, port)


@dataclass(frozen=True, slots=True)
class OnvifCredentials:
    """Credentials the user supplied for ONVIF; never printed, logged or reported."""

    username: str = field(repr=False)
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return "OnvifCredentials(<hidden>)"
