"""Frozen records that flow through a scan: observations, matches, evidence, devices, reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from camscan.status import Status

Strength = Literal["strong", "medium", "weak"]
STRENGTHS: tuple[Strength, ...] = ("strong", "medium", "weak")

# Claims a fingerprint (or any evidence) may make about a device.
CLAIM_KEYS = frozenset({"manufacturer", "brand", "device_type", "model", "firmware", "serial", "hostname"})

# device_type values that count as video surveillance equipment (is_camera).
SURVEILLANCE_TYPES = frozenset({"camera", "nvr", "dvr", "encoder"})
DEVICE_TYPES = SURVEILLANCE_TYPES | frozenset(
    {"printer", "nas", "router", "switch", "access-point", "server", "workstation", "phone", "iot", "other"}
)

MacSource = Literal[
    "arp", "neighbours", "snmp", "file", "wsdiscovery", "onvif", "sadp", "dhip", "dvrip", "mdns", "ssdp"
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing a probe saw, exactly as seen: no vendor decision is made here."""

    probe: str  # "http", "rtsp", "tls", "tcp", "arp"...
    field: str  # "http.server", "http.realm", "rtsp.server"...
    value: str
    port: int | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The envelope every probe returns (zgrab2 style): what ran, how it ended, what it saw."""

    probe: str
    ip: str
    port: int | None
    status: Status
    observations: tuple[Observation, ...] = ()
    error: str | None = None
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class Match:
    """A fingerprint entry that matched an observed value, with the claims it makes."""

    fingerprint: str  # entry id
    field: str
    claims: Mapping[str, str]  # static claims plus named groups captured from the value
    strength: Strength
    source: str
    tell: str | None = None  # what gave the maker away, for the report ("Hikvision firmware format …")


@dataclass(frozen=True, slots=True)
class Evidence:
    """An observation joined to what it claims; the unit that fusion weighs and the report shows."""

    probe: str
    field: str
    value: str
    claims: Mapping[str, str]
    strength: Strength
    port: int | None = None
    fingerprint: str | None = None
    note: str | None = None  # how a claim was derived, e.g. "OEM relation ezviz -> hikvision"


@dataclass(frozen=True, slots=True)
class MacInfo:
    """What the MAC address says: registrant of its block and the vendor id that registrant maps to."""

    mac: str
    registrant: str | None
    vendor: str | None
    locally_administered: bool
    block: str | None = None  # "MA-L 44:19:B6", "curated 34:46:63:2"


@dataclass(frozen=True, slots=True)
class WatchlistHit:
    """Why a device is on a watchlist, with the list's citation."""

    list: str
    entity: str
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class Host:
    """A live address found by discovery."""

    ip: str
    mac: str | None = None
    mac_source: MacSource | None = None
    open_ports: tuple[int, ...] = ()
    hostname: str | None = None
    mac_router: str | None = None  # the router whose ARP table (SNMP) gave the MAC
    found_by: tuple[str, ...] = ()  # how it answered: "arp", "icmp", "tcp", "wsdiscovery"...
    hostnames: tuple[tuple[str, str], ...] = ()  # (name, source), best first; hostname is the first


@dataclass(frozen=True, slots=True)
class Verdict:
    """Fusion's answer for one host."""

    manufacturer: str | None = None
    brand: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    device_type: str | None = None
    is_camera: bool = False
    confidence: float = 0.0
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Device:
    """One row of the report."""

    ip: str
    mac: str | None
    mac_vendor: str | None
    mac_source: MacSource | None
    hostname: str | None
    open_ports: tuple[int, ...]
    verdict: Verdict
    watchlist: tuple[WatchlistHit, ...]
    evidence: tuple[Evidence, ...]
    probes: tuple[ProbeResult, ...] = ()
    mac_router: str | None = None
    found_by: tuple[str, ...] = ()
    hostnames: tuple[tuple[str, str], ...] = ()

    @property
    def watchlisted(self) -> bool:
        return bool(self.watchlist)


@dataclass(frozen=True, slots=True)
class Unmatched:
    """An observation no fingerprint matched: raw material for a new entry."""

    ip: str
    probe: str
    field: str
    value: str
    port: int | None = None


@dataclass(frozen=True, slots=True)
class Unfinished:
    """What a scan that did not finish left undone: addresses never probed and hosts still being probed."""

    addresses: int = 0  # target addresses whose liveness was never settled
    address_ranges: tuple[str, ...] = ()  # the same, as "first-last" ranges (at most MAX_RANGES)
    hosts: int = 0  # live hosts whose probes had not all finished
    host_ips: tuple[str, ...] = ()  # the same, by address (at most MAX_RANGES)
    truncated: bool = False  # a list above was cut at its cap; the counts are whole


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the scan reached, so a reader can tell 'nothing there' from 'not looked at'."""

    addresses: int
    alive: int
    probed: int
    cameras: int
    unidentified_cameras: int
    errors: int
    complete: bool = True
    unfinished: Unfinished = field(default_factory=Unfinished)


@dataclass(frozen=True, slots=True)
class LivenessSummary:
    """How addresses that ARP could not settle were asked whether they are there, and what answered."""

    addresses: int = 0  # addresses asked
    settled: int = 0  # addresses whose checks all ended
    icmp: str = "off"  # "raw", "unprivileged", "off", or "unavailable: why"
    ping_ports: tuple[int, ...] = ()
    pings: int = 0  # TCP SYNs sent
    ping_answers: int = 0  # SYN-ACK or RST
    echo_sent: int = 0
    echo_replies: int = 0
    unreachable: int = 0  # pings the network refused
    found_by: Mapping[str, int] = field(default_factory=dict)  # live hosts by the ways they answered


@dataclass(frozen=True, slots=True)
class ScanInfo:
    """When, what and how the scan ran."""

    id: str
    started_at: str
    finished_at: str
    targets: tuple[str, ...]
    probes: tuple[str, ...]
    mac_method: str
    watchlists: tuple[str, ...]
    options: Mapping[str, object] = field(default_factory=dict)
    discovery: tuple[Mapping[str, object], ...] = ()  # per segment probe: status, hosts heard, datagrams
    segments: tuple[str, ...] = ()  # "iface network" multicast went out on
    timing: Mapping[str, object] = field(default_factory=dict)
    liveness: LivenessSummary = field(default_factory=LivenessSummary)


@dataclass(frozen=True, slots=True)
class Report:
    """A whole scan: the object the JSON, CSV and table writers render."""

    scan: ScanInfo
    coverage: Coverage
    devices: tuple[Device, ...]
    unmatched: tuple[Unmatched, ...]
    deadline_hit: bool = False
    interrupted: str | None = None  # the signal that stopped the scan ("SIGINT", "SIGTERM")

    @property
    def complete(self) -> bool:
        """Whether the scan ran to its end (no deadline, no signal)."""
        return not self.deadline_hit and self.interrupted is None


@dataclass(frozen=True, slots=True)
class Segment:
    """A local network a segment-level probe multicasts on: our interface and our address on it."""

    iface: str | None  # None: let the kernel choose (loopback tests)
    source: str  # our IPv4 address there (bind / IP_MULTICAST_IF)
    network: str | None = None  # CIDR of the segment, for the report


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """What a segment-level probe (WS-Discovery, SADP, DHIP, mDNS, SSDP) heard, by replying host."""

    probe: str
    status: Status
    replies: Mapping[str, tuple[Observation, ...]] = field(default_factory=dict)
    error: str | None = None
    elapsed: float = 0.0
    sent: int = 0  # datagrams sent
    received: int = 0  # datagrams received (in scope or not)
    rejected: int = 0  # datagrams dropped: out of scope, malformed, oversized, our own echo
