"""The kernel's neighbour (ARP) cache: MACs of hosts we already talked to, no root needed."""

from __future__ import annotations

import ipaddress
import re

_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
_ATF_COM = 0x2  # entry complete (the MAC is known)
_MAX_BYTES = 32 * 1024 * 1024


def parse_neighbours(text: str) -> dict[str, tuple[str, str]]:
    """ip -> (mac, iface) from /proc/net/arp text; incomplete, zero-MAC and malformed lines are skipped."""
    out: dict[str, tuple[str, str]] = {}
    for line in text.splitlines()[1:]:  # the first line is the column header
        cols = line.split()
        if len(cols) < 6:
            continue
        ip, _hwtype, flags, mac, _mask, iface = cols[:6]
        try:
            complete = int(flags, 16) & _ATF_COM
            addr = str(ipaddress.IPv4Address(ip))
        except ValueError:
            continue
        mac = mac.lower()
        if complete and _MAC.fullmatch(mac) and mac != "00:00:00:00:00:00":
            out[addr] = (mac, iface)
    return out


def read_neighbours(path: str = "/proc/net/arp") -> dict[str, tuple[str, str]]:
    """ip -> (mac, iface) for complete entries of the kernel ARP cache; {} where there is none."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_BYTES)
    except OSError:
        return {}
    return parse_neighbours(raw.decode("ascii", errors="replace"))
