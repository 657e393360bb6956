"""UDP discovery responders: one socket per (device, protocol), replies unicast to the sender.

Namespace lab (``ifname`` given): the socket is bound to 0.0.0.0:<port> with SO_BINDTODEVICE=<macvlan>,
IP_MULTICAST_ALL=0 and IP_ADD_MEMBERSHIP (mreqn with the ifindex) for the protocol's group (lab-notes
§4.1 design b), so it sees unicast to the device, the group and broadcasts on its own macvlan only.
IP_PKTINFO tells a group/broadcast probe (answered after 0-100 ms of jitter, as devices do) from a unicast
one (answered at once), and pins the reply's source address to the device's own. Loopback lab: bound to
<device ip>:<port>, unicast only (never multicast in the host namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Collection
from dataclasses import dataclass

from camlab.datagrams import Answer, answer_dhip, answer_dvrip, answer_sadp, answer_wsd
from camlab.plan import LabDevice, LabError
from camlab.ssdp import answer_ssdp

log = logging.getLogger(__name__)
IP_MULTICAST_ALL: int = getattr(socket, "IP_MULTICAST_ALL", 49)  # linux/in.h; Python 3.11 lacks it
IP_PKTINFO: int = getattr(socket, "IP_PKTINFO", 8)  # linux/in.h; missing from the type stubs
MAX_DATAGRAM = 64 * 1024
BATCH = 64  # datagrams read per wake-up, so one busy socket cannot starve the others
MAX_PENDING = 256  # delayed replies queued per socket; more are dropped
JITTER = 0.1  # seconds: the upper bound of the random delay before answering a group probe
RCVBUF = 1 << 20
_PKTINFO = struct.Struct("=I4s4s")  # struct in_pktinfo: ifindex, spec_dst, addr


@dataclass(frozen=True, slots=True)
class UdpProtocol:
    """A discovery protocol the lab answers: channel name, UDP port, multicast group, answer function."""

    channel: str
    port: int
    group: str | None  # None: broadcast / unicast only
    answer: Answer


PROTOCOLS: tuple[UdpProtocol, ...] = (
    UdpProtocol("wsdiscovery", 3702, "239.255.255.250", answer_wsd),
    UdpProtocol("sadp", 37020, "239.255.255.250", answer_sadp),
    UdpProtocol("dhip", 37810, "239.255.255.251", answer_dhip),
    UdpProtocol("dvrip", 5050, None, answer_dvrip),
    UdpProtocol("ssdp", 1900, "239.255.255.250", answer_ssdp),
)
BY_CHANNEL = {p.channel: p for p in PROTOCOLS}


@dataclass(slots=True)
class UdpStats:
    """Datagram counters across every responder."""

    received: int = 0
    replies: int = 0
    garbage: int = 0  # malformed, oversized or not a request we know
    dropped: int = 0  # replies not sent: queue full or the kernel refused
    internal_errors: int = 0


def protocols_for(device: LabDevice) -> list[UdpProtocol]:
    """The UDP protocols this device answers."""
    names = set(device.persona.channels.names)
    return [p for p in PROTOCOLS if p.channel in names]


class UdpResponder:
    """Answers one protocol for one device; never raises out of the event loop."""

    def __init__(
        self,
        device: LabDevice,
        proto: UdpProtocol,
        stats: UdpStats,
        *,
        ifname: str | None = None,
        ignore: Collection[str] = (),
        jitter: float = JITTER,
    ) -> None:
        self.device = device
        self.proto = proto
        self.stats = stats
        self.ifname = ifname
        self.ignore = ignore  # lab device addresses: never answer another simulated device
        self.jitter = jitter
        self.sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[asyncio.TimerHandle] = set()

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Create and bind the socket and start reading; LabError when the address or port is taken."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            if self.ifname is None:
                sock.bind((self.device.ip, self.proto.port))
            else:
                self._bind_to_device(sock)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            where = f"{self.device.ip}:{self.proto.port}/udp" + (f" on {self.ifname}" if self.ifname else "")
            why = exc.strerror or exc
            raise LabError(f"cannot listen on {where} ({self.proto.channel}): {why}") from None
        self.sock = sock
        self._loop = loop
        loop.add_reader(sock.fileno(), self._readable)

    def _bind_to_device(self, sock: socket.socket) -> None:
        if self.ifname is None:
            raise RuntimeError("no interface to bind to")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.ifname.encode())
        sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        # inside the device's own namespace: it must hear unicast and multicast alike (IP_PKTINFO tells which)
        sock.bind(("0.0.0.0", self.proto.port))  # noqa: S104
        if self.proto.group is not None:
            group, local = socket.inet_aton(self.proto.group), socket.inet_aton(self.device.ip)
            mreqn = struct.pack("=4s4si", group, local, socket.if_nametoindex(self.ifname))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)

    def close(self) -> None:
        """Stop reading, cancel queued replies and close the socket."""
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        if self.sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def _readable(self) -> None:
        for _ in range(BATCH):
            if self.sock is None:
                return
            try:
                data, ancdata, flags, addr = self.sock.recvmsg(MAX_DATAGRAM, socket.CMSG_SPACE(_PKTINFO.size))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. an ICMP error queued on the socket
                self.stats.dropped += 1
                continue
            self.stats.received += 1
            try:
                self._datagram(data, ancdata, flags, addr)
            except ValueError:
                self.stats.garbage += 1
            except Exception:
                self.stats.internal_errors += 1
                log.exception("lab UDP responder bug: %s %s", self.device.persona.id, self.proto.channel)

    def _to_group(self, ancdata: list[tuple[int, int, bytes]]) -> bool:
        for level, kind, payload in ancdata:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(payload) >= _PKTINFO.size:
                return socket.inet_ntoa(_PKTINFO.unpack_from(payload)[2]) != self.device.ip
        return False

    def _datagram(
        self, data: bytes, ancdata: list[tuple[int, int, bytes]], flags: int, addr: tuple[str, int]
    ) -> None:
        if flags & socket.MSG_TRUNC:
            raise ValueError("datagram over the size cap")
        if addr[0] in self.ignore or addr[1] == 0:
            return
        replies = self.proto.answer(self.device, data)
        if not replies:
            return
        if self._to_group(ancdata) and self.jitter > 0 and self._loop is not None:
            if len(self._pending) >= MAX_PENDING:
                self.stats.dropped += len(replies)
                return
            self._later(random.uniform(0, self.jitter), replies, addr)  # noqa: S311 -- reply timing, not a secret
            return
        self._send(replies, addr)

    def _later(self, delay: float, replies: list[bytes], addr: tuple[str, int]) -> None:
        if self._loop is None:
            raise RuntimeError("the responder is not running")

        def fire() -> None:
            self._pending.discard(handle)
            self._send(replies, addr)

        handle = self._loop.call_later(delay, fire)
        self._pending.add(handle)

    def _send(self, replies: list[bytes], addr: tuple[str, int]) -> None:
        if self.sock is None:
            return
        for payload in replies:
            try:
                if self.ifname is None:
                    self.sock.sendto(payload, addr)
                else:
                    info = _PKTINFO.pack(0, socket.inet_aton(self.device.ip), bytes(4))
                    self.sock.sendmsg([payload], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, addr)
                self.stats.replies += 1
            except OSError:
                self.stats.dropped += 1
