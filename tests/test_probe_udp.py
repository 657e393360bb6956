"""probes/udp.py: paced sends, replies kept by source, caps, echoes and scope, on loopback and in a netns."""

# Also the kit the other UDP probe tests import: fake devices on 127.x addresses (FakeDevices), a
# throw-away network namespace (throwaway_netns / the netns fixture) and run_in_netns, which runs a
# coroutine on a thread that has entered that namespace, so multicast never leaves it.

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import random
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import httpx
import pytest

from camscan.context import ScanContext
from camscan.limits import Limits
from camscan.models import Observation, Segment, SegmentResult
from camscan.probes.udp import RCVBUF, Channel, DatagramProbe, Decoder, Reject, RunInfo
from camscan.status import Status
from tests.labkit import require_netns

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


@contextlib.contextmanager
def throwaway_netns() -> Iterator[str]:
    """A new network namespace with only lo (up), removed on exit; skips (fails under CI) when impossible."""
    require_netns()
    name = f"csudp-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        reason = f"cannot create a network namespace: {made.stderr.strip()}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.fixture
def netns() -> Iterator[str]:
    """A throw-away network namespace for one test."""
    with throwaway_netns() as name:
        yield name


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


# --- a toy protocol

TOY_PORT = 39999
TOY_GROUP = "239.255.255.250"


def toy_decode(data: bytes, source: str) -> tuple[Observation, ...]:
    if data.startswith(b"WHO?"):
        raise Reject("echo", "a request, not an answer")
    if not data.startswith(b"I AM "):
        raise ValueError("not a toy answer")
    return (Observation("toy", "toy.name", data[5:].decode("utf-8", "replace"), TOY_PORT),)


class ToyProbe(DatagramProbe):
    name: ClassVar[str] = "toy"
    channel: ClassVar[Channel] = Channel(TOY_PORT, TOY_GROUP, max_datagram=1024)

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        return (b"WHO?",), toy_decode


class GroupToyProbe(ToyProbe):
    channel: ClassVar[Channel] = Channel(TOY_PORT, TOY_GROUP, listen_group=True, max_datagram=1024)


def says(name: str) -> Handler:
    return lambda data, ip: [f"I AM {name}".encode()] if data == b"WHO?" else []


def in_prefix(prefix: str) -> Callable[[str], bool]:
    return lambda ip: ip.startswith(prefix)


# --- loopback unicast


async def test_replies_are_kept_by_the_replying_source_address() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", says("one"))
    lab.add(base + "2", says("two"))
    port = await lab.start()
    try:
        async with scan_context({TOY_PORT: port}) as ctx:
            probe = ToyProbe()
            result = await probe.run(ctx, [], [base + "1", base + "2", base + "3"], in_prefix(base), 0.3)
    finally:
        lab.close()
    assert result.status is Status.OK and result.error is None
    assert result.sent == 3 and result.received == 2 and result.rejected == 0
    assert result.replies == {
        base + "1": (Observation("toy", "toy.name", "one", TOY_PORT),),
        base + "2": (Observation("toy", "toy.name", "two", TOY_PORT),),
    }
    assert [s.role for s in probe.last_run.sockets] == ["unicast"]


async def test_sends_are_paced_by_the_scan_rate_limit() -> None:
    base = loopback_base()
    async with scan_context(rate=50.0) as ctx:  # burst 5, then 50 per second
        start = time.monotonic()
        result = await ToyProbe().run(ctx, [], [base + str(n) for n in range(1, 21)], in_prefix(base), 0.0)
    assert result.sent == 20
    assert time.monotonic() - start >= 0.25


async def test_a_late_answer_counts_only_within_the_wait_after_the_last_send() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", says("slow"), delay=0.4)
    port = await lab.start()
    try:
        async with scan_context({TOY_PORT: port}) as ctx:
            short = await ToyProbe().run(ctx, [], [base + "1"], in_prefix(base), 0.1)
            await asyncio.sleep(0.5)  # let the late answer to the first probe land on a closed socket
            long = await ToyProbe().run(ctx, [], [base + "1"], in_prefix(base), 0.8)
    finally:
        lab.close()
    assert short.replies == {} and short.status is Status.OK
    assert list(long.replies) == [base + "1"]
    assert 0.8 <= long.elapsed < 2.0


async def test_attack_reply_flood_from_one_host_is_capped() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", lambda data, ip: [f"I AM flood {n}".encode() for n in range(500)])
    lab.add(base + "2", says("quiet"))
    port = await lab.start()
    try:
        async with scan_context({TOY_PORT: port}) as ctx:
            probe = ToyProbe()
            result = await probe.run(ctx, [], [base + "1", base + "2"], in_prefix(base), 0.5)
    finally:
        lab.close()
    assert len(result.replies[base + "1"]) == 8  # one observation per kept datagram
    assert result.replies[base + "2"] == (Observation("toy", "toy.name", "quiet", TOY_PORT),)
    assert result.received >= 400
    assert result.rejected == result.received - 9 == probe.last_run.dropped("host-cap")


async def test_attack_oversized_datagram_is_dropped() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", lambda data, ip: [b"I AM " + b"x" * 5000, b"I AM small"])
    port = await lab.start()
    try:
        async with scan_context({TOY_PORT: port}) as ctx:
            probe = ToyProbe()  # 1024-byte cap
            result = await probe.run(ctx, [], [base + "1"], in_prefix(base), 0.3)
    finally:
        lab.close()
    assert result.replies == {base + "1": (Observation("toy", "toy.name", "small", TOY_PORT),)}
    assert probe.last_run.dropped("oversized") == 1


async def test_attack_reply_from_out_of_scope_source_is_not_recorded() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", says("wanted"))
    lab.add(base + "9", says("stranger"))
    port = await lab.start()
    try:
        async with scan_context({TOY_PORT: port}) as ctx:
            probe = ToyProbe()
            result = await probe.run(ctx, [], [base + "1", base + "9"], lambda ip: ip == base + "1", 0.3)
    finally:
        lab.close()
    assert list(result.replies) == [base + "1"]
    assert result.received == 2 and result.rejected == 1 == probe.last_run.dropped("out-of-scope")


async def test_garbage_and_a_crashing_decoder_are_counted_not_raised() -> None:
    base = loopback_base()

    def decode(data: bytes, source: str) -> tuple[Observation, ...]:
        if data == b"boom":
            raise RuntimeError("parser bug")
        return toy_decode(data, source)

    class Fragile(ToyProbe):
        def conversation(self) -> tuple[Sequence[bytes], Decoder]:
            return (b"WHO?",), decode

    lab = FakeDevices()
    lab.add(base + "1", lambda data, ip: [b"boom", b"\x00\xffjunk", b"WHO?", b"I AM fine"])
    port = await lab.start()
    try:
        async with scan_context({TOY_PORT: port}) as ctx:
            probe = Fragile()
            result = await probe.run(ctx, [], [base + "1"], in_prefix(base), 0.3)
    finally:
        lab.close()
    assert result.status is Status.OK
    assert result.replies == {base + "1": (Observation("toy", "toy.name", "fine", TOY_PORT),)}
    drops = probe.last_run
    assert (drops.dropped("decoder-error"), drops.dropped("malformed"), drops.dropped("echo")) == (1, 1, 1)


async def test_nothing_to_probe_is_skipped_without_sending() -> None:
    async with scan_context() as ctx:
        result = await ToyProbe().run(ctx, [], [], lambda ip: True, 5.0)
    assert result.status is Status.SKIPPED and result.sent == 0 and result.elapsed < 1.0
    assert result.error and "no unicast target" in result.error


async def test_bad_unicast_entries_are_never_sent_to() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", says("real"))
    port = await lab.start()
    bad = ["255.255.255.255", "239.255.255.250", "0.0.0.0", "camera.example", "300.1.1.1"]
    try:
        async with scan_context({TOY_PORT: port}) as ctx:
            result = await ToyProbe().run(ctx, [], [*bad, base + "1"], in_prefix(base), 0.3)
    finally:
        lab.close()
    assert result.sent == 1 and list(result.replies) == [base + "1"]
    assert result.status is Status.OK and result.error and "not a unicast IPv4 address" in result.error


async def test_a_segment_that_cannot_be_used_is_an_error_not_an_exception() -> None:
    # 192.0.2.1 is not ours: bind() fails before anything could be sent.
    segment = Segment(iface=None, source="192.0.2.1")
    async with scan_context() as ctx:
        alone = await ToyProbe().run(ctx, [segment], [], lambda ip: True, 0.1)
        base = loopback_base()
        mixed = await ToyProbe().run(ctx, [segment], [base + "1"], in_prefix(base), 0.1)
    assert alone.status is Status.ERROR and alone.sent == 0
    assert alone.error and "192.0.2.1" in alone.error
    assert mixed.status is Status.OK and mixed.sent == 1
    assert mixed.error and "192.0.2.1" in mixed.error


async def test_the_receive_buffer_granted_is_reported() -> None:
    async with scan_context() as ctx:
        probe = ToyProbe()
        await probe.run(ctx, [], [loopback_base() + "1"], lambda ip: True, 0.0)
    (info,) = probe.last_run.sockets
    assert info.rcvbuf > 0
    if os.geteuid() == 0:  # SO_RCVBUFFORCE: the kernel reports twice the size it books
        assert info.rcvbuf >= RCVBUF


# --- netns multicast


def test_multicast_reaches_the_group_and_our_own_echo_is_skipped(netns: str) -> None:
    async def scenario() -> tuple[SegmentResult, RunInfo, list[int]]:
        lab = FakeDevices(TOY_PORT, TOY_GROUP)
        for n in range(1, 4):
            lab.add(f"127.0.1.{n}", says(f"cam{n}"))
        await lab.start()
        try:
            async with scan_context() as ctx:
                probe = GroupToyProbe()  # its group listener hears our own multicast: an echo
                result = await probe.run(ctx, [LO], [], lambda ip: True, 0.3)
        finally:
            lab.close()
        return result, probe.last_run, [len(d.seen) for d in lab.devices]

    result, info, seen = run_in_netns(netns, scenario)
    assert result.status is Status.OK and result.sent == 1
    assert sorted(result.replies) == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    assert seen == [1, 1, 1]
    assert info.dropped("own-echo") >= 1
    assert [s.role for s in info.sockets] == ["multicast", "group"]


def test_answers_sent_to_the_group_are_heard_by_the_group_listener(netns: str) -> None:
    async def scenario() -> tuple[SegmentResult, SegmentResult]:
        lab = FakeDevices(TOY_PORT, TOY_GROUP)
        lab.add("127.0.1.1", says("asker"))
        lab.add("127.0.1.2", says("grouper"), to_group=True)
        await lab.start()
        try:
            async with scan_context() as ctx:
                with_listener = await GroupToyProbe().run(ctx, [LO], [], in_prefix("127.0.1."), 0.3)
                without = await ToyProbe().run(ctx, [LO], [], in_prefix("127.0.1."), 0.3)
        finally:
            lab.close()
        return with_listener, without

    with_listener, without = run_in_netns(netns, scenario)
    assert sorted(with_listener.replies) == ["127.0.1.1", "127.0.1.2"]
    assert sorted(without.replies) == ["127.0.1.1"]


def test_unicast_only_channel_never_multicasts(netns: str) -> None:
    class UnicastToy(ToyProbe):
        channel: ClassVar[Channel] = Channel(TOY_PORT, None, max_datagram=1024)

    async def scenario() -> tuple[SegmentResult, list[int]]:
        lab = FakeDevices(TOY_PORT, TOY_GROUP)
        lab.add("127.0.1.1", says("cam"))
        await lab.start()
        try:
            async with scan_context() as ctx:
                result = await UnicastToy().run(ctx, [LO], [], lambda ip: True, 0.2)
        finally:
            lab.close()
        return result, [len(d.seen) for d in lab.devices]

    result, seen = run_in_netns(netns, scenario)
    assert result.status is Status.SKIPPED and result.sent == 0
    assert seen == [0]


def test_many_simultaneous_answers_are_all_read(netns: str) -> None:
    count = 250

    async def scenario() -> SegmentResult:
        lab = FakeDevices(TOY_PORT, TOY_GROUP)
        for n in range(count):
            lab.add(f"127.0.{1 + n // 200}.{1 + n % 200}", lambda data, ip: [b"I AM " + b"x" * 900])
        await lab.start()
        try:
            async with scan_context() as ctx:
                return await ToyProbe().run(ctx, [LO], [], lambda ip: True, 0.5)
        finally:
            lab.close()

    result = run_in_netns(netns, scenario)
    assert len(result.replies) == count


def test_segment_sockets_bind_to_the_interface_when_privileged(netns: str) -> None:
    async def scenario() -> RunInfo:
        async with scan_context() as ctx:
            probe = GroupToyProbe()
            await probe.run(ctx, [Segment(iface="lo", source="127.0.0.1")], [], lambda ip: True, 0.0)
        return probe.last_run

    info = run_in_netns(netns, scenario)
    roles = {s.role: s for s in info.sockets}
    assert roles["multicast"].iface == "lo" and roles["multicast"].bound_to_device
    assert roles["group"].local == f"{TOY_GROUP}:{TOY_PORT}"
