"""What every probe gets: shared clients, limits, timeouts, caps and the port mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

import httpx

from camscan import defaults
from camscan.limits import Limits

DEFAULT_PORTS = defaults.PORTS
HTTP_PORTS = defaults.HTTP_PORTS
HTTPS_PORTS = defaults.HTTPS_PORTS
RTSP_PORTS = defaults.RTSP_PORTS


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed for each stage."""

    connect: float = defaults.CONNECT_TIMEOUT  # one TCP connect of a live host's port sweep
    probe: float = defaults.PROBE_TIMEOUT  # one whole probe of one port (connect, send, read)
    host: float = defaults.HOST_TIMEOUT  # everything done to one host
    scan: float = defaults.SCAN_DEADLINE  # the whole scan
    ping: float = defaults.PING_TIMEOUT  # one TCP ping (a single SYN: below the kernel's first retransmit)


@dataclass(frozen=True, slots=True)
class Caps:
    """Byte limits for anything read from the network."""

    body: int = defaults.BODY_CAP  # HTTP body bytes kept
    header: int = defaults.HEADER_CAP  # HTTP / RTSP header block
    rtsp: int = defaults.RTSP_CAP  # whole RTSP response
    banner: int = defaults.BANNER_CAP  # raw TCP banner


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
