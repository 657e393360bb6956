"""One scan from start to report: the shared context, the pipeline under its deadline, then the report."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Sequence
from typing import Any

import httpx

from camscan import defaults
from camscan.context import ScanContext
from camscan.identify import Knowledge
from camscan.limits import scan_limits
from camscan.models import Report
from camscan.options import ScanOptions
from camscan.pipeline import Pipeline, Progress, ScanState
from camscan.report.build import Ending, build_report, now
from camscan.snmpconfig import SnmpRouter

__all__ = ["Knowledge", "Progress", "ScanOptions", "Stop", "run_scan"]


def tls_context() -> ssl.SSLContext:
    """A client context that reads any camera's certificate: old protocols allowed, nothing verified."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def http_client(opts: ScanOptions, connections: int) -> httpx.AsyncClient:
    """The one shared httpx client: no redirects followed by httpx, no keep-alive, no proxies from env."""
    return httpx.AsyncClient(
        verify=tls_context(),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(opts.timeouts.probe),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=0),
        headers={"User-Agent": defaults.USER_AGENT},
    )


class Stop:
    """A request to end the scan early (a signal): the scan stops probing and reports what it found."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> asyncio.Event:
        """Attach to the running loop; the returned event is set once a stop is requested."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        if self.reason is not None:
            self._event.set()
        return self._event

    def request(self, reason: str) -> None:
        """Ask the scan to stop; safe to call from a signal handler (first reason wins)."""
        if self.reason is None:
            self.reason = reason
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)


async def _drive(work: Awaitable[None], deadline: float, stop: Stop | None) -> tuple[bool, str | None]:
    """Run the scan until it ends, the deadline passes or a stop is requested: (deadline_hit, interrupted)."""
    task: asyncio.Future[None] = asyncio.ensure_future(work)
    waits: set[asyncio.Future[Any]] = {task}
    if stop is not None:
        waits.add(asyncio.ensure_future(stop.bind().wait()))
    try:
        await asyncio.wait(waits, timeout=deadline, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            if waiter is not task:
                waiter.cancel()
    if task.done():
        task.result()  # a bug in the scan itself propagates (the CLI reports it as a failed scan)
        return False, None
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    interrupted = stop.reason if stop is not None else None
    return interrupted is None, interrupted


async def run_scan(
    opts: ScanOptions,
    know: Knowledge,
    progress: Progress | None = None,
    client: httpx.AsyncClient | None = None,
    stop: Stop | None = None,
    snmp_routers: Sequence[SnmpRouter] = (),
) -> Report:
    """Scan the targets and return the report; the deadline or a stop cuts probing short, never the report."""
    started = now()
    t0 = time.monotonic()
    limits = scan_limits(opts.concurrency, opts.per_host, opts.sweep_per_host, opts.rate)
    own_client = client is None
    http = client or http_client(opts, limits.concurrency)
    ctx = ScanContext(
        http=http,
        limits=limits,
        timeouts=opts.timeouts,
        port_map=dict(opts.port_map),
        onvif_credentials=opts.onvif_credentials,
    )
    state = ScanState(opts.targets)
    pipeline = Pipeline(opts, ctx, state, progress or Progress(), snmp_routers=snmp_routers)
    try:
        deadline_hit, interrupted = await _drive(pipeline.run(), opts.timeouts.scan, stop)
    finally:
        if own_client:
            await http.aclose()
    ending = Ending(started, time.monotonic() - t0, deadline_hit, interrupted)
    return build_report(opts, know, state, ending)
