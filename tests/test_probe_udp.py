"""probes/udp.py: paced sends, replies kept by source, caps, echoes and scope, on loopback and in a netns."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Sequence
from typing import ClassVar

from camscan.models import Observation, Segment, SegmentResult
from camscan.probes.udp import RCVBUF, Channel, Collector, DatagramProbe, Decoder, Reject, RunInfo, Session
from camscan.status import Status
from tests.udpkit import (
    LO,
    FakeDevices,
    Handler,
    in_prefix,
    loopback_base,
    run_in_netns,
    scan_context,
    unicast_run,
)

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


# --- loopback unicast


async def test_replies_are_kept_by_the_replying_source_address() -> None:
    base = loopback_base()
    lab = FakeDevices()
    lab.add(base + "1", says("one"))
    lab.add(base + "2", says("two"))
    probe = ToyProbe()
    result = await unicast_run(
        lab, probe, TOY_PORT, [base + "1", base + "2", base + "3"], in_prefix(base), 0.3
    )
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


async def test_sends_that_find_the_socket_buffer_full_all_leave_once_it_drains() -> None:
    # Hosts found at once are asked at once through one socket. When its buffer is full, each send waits for
    # the socket to be writable; asyncio keeps one writer per socket, so without our lock every waiter but
    # the last hung until its host's deadline and that host never had its port check.
    address = f"\0camscan-full-{os.getpid()}-{time.monotonic_ns()}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(address)
    receiver.setblocking(False)
    sender.setblocking(False)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    try:
        while True:  # fill the receiver's queue: the sender now gets EAGAIN
            sender.sendto(b"x" * 512, address)
    except BlockingIOError:
        pass
    loop = asyncio.get_running_loop()
    async with scan_context(rate=100_000) as ctx:
        session = Session(ctx, "toy", ToyProbe.channel, (b"WHO?",), Collector(toy_decode, lambda ip: True))
        sends = [loop.create_task(session._send(sender, b"y" * 512, address, urgent=True)) for _ in range(5)]
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in sends)  # all five are waiting on the full buffer

        def drain() -> None:
            try:
                while True:
                    receiver.recv(2048)
            except BlockingIOError:
                pass

        loop.add_reader(receiver.fileno(), drain)
        try:
            _, pending = await asyncio.wait(sends, timeout=3.0)
        finally:
            loop.remove_reader(receiver.fileno())
            for task in sends:
                task.cancel()
        assert not pending, f"{len(pending)} of 5 sends never left"
        assert session.sent == 5
    receiver.close()
    sender.close()


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
    probe = ToyProbe()
    result = await unicast_run(lab, probe, TOY_PORT, [base + "1", base + "2"], in_prefix(base), 0.5)
    assert len(result.replies[base + "1"]) == 8  # one observation per kept datagram
    assert result.replies[base + "2"] == (Observation("toy", "toy.name", "quiet", TOY_PORT),)
    assert result.received >= 400
    assert result.rejected == result.received - 9 == probe.last_run.dropped("host-cap")


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
    probe = Fragile()
    result = await unicast_run(lab, probe, TOY_PORT, [base + "1"], in_prefix(base), 0.3)
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
