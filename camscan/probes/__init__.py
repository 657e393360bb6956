"""Probe registry: which probe classes run on which TCP port."""

from __future__ import annotations

from typing import ClassVar, Protocol

from camscan.context import HTTP_PORTS, HTTPS_PORTS, RTSP_PORTS, ScanContext
from camscan.models import Host, ProbeResult
from camscan.probes.http import HttpProbe
from camscan.probes.rtsp import RtspProbe


class PortProbe(Protocol):
    """A probe that talks to one TCP port of one host."""

    name: ClassVar[str]

    async def run(self, ctx: ScanContext, host: Host, port: int) -> ProbeResult: ...


PORT_PROBES: dict[str, type[PortProbe]] = {"http": HttpProbe, "rtsp": RtspProbe}


def probes_for_port(port: int) -> list[PortProbe]:
    """Fresh instances of the probes that apply to a logical port (none for unknown ports)."""
    names: list[str] = []
    if port in HTTP_PORTS or port in HTTPS_PORTS:
        names.append("http")
    if port in RTSP_PORTS:
        names.append("rtsp")
    return [PORT_PROBES[name]() for name in names]


__all__ = ["PORT_PROBES", "HttpProbe", "PortProbe", "RtspProbe", "probes_for_port"]
