"""Discovery floods: one device answering thousands of times a second is cut off; the others are all heard."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

from camlab.encoders import build_sadp_probe_match as build_probe_match
from camscan import caps
from camscan.models import Observation
from camscan.probes.sadp import PORT, SadpProbe
from camscan.probes.udp import Collector
from tests.udpkit import FakeDevices, in_prefix, loopback_base, scan_context

NORMAL = 40
FLOOD_SECONDS = 2.0

# A separate process, so the flood really runs beside the scan: it waits for the inquiry, then answers
# the asker as fast as it can with a mix of valid ProbeMatches (new serials) and 8 KiB of junk XML.
FLOODER = textwrap.dedent(
    """
    import socket, sys, time
    ip, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ip, port))
    print("ready", flush=True)
    sock.settimeout(30)
    _, asker = sock.recvfrom(65536)
    junk = b"<ProbeMatch>" + b"<Junk>x</Junk>" * 580 + b"</ProbeMatch>"
    sent, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        for n in range(100):
            body = (b"<ProbeMatch><DeviceSN>FLOOD%d</DeviceSN><DeviceDescription>DS-X</DeviceDescription>"
                    b"</ProbeMatch>" % (sent + n)) if n % 2 else junk
            try:
                sock.sendto(body, asker)
            except OSError:
                pass
        sent += 100
    print(sent)
    """
)


@contextmanager
def flooder(ip: str, port: int) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOODER, ip, str(port), str(FLOOD_SECONDS)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"  # bound before we ask
        yield proc
    finally:
        proc.kill()
        proc.wait()


def answers(serial: str) -> list[bytes]:
    return [build_probe_match({"DeviceSN": serial, "DeviceDescription": "DS-2CD2142FWD-I"})]


async def test_attack_sadp_flood_from_one_host_is_cut_and_every_other_device_is_still_heard() -> None:
    base = loopback_base()
    lab = FakeDevices()
    normal = [f"{base}{n}" for n in range(2, 2 + NORMAL)]
    for n, ip in enumerate(normal):
        lab.add(ip, lambda data, _ip, n=n: answers(f"SN{n:04d}"), delay=0.2 + (n % 10) * 0.05)  # mid-flood
    port = await lab.start()
    probe = SadpProbe()
    try:
        with flooder(base + "1", port) as proc:
            async with scan_context({PORT: port}) as ctx:
                result = await probe.run(ctx, [], [base + "1", *normal], in_prefix(base), FLOOD_SECONDS + 0.5)
            sent = int(proc.communicate(timeout=10)[0])
    finally:
        lab.close()
    print(f"flood: {sent} sent, {result.received} received, dropped {dict(probe.last_run.reasons)}")
    assert sent > 10_000  # thousands of datagrams a second for two seconds
    assert set(normal) <= set(result.replies)  # every other device heard, with what it said
    assert all(Observation("sadp", "sadp.serial", f"SN{n:04d}", PORT) in result.replies[ip]
               for n, ip in enumerate(normal))  # fmt: skip
    flood = result.replies[base + "1"]
    assert len([o for o in flood if o.field == "sadp.serial"]) <= caps.UDP_DATAGRAMS_PER_HOST
    assert result.received > 5_000 and probe.last_run.dropped("host-cap") > 5_000
    assert result.elapsed < FLOOD_SECONDS + 5  # the scan is not held up by the flood


def test_attack_junk_flood_is_cut_by_the_parse_budget_before_parsing() -> None:
    parsed: list[int] = []

    def decode(data: bytes, source: str) -> tuple[Observation, ...]:
        parsed.append(len(data))
        raise ValueError("junk")

    collector = Collector(decode, lambda ip: True, parse_budget=64 * 1024)
    for _ in range(100_000):
        collector.feed(b"<x>" + b"y" * 4000 + b"</x>", ("10.0.0.1", 37020))
    assert sum(parsed) <= 64 * 1024 and len(parsed) == 64 * 1024 // 4007  # the flooder's share, no more
    assert collector.reasons["host-cap"] == 100_000 - len(parsed)
    collector.feed(b"<ok/>", ("10.0.0.2", 37020))
    assert parsed[-1] == 5  # the next host is still parsed
    assert collector.capped == {"10.0.0.1"}


def test_attack_many_spoofed_sources_are_bounded_in_hosts_and_in_total() -> None:
    kept = Collector(lambda data, ip: (Observation("toy", "toy.name", ip),), lambda ip: True, max_hosts=100)
    for n in range(10_000):
        kept.feed(b"I AM", (f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", 1))
    assert len(kept.replies) == 100 == len(kept.parsed)  # memory bounded by the host cap
    assert kept.reasons["hosts-cap"] == 10_000 - 100
    total = Collector(lambda data, ip: (), lambda ip: True, total_budget=10 * caps.UDP_PARSE_CHARGE)
    for n in range(50):
        total.feed(b"x", (f"10.0.0.{n}", 1))
    assert total.parsed_total == 10 * caps.UDP_PARSE_CHARGE and total.reasons["total-cap"] == 40
