"""HTTP(S) banner probe: one unauthenticated GET /, one same-host redirect, capped body."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Iterable
from typing import ClassVar

import httpx

from camscan import caps, defaults, fields
from camscan.context import HTTPS_PORTS, ScanContext
from camscan.models import Host, Observation, ProbeResult
from camscan.parse.http import decode_page, extract_title, realms
from camscan.parse.urls import NotSameHost, PinnedUrl, pin
from camscan.parse.webpage import first_redirect, page_fields
from camscan.probes.body import read_capped
from camscan.probes.tcp import short_error, status_for_error
from camscan.probes.tls import peer_observations
from camscan.status import Status

USER_AGENT = defaults.USER_AGENT
# identity: a compressed body could expand far past the cap before we see it.
# close: one request per connection, nothing left open on the device.
REQUEST_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Connection": "close"}
MAX_VALUES = caps.HTTP_VALUES  # per header field per response: a peer may repeat a header without end


# One URL on the scanned host, with its logical port (the one the report shows).
Target = PinnedUrl


def redirect_target(base: Target, location: str) -> Target | None:
    """Where a Location header points if it stays on the same IP address (no hostnames), else None."""
    try:
        target = pin(location, base.ip, base=base.url())
    except NotSameHost:
        return None
    return None if target == base else target


def _decompressed(raw: bytes, encoding: str | None, cap: int) -> bytes:
    enc = (encoding or "").strip().lower()
    if enc not in ("gzip", "x-gzip", "deflate"):
        return raw
    for wbits in (47, -15):  # gzip or zlib header (auto), then raw deflate
        try:
            return zlib.decompressobj(wbits).decompress(raw, cap)
        except zlib.error:
            continue
    return raw


def _capped(values: Iterable[str], limit: int) -> list[str]:
    return [v[:limit] for v, _ in zip(values, range(MAX_VALUES), strict=False)]


def header_observations(resp: httpx.Response, port: int, limit: int) -> list[Observation]:
    """Status, Server, realms, Location and Set-Cookie of one response."""
    h = resp.headers
    obs = [Observation("http", "http.status", str(resp.status_code), port)]
    cookies = h.get_list("set-cookie")[:MAX_VALUES]
    fields: list[tuple[str, list[str]]] = [
        ("http.server", h.get_list("server")),
        ("http.realm", [r for c in h.get_list("www-authenticate")[:MAX_VALUES] for r in realms(c[:limit])]),
        ("http.location", h.get_list("location")),
        ("http.cookie", h.get_list("set-cookie")),
        ("http.cookie_name", [name for c in cookies if (name := cookie_name(c))]),
    ]
    for name, values in fields:
        obs.extend(Observation("http", name, v, port) for v in _capped(values, limit) if v.strip())
    return obs


def cookie_name(set_cookie: str) -> str | None:
    """The cookie's name from a Set-Cookie value (the value itself may be a session secret: dropped)."""
    name = set_cookie.split("=", 1)[0].strip()
    return name[:64] if name and "=" in set_cookie and name.isprintable() and " " not in name else None


_EMITS = fields.emitted_by("http")  # the page reader's fields, as declared in camscan.fields


def body_observations(
    raw: bytes, headers: httpx.Headers, port: int, cap: int
) -> tuple[list[Observation], str | None]:
    """Title, page parts (scripts, images, variables, copyright lines…) and decoded prefix of a body, and a
    note when the page's charset was refused (read as Latin-1)."""
    data = _decompressed(raw[:cap], headers.get("content-encoding"), cap)
    page = decode_page(data[:cap], headers.get("content-type"))
    text = page.text
    obs: list[Observation] = []
    title = extract_title(text)
    if title:
        obs.append(Observation("http", "http.title", title, port))
    obs.extend(Observation("http", f, value, port) for f, value in page_fields(text) if f in _EMITS)
    if text.strip():
        obs.append(Observation("http", "http.body", text, port))
    return obs, page.note


def _tls_observations(resp: httpx.Response, port: int) -> list[Observation]:
    stream = resp.extensions.get("network_stream")
    if stream is None:
        return []
    try:
        return peer_observations(stream.get_extra_info("ssl_object"), port)
    except Exception:  # the certificate is best-effort extra evidence
        return []


async def _exchange(
    ctx: ScanContext, target: Target, obs: list[Observation], notes: list[str]
) -> tuple[Status, str | None]:
    """GET one URL, appending observations (and notes) as they arrive; returns (status, Location)."""
    url = target.url(ctx.real_port(target.port))
    async with ctx.http.stream("GET", url, headers=REQUEST_HEADERS) as resp:
        obs.extend(header_observations(resp, target.port, ctx.caps.header))
        if target.scheme == "https":
            obs.extend(_tls_observations(resp, target.port))
        body = bytearray()
        status = Status.OK
        try:
            if await read_capped(resp, ctx.caps.body, body):
                status = Status.TOO_LARGE  # leaving the block closes the stream: an endless body stops
        finally:  # a timeout mid-body still keeps what arrived
            seen, note = body_observations(bytes(body), resp.headers, target.port, ctx.caps.body)
            obs.extend(seen)
            if note:
                notes.append(f"{target.url()}: {note}")
        return status, resp.headers.get("location")


async def _guarded(
    ctx: ScanContext, target: Target, obs: list[Observation], notes: list[str], deadline: float
) -> tuple[Status, str | None, str | None]:
    """_exchange with the probe deadline and every error mapped to a status: (status, error, Location)."""
    try:
        async with asyncio.timeout_at(deadline):
            status, location = await _exchange(ctx, target, obs, notes)
        return status, None, location
    except (TimeoutError, httpx.TimeoutException):
        return Status.TIMEOUT, f"no complete answer within {ctx.timeouts.probe:g}s", None
    except (httpx.RemoteProtocolError, httpx.DecodingError) as exc:
        return Status.PROTOCOL_ERROR, f"not HTTP: {short_error(exc)}", None
    except (httpx.TransportError, OSError) as exc:
        return status_for_error(exc), short_error(exc), None
    except Exception as exc:
        return Status.ERROR, f"{type(exc).__name__}: {short_error(exc)}", None


class HttpProbe:
    """GET / over HTTP (HTTPS on the TLS ports); observe status, headers, realms, title, body, cert."""

    name: ClassVar[str] = "http"

    async def run(self, ctx: ScanContext, host: Host, port: int) -> ProbeResult:
        """Probe one logical port of one host; never raises."""
        start = time.monotonic()
        obs: list[Observation] = []
        notes: list[str] = []  # remarks that do not change the outcome (a refused charset)
        base = Target("https" if port in HTTPS_PORTS else "http", host.ip, port, "/")
        async with ctx.limits.connection(host.ip):
            deadline = asyncio.get_running_loop().time() + ctx.timeouts.probe
            status, error, location = await _guarded(ctx, base, obs, notes, deadline)
            # A Location header first, else a page that sends the browser on (meta refresh, script).
            location = location or first_redirect([(o.field, o.value) for o in obs])
            target = redirect_target(base, location) if location else None
            if target is not None:
                await ctx.limits.rate.acquire(urgent=True)  # the redirect opens a connection of its own
                followed, why, _ = await _guarded(ctx, target, obs, notes, deadline)
                if followed is not Status.OK:
                    error = f"redirect to {target.url()}: {why or followed.value}"
                if followed is Status.TOO_LARGE:
                    status = Status.TOO_LARGE
        error = "; ".join([error, *notes] if error else notes) or None
        return ProbeResult(
            self.name, host.ip, port, status, tuple(dict.fromkeys(obs)), error, time.monotonic() - start
        )
