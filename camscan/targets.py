"""Turn target specs (address, CIDR, range, hostname, @file) into addresses, with the scope guard."""

from __future__ import annotations

import bisect
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from camscan.inputs import InputError, read_text

DEFAULT_MAX_HOSTS = 65_536
MAX_TARGET_FILE_BYTES = 4 * 1024 * 1024

# Address space that is not globally routable and that a site scan may cover without --allow-public.
NON_PUBLIC = tuple(
    IPv4Network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",  # carrier-grade NAT, RFC 6598
        # Benchmarking, RFC 2544 (RFC 6815: for isolated test networks). Allowed: it is never routed on the
        # internet, so a scan of it reaches no third party, and device test labs are exactly who use it.
        "198.18.0.0/15",
    )
)
# Special-purpose blocks that never hold a device to inventory: refused with or without --allow-public, each
# in its own words (most specific first: the broadcast address is inside 240.0.0.0/4).
SPECIAL: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(block), what)
    for block, what in (
        ("255.255.255.255/32", "the limited broadcast address (RFC 919), not a host"),
        ("0.0.0.0/8", '"this network" (RFC 1122), not host addresses'),
        ("192.0.2.0/24", "documentation range TEST-NET-1 (RFC 5737): no real device has these addresses"),
        ("198.51.100.0/24", "documentation range TEST-NET-2 (RFC 5737): no real device has these addresses"),
        ("203.0.113.0/24", "documentation range TEST-NET-3 (RFC 5737): no real device has these addresses"),
        ("224.0.0.0/4", "multicast (RFC 5771): group addresses, not hosts"),
        ("240.0.0.0/4", "reserved for future use (RFC 1112), not assigned to hosts"),
    )
)

Resolver = Callable[[str], list[str]]


class TargetError(InputError):
    """A target spec that cannot be scanned; str() is one line for the user."""


@dataclass(frozen=True, slots=True)
class TargetSet:
    """The scan's addresses as merged inclusive intervals, plus the CIDR blocks that cover them."""

    specs: tuple[str, ...]
    intervals: tuple[tuple[int, int], ...]
    excluded: tuple[str, ...] = ()  # the --exclude specs, for the report
    names: tuple[tuple[str, str], ...] = ()  # (host name as typed, an address it resolved to)

    def names_of(self, ip: str) -> tuple[str, ...]:
        """The host names the user typed that resolved to this address (a report's first-hand name)."""
        return tuple(name for name, addr in self.names if addr == ip)

    @property
    def count(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.intervals)

    @property
    def networks(self) -> tuple[IPv4Network, ...]:
        """CIDR blocks covering exactly the addresses (for route and on-link decisions)."""
        return tuple(
            net
            for lo, hi in self.intervals
            for net in ipaddress.summarize_address_range(IPv4Address(lo), IPv4Address(hi))
        )

    def contains(self, ip: str) -> bool:
        """Whether an address is one of the targets (replies from anywhere else are ignored)."""
        try:
            value = int(IPv4Address(ip))
        except ValueError:
            return False
        at = bisect.bisect_right(self.intervals, (value, 1 << 33)) - 1
        return at >= 0 and self.intervals[at][0] <= value <= self.intervals[at][1]

    def addresses(self) -> Iterable[str]:
        """Every address to scan, ascending, one at a time (a /16 is never held in memory)."""
        for lo, hi in self.intervals:
            for value in range(lo, hi + 1):
                yield str(IPv4Address(value))

    def without(self, holes: Iterable[tuple[int, int]]) -> TargetSet:
        """The same targets with the given inclusive intervals taken out."""
        return TargetSet(self.specs, subtract(self.intervals, holes), self.excluded, self.names)


def _interval(net: IPv4Network, from_cidr: bool) -> tuple[int, int]:
    lo, hi = int(net.network_address), int(net.broadcast_address)
    # A CIDR block's network and broadcast addresses are not hosts; a range or address is taken as written.
    if from_cidr and net.prefixlen <= 30:
        return lo + 1, hi - 1
    return lo, hi


def _merge(intervals: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def subtract(
    intervals: Iterable[tuple[int, int]], holes: Iterable[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """Inclusive intervals minus inclusive holes (both in any order), merged and ascending."""
    out: list[tuple[int, int]] = []
    cuts = _merge(list(holes))
    for lo, hi in _merge(list(intervals)):
        start = lo
        for cut_lo, cut_hi in cuts:
            if cut_hi < start or cut_lo > hi:
                continue
            if cut_lo > start:
                out.append((start, cut_lo - 1))
            start = max(start, cut_hi + 1)
            if start > hi:
                break
        if start <= hi:
            out.append((start, hi))
    return tuple(out)


def _system_resolver(name: str) -> list[str]:
    infos = socket.getaddrinfo(name, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _parse_address(text: str, spec: str) -> IPv4Address:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise TargetError(f"target {spec!r}: {text!r} is not an IPv4 address") from None
    if not isinstance(addr, IPv4Address):
        raise TargetError(f"target {spec!r}: IPv6 targets are not supported")
    return addr


def _parse_range(spec: str) -> list[IPv4Network]:
    first_text, _, last_text = spec.partition("-")
    first = _parse_address(first_text.strip(), spec)
    last_text = last_text.strip()
    if last_text.isdigit():
        octet = int(last_text)
        if octet > 255:
            raise TargetError(f"target {spec!r}: last octet {octet} is above 255")
        last = IPv4Address((int(first) & 0xFFFFFF00) | octet)
    else:
        last = _parse_address(last_text, spec)
    if last < first:
        raise TargetError(f"target {spec!r}: the range ends before it starts")
    return list(ipaddress.summarize_address_range(first, last))


def _parse_one(spec: str, resolve: Resolver, names: list[tuple[str, str]] | None = None) -> list[IPv4Network]:
    if spec.replace(".", "").isdigit():
        return [IPv4Network(_parse_address(spec, spec))]
    if "/" in spec:
        try:
            net = ipaddress.ip_network(spec, strict=False)
        except ValueError:
            raise TargetError(f"target {spec!r}: not a valid CIDR block") from None
        if not isinstance(net, IPv4Network):
            raise TargetError(f"target {spec!r}: IPv6 targets are not supported")
        return [net]
    if "-" in spec and spec.replace("-", "").replace(".", "").replace(" ", "").isdigit():
        return _parse_range(spec)
    try:
        addr = ipaddress.ip_address(spec)
    except ValueError:
        pass
    else:
        if not isinstance(addr, IPv4Address):
            raise TargetError(f"target {spec!r}: IPv6 targets are not supported")
        return [IPv4Network(addr)]
    if not _looks_like_hostname(spec):
        raise TargetError(f"target {spec!r}: not an address, CIDR, range (a-b) or host name")
    try:
        found = resolve(spec)
    except (OSError, UnicodeError):
        found = []
    if not found:
        raise TargetError(f"target {spec!r}: host name does not resolve to an IPv4 address")
    addresses = [_parse_address(a, spec) for a in found]
    if names is not None:
        names.extend((spec.rstrip("."), str(a)) for a in addresses)
    return [IPv4Network(a) for a in addresses]


def _looks_like_hostname(spec: str) -> bool:
    if len(spec) > 253 or spec.startswith((".", "-")):
        return False
    labels = spec.rstrip(".").split(".")
    return all(0 < len(lab) <= 63 and all(c.isalnum() or c in "-_" for c in lab) for lab in labels)


def _read_file(spec: str) -> list[str]:
    path = spec[1:] or "-"  # @- (or a bare @) reads the targets from standard input
    text = read_text(path, "target file", MAX_TARGET_FILE_BYTES, error=TargetError)
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        if item.startswith("@"):
            raise TargetError(f"target file {path} line {number}: nested @file is not allowed")
        out.append(item)
    if not out:
        raise TargetError(f"target file {path}: no targets in it")
    return out


def _shown(net: IPv4Network) -> str:
    return str(net.network_address) if net.prefixlen == 32 else str(net)


def _scope_error(net: IPv4Network, spec: str, allow_public: bool) -> str | None:
    for block, what in SPECIAL:
        if net.overlaps(block):
            where = f"{_shown(net)} is in {block}," if net.subnet_of(block) else f"{net} includes {block},"
            return f"target {spec!r}: {where} {what}"
    if allow_public:
        return None
    if any(net.subnet_of(ok) for ok in NON_PUBLIC):
        return None
    return (
        f"target {spec!r}: {_shown(net)} includes public (globally routable) addresses; "
        "scan them only with --allow-public and the owner's permission"
    )


def _expand(specs: Sequence[str], what: str) -> list[str]:
    expanded: list[str] = []
    for raw in specs:
        spec = raw.strip()
        if not spec:
            raise TargetError(f"empty {what}")
        expanded.extend(_read_file(spec) if spec.startswith("@") else [spec])
    return expanded


def parse_excludes(specs: Sequence[str], resolve: Resolver | None = None) -> tuple[tuple[int, int], ...]:
    """Addresses, CIDRs, ranges, host names or @files to leave out (nmap's --exclude); never scope-checked."""
    resolve = resolve or _system_resolver
    holes: list[tuple[int, int]] = []
    for spec in _expand(specs, "exclude"):
        for net in _parse_one(spec, resolve):
            # An excluded CIDR takes its network and broadcast addresses with it.
            holes.append(_interval(net, from_cidr=False))
    return _merge(holes)


def parse_targets(
    specs: Sequence[str],
    *,
    allow_public: bool = False,
    max_hosts: int = DEFAULT_MAX_HOSTS,
    resolve: Resolver | None = None,
    exclude: Sequence[str] = (),
) -> TargetSet:
    """Parse and check every spec, minus the excluded ones; TargetError (one line) on the first bad one."""
    resolve = resolve or _system_resolver
    if not specs:
        raise TargetError("no targets given")
    intervals: list[tuple[int, int]] = []
    names: list[tuple[str, str]] = []
    for spec in _expand(specs, "target"):
        for net in _parse_one(spec, resolve, names):
            problem = _scope_error(net, spec, allow_public)
            if problem:
                raise TargetError(problem)
            intervals.append(_interval(net, from_cidr="/" in spec))
    holes = parse_excludes(exclude, resolve) if exclude else ()
    result = TargetSet(
        specs=tuple(s.strip() for s in specs),
        intervals=subtract(intervals, holes),
        excluded=tuple(e.strip() for e in exclude),
        names=tuple(dict.fromkeys(names)),
    )
    if not result.intervals:
        raise TargetError("every target address is excluded: nothing to scan")
    if result.count > max_hosts:
        raise TargetError(
            f"targets cover {result.count} addresses, more than the cap of {max_hosts}; "
            "raise it with --max-hosts if you mean it"
        )
    return result
