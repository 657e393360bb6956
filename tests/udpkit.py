"""Kit for the UDP discovery-probe tests: fake devices on 127.x addresses (FakeDevices) and run_in_netns,
which runs a coroutine on a thread that has entered a namespace (tests.labkit's `netns` fixture), so
multicast never leaves it."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import random
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from camscan.context import ScanContext
from camscan.limits import Limits
from camscan.models import Segment, SegmentResult
from camscan.probes.udp import DatagramProbe

T = TypeVar("T")
Handler = Callable[[bytes, str], Sequence[bytes]]  # (request, device ip) -> reply datagrams
LO = Segment(iface=None, source="127.0.0.1", network="127.0.0.0/8")
CLONE_NEWNET = 0x40000000


# --- test kit


@dataclass
class FakeDevice:
    """One simulated device: its own loopback address, a reply rule and what it was sent."""

    ip: str
    handler: Handler
    to_group: bool = False  # answer to group:port (as some SADP/DHIP firmware does) instead of the asker
    delay: float = 0.0
    seen: list[bytes] = field(default_factory=list)


class FakeDevices:
    """Fake devices on loopback sharing one UDP port; a hub on the group when multicast is simulated."""

    def __init__(self, port: int = 0, group: str | None = None) -> None:
        self.port = port
        self.group = group
        self.devices: list[FakeDevice] = []
        self._socks: list[socket.socket] = []

    def add(self, ip: str, handler: Handler, *, to_group: bool = False, delay: float = 0.0) -> FakeDevice:
        device = FakeDevice(ip, handler, to_group, delay)
        self.devices.append(device)
        return device

    def _open(self, host: str, *, reuse: bool = False) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        sock.bind((host, self.port))
        self.port = sock.getsockname()[1]
        sock.setblocking(False)
        self._socks.append(sock)
        return sock

    def _answer(self, sock: socket.socket, device: FakeDevice, data: bytes, asker: tuple[str, int]) -> None:
        device.seen.append(data)
        dest = (self.group, self.port) if device.to_group and self.group else asker

        def send() -> None:
            for reply in device.handler(data, device.ip):
                with contextlib.suppress(BlockingIOError):
                    sock.sendto(reply, dest)

        if device.delay:
            asyncio.get_running_loop().call_later(device.delay, send)
        else:
            send()

    async def start(self) -> int:
        """Bind every device (and the group hub); returns the shared port."""
        loop = asyncio.get_running_loop()
        by_sock: list[tuple[socket.socket, FakeDevice]] = []
        for device in self.devices:
            sock = self._open(device.ip)
            if self.group:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
            by_sock.append((sock, device))

            def on_unicast(sock: socket.socket = sock, device: FakeDevice = device) -> None:
                with contextlib.suppress(BlockingIOError):
                    while True:
                        data, asker = sock.recvfrom(65536)
                        self._answer(sock, device, data, asker)

            loop.add_reader(sock.fileno(), on_unicast)
        if self.group:
            hub = self._open(self.group, reuse=True)
            mreq = socket.inet_aton(self.group) + socket.inet_aton("127.0.0.1")
            hub.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)

            def on_group() -> None:
                with contextlib.suppress(BlockingIOError):
                    while True:
                        data, asker = hub.recvfrom(65536)
                        if asker[0] in {d.ip for d in self.devices}:
                            continue  # a device's own answer to the group
                        for sock, device in by_sock:
                            self._answer(sock, device, data, asker)

            loop.add_reader(hub.fileno(), on_group)
        return self.port

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._socks:
            loop.remove_reader(sock.fileno())
            sock.close()
        self._socks.clear()


@contextlib.asynccontextmanager
async def scan_context(
    port_map: Mapping[int, int] | None = None, rate: float = 5000.0
) -> AsyncIterator[ScanContext]:
    """A ScanContext for a test (its httpx client is never used by UDP probes)."""
    async with httpx.AsyncClient() as http:
        yield ScanContext(http=http, limits=Limits(rate=rate), port_map=dict(port_map or {}))


def loopback_base() -> str:
    """A random 127.a.b. prefix (outside the lab kit's range), so parallel runs do not clash."""
    return f"127.{random.randint(20, 90)}.{random.randint(0, 255)}."


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


def run_in_netns(ns: str, factory: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run factory() on its own event loop, on a thread inside namespace ns (the thread then ends)."""
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            _setns(f"/run/netns/{ns}")
            values.append(asyncio.run(_wrap(factory)))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"in-{ns}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"netns scenario still running after {timeout}s")
    if errors:
        raise errors[0]
    return values[0]


async def _wrap(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def in_prefix(prefix: str) -> Callable[[str], bool]:
    """A scope that accepts one address prefix."""
    return lambda ip: ip.startswith(prefix)


async def unicast_run(
    lab: FakeDevices,
    probe: DatagramProbe,
    port: int,
    targets: Sequence[str],
    in_scope: Callable[[str], bool],
    wait: float = 0.3,
) -> SegmentResult:
    """Start the fake devices, run `probe` unicast to `targets` (its `port` mapped to the lab's), close."""
    real = await lab.start()
    try:
        async with scan_context({port: real}) as ctx:
            return await probe.run(ctx, [], targets, in_scope, wait)
    finally:
        lab.close()
