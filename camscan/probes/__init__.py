"""Probe registry: port probes (per host and TCP port) and segment probes (per local network)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

from camscan.context import HTTP_PORTS, HTTPS_PORTS, RTSP_PORTS, ScanContext
from camscan.models import Host, ProbeResult, Segment, SegmentResult
from camscan.probes.dhip import DhipProbe
from camscan.probes.dvrip import DvripProbe
from camscan.probes.http import HttpProbe
from camscan.probes.mdns import MdnsProbe
from camscan.probes.onvif import OnvifCache, OnvifProbe
from camscan.probes.rtsp import RtspProbe
from camscan.probes.sadp import SadpProbe
from camscan.probes.ssdp import SsdpProbe
from camscan.probes.wsdiscovery import WsDiscoveryProbe


class PortProbe(Protocol):
    """A probe that talks to one TCP port of one host."""

    name: ClassVar[str]

    async def run(self, ctx: ScanContext, host: Host, port: int) -> ProbeResult: ...


class SegmentProbe(Protocol):
    """A probe that asks a whole network (multicast) and each target (unicast), and hears many hosts."""

    name: ClassVar[str]

    async def run(
        self,
        ctx: ScanContext,
        segments: Sequence[Segment],
        unicast: Sequence[str],
        in_scope: Callable[[str], bool],
        wait: float,
    ) -> SegmentResult: ...

    def partial(self) -> SegmentResult:
        """What a run that was cancelled before it returned had heard by then."""
        ...


PORT_PROBES: dict[str, type[PortProbe]] = {"http": HttpProbe, "rtsp": RtspProbe}
SEGMENT_PROBES: dict[str, type[SegmentProbe]] = {
    "wsdiscovery": WsDiscoveryProbe,
    "sadp": SadpProbe,
    "dhip": DhipProbe,
    "dvrip": DvripProbe,
    "mdns": MdnsProbe,
    "ssdp": SsdpProbe,
}


def probes_for_port(port: int) -> list[PortProbe]:
    """Fresh instances of the probes that apply to a logical port (none for unknown ports)."""
    names: list[str] = []
    if port in HTTP_PORTS or port in HTTPS_PORTS:
        names.append("http")
    if port in RTSP_PORTS:
        names.append("rtsp")
    return [PORT_PROBES[name]() for name in names]


__all__ = [
    "PORT_PROBES",
    "SEGMENT_PROBES",
    "HttpProbe",
    "OnvifCache",
    "OnvifProbe",
    "PortProbe",
    "RtspProbe",
    "SegmentProbe",
    "probes_for_port",
]
