"""RTSP banner probe: OPTIONS then DESCRIBE on one connection, no credentials."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import ClassVar, TypeVar

from camscan.context import ScanContext
from camscan.models import Host, Observation, ProbeResult
from camscan.parse.http import realms
from camscan.parse.rtsp import RtspParseError, RtspResponse, find_header_end, parse_response
from camscan.probes.http import USER_AGENT
from camscan.probes.tcp import short_error, status_for_error
from camscan.status import Status

_T = TypeVar("_T")
_READ = 4096


class _Failed(Exception):
    """A step ended without a usable response."""

    def __init__(self, status: Status, error: str, salvaged: RtspResponse | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.salvaged = salvaged


def request(method: str, url: str, cseq: int, *extra: str) -> bytes:
    """One RTSP request with no credentials."""
    lines = [f"{method} {url} RTSP/1.0", f"CSeq: {cseq}", *extra, f"User-Agent: {USER_AGENT}", "", ""]
    return "\r\n".join(lines).encode("ascii")


def _salvage(head: bytes) -> RtspResponse | None:
    """Parse the header lines that fit under the cap, so an oversize answer still shows its Server."""
    cut = head[: head.rfind(b"\n") + 1] if b"\n" in head else head
    try:
        return parse_response(cut + b"\r\n\r\n", len(cut) + 4)
    except RtspParseError:
        return None


async def read_response(reader: asyncio.StreamReader, cap: int) -> tuple[RtspResponse, bool]:
    """Read one response of at most `cap` bytes; returns (response, cut_short_by_cap)."""
    buf = bytearray()
    while (end := find_header_end(buf)) is None:
        if len(buf) >= cap:
            raise _Failed(Status.TOO_LARGE, f"header block over {cap} bytes", _salvage(bytes(buf[:cap])))
        chunk = await reader.read(min(_READ, cap + 1 - len(buf)))
        if not chunk:
            what = "closed the connection mid-answer" if buf else "closed the connection without answering"
            raise _Failed(Status.PROTOCOL_ERROR, what, _salvage(bytes(buf)) if buf else None)
        buf += chunk
    if end > cap:
        raise _Failed(Status.TOO_LARGE, f"header block over {cap} bytes", _salvage(bytes(buf[:cap])))
    try:
        head = parse_response(bytes(buf[:end]), cap)
    except RtspParseError as exc:
        raise _Failed(Status.PROTOCOL_ERROR, f"not RTSP: {exc}") from None
    want = head.content_length
    if end + want > cap:
        return head, True  # the body would pass the cap: headers are all we keep
    body = bytes(buf[end : end + want])
    if len(body) < want:
        body += await reader.readexactly(want - len(body))
    return parse_response(bytes(buf[:end]) + body, cap), False


def _observations(resp: RtspResponse, port: int) -> list[Observation]:
    """Server, realms and Public of one response (HTTP fields if the peer spoke HTTP)."""
    proto = "rtsp" if resp.is_rtsp else "http"
    obs = [Observation("rtsp", f"{proto}.server", v, port) for v in resp.headers.get_all("Server") if v]
    for challenge in resp.headers.get_all("WWW-Authenticate"):
        obs.extend(Observation("rtsp", f"{proto}.realm", r, port) for r in realms(challenge))
    if resp.is_rtsp:
        obs.extend(Observation("rtsp", "rtsp.public", v, port) for v in resp.headers.get_all("Public") if v)
    return obs


async def _step(awaitable: Awaitable[_T], deadline: float, timeout: float) -> _T:
    """Await with the probe deadline, turning every failure into _Failed."""
    try:
        async with asyncio.timeout_at(deadline):
            return await awaitable
    except _Failed:
        raise
    except TimeoutError:
        raise _Failed(Status.TIMEOUT, f"no complete answer within {timeout:g}s") from None
    except asyncio.IncompleteReadError:
        raise _Failed(Status.PROTOCOL_ERROR, "closed the connection mid-body") from None
    except OSError as exc:
        raise _Failed(status_for_error(exc), short_error(exc)) from None


def _url(ip: str, port: int) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    return f"rtsp://{host}:{port}/"


class RtspProbe:
    """OPTIONS and DESCRIBE rtsp://ip:port/; observe status, Server, realm and Public."""

    name: ClassVar[str] = "rtsp"

    async def run(self, ctx: ScanContext, host: Host, port: int) -> ProbeResult:
        """Probe one logical port of one host; never raises."""
        start = time.monotonic()
        obs: list[Observation] = []
        async with ctx.limits.connection(host.ip):
            try:
                status, error = await self._session(ctx, host.ip, port, obs)
            except Exception as exc:
                status, error = Status.ERROR, f"{type(exc).__name__}: {short_error(exc)}"
        return ProbeResult(
            self.name, host.ip, port, status, tuple(dict.fromkeys(obs)), error, time.monotonic() - start
        )

    async def _session(
        self, ctx: ScanContext, ip: str, port: int, obs: list[Observation]
    ) -> tuple[Status, str | None]:
        deadline = asyncio.get_running_loop().time() + ctx.timeouts.probe
        try:
            opened = asyncio.open_connection(ip, ctx.real_port(port))
            reader, writer = await _step(opened, deadline, ctx.timeouts.probe)
        except _Failed as failed:
            return failed.status, failed.error
        try:
            return await self._converse(ctx, reader, writer, _url(ip, port), port, obs, deadline)
        finally:
            writer.close()

    async def _converse(
        self,
        ctx: ScanContext,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        url: str,
        port: int,
        obs: list[Observation],
        deadline: float,
    ) -> tuple[Status, str | None]:
        try:
            writer.write(request("OPTIONS", url, 1))
            options, cut = await _step(read_response(reader, ctx.caps.rtsp), deadline, ctx.timeouts.probe)
        except _Failed as failed:
            if failed.salvaged is not None:
                obs.extend(_observations(failed.salvaged, port))
            return failed.status, failed.error
        obs.extend(_observations(options, port))
        if not options.is_rtsp:
            obs.append(Observation("rtsp", "http.status", str(options.status), port))
            return Status.PROTOCOL_ERROR, f"peer answered {options.version}, not RTSP"
        if cut:
            obs.append(Observation("rtsp", "rtsp.status", str(options.status), port))
            return Status.TOO_LARGE, f"OPTIONS answer over {ctx.caps.rtsp} bytes"
        status, error, final = await self._describe(ctx, reader, writer, url, port, obs, deadline)
        obs.append(Observation("rtsp", "rtsp.status", str((final or options).status), port))
        return status, error

    async def _describe(
        self,
        ctx: ScanContext,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        url: str,
        port: int,
        obs: list[Observation],
        deadline: float,
    ) -> tuple[Status, str | None, RtspResponse | None]:
        """DESCRIBE on the same connection; its failure keeps the OPTIONS answer (status OK)."""
        if writer.is_closing() or reader.at_eof():
            return Status.OK, "describe: connection closed after OPTIONS", None
        try:
            writer.write(request("DESCRIBE", url, 2, "Accept: application/sdp"))
            resp, cut = await _step(read_response(reader, ctx.caps.rtsp), deadline, ctx.timeouts.probe)
        except _Failed as failed:
            if failed.salvaged is not None:
                obs.extend(_observations(failed.salvaged, port))
            status = Status.TOO_LARGE if failed.status is Status.TOO_LARGE else Status.OK
            return status, f"describe: {failed.error}", None
        obs.extend(_observations(resp, port))
        if not resp.is_rtsp:
            return Status.OK, f"describe: peer answered {resp.version}", None
        if cut:
            return Status.TOO_LARGE, f"DESCRIBE answer over {ctx.caps.rtsp} bytes", resp
        return Status.OK, None, resp
