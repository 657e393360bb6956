"""ARP sweep of on-link target ranges with scapy (root or CAP_NET_RAW), and which ranges are on-link."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network

NEEDS_PRIVILEGE = "needs root or CAP_NET_RAW"
MIN_TIMEOUT = 0.5  # macvlan peers answer up to ~0.45 s after the first request
_RTF_UP = 0x1
_CHUNK = 4096  # addresses per srp call
TRIES = 2  # an address is asked once more when the first request got no answer
_RTF_GATEWAY = 0x2


def arp_capable() -> tuple[bool, str]:
    """Whether this process may send raw ARP frames: (True, "") or (False, why)."""
    family = getattr(socket, "AF_PACKET", None)
    if family is None:
        return False, "ARP sweep needs Linux (AF_PACKET)"
    try:
        # Trying is the only reliable test: root in a container may lack CAP_NET_RAW, and a
        # non-root user may hold it. Protocol 0: the socket receives nothing before it is closed.
        sock = socket.socket(family, socket.SOCK_RAW, 0)
    except PermissionError:
        return False, NEEDS_PRIVILEGE
    except OSError as exc:
        return False, f"raw sockets unavailable: {exc.strerror or exc}"
    sock.close()
    return True, ""


def _hex_ip(field: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(struct.pack("<I", int(field, 16)))


def read_routes(path: str = "/proc/net/route") -> list[tuple[IPv4Network, str, bool]]:
    """(network, iface, on_link) for each usable IPv4 route in the main table; default routes excluded."""
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            lines = fh.read(4 * 1024 * 1024).splitlines()[1:]
    except OSError:
        return []
    routes: list[tuple[IPv4Network, str, bool]] = []
    for line in lines:
        cols = line.split()
        if len(cols) < 8:
            continue
        try:
            iface, dest, gateway, flags = cols[0], _hex_ip(cols[1]), _hex_ip(cols[2]), int(cols[3], 16)
            net = IPv4Network(f"{dest}/{_hex_ip(cols[7])}", strict=False)
        except (ValueError, struct.error):
            continue
        if not flags & _RTF_UP or net.prefixlen == 0 or iface == "lo":
            continue
        routes.append((net, iface, not flags & _RTF_GATEWAY and int(gateway) == 0))
    return routes


def onlink_networks(
    targets: Sequence[IPv4Network], iface: str | None, *, routes_path: str = "/proc/net/route"
) -> list[tuple[IPv4Network, str]]:
    """The parts of the targets that are directly connected, with their interface (longest prefix wins)."""
    routes = sorted(read_routes(routes_path), key=lambda r: r[0].prefixlen, reverse=True)
    out: list[tuple[IPv4Network, str]] = []
    for target in targets:
        remaining = [target]
        for net, dev, onlink in routes:
            wanted = onlink and (iface is None or dev == iface)
            left: list[IPv4Network] = []
            for part in remaining:
                if part.subnet_of(net):
                    if wanted:
                        out.append((part, dev))
                elif net.subnet_of(part):
                    if wanted:
                        out.append((net, dev))
                    left.extend(part.address_exclude(net))
                else:
                    left.append(part)
            remaining = left
            if not remaining:
                break
    return _collapsed(out)


def _collapsed(pieces: list[tuple[IPv4Network, str]]) -> list[tuple[IPv4Network, str]]:
    """Merge adjacent pieces per interface (interfaces in first-seen order)."""
    by_dev: dict[str, list[IPv4Network]] = {}
    for net, dev in pieces:
        by_dev.setdefault(dev, []).append(net)
    return [(net, dev) for dev, nets in by_dev.items() for net in ipaddress.collapse_addresses(nets)]


def _sweep(
    networks: Sequence[tuple[IPv4Network, str]],
    timeout: float,
    rate: float,
    stop: threading.Event,
    on_pass: Callable[[dict[str, str]], None] | None = None,
) -> dict[str, str]:
    """Blocking scapy srp per interface; runs in a worker thread and stops between chunks when asked.

    `on_pass` (called from this thread) gets the new answers after each pass over a chunk (maybe none)."""
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import srp

    found: dict[str, str] = {}
    by_iface: dict[str, list[str]] = {}
    for net, dev in networks:
        hosts = by_iface.setdefault(dev, [])
        # Blocks are pieces of the target intervals: every address in them is a target, edges included.
        hosts.extend(str(ip) for ip in net)
    for dev, hosts in by_iface.items():
        # Chunks bound scapy's bookkeeping (it keeps every sent packet) on a /16.
        for first in range(0, len(hosts), _CHUNK):
            # A request or its answer can be lost (a switch's broadcast queue, a busy host): like arp-scan,
            # ask the silent addresses again before calling them absent.
            chunk = hosts[first : first + _CHUNK]
            for _ in range(TRIES):
                if stop.is_set():
                    return found
                asked = {ip for ip in chunk if ip not in found}
                if not asked:
                    break
                packets = Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=sorted(asked, key=_numeric))
                # No BPF filter (it would need libpcap): srp matches replies to requests in Python.
                answered, _ = srp(packets, iface=dev, timeout=timeout, inter=1.0 / rate, verbose=0)
                new: dict[str, str] = {}
                for _sent, reply in answered:
                    ip, mac = reply[ARP].psrc, str(reply[ARP].hwsrc).lower()
                    if ip in asked and ip not in found:
                        found[ip] = new[ip] = mac
                if on_pass is not None:
                    on_pass(new)
    return found


def _numeric(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


async def arp_sweep(
    networks: Sequence[tuple[IPv4Network, str]],
    timeout: float = MIN_TIMEOUT,
    rate: float = 2000,
    on_pass: Callable[[dict[str, str]], None] | None = None,
) -> dict[str, str]:
    """ip -> mac for every address of the given on-link networks that answered an ARP request.

    `on_pass` is called on the event loop with each pass's new answers, before the sweep as a whole ends."""
    if not networks:
        return {}
    if rate <= 0:
        raise ValueError("rate must be positive")
    stop = threading.Event()
    loop = asyncio.get_running_loop()

    def report(new: dict[str, str]) -> None:
        if on_pass is not None:
            loop.call_soon_threadsafe(on_pass, new)

    try:
        return await asyncio.to_thread(_sweep, networks, max(timeout, MIN_TIMEOUT), rate, stop, report)
    finally:
        stop.set()  # cancelled (deadline, signal): the thread ends after its current chunk
