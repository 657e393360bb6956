"""mDNS / DNS-SD segment probe: browse camera service types with python-zeroconf, resolve, observe."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from camscan import caps
from camscan.context import ScanContext
from camscan.models import Observation, Segment, SegmentResult
from camscan.oui import normalise_mac
from camscan.parse.upnp import clean
from camscan.status import Status

SERVICE_TYPES: tuple[str, ...] = (
    "_axis-video._tcp.local.",
    "_CGI._tcp.local.",
    "_arec._tcp.local.",
    "_http._tcp.local.",
    "_rtsp._tcp.local.",
    "_onvif._tcp.local.",
)
MDNS_PORT = 5353
MAX_INSTANCES = caps.MDNS_INSTANCES  # instances resolved per run: a flood cannot grow the work without end
MAX_PER_HOST = caps.MDNS_PER_HOST  # instances kept per address
MAX_TXT = 32  # TXT entries kept per instance
MAX_TEXT = 256  # characters kept of a name or a TXT entry
RESOLVE_CONCURRENCY = 32
RESOLVE_TIMEOUT = 3.0  # seconds one resolve may take
RESOLVE_GRACE = 1.0  # seconds resolves may run past the browse window
ADMIT_DELAY = 0.25  # seconds an announcement waits for its SRV/A records before it is admitted
MAX_PENDING = 4 * MAX_INSTANCES  # announcements waiting for admission
_MAC_KEYS = frozenset({"macaddress"})  # Axis TXT macaddress=ACCC8E...


def instance_label(name: str, service_type: str) -> str:
    """The instance part of a full service name ("AXIS M3045-V - ACCC8E4D000A" of "....<type>")."""
    suffix = "." + service_type
    if name.lower().endswith(suffix.lower()):
        name = name[: -len(suffix)]
    return clean(name, MAX_TEXT)


def txt_entries(properties: Mapping[bytes, bytes | None]) -> list[tuple[str, str | None]]:
    """TXT entries as (key, value) text, capped in count and length; a bare key has value None."""
    out: list[tuple[str, str | None]] = []
    for key, value in list(properties.items())[:MAX_TXT]:
        k = clean(key.decode("utf-8", "replace"), MAX_TEXT)
        if k:
            out.append((k, None if value is None else clean(value.decode("utf-8", "replace"), MAX_TEXT)))
    return out


def service_observations(
    service_type: str, name: str, server: str | None, properties: Mapping[bytes, bytes | None]
) -> list[Observation]:
    """What one resolved DNS-SD instance says, in the mdns.* vocabulary (no vendor decision)."""
    obs = [Observation("mdns", "mdns.service", service_type, MDNS_PORT)]
    label = instance_label(name, service_type)
    if label:
        obs.append(Observation("mdns", "mdns.instance", label, MDNS_PORT))
    host = clean((server or "").rstrip("."), MAX_TEXT)
    if host:
        obs.append(Observation("mdns", "mdns.host", host, MDNS_PORT))
    for key, value in txt_entries(properties):
        obs.append(Observation("mdns", "mdns.txt", key if value is None else f"{key}={value}", MDNS_PORT))
        mac = normalise_mac(value) if value and key.lower() in _MAC_KEYS else None
        if mac:
            obs.append(Observation("mdns", "mac.address", mac, MDNS_PORT))
    return obs


def ipv4_addresses(info: AsyncServiceInfo) -> list[str]:
    """The IPv4 addresses in an instance's A records, normalised, without duplicates."""
    out: list[str] = []
    for text in info.parsed_addresses(IPVersion.V4Only)[:MAX_PER_HOST]:
        with contextlib.suppress(ValueError):
            ip = str(ipaddress.IPv4Address(text))
            if ip not in out:
                out.append(ip)
    return out


@dataclass(slots=True)
class _Run:
    """Mutable state of one browse: what was found, resolved and kept."""

    zc: Zeroconf
    in_scope: Callable[[str], bool]
    deadline: float
    seen: set[str] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    replies: dict[str, list[Observation]] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)
    received: int = 0
    rejected: int = 0
    unresolved: int = 0
    ignored: set[str] = field(default_factory=set)  # instances past MAX_INSTANCES (at most MAX_PENDING kept)
    capped: set[str] = field(default_factory=set)  # instances of hosts past MAX_PER_HOST (same cap)
    dropped: Counter[str] = field(default_factory=Counter)  # "ignored" / "capped" -> instances dropped
    announced: dict[str, int] = field(default_factory=dict)  # cached instances seen per in-scope address
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # announced, not yet admitted
    admission: asyncio.TimerHandle | None = None
    resolved: list[tuple[str, str, AsyncServiceInfo]] = field(default_factory=list)
    sem: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(RESOLVE_CONCURRENCY))

    def on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        """Browser callback: queue each new instance once; admit() decides a moment later."""
        if state_change is ServiceStateChange.Removed:
            return
        key = f"{service_type.lower()}|{name.lower()}"
        if key in self.seen or key in self.capped or key in self.pending or key in self.ignored:
            return
        if len(self.pending) >= MAX_PENDING:
            self._drop("ignored", key)
            return
        self.pending[key] = (service_type, name)
        if self.admission is None:
            # The SRV and A records of an announcement may come in a later packet than its PTR: wait for
            # them so the cache can say which host announced, then admit per host.
            self.admission = asyncio.get_running_loop().call_later(ADMIT_DELAY, self.admit)

    def admit(self) -> None:
        """Start resolving the queued instances, up to MAX_INSTANCES, skipping hosts past their share."""
        self.admission = None
        queued, self.pending = self.pending, {}
        for key, (service_type, name) in queued.items():
            self.received += 1
            if self._from_capped_host(service_type, name):
                self._drop("capped", key)
            elif len(self.seen) >= MAX_INSTANCES:
                self._drop("ignored", key)
            else:
                self.seen.add(key)
                task = asyncio.get_running_loop().create_task(self._resolve(service_type, name))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    def _drop(self, why: str, key: str) -> None:
        """Count a dropped instance ("ignored" or "capped"); remember its name within a cap, so a repeated
        announcement is not weighed again."""
        self.dropped[why] += 1
        where = self.ignored if why == "ignored" else self.capped
        if len(where) < MAX_PENDING:
            where.add(key)

    def _from_capped_host(self, service_type: str, name: str) -> bool:
        """True when the instance's A records (already cached: they come with the announcement) name only
        hosts that announced MAX_PER_HOST instances already, so a flooder cannot use up the shared budget.
        """
        info = AsyncServiceInfo(service_type, name)
        try:
            info.load_from_cache(self.zc)
            addresses = [ip for ip in ipv4_addresses(info) if _safe_in_scope(self.in_scope, ip)]
        except Exception:  # the cache is only a shortcut: resolve the usual way
            return False
        if not addresses:
            return False
        if all(self.announced.get(ip, 0) >= MAX_PER_HOST for ip in addresses):
            return True
        for ip in addresses:
            if ip in self.announced or len(self.announced) < caps.UDP_HOSTS:
                self.announced[ip] = self.announced.get(ip, 0) + 1
        return False

    async def _resolve(self, service_type: str, name: str) -> None:
        async with self.sem:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.unresolved += 1
                return
            info = AsyncServiceInfo(service_type, name)
            ok = await info.async_request(self.zc, min(RESOLVE_TIMEOUT, left) * 1000)
        if ok:
            self.resolved.append((service_type, name, info))
        else:
            self.unresolved += 1

    def keep(self) -> None:
        """Key every resolved instance by its in-scope addresses, within the per-host cap."""
        for service_type, name, info in self.resolved:
            # A records can arrive after SRV/TXT in a separate answer: read the cache once more at the end.
            with contextlib.suppress(Exception):
                info.load_from_cache(self.zc)
            addresses = ipv4_addresses(info)
            if not addresses:
                self.unresolved += 1
                continue
            obs = service_observations(service_type, name, info.server, info.properties)
            kept = False
            for ip in addresses:
                # mDNS answers are multicast and may come from a proxy or a gateway, so there is no other
                # source to key by: the address comes from the A record, and counts only when in scope.
                if not _safe_in_scope(self.in_scope, ip) or self.instances.get(ip, 0) >= MAX_PER_HOST:
                    continue
                self.instances[ip] = self.instances.get(ip, 0) + 1
                bucket = self.replies.setdefault(ip, [])
                bucket.extend(o for o in obs if o not in bucket)
                kept = True
            if not kept:
                self.rejected += 1


def _safe_in_scope(in_scope: Callable[[str], bool], ip: str) -> bool:
    try:
        return bool(in_scope(ip))
    except Exception:  # a faulty scope check must not let a reply through
        return False


def _local_address_error(ip: str) -> str | None:
    """Why ip cannot be used as our mDNS interface address (not an IPv4 address of this host), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((str(ipaddress.IPv4Address(ip)), 0))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"segment address {clean(ip, 40)} not usable here ({reason})"
    return None


def usable_sources(segments: Sequence[Segment]) -> tuple[list[str], list[str]]:
    """Our distinct segment addresses that can be bound here, and one note per address that cannot."""
    sources: list[str] = []
    notes: list[str] = []
    for seg in segments:
        why = _local_address_error(seg.source)
        if why is not None:
            notes.append(why)
        elif seg.source not in sources:
            sources.append(seg.source)
    return sources, notes


class MdnsProbe:
    """Browse the camera DNS-SD service types on each segment's interface and resolve what answers."""

    name: ClassVar[str] = "mdns"

    def __init__(self, service_types: Sequence[str] = SERVICE_TYPES) -> None:
        self.service_types = tuple(service_types)
        self._live: _Run | None = None
        self._started = time.monotonic()
        # Set by a caller that wants the browse to go on past `wait` until it says so (the whole sweep).
        self.hold: asyncio.Event | None = None

    def partial(self) -> SegmentResult:
        """What a browse cut short (the scan deadline or a signal) had resolved by then."""
        run = self._live
        if run is None:
            return SegmentResult(self.name, Status.SKIPPED, error="not started: the scan ended first")
        run.keep()
        return SegmentResult(
            self.name,
            Status.TIMEOUT,
            {ip: tuple(obs) for ip, obs in run.replies.items()},
            error="cut short: the scan ended before the browse window closed",
            elapsed=time.monotonic() - self._started,
            received=run.received,
            rejected=run.rejected + run.unresolved + len(run.ignored),
        )

    async def run(
        self,
        ctx: ScanContext,
        segments: Sequence[Segment],
        unicast: Sequence[str],
        in_scope: Callable[[str], bool],
        wait: float,
    ) -> SegmentResult:
        """Browse for `wait` seconds (mDNS is multicast only: `unicast` is ignored); never raises."""
        start = self._started = time.monotonic()
        if not segments:
            return SegmentResult(self.name, Status.SKIPPED, error="no local segment to multicast on")
        sources, notes = usable_sources(segments)
        try:
            if not sources:
                raise OSError("; ".join(notes))
            azc = AsyncZeroconf(interfaces=list(sources), ip_version=IPVersion.V4Only)
        except Exception as exc:
            return SegmentResult(
                self.name,
                Status.ERROR,
                error=f"cannot open mDNS sockets: {exc}"[:300],
                elapsed=time.monotonic() - start,
            )
        try:
            run = await self._browse(azc, in_scope, max(0.0, wait))
        except Exception as exc:
            return SegmentResult(
                self.name,
                Status.ERROR,
                error=f"mDNS browse failed: {exc}"[:300],
                elapsed=time.monotonic() - start,
            )
        finally:
            with contextlib.suppress(Exception):
                await azc.async_close()
        if run.unresolved:
            notes.append(f"{run.unresolved} instance(s) not resolved to an IPv4 address in time")
        if run.ignored:
            notes.append(f"more than {MAX_INSTANCES} instances announced; the rest were ignored")
        if run.capped:
            capped = run.dropped["capped"]
            notes.append(f"{capped} instance(s) of hosts announcing over {MAX_PER_HOST} ignored")
        # Counters in DNS-SD terms: sent = browse questions (service types x interfaces; zeroconf repeats
        # them on its own schedule), received = distinct instances announced, rejected = instances dropped
        # (out of scope, over a cap, or not resolved in time).
        return SegmentResult(
            self.name,
            Status.OK,
            {ip: tuple(obs) for ip, obs in run.replies.items()},
            error="; ".join(notes) or None,
            elapsed=time.monotonic() - start,
            sent=len(self.service_types) * len(sources),
            received=run.received,
            rejected=run.rejected + run.unresolved + run.dropped.total(),
        )

    async def _browse(self, azc: AsyncZeroconf, in_scope: Callable[[str], bool], wait: float) -> _Run:
        # Held open (the whole sweep), resolves may start any time until the hold ends; then get the grace.
        ends = math.inf if self.hold is not None else time.monotonic() + wait + RESOLVE_GRACE
        run = self._live = _Run(azc.zeroconf, in_scope, ends)
        browser = AsyncServiceBrowser(azc.zeroconf, list(self.service_types), handlers=[run.on_change])
        try:
            await asyncio.sleep(wait)
            if self.hold is not None:
                await self.hold.wait()
                run.deadline = time.monotonic() + RESOLVE_GRACE
        finally:
            await browser.async_cancel()
            if run.admission is not None:
                run.admission.cancel()
            run.admit()
        try:
            if run.tasks:
                await asyncio.wait(set(run.tasks), timeout=max(0.0, run.deadline - time.monotonic()) + 0.1)
        finally:
            pending = set(run.tasks)
            run.unresolved += len(pending)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        run.keep()
        return run
