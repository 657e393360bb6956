"""Our own side of each local network: which interface reaches the targets, and our address on it."""

from __future__ import annotations

import fcntl
import socket
import struct
from collections.abc import Sequence
from ipaddress import IPv4Network

from camscan.models import Segment
from camscan.probes.arp import read_routes

SIOCGIFADDR = 0x8915


def interface_address(iface: str) -> str | None:
    """The interface's primary IPv4 address, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", iface.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def local_segments(
    targets: Sequence[IPv4Network], iface: str | None = None, routes_path: str = "/proc/net/route"
) -> list[Segment]:
    """One segment per directly connected network that overlaps the targets (loopback excluded)."""
    segments: dict[str, Segment] = {}
    for net, dev, on_link in sorted(read_routes(routes_path), key=lambda r: -r[0].prefixlen):
        if not on_link or dev in segments or (iface and dev != iface):
            continue
        if not any(net.overlaps(t) for t in targets):
            continue
        address = interface_address(dev)
        if address is not None:
            segments[dev] = Segment(iface=dev, source=address, network=str(net))
    return list(segments.values())
