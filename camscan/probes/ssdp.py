"""SSDP segment probe: M-SEARCH by multicast and unicast, then each replier's own device description."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

import httpx

from camscan.context import ScanContext
from camscan.models import Observation, ProbeResult, Segment, SegmentResult
from camscan.parse.upnp import (
    SSDP_GROUP,
    SSDP_PORT,
    SsdpEcho,
    UpnpParseError,
    build_msearch,
    parse_description,
    parse_search_reply,
)
from camscan.parse.urls import NotSameHost, pin
from camscan.probes.body import read_capped
from camscan.probes.http import REQUEST_HEADERS
from camscan.probes.udp import Channel, DatagramProbe, Decoder, Reject
from camscan.status import Status

SEARCH_TARGETS: tuple[str, ...] = ("ssdp:all", "upnp:rootdevice")
SEARCH_MX = 1  # devices spread their answers over MX seconds; the scan's `wait` covers that
MAX_FETCHES_PER_HOST = 2  # distinct description URLs read per host
MAX_NOTES = 5

DESCRIPTION_FIELDS = (
    ("manufacturer", "upnp.manufacturer"),
    ("model_name", "upnp.model_name"),
    ("model_number", "upnp.model_number"),
    ("serial", "upnp.serial"),
    ("friendly_name", "upnp.friendly_name"),
    ("model_description", "upnp.model_description"),
)


def same_host_url(location: str, ip: str) -> httpx.URL | None:
    """The description URL rebuilt on ip if LOCATION names exactly that address (no host names), else None."""
    try:
        return httpx.URL(pin(location, ip).url())
    except NotSameHost:
        return None


def description_observations(data: bytes, port: int, cap: int) -> list[Observation]:
    """upnp.* observations of a device description (raises UpnpParseError when it is unusable)."""
    device = parse_description(data, max_bytes=cap)
    obs: list[Observation] = []
    for attr, name in DESCRIPTION_FIELDS:
        value = getattr(device, attr)
        if value:
            obs.append(Observation("ssdp", name, value, port))
    return obs


def decode_reply(data: bytes, source: str) -> tuple[Observation, ...]:
    """ssdp.* observations of one search reply (Reject for an M-SEARCH, ValueError for anything else)."""
    try:
        reply = parse_search_reply(data)
    except SsdpEcho as exc:  # our own search looped back, or another searcher on the segment
        raise Reject("echo", str(exc)) from None
    found = (("ssdp.server", reply.server), ("ssdp.st", reply.st), ("ssdp.location", reply.location))
    return tuple(Observation("ssdp", name, value, SSDP_PORT) for name, value in found if value)


@dataclass(slots=True)
class _Fetches:
    """The description reads of one run: what they added per host and what went wrong."""

    ctx: ScanContext
    found: dict[str, list[Observation]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    noted: int = 0

    def note(self, text: str) -> None:
        """Remember a problem for the error text (the first few verbatim, the rest counted)."""
        self.noted += 1
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)

    def plan(self, replies: Mapping[str, Sequence[Observation]]) -> list[tuple[str, httpx.URL]]:
        """Per host, up to MAX_FETCHES_PER_HOST distinct LOCATIONs that are on the replier's own address."""
        todo: list[tuple[str, httpx.URL]] = []
        for ip, obs in replies.items():
            urls: list[httpx.URL] = []
            for location in (o.value for o in obs if o.field == "ssdp.location"):
                url = same_host_url(location, ip)
                if url is None:
                    self.note(f"{ip}: LOCATION {location[:80]} is not on the replying address, not fetched")
                elif url not in urls and len(urls) < MAX_FETCHES_PER_HOST:
                    urls.append(url)
            todo.extend((ip, url) for url in urls)
        return todo

    async def fetch(self, ip: str, url: httpx.URL) -> None:
        """GET one description (capped, within the probe timeout) and keep its upnp.* observations."""
        cap = self.ctx.caps.body
        port = url.port or 80
        real = url.copy_with(port=self.ctx.real_port(port))  # labs and port forwards, like any other port
        try:
            async with (
                self.ctx.limits.connection(ip),
                asyncio.timeout(self.ctx.timeouts.probe),
                self.ctx.http.stream("GET", real, headers=REQUEST_HEADERS) as resp,
            ):
                if resp.status_code != 200:
                    self.note(f"{url}: HTTP {resp.status_code}")
                    return
                body = bytearray()
                if await read_capped(resp, cap, body):  # leaving the block closes the stream
                    self.note(f"{url}: description larger than {cap} bytes, not read")
                    return
            self.found.setdefault(ip, []).extend(description_observations(bytes(body), port, cap))
        except UpnpParseError as exc:
            self.note(f"{url}: {exc}")
        except (TimeoutError, httpx.TimeoutException):
            self.note(f"{url}: no complete description within {self.ctx.timeouts.probe:g}s")
        except (httpx.HTTPError, OSError) as exc:
            self.note(f"{url}: {type(exc).__name__}")

    def text(self) -> str | None:
        if not self.notes:
            return None
        more = self.noted - len(self.notes)
        return "; ".join(self.notes) + (f"; and {more} more" if more > 0 else "")


async def read_descriptions(
    ctx: ScanContext, replies: Mapping[str, Sequence[Observation]]
) -> tuple[dict[str, list[Observation]], str | None]:
    """upnp.* observations per host from the descriptions the replies point to on their own addresses."""
    fetches = _Fetches(ctx)
    tasks = [asyncio.create_task(fetches.fetch(ip, url)) for ip, url in fetches.plan(replies)]
    try:
        if tasks:  # each fetch has its own timeout; this bounds a queue behind the connection limits
            await asyncio.wait(tasks, timeout=ctx.timeouts.probe * 2)
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
    return fetches.found, fetches.text()


async def describe(ctx: ScanContext, ip: str, url: httpx.URL) -> ProbeResult:
    """Read one device description from the replying host's own address, as a probe result of that host."""
    start = time.monotonic()
    fetches = _Fetches(ctx)
    await fetches.fetch(ip, url)
    found = tuple(fetches.found.get(ip, ()))
    status = Status.OK if found else Status.PROTOCOL_ERROR
    return ProbeResult("ssdp", ip, url.port or 80, status, found, fetches.text(), time.monotonic() - start)


class SsdpProbe(DatagramProbe):
    """M-SEARCH for ssdp:all and upnp:rootdevice; read each replier's description from its own address."""

    name: ClassVar[str] = "ssdp"
    channel: ClassVar[Channel] = Channel(SSDP_PORT, SSDP_GROUP)
    liveness_payloads: ClassVar[int] = 0  # searched only on hosts already found alive

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """Both searches; unicast ones carry the group HOST too, which device stacks accept."""
        return tuple(build_msearch(st, mx=SEARCH_MX) for st in SEARCH_TARGETS), decode_reply

    async def run(
        self,
        ctx: ScanContext,
        segments: Sequence[Segment],
        unicast: Sequence[str],
        in_scope: Callable[[str], bool],
        wait: float,
    ) -> SegmentResult:
        """Search, listen `wait` seconds after the last send, then read the descriptions; never raises."""
        start = time.monotonic()
        result = await super().run(ctx, segments, unicast, in_scope, wait)
        if not result.replies:
            return result
        try:
            found, problems = await read_descriptions(ctx, result.replies)
        except Exception as exc:  # a segment probe never raises: keep what the searches heard
            found, problems = {}, f"reading descriptions failed: {type(exc).__name__}"
        replies = {ip: tuple(dict.fromkeys((*obs, *found.get(ip, ())))) for ip, obs in result.replies.items()}
        error = "; ".join(e for e in (result.error, problems) if e) or None
        return replace(result, replies=replies, error=error, elapsed=time.monotonic() - start)
