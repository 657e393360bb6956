"""What the user chose for a scan (ScanOptions), and the parsers for options that are more than a number."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

from camscan import defaults, oui
from camscan.context import OnvifCredentials, Timeouts
from camscan.inputs import InputError, read_text
from camscan.targets import TargetSet

DISCOVERY_PROTOCOLS = ("wsdiscovery", "sadp", "dhip", "dvrip", "mdns", "ssdp")


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Everything the user chose for one scan."""

    targets: TargetSet
    ports: tuple[int, ...] = defaults.PORTS
    ping_ports: tuple[int, ...] = defaults.PING_PORTS
    interface: str | None = None
    profile: str = defaults.DEFAULT_PROFILE
    rate: float = defaults.PROFILES[defaults.DEFAULT_PROFILE].rate
    concurrency: int = defaults.PROFILES[defaults.DEFAULT_PROFILE].concurrency
    per_host: int = defaults.PROFILES[defaults.DEFAULT_PROFILE].per_host
    sweep_per_host: int = defaults.PROFILES[defaults.DEFAULT_PROFILE].sweep_per_host
    timeouts: Timeouts = field(default_factory=Timeouts)
    port_map: Mapping[int, int] = field(default_factory=dict)
    macs: Mapping[str, str] = field(default_factory=dict)  # ip -> mac from a user file
    arp: bool = True
    icmp: bool = True
    multicast: bool = True
    unicast_discovery: bool = True  # WS-Discovery/SADP/DHIP/DVRIP/SSDP requests to every address reached
    discovery: tuple[str, ...] = DISCOVERY_PROTOCOLS  # discovery protocols to run
    discovery_wait: float = defaults.DISCOVERY_WAIT  # seconds to listen after the last discovery datagram
    onvif: bool = True
    onvif_credentials: tuple[tuple[IPv4Network, OnvifCredentials], ...] = ()
    reverse_dns: bool = True  # ask the system's resolvers for each live host's PTR name
    netbios: bool = True  # ask each live host its NetBIOS and LLMNR names


MAX_MAC_FILE_BYTES = 8 * 1024 * 1024


class OptionError(InputError):
    """A bad option value; str() is one line for the user."""


def _port(text: str, what: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise OptionError(f"{what}: {text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise OptionError(f"{what}: {port} is not between 1 and 65535")
    return port


def parse_ports(text: str, what: str = "--ports", *, empty_ok: bool = False) -> tuple[int, ...]:
    """'80,443,8000-8010' -> sorted unique ports."""
    ports: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "-" in part:
            lo_text, _, hi_text = part.partition("-")
            lo, hi = _port(lo_text, what), _port(hi_text, what)
            if hi < lo:
                raise OptionError(f"{what}: range {part!r} ends before it starts")
            ports.update(range(lo, hi + 1))
        else:
            ports.add(_port(part, what))
    if not ports and not empty_ok:
        raise OptionError(f"{what}: no ports given")
    if len(ports) > 1024:
        raise OptionError(f"{what}: {len(ports)} ports is more than the 1024 a camera inventory needs")
    return tuple(sorted(ports))


def parse_discovery(text: str) -> tuple[str, ...]:
    """'wsdiscovery,sadp' -> the discovery protocols to run ('' or 'none' -> none, 'all' -> all)."""
    names = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip() and p.strip() != "none"))
    if names == ("all",):
        return DISCOVERY_PROTOCOLS
    unknown = [n for n in names if n not in DISCOVERY_PROTOCOLS]
    if unknown:
        known = ", ".join(DISCOVERY_PROTOCOLS)
        raise OptionError(f"--discovery: unknown protocol {unknown[0]!r}; known: {known}, all, none")
    return names


def parse_port_map(text: str) -> dict[int, int]:
    """'80=10080,554=10554' -> {80: 10080, 554: 10554} (logical port -> port to connect to)."""
    mapping: dict[int, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        logical, sep, real = part.partition("=")
        if not sep:
            raise OptionError(f"--port-map: {part!r} is not PORT=PORT")
        mapping[_port(logical.strip(), "--port-map")] = _port(real.strip(), "--port-map")
    return mapping


def read_mac_file(path: Path) -> dict[str, str]:
    """'IP MAC' (or IP,MAC) lines, # comments: MACs for hosts ARP cannot reach (DHCP or switch exports)."""
    text = read_text(path, "--macs", MAX_MAC_FILE_BYTES, error=OptionError)
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        item = line.split("#", 1)[0].replace(",", " ").split()
        if not item:
            continue
        if len(item) < 2:
            raise OptionError(f"--macs {path} line {number}: expected 'IP MAC'")
        ip, mac_text = item[0], item[1]
        parts = ip.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
            raise OptionError(f"--macs {path} line {number}: {ip!r} is not an IPv4 address")
        mac = oui.normalise_mac(mac_text)
        if mac is None:
            raise OptionError(f"--macs {path} line {number}: {mac_text!r} is not a MAC address")
        out[ip] = mac
    return out
