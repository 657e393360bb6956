"""probes/ssdp.py: unicast search on loopback, multicast search in a throw-away netns, hostile repliers."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from camlab.encoders import build_ssdp_reply
from camscan.context import Caps, ScanContext, Timeouts
from camscan.limits import Limits
from camscan.models import Observation, Segment, SegmentResult
from camscan.parse.upnp import build_msearch
from camscan.probes.ssdp import MAX_FETCHES_PER_HOST, SsdpProbe
from camscan.probes.udp import PER_HOST
from camscan.status import Status

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "upnp"
AXIS_SERVER = "Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP devices/1.6.22"
# a device's answer to one datagram: (payload, source address or None for the responder's own)
Reply = Callable[[bytes, str], list[tuple[bytes, str | None]]]


# ---- simulated devices -------------------------------------------------------------------------------------


@dataclass
class Descriptions:
    """A tiny HTTP server: path -> body (bytes, or an int = that many filler bytes); counts every request."""

    bodies: dict[str, bytes | int]
    hits: Counter[str] = field(default_factory=Counter)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            path = head.split(b" ", 2)[1].decode()
            self.hits[path] += 1
            body = self.bodies.get(path)
            if body is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            elif isinstance(body, int):
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {body}\r\n\r\n".encode())
                for _ in range(body // 65536):
                    writer.write(b"<" * 65536)
                    await writer.drain()
            else:
                writer.write(
                    f"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n".encode()
                    + body
                )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def description_server(
    ips: str, bodies: dict[str, bytes | int]
) -> AsyncIterator[tuple[Descriptions, int]]:
    """Serve descriptions on each of the comma-separated ips, on one free port; yields the state and port."""
    desc = Descriptions(bodies)
    servers: list[asyncio.Server] = []
    try:
        port = 0
        for ip in ips.split(","):
            servers.append(await asyncio.start_server(desc.handle, ip, port))
            port = servers[0].sockets[0].getsockname()[1]
        yield desc, port
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


class Responder(asyncio.DatagramProtocol):
    """A simulated SSDP device: answers each M-SEARCH with what `reply` returns, records what it heard."""

    def __init__(self, reply: Reply, ip: str) -> None:
        self.reply, self.ip = reply, ip
        self.heard: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.others: dict[str, socket.socket] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.heard.append(data)
        assert self.transport is not None
        for payload, source in self.reply(data, addr[0]):
            if source is None or source == self.ip:
                self.transport.sendto(payload, addr)
            else:  # answer from another address of this machine (a spoofing or multi-homed device)
                sock = self.others.get(source)
                if sock is None:
                    sock = self.others[source] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    sock.bind((source, 0))
                sock.sendto(payload, addr)

    def close(self) -> None:
        for sock in self.others.values():
            sock.close()
        if self.transport is not None:
            self.transport.close()


@asynccontextmanager
async def responder(
    ip: str, reply: Reply, port: int = 0, group: str | None = None
) -> AsyncIterator[tuple[Responder, int]]:
    """A Responder on ip:port (joined to `group` on ip when given); yields it and its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if group is not None:
        sock.bind(("0.0.0.0", port))
        mreq = socket.inet_aton(group) + socket.inet_aton(ip)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    else:
        sock.bind((ip, port))
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_datagram_endpoint(lambda: Responder(reply, ip), sock=sock)
    try:
        yield proto, sock.getsockname()[1]
    finally:
        proto.close()


def axis_reply(location: str, st: str = "upnp:rootdevice", server: str = AXIS_SERVER) -> bytes:
    usn = f"uuid:Upnp-BasicDevice-1_0-ACCC8E4D000A::{st}"
    return build_ssdp_reply(
        {
            "CACHE-CONTROL": "max-age=1800",
            "EXT": "",
            "LOCATION": location,
            "SERVER": server,
            "ST": st,
            "USN": usn,
        }
    )


def answer_each(make: Callable[[bytes], list[tuple[bytes, str | None]]]) -> Reply:
    """A reply function that answers M-SEARCH requests only."""
    return lambda data, _src: make(data) if data.startswith(b"M-SEARCH") else []


def st_of(data: bytes) -> str:
    return next(line[3:].strip().decode() for line in data.split(b"\r\n") if line.upper().startswith(b"ST:"))


# ---- running the probe -------------------------------------------------------------------------------------


class CountingRate:
    """A stand-in rate limiter that counts acquisitions."""

    def __init__(self) -> None:
        self.count = 0

    async def acquire(self, n: int = 1, *, urgent: bool = False) -> None:
        self.count += n


@asynccontextmanager
async def scan_context(ssdp_port: int, port_map: dict[int, int] | None = None) -> AsyncIterator[ScanContext]:
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as http:
        yield ScanContext(
            http=http,
            limits=Limits(),
            timeouts=Timeouts(probe=2.0),
            caps=Caps(body=64 * 1024),
            port_map={1900: ssdp_port, **(port_map or {})},
        )


def values(result: SegmentResult, ip: str, name: str) -> list[str]:
    return [o.value for o in result.replies.get(ip, ()) if o.field == name]


async def search(
    ctx: ScanContext,
    unicast: list[str],
    scope: set[str] | None = None,
    wait: float = 0.4,
    segments: list[Segment] | None = None,
) -> SegmentResult:
    in_scope = (lambda ip: True) if scope is None else scope.__contains__
    return await SsdpProbe().run(ctx, segments or [], unicast, in_scope, wait)


# ---- unicast on loopback -----------------------------------------------------------------------------------

AXIS_DESC = (FIXTURES / "axis-m3045-description.xml").read_bytes()


async def unicast_search(
    make: Callable[[int], Reply],
    bodies: dict[str, bytes | int],
    *,
    desc_ip: str = "127.0.0.1",
    scope: set[str] | None = None,
    wait: float = 0.4,
) -> tuple[SegmentResult, Descriptions, Responder]:
    """A device on 127.0.0.1 answering with make(description port), searched by unicast."""
    async with description_server(desc_ip, bodies) as (desc, http_port):
        device = responder("127.0.0.1", make(http_port))
        async with device as (dev, port), scan_context(port) as ctx:
            result = await search(ctx, ["127.0.0.1"], scope=scope, wait=wait)
    return result, desc, dev


def location(http_port: int, path: str = "/rootdesc1.xml", ip: str = "127.0.0.1") -> str:
    return f"http://{ip}:{http_port}{path}"


async def test_unicast_search_reads_the_description_from_the_replier() -> None:
    result, desc, dev = await unicast_search(
        lambda p: answer_each(lambda d: [(axis_reply(location(p), st_of(d)), None)]),
        {"/rootdesc1.xml": AXIS_DESC},
    )
    assert result.status is Status.OK and result.error is None
    assert result.sent == 2 and result.received == 2 and result.rejected == 0
    assert sorted(st_of(d) for d in dev.heard) == ["ssdp:all", "upnp:rootdevice"]
    assert all(b'MAN: "ssdp:discover"\r\n' in d for d in dev.heard)
    loc = values(result, "127.0.0.1", "ssdp.location")[0]
    assert values(result, "127.0.0.1", "ssdp.server") == [AXIS_SERVER]
    assert values(result, "127.0.0.1", "ssdp.location") == [loc] and loc.endswith("/rootdesc1.xml")
    assert sorted(values(result, "127.0.0.1", "ssdp.st")) == ["ssdp:all", "upnp:rootdevice"]
    obs = {o.field: o for o in result.replies["127.0.0.1"]}
    http_port = int(loc.split(":")[2].split("/")[0])
    assert obs["upnp.manufacturer"] == Observation("ssdp", "upnp.manufacturer", "AXIS", http_port)
    assert obs["upnp.model_name"].value == "AXIS M3045-V" and obs["upnp.serial"].value == "ACCC8E4D000A"
    assert obs["upnp.model_number"].value == "M3045-V"
    assert obs["upnp.friendly_name"].value == "AXIS M3045-V - ACCC8E4D000A"
    assert obs["upnp.model_description"].value == "AXIS M3045-V Fixed Mini Dome Network Camera"
    assert obs["ssdp.server"].port == 1900
    assert desc.hits == {"/rootdesc1.xml": 1}  # two replies, one fetch


async def test_the_location_port_is_mapped_like_any_other_logical_port() -> None:
    loc = "http://127.0.0.1:49152/rootdesc1.xml"  # what a device in a loopback lab says: its logical port
    async with description_server("127.0.0.1", {"/rootdesc1.xml": AXIS_DESC}) as (desc, http_port):
        device = responder("127.0.0.1", answer_each(lambda _d: [(axis_reply(loc), None)]))
        async with device as (_, port), scan_context(port, {49152: http_port}) as ctx:
            result = await search(ctx, ["127.0.0.1"])
    assert desc.hits == {"/rootdesc1.xml": 1}
    obs = {o.field: o for o in result.replies["127.0.0.1"]}
    assert obs["upnp.manufacturer"].port == 49152 and obs["ssdp.location"].value == loc


async def test_a_location_on_another_host_is_recorded_but_never_fetched() -> None:
    def make(p: int) -> Reply:
        offsite = location(p, ip="127.0.0.2")
        named = f"http://camera.invalid:{p}/rootdesc1.xml"  # a host name would need DNS: never looked up
        return answer_each(lambda _d: [(axis_reply(offsite), None), (axis_reply(named, st="ssdp:all"), None)])

    # The same description is also on the replier's own address: a LOCATION naming another host must not be
    # "repaired" to the replier either.
    bodies: dict[str, bytes | int] = {"/rootdesc1.xml": AXIS_DESC}
    result, desc, _ = await unicast_search(make, bodies, desc_ip="127.0.0.2,127.0.0.1")
    assert elapsed_ok(result, 0.4)
    locs = sorted(values(result, "127.0.0.1", "ssdp.location"))
    assert len(locs) == 2 and locs[0].startswith("http://127.0.0.2:") and "camera.invalid" in locs[1]
    assert not [o for o in result.replies["127.0.0.1"] if o.field.startswith("upnp.")]
    assert desc.hits == {}
    assert result.error is not None and "not fetched" in result.error


async def test_replies_are_keyed_by_their_source_and_out_of_scope_ones_rejected() -> None:
    def make(p: int) -> Reply:
        return answer_each(
            lambda _d: [
                (axis_reply(location(p)), "127.0.0.4"),  # in scope, but claims 127.0.0.1's description
                (axis_reply(location(p)), "127.0.0.3"),  # out of scope
                (b"\x00garbage", None),
                (build_msearch("ssdp:all"), None),
            ]
        )  # malformed, an M-SEARCH

    scope = {"127.0.0.1", "127.0.0.4"}
    result, desc, _ = await unicast_search(make, {"/rootdesc1.xml": AXIS_DESC}, scope=scope)
    assert set(result.replies) == {"127.0.0.4"}
    assert values(result, "127.0.0.4", "ssdp.location")[0].startswith("http://127.0.0.1:")
    assert not [o for o in result.replies["127.0.0.4"] if o.field.startswith("upnp.")]
    assert desc.hits == {}  # the description is not on the replier's own address
    assert result.received == 8 and result.rejected == 6


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (2 * 1024 * 1024, "larger than 65536 bytes"),
        ((FIXTURES / "xml-bomb.xml").read_bytes(), "DTD"),
        ((FIXTURES / "external-entity.xml").read_bytes(), "DTD"),
        (b"<html>login</html>", "not <root>"),
    ],
)
async def test_a_hostile_description_yields_no_upnp_fields(body: bytes | int, why: str) -> None:
    start = time.monotonic()
    result, desc, _ = await unicast_search(
        lambda p: answer_each(lambda _d: [(axis_reply(location(p)), None)]), {"/rootdesc1.xml": body}
    )
    assert result.status is Status.OK and time.monotonic() - start < 2.0
    assert values(result, "127.0.0.1", "ssdp.server") == [AXIS_SERVER]
    assert not [o for o in result.replies["127.0.0.1"] if o.field.startswith("upnp.")]
    assert result.error is not None and why in result.error and "\n" not in result.error
    assert desc.hits == {"/rootdesc1.xml": 1}


async def test_a_reply_flood_is_capped_per_host_and_ends_on_time() -> None:
    def make(p: int) -> Reply:
        return answer_each(
            lambda _d: [(axis_reply(location(p, f"/d{i}.xml"), st=f"urn:x:{i}"), None) for i in range(500)]
        )

    result, desc, _ = await unicast_search(make, {}, wait=0.5)
    assert elapsed_ok(result, 0.5, slack=2.5)
    assert len(values(result, "127.0.0.1", "ssdp.st")) == PER_HOST
    assert result.received > 100 and result.rejected == result.received - PER_HOST
    assert sum(desc.hits.values()) == MAX_FETCHES_PER_HOST


async def test_every_datagram_sent_goes_through_the_rate_limiter() -> None:
    async with responder("127.0.0.1", lambda _d, _s: []) as (dev, port), scan_context(port) as ctx:
        rate = CountingRate()
        ctx.limits.rate = rate  # type: ignore[assignment]
        result = await search(ctx, ["127.0.0.1", "127.0.0.5", "bogus"], wait=0.1)
    assert result.sent == 4 and rate.count == 4 and len(dev.heard) == 2
    assert result.status is Status.OK and result.error is not None and "bogus" in result.error


async def test_nothing_to_search_is_skipped() -> None:
    async with scan_context(1900) as ctx:
        result = await search(ctx, [], wait=5.0)
    assert result.status is Status.SKIPPED and result.sent == 0 and result.elapsed < 1.0


async def test_a_segment_address_not_on_this_host_is_an_error_not_an_exception() -> None:
    async with scan_context(1900) as ctx:
        # 198.51.100.77 is not ours: the socket cannot bind there, so nothing is ever sent.
        result = await search(ctx, [], segments=[Segment("eth9", "198.51.100.77")], wait=0.1)
    assert result.status is Status.ERROR and result.sent == 0
    assert result.error is not None and "eth9" in result.error


def elapsed_ok(result: SegmentResult, wait: float, slack: float = 1.0) -> bool:
    return wait <= result.elapsed < wait + slack


# ---- multicast in a throw-away namespace -------------------------------------------------------------------


async def netns_multicast() -> dict[str, Any]:
    """Runs inside the namespace: a device joined to the SSDP group on lo, searched by multicast."""
    axis = (FIXTURES / "axis-m3045-description.xml").read_bytes()
    async with description_server("127.0.0.1", {"/rootdesc1.xml": axis}) as (desc, http_port):
        loc = f"http://127.0.0.1:{http_port}/rootdesc1.xml"
        reply = answer_each(lambda d: [(axis_reply(loc, st_of(d)), None)])
        segment = Segment("lo", "127.0.0.1", "127.0.0.0/8")
        async with (
            responder("127.0.0.1", reply, port=1900, group="239.255.255.250") as (dev, _),
            scan_context(1900) as ctx,
        ):
            result = await search(ctx, [], segments=[segment], wait=1.0)
    return {
        "status": result.status.value,
        "error": result.error,
        "sent": result.sent,
        "elapsed": result.elapsed,
        "heard": [d.decode() for d in dev.heard],
        "hits": dict(desc.hits),
        "replies": {ip: [[o.field, o.value] for o in obs] for ip, obs in result.replies.items()},
    }


@pytest.mark.netns
def test_multicast_search_finds_a_device_on_the_segment(netns: str) -> None:
    code = (
        "import asyncio, json\nfrom tests.test_probe_ssdp import netns_multicast\n"
        "print(json.dumps(asyncio.run(netns_multicast())))"
    )
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-800:]
    out = json.loads(proc.stdout)
    assert out["status"] == "ok" and out["error"] is None and out["sent"] == 2
    assert sorted(st_of(h.encode()) for h in out["heard"]) == ["ssdp:all", "upnp:rootdevice"]
    assert all("HOST: 239.255.255.250:1900\r\n" in h and "MX: 1\r\n" in h for h in out["heard"])
    fields = dict(map(tuple, out["replies"]["127.0.0.1"]))
    assert fields["ssdp.server"] == AXIS_SERVER and fields["upnp.manufacturer"] == "AXIS"
    assert fields["upnp.model_name"] == "AXIS M3045-V"
    assert out["hits"] == {"/rootdesc1.xml": 1} and 1.0 <= out["elapsed"] < 3.0
