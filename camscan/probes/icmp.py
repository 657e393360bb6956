"""ICMP echo for liveness: one socket for the whole sweep, raw as root, a ping socket otherwise.

We build the 24-byte echo request ourselves (camscan.parse.icmp) rather than use icmplib: its asyncio
receive returns replies without the address that sent them (icmplib 3.0.4, sockets.py, AsyncSocket.receive),
which a sweep needs above all, and its send resolves every destination with getaddrinfo and sets the TTL with
two setsockopt calls per packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass

from camscan.parse.icmp import IcmpParseError, echo_reply, echo_request

READ_BURST = 256  # replies read per wake-up
MAX_PACKET = 2048  # an echo reply to our 16-byte payload is far smaller; anything longer is cut
RCVBUF = 4 * 1024 * 1024  # replies to thousands of pings a second must not overflow the default buffer
PING_GROUP_RANGE = "/proc/sys/net/ipv4/ping_group_range"


class IcmpUnavailable(OSError):
    """Neither a raw ICMP socket nor an unprivileged ping socket can be opened; str() says why."""


@dataclass(slots=True)
class EchoStats:
    """What the echo sweep sent and heard."""

    sent: int = 0
    received: int = 0  # echo replies from target addresses
    rejected: int = 0  # other ICMP (errors, foreign replies), out-of-scope sources
    send_errors: int = 0


def ping_socket_allowed(path: str = PING_GROUP_RANGE) -> bool:
    """Whether net.ipv4.ping_group_range lets this process's group open an unprivileged ping socket."""
    try:
        with open(path, encoding="ascii") as fh:
            low, high = (int(x) for x in fh.read(64).split()[:2])
    except (OSError, ValueError):
        return False
    return any(low <= gid <= high for gid in {os.getegid(), *os.getgroups()})


def _open() -> tuple[socket.socket, bool]:
    """(socket, privileged): raw when we may, else a ping socket, else IcmpUnavailable with the reason."""
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), True
    except PermissionError:
        pass
    if not ping_socket_allowed():
        raise IcmpUnavailable(
            "ICMP echo needs root (raw socket) or a group within net.ipv4.ping_group_range (ping socket)"
        )
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP), False
    except OSError as exc:
        raise IcmpUnavailable(f"cannot open a ping socket: {exc.strerror or exc}") from None


class EchoSweep:
    """Sends echo requests to many addresses from one socket and reports each address that answers."""

    def __init__(self, in_scope: Callable[[str], bool], on_reply: Callable[[str], None]) -> None:
        self.in_scope = in_scope
        self.on_reply = on_reply
        self.stats = EchoStats()
        self.ident = secrets.randbelow(0xFFFF) + 1
        self._sock: socket.socket | None = None
        self._privileged = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sequence = 0

    @property
    def mode(self) -> str:
        """ "raw" (root or CAP_NET_RAW) or "unprivileged" (a ping socket)."""
        return "raw" if self._privileged else "unprivileged"

    def open(self) -> None:
        """Open the socket and start reading replies (raises IcmpUnavailable)."""
        sock, self._privileged = _open()
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)

    def send(self, ip: str) -> bool:
        """One echo request to ip (the caller has the rate token); False when the kernel refused it."""
        if self._sock is None:
            return False
        self._sequence = (self._sequence + 1) & 0xFFFF
        try:
            self._sock.sendto(echo_request(self.ident, self._sequence), (ip, 0))
        except OSError:  # no route, a full buffer: this address gets no ping, the other checks still run
            self.stats.send_errors += 1
            return False
        self.stats.sent += 1
        return True

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(READ_BURST):
            try:
                data, addr = sock.recvfrom(MAX_PACKET)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._feed(data, str(addr[0]))

    def _feed(self, data: bytes, source: str) -> None:
        try:
            ident, _seq = echo_reply(data, with_ip_header=self._privileged)
            ipaddress.IPv4Address(source)
        except (IcmpParseError, ValueError):
            self.stats.rejected += 1
            return
        # A raw socket hears every ICMP packet of the host: only replies to our identifier are ours. A ping
        # socket's identifier is set by the kernel, which already delivers only our replies.
        if (self._privileged and ident != self.ident) or not self.in_scope(source):
            self.stats.rejected += 1
            return
        self.stats.received += 1
        self.on_reply(source)

    def close(self) -> None:
        """Stop reading and close the socket (safe to call twice)."""
        if self._sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
