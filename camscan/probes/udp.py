"""Datagram machinery shared by the UDP discovery probes: sockets, paced sends, capped reply collection."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from camscan import caps
from camscan.context import ScanContext
from camscan.models import Observation, Segment, SegmentResult
from camscan.status import Status

log = logging.getLogger(__name__)

MAX_DATAGRAM = caps.UDP_DATAGRAM
PER_HOST = caps.UDP_DATAGRAMS_PER_HOST  # datagrams kept per host; typed + untyped over two paths is 4
MAX_OBSERVATIONS = caps.UDP_OBSERVATIONS_PER_HOST  # per host, after de-duplication
RCVBUF = 4 * 1024 * 1024  # lab notes §4.1: 250 immediate replies overflow the default buffer
READ_BURST = 256  # datagrams read per wake-up, so one busy socket cannot starve the loop
IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)

Decoder = Callable[[bytes, str], tuple[Observation, ...]]
CUT_SHORT = "cut short: the scan ended before the listening window closed"
CUT_SHORT_BEFORE_START = "not started: the scan ended first"


def claimed_address(probe: str, claimed: str | None, source: str, port: int) -> tuple[Observation, ...]:
    """A reply that names an address other than the one it came from: recorded as such, never trusted."""
    if not claimed or claimed == source:
        return ()
    return (Observation(probe, f"{probe}.claimed_address", claimed, port),)


class Reject(ValueError):
    """A decoder's reason to drop a datagram (our own echo, unrelated answer...); the text is one line."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class DeviceReply(Protocol):
    """A parsed vendor search reply: whatever else it holds, its MAC and the address it claims."""

    @property
    def mac(self) -> str | None: ...

    @property
    def ipv4(self) -> str | None: ...


R = TypeVar("R", bound=DeviceReply)


@dataclass(frozen=True, slots=True)
class ReplyDecoder(Generic[R]):
    """The decoder of a vendor search protocol (SADP, DHIP, DVRIP): one parse, the reply's fields kept.

    `errors` are the parser's (echo, malformed): an echo (a request, ours looped back or another tool's)
    and a malformed datagram become Rejects, counted by reason. Each name in `fields` is an attribute of the
    reply and gives the field `<probe>.<name>` (a flag: "true" or "false"); `<probe>.reply` says `reply`.
    An address the reply claims other than its source is recorded as a claim, never trusted."""

    probe: str
    port: int
    parse: Callable[[bytes], R]
    errors: tuple[type[Exception], type[Exception]]
    reply: str
    fields: tuple[str, ...]

    def names(self) -> tuple[str, ...]:
        """Every observation field this decoder can emit."""
        own = (f"{self.probe}.{name}" for name in ("reply", *self.fields, "claimed_address"))
        return (*own, "mac.address")

    def __call__(self, data: bytes, source: str) -> tuple[Observation, ...]:
        """Observations of one datagram from `source`; Reject for an echo or a malformed one."""
        echo, malformed = self.errors
        try:
            parsed = self.parse(data)
        except echo as exc:
            raise Reject("echo", str(exc)) from None
        except malformed as exc:
            raise Reject("malformed", str(exc)) from None
        found = [Observation(self.probe, f"{self.probe}.reply", self.reply, self.port)]
        for name in self.fields:
            value = getattr(parsed, name)
            if isinstance(value, bool):
                value = "true" if value else "false"
            if value:
                found.append(Observation(self.probe, f"{self.probe}.{name}", str(value), self.port))
        if parsed.mac:
            found.append(Observation(self.probe, "mac.address", parsed.mac, self.port))
        return (*found, *claimed_address(self.probe, parsed.ipv4, source, self.port))


@dataclass(frozen=True, slots=True)
class Channel:
    """Where a discovery protocol talks: its UDP port, its multicast group and how devices answer."""

    port: int
    group: str | None = None  # None: unicast only
    listen_group: bool = False  # devices may answer to group:port instead of to the asker
    max_datagram: int = MAX_DATAGRAM


@dataclass(frozen=True, slots=True)
class SocketInfo:
    """One socket a run opened: its role, local address and the receive buffer the kernel granted."""

    role: str  # "multicast", "group", "unicast"
    local: str  # "ip:port"
    iface: str | None
    rcvbuf: int  # getsockopt(SO_RCVBUF): the kernel's figure, which counts bookkeeping (about 2x)
    bound_to_device: bool = False


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Diagnostics of one run: the sockets used and why datagrams were dropped."""

    sockets: tuple[SocketInfo, ...] = ()
    reasons: tuple[tuple[str, int], ...] = ()  # (reason, count), most common first
    send_errors: int = 0

    def dropped(self, reason: str) -> int:
        """How many datagrams were dropped for this reason."""
        return dict(self.reasons).get(reason, 0)


def _set_rcvbuf(sock: socket.socket, size: int) -> int:
    try:  # FORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except OSError:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def _bind_device(sock: socket.socket, iface: str | None) -> bool:
    if not iface:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    except (OSError, AttributeError):  # unprivileged, or not Linux: the bound address is enough
        return False
    return True


def _udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    return sock


def _local(sock: socket.socket) -> tuple[str, int]:
    host, port = sock.getsockname()[:2]
    return str(host), int(port)


def open_multicast(segment: Segment) -> tuple[socket.socket, SocketInfo]:
    """A socket that sends to a group out of one segment only (bound to our address there, TTL 1)."""
    sock = _udp_socket()
    try:
        rcvbuf = _set_rcvbuf(sock, RCVBUF)
        on_device = _bind_device(sock, segment.iface)
        sock.bind((segment.source, 0))
        src = socket.inet_aton(segment.source)
        # Always name the interface: without it the kernel routes 239/8 by the default route.
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, src)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    except BaseException:
        sock.close()
        raise
    ip, port = _local(sock)
    return sock, SocketInfo("multicast", f"{ip}:{port}", segment.iface, rcvbuf, on_device)


def open_group_listener(segment: Segment, group: str, port: int) -> tuple[socket.socket, SocketInfo]:
    """A socket that hears group:port on one segment (devices that answer to the group, not to us)."""
    sock = _udp_socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        rcvbuf = _set_rcvbuf(sock, RCVBUF)
        on_device = _bind_device(sock, segment.iface)
        sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        sock.bind((group, port))  # bound to the group: unicast to this port is not ours to read
        index = socket.if_nametoindex(segment.iface) if segment.iface else 0
        mreqn = socket.inet_aton(group) + socket.inet_aton(segment.source) + struct.pack("@i", index)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
    except BaseException:
        sock.close()
        raise
    return sock, SocketInfo("group", f"{group}:{port}", segment.iface, rcvbuf, on_device)


def open_unicast() -> tuple[socket.socket, SocketInfo]:
    """The socket unicast probes go out of (the kernel picks the source by route)."""
    sock = _udp_socket()
    try:
        rcvbuf = _set_rcvbuf(sock, RCVBUF)
        # any local address: the kernel picks the source by route; replies are filtered by their source
        sock.bind(("0.0.0.0", 0))  # noqa: S104
    except BaseException:
        sock.close()
        raise
    ip, port = _local(sock)
    return sock, SocketInfo("unicast", f"{ip}:{port}", None, rcvbuf)


class Collector:
    """Keeps in-scope, decodable replies by source address, within per-datagram, per-host and total caps.

    Every cap is checked before the datagram is parsed, so a flooding source costs a dictionary lookup
    per datagram once it has used its share: the reader keeps draining the socket (the other hosts'
    answers are not lost to a full receive buffer) and memory stays bounded by the host cap.
    """

    def __init__(
        self,
        decode: Decoder,
        in_scope: Callable[[str], bool],
        *,
        max_datagram: int = MAX_DATAGRAM,
        per_host: int = PER_HOST,
        max_hosts: int = caps.UDP_HOSTS,
        parse_budget: int = caps.UDP_PARSE_BYTES_PER_HOST,
        total_budget: int = caps.UDP_PARSE_BYTES_TOTAL,
    ) -> None:
        self.decode = decode
        self.in_scope = in_scope
        self.max_datagram = max_datagram
        self.per_host = per_host
        self.max_hosts = max_hosts
        self.parse_budget = parse_budget
        self.total_budget = total_budget
        self.own: set[tuple[str, int]] = set()  # our sockets' addresses: what they send is an echo
        self.replies: dict[str, list[tuple[Observation, ...]]] = {}
        self.received = 0
        self.reasons: Counter[str] = Counter()
        self.parsed: dict[str, int] = {}  # bytes charged per source (at most max_hosts sources)
        self.parsed_total = 0
        self.capped: set[str] = set()  # sources that used up their share (a subset of `parsed`)
        # Told of every datagram kept, as it is kept: a reply makes its host alive during the scan.
        self.on_accept: Callable[[str, tuple[Observation, ...]], None] | None = None

    def _drop(self, reason: str) -> None:
        self.reasons[reason] += 1

    def _admit(self, ip: str, size: int) -> str | None:
        """Why a datagram from ip must not be parsed (a cap), or None after charging it to ip's budget."""
        kept = self.replies.get(ip)
        spent = self.parsed.get(ip)
        charge = max(size, caps.UDP_PARSE_CHARGE)
        if (kept is not None and len(kept) >= self.per_host) or (spent or 0) + charge > self.parse_budget:
            self.capped.add(ip)
            return "host-cap"
        if spent is None and len(self.parsed) >= self.max_hosts:
            return "hosts-cap"
        if self.parsed_total + charge > self.total_budget:
            return "total-cap"
        self.parsed[ip] = (spent or 0) + charge
        self.parsed_total += charge
        return None

    def feed(self, data: bytes, addr: tuple[str, int]) -> None:
        """Weigh one datagram from addr; never raises (a bad datagram is counted, not fatal)."""
        self.received += 1
        ip = addr[0]
        if ip in self.capped:  # first and cheapest: a flooder's datagrams cost one set lookup each
            return self._drop("host-cap")
        if len(data) > self.max_datagram:
            return self._drop("oversized")
        if (ip, addr[1]) in self.own:
            return self._drop("own-echo")
        try:
            wanted = self.in_scope(ip)
        except Exception:  # a broken scope check must not let anything through
            wanted = False
        if not wanted:
            return self._drop("out-of-scope")
        cap = self._admit(ip, len(data))
        if cap is not None:
            return self._drop(cap)  # checked before parsing: a flood costs no parsing
        try:
            found = self.decode(data, ip)
        except Reject as exc:
            return self._drop(exc.reason)
        except (ValueError, RecursionError):
            return self._drop("malformed")
        except Exception:  # a parser bug: keep scanning, say so in the counts
            log.exception("decoder failed on a datagram from %s", ip)
            return self._drop("decoder-error")
        if not found:
            return self._drop("empty")
        self.replies.setdefault(ip, []).append(found)
        if self.on_accept is not None:
            self.on_accept(ip, found)

    @property
    def rejected(self) -> int:
        """Datagrams dropped for any reason."""
        return sum(self.reasons.values())

    def observations(self) -> dict[str, tuple[Observation, ...]]:
        """Per host: the observations of every kept datagram, duplicates removed, capped."""
        out: dict[str, tuple[Observation, ...]] = {}
        for ip, datagrams in self.replies.items():
            merged = dict.fromkeys(obs for datagram in datagrams for obs in datagram)
            out[ip] = tuple(merged)[:MAX_OBSERVATIONS]
        return out


def _reader(sock: socket.socket, collector: Collector) -> Callable[[], None]:
    size = collector.max_datagram + 1  # one byte more than allowed reveals an oversized datagram

    def on_readable() -> None:
        for _ in range(READ_BURST):
            try:
                data, addr = sock.recvfrom(size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. an ICMP-reported error; the next datagram may be fine
                continue
            collector.feed(data, addr)

    return on_readable


def _is_unicast(text: str) -> bool:
    try:
        addr = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return not (addr.is_multicast or addr.is_unspecified or addr.is_reserved)


class Session:
    """One discovery protocol's sockets for a whole scan: the group asked once per segment at the start, each
    address asked when the scan reaches it, replies kept (and reported to `on_reply`) as they come."""

    def __init__(
        self,
        ctx: ScanContext,
        probe: str,
        channel: Channel,
        payloads: Sequence[bytes],
        collector: Collector,
        *,
        liveness: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.probe = probe
        self.channel = channel
        self.payloads = tuple(payloads)
        # The first `liveness` payloads are what an address not yet known to be alive is asked (a typed
        # WS-Discovery Probe, not also the untyped one); the rest only go to hosts found alive.
        self.liveness = len(self.payloads) if liveness is None else liveness
        self.collector = collector
        self.loop = asyncio.get_running_loop()
        self.started = time.monotonic()
        self.sockets: list[socket.socket] = []
        self.infos: list[SocketInfo] = []
        self.errors: list[str] = []
        self.sent = 0
        self.send_errors = 0
        self.attempted = 0
        self.last_send = 0.0
        self._unicast: socket.socket | None = None
        self._unicast_failed = False
        self._skipped = 0
        # One send at a time: when a socket's buffer is full, asyncio's sock_sendto waits by add_writer on
        # the socket's fd, and a second waiter's add_writer replaces the first's, which then never wakes
        # (CPython 3.11 Lib/asyncio/selector_events.py, sock_sendto). Hosts asked at once would hang.
        self._sending = asyncio.Lock()

    def result(self, status: Status = Status.OK, error: str | None = None) -> SegmentResult:
        """What this session heard so far, as a segment result."""
        if error is None:
            error = _summary(self.errors, self.send_errors, self.attempted)
        return SegmentResult(
            probe=self.probe,
            status=status,
            replies=self.collector.observations(),
            error=error,
            elapsed=time.monotonic() - self.started,
            sent=self.sent,
            received=self.collector.received,
            rejected=self.collector.rejected,
        )

    def run_info(self) -> RunInfo:
        """The sockets used and why datagrams were dropped."""
        return RunInfo(tuple(self.infos), tuple(self.collector.reasons.most_common()), self.send_errors)

    def _watch(self, opened: tuple[socket.socket, SocketInfo]) -> socket.socket:
        sock, info = opened
        self.sockets.append(sock)
        self.infos.append(info)
        self.collector.own.add(_local(sock))
        self.loop.add_reader(sock.fileno(), _reader(sock, self.collector))
        log.debug("udp %s socket %s rcvbuf %d", info.role, info.local, info.rcvbuf)
        return sock

    def close(self) -> None:
        """Stop listening and close every socket (safe to call twice)."""
        for sock in self.sockets:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(sock.fileno())
            sock.close()
        self.sockets.clear()

    async def _send(self, sock: socket.socket, payload: bytes, dest: tuple[str, int], urgent: bool) -> None:
        await self.ctx.limits.rate.acquire(urgent=urgent)
        self.attempted += 1
        try:
            async with self._sending:
                await self.loop.sock_sendto(sock, payload, dest)
        except OSError as exc:
            self.send_errors += 1
            if len(self.errors) < 3:
                self.errors.append(f"send to {dest[0]}:{dest[1]}: {exc.strerror or exc}")
        else:
            self.sent += 1
            self.last_send = time.monotonic()

    async def multicast(self, segment: Segment) -> None:
        """Ask the group on one segment (every payload) and listen there."""
        group = self.channel.group
        if group is None:
            return
        try:
            sock = self._watch(open_multicast(segment))
        except OSError as exc:
            self.errors.append(f"segment {segment.iface or segment.source}: {exc.strerror or exc}")
            return
        if self.channel.listen_group:
            try:
                self._watch(open_group_listener(segment, group, self.channel.port))
            except OSError as exc:  # answers to us still arrive; answers to the group will not
                log.debug("no group listener on %s: %s", segment.source, exc)
        dest = (group, self.ctx.real_port(self.channel.port))
        for payload in self.payloads:
            await self._send(sock, payload, dest, urgent=True)

    def _unicast_socket(self) -> socket.socket | None:
        if self._unicast is None and not self._unicast_failed:
            try:
                self._unicast = self._watch(open_unicast())
            except OSError as exc:
                self._unicast_failed = True
                self.errors.append(f"unicast socket: {exc.strerror or exc}")
        return self._unicast

    async def ask(self, ip: str, *, first: bool = True, rest: bool = True, urgent: bool = False) -> None:
        """Send one address the liveness payloads (`first`) and/or the others (`rest`)."""
        head, tail = self.payloads[: self.liveness], self.payloads[self.liveness :]
        chosen = (head if first else ()) + (tail if rest else ())
        if not chosen:
            return
        if not _is_unicast(ip):  # never a host name (a DNS query), a group or a broadcast address
            self._skipped += 1
            if self._skipped == 1:
                self.errors.append(f"unicast entries skipped, not a unicast IPv4 address: {ip[:60]!r}")
            return
        sock = self._unicast_socket()
        if sock is None:
            return
        port = self.ctx.real_port(self.channel.port)
        for payload in chosen:
            await self._send(sock, payload, (ip, port), urgent=urgent)


def _summary(errors: Sequence[str], send_errors: int, attempted: int) -> str | None:
    if not errors:
        return None
    head = "; ".join(errors)
    if send_errors:
        head = f"{send_errors} of {attempted} sends failed: {head}"
    return head[:500]


async def exchange(
    ctx: ScanContext,
    probe: str,
    channel: Channel,
    payloads: Sequence[bytes],
    decode: Decoder,
    segments: Sequence[Segment],
    unicast: Sequence[str],
    in_scope: Callable[[str], bool],
    wait: float,
    *,
    per_host: int = PER_HOST,
    on_start: Callable[[Session], None] | None = None,
) -> tuple[SegmentResult, RunInfo]:
    """Send payloads to the group on each segment and to each unicast address, then collect for `wait` s.

    `on_start` gets the live session, so a caller cut short (the scan deadline) can still read what it heard.
    """
    collector = Collector(decode, in_scope, max_datagram=channel.max_datagram, per_host=per_host)
    multicast_segments = list(segments) if channel.group else []
    if not payloads or not (multicast_segments or unicast):
        nothing = "no segment to multicast on and no unicast target"
        return SegmentResult(probe, Status.SKIPPED, error=nothing), RunInfo()
    session = Session(ctx, probe, channel, payloads, collector)
    if on_start is not None:
        on_start(session)
    status, error = Status.OK, None
    try:
        for segment in multicast_segments:
            await session.multicast(segment)
        for ip in unicast:
            await session.ask(ip)
        if session.sent:
            await asyncio.sleep(max(0.0, wait))
        if not session.sent:
            status, error = Status.ERROR, _summary(session.errors, 0, 0) or "nothing could be sent"
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a segment probe never raises: the scan goes on without it
        log.exception("%s exchange failed", probe)
        status, error = Status.ERROR, f"{type(exc).__name__}: {exc}"[:500]
    finally:
        session.close()
    return session.result(status, error), session.run_info()


class DatagramProbe:
    """Base of the UDP segment probes: a channel, fresh payloads per run, and a datagram decoder."""

    name: ClassVar[str]
    channel: ClassVar[Channel]
    per_host: ClassVar[int] = PER_HOST
    # How many of the payloads go to an address before it is known to be alive (the rest wait until it is).
    liveness_payloads: ClassVar[int] = 1

    def __init__(self) -> None:
        self.last_run: RunInfo = RunInfo()
        self._live: Session | None = None

    def _started(self, session: Session) -> None:
        self._live = session

    def partial(self) -> SegmentResult:
        """What a run cut short (cancelled by the scan deadline or a signal) had heard by then."""
        if self._live is None:
            return SegmentResult(self.name, Status.SKIPPED, error=CUT_SHORT_BEFORE_START)
        return self._live.result(Status.TIMEOUT, CUT_SHORT)

    def session(
        self,
        ctx: ScanContext,
        in_scope: Callable[[str], bool],
        on_reply: Callable[[str, tuple[Observation, ...]], None] | None = None,
        addresses: int = 0,
    ) -> Session:
        """A session for a whole scan over `addresses` targets (asked one by one as the pipeline reaches
        them): its host and parse caps grow with the range, within caps.UDP_HOSTS_SCAN."""
        payloads, decode = self.conversation()
        hosts = min(max(caps.UDP_HOSTS, addresses), caps.UDP_HOSTS_SCAN)
        total = max(caps.UDP_PARSE_BYTES_TOTAL, hosts * caps.UDP_PARSE_BYTES_PER_HOST_SCAN)
        collector = Collector(
            decode,
            in_scope,
            max_datagram=self.channel.max_datagram,
            per_host=self.per_host,
            max_hosts=hosts,
            total_budget=total,
        )
        collector.on_accept = on_reply
        session = Session(ctx, self.name, self.channel, payloads, collector, liveness=self.liveness_payloads)
        self._live = session
        return session

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """The payloads to send and the decoder for their answers (new request ids each run)."""
        raise NotImplementedError

    async def run(
        self,
        ctx: ScanContext,
        segments: Sequence[Segment],
        unicast: Sequence[str],
        in_scope: Callable[[str], bool],
        wait: float,
    ) -> SegmentResult:
        """Multicast on each segment, unicast to each address, and return what in-scope hosts said."""
        try:
            payloads, decode = self.conversation()
        except Exception as exc:
            return SegmentResult(self.name, Status.ERROR, error=f"cannot build the request: {exc}"[:500])
        result, self.last_run = await exchange(
            ctx,
            self.name,
            self.channel,
            payloads,
            decode,
            segments,
            unicast,
            in_scope,
            wait,
            per_host=self.per_host,
            on_start=self._started,
        )
        return result
