"""Per-connection behaviour of simulated services: minimal HTTP, RTSP, raw TCP banners and hostile peers."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from camlab import onvif
from camlab.personas import HttpReply, Service
from camlab.plan import LabDevice
from camlab.ssdp import description_xml

READ_TIMEOUT = 10.0  # seconds a client may take to send a request (or the next one)
HOSTILE_SECONDS = 120.0  # endless/silent/drip connections end after this even if the client stays
MAX_HEAD = 16 * 1024  # request head cap: longer heads get 431 (HTTP) / are dropped (RTSP)
MAX_REQUEST_BODY = 64 * 1024  # request bodies are read and discarded up to this size
MAX_RTSP_REQUESTS = 32  # requests answered on one RTSP connection
RTSP_PUBLIC = "OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER"
RTSP_REASONS = {
    200: "OK",
    401: "Unauthorized",
    405: "Method Not Allowed",
    400: "Bad Request",
    455: "Method Not Valid in This State",
    454: "Session Not Found",
}

Handler = Callable[[LabDevice, Service, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class BadRequest(Exception):
    """The client sent something that is not a request we can parse."""


async def read_head(reader: asyncio.StreamReader, timeout: float = READ_TIMEOUT) -> bytes | None:
    """One request head up to the blank line; None on EOF; BadRequest when it passes MAX_HEAD."""
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """(method, target, version, lower-cased headers) of a request head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha():
        raise BadRequest(f"bad request line {lines[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:101]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return parts[0].upper(), parts[1], parts[2], headers


def content_length(headers: dict[str, str]) -> int:
    """The announced body size (0 when absent); BadRequest when it is not a number."""
    text = headers.get("content-length", "0")
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise BadRequest("bad Content-Length")
    return int(text)


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """A request body announced by Content-Length, at most MAX_REQUEST_BODY bytes of it."""
    length = min(content_length(headers), MAX_REQUEST_BODY)
    if length > 0:
        return await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT)
    return b""


async def discard_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> None:
    """Read and drop a request body announced by Content-Length (capped)."""
    await read_body(reader, headers)


def _path_of(target: str) -> str:
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return target.split("?", 1)[0].split("#", 1)[0] or "/"


def http_response(device: LabDevice, reply: HttpReply, *, head_only: bool) -> bytes:
    """Serialise a canned reply: persona headers in order, Content-Length and Connection added if absent."""
    body = device.render(reply.body).encode("utf-8")
    reason = reply.reason
    if reason is None:
        try:
            reason = HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Unknown"
    lines = [f"{reply.version} {reply.status} {reason}"]
    present = set()
    for name, value in reply.headers:
        lines.append(f"{name}: {device.render(value)}")
        present.add(name.lower())
    if "content-length" not in present:
        lines.append(f"Content-Length: {len(body)}")
    if "connection" not in present:
        lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return raw if head_only else raw + body


def raw_response(status: int, content_type: str, body: bytes, *, head_only: bool = False) -> bytes:
    """A generated (not persona-written) HTTP/1.1 answer."""
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head if head_only else head + body


def channel_response(
    device: LabDevice, svc: Service, method: str, path: str, headers: dict[str, str], body: bytes
) -> bytes | None:
    """The ONVIF device service or the UPnP description when this request is for them, else None."""
    channels = device.persona.channels
    spec = channels.onvif
    if spec is not None and svc.port == spec.port and path.rstrip("/") == onvif.PATH and method == "POST":
        if content_length(headers) > onvif.MAX_BODY:
            return raw_response(413, "text/plain", b"Payload Too Large\n")
        status, payload = onvif.handle(device, spec, body)
        return raw_response(status, onvif.CONTENT_TYPE, payload)
    ssdp = channels.ssdp
    if ssdp is not None and svc.port == ssdp.port and path == ssdp.location and method in ("GET", "HEAD"):
        xml = description_xml(device, ssdp)
        return raw_response(200, 'text/xml; charset="utf-8"', xml, head_only=method == "HEAD")
    return None


def _simple_http(status: int, device: LabDevice) -> bytes:
    return http_response(
        device,
        HttpReply(
            status=status, headers=(("Content-Type", "text/plain"),), body=HTTPStatus(status).phrase + "\n"
        ),
        head_only=False,
    )


async def serve_http(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer one HTTP request as the persona says, then close."""
    try:
        head = await read_head(reader)
        if head is None:
            return
        method, target, version, headers = parse_head(head)
        if not version.startswith("HTTP/"):
            raise BadRequest("not HTTP")
        body = await read_body(reader, headers)
    except BadRequest as exc:
        status = 431 if "too large" in str(exc) else 400
        writer.write(_simple_http(status, device))
        await writer.drain()
        return
    special = channel_response(device, svc, method, _path_of(target), headers, body)
    if special is not None:
        writer.write(special)
        await writer.drain()
        return
    reply = svc.paths.get(_path_of(target)) or svc.reply
    if reply is None:  # pragma: no cover - the loader always sets a reply for http kinds
        return
    writer.write(http_response(device, reply, head_only=method == "HEAD"))
    await writer.drain()


def _rtsp_reply(
    device: LabDevice,
    svc: Service,
    status: int,
    cseq: str | None,
    extra: list[tuple[str, str]],
    body: bytes = b"",
) -> bytes:
    lines = [f"RTSP/1.0 {status} {RTSP_REASONS.get(status, 'Error')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    if svc.server:
        lines.append(f"Server: {device.render(svc.server)}")
    lines += [f"{k}: {device.render(v)}" for k, v in (*svc.headers, *extra)]
    if body or status == 200:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _sdp(device: LabDevice) -> bytes:
    return (
        f"v=0\r\no=- 1 1 IN IP4 {device.ip}\r\ns=Media Presentation\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
        "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n"
    ).encode()


def _challenge(device: LabDevice, svc: Service) -> tuple[str, str]:
    realm = device.render(svc.realm or "")
    if svc.auth == "basic":
        return ("WWW-Authenticate", f'Basic realm="{realm}"')
    return ("WWW-Authenticate", device.render(f'Digest realm="{realm}", nonce="{{nonce}}", stale="FALSE"'))


async def serve_rtsp(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer RTSP requests on one connection: OPTIONS, DESCRIBE (401 when a realm is set), others."""
    for _ in range(MAX_RTSP_REQUESTS):
        try:
            head = await read_head(reader)
            if head is None:
                return
            method, target, version, headers = parse_head(head)
            await discard_body(reader, headers)
        except BadRequest:
            writer.write(_rtsp_reply(device, svc, 400, None, []))
            await writer.drain()
            return
        cseq = headers.get("cseq")
        if not version.startswith("RTSP/"):
            # e.g. an HTTP GET on the RTSP port: real servers answer in RTSP and hang up
            writer.write(_rtsp_reply(device, svc, 405, cseq, [("Allow", RTSP_PUBLIC)]))
            await writer.drain()
            return
        if method == "OPTIONS":
            out = _rtsp_reply(device, svc, 200, cseq, [("Public", RTSP_PUBLIC)])
        elif svc.realm is not None and method in ("DESCRIBE", "SETUP", "PLAY", "GET_PARAMETER"):
            out = _rtsp_reply(device, svc, 401, cseq, [_challenge(device, svc)])
        elif method == "DESCRIBE":
            base = target if target.endswith("/") else target + "/"
            out = _rtsp_reply(
                device,
                svc,
                200,
                cseq,
                [("Content-Type", "application/sdp"), ("Content-Base", base)],
                _sdp(device),
            )
        elif method in ("SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"):
            out = _rtsp_reply(device, svc, 454 if method != "SETUP" else 455, cseq, [])
        else:
            out = _rtsp_reply(device, svc, 405, cseq, [("Allow", RTSP_PUBLIC)])
        writer.write(out)
        await writer.drain()


async def serve_tcp(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Send the banner, answer the first data with the persona's reply, then wait for the client to leave."""
    if svc.banner:
        writer.write(svc.banner)
        await writer.drain()
    replied = False
    while True:
        try:
            data = await asyncio.wait_for(reader.read(4096), READ_TIMEOUT)
        except TimeoutError:
            return
        if not data:
            return
        if svc.reply_bytes and not replied:
            writer.write(svc.reply_bytes)
            await writer.drain()
            replied = True


async def _request_or_nothing(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(BadRequest, TimeoutError):
        await read_head(reader, timeout=2.0)


async def _endless(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await _request_or_nothing(reader)
    head = svc.head or "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>"
    writer.write(device.render(head).encode())
    chunk = b"<p>" + b"x" * 16_000 + b"</p>\n"
    while True:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(0.005)  # ~3 MB/s: endless, but not a CPU burner


async def _silent(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while await reader.read(4096):
        pass


async def _garbage(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    junk = bytearray(os.urandom(4096))
    junk[0] = 0x80  # never a printable protocol line or a TLS record header
    writer.write(bytes(junk))
    await writer.drain()


async def _drip(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    text = device.render(svc.head or "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Drip: ").encode()
    i = 0
    while True:
        writer.write(text[i : i + 1] if i < len(text) else b"z")
        await writer.drain()
        i += 1
        await asyncio.sleep(svc.interval)


async def _huge_header(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await _request_or_nothing(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nX-Filler: " + b"A" * svc.size + b"\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


HOSTILE: dict[str, Handler] = {
    "endless": _endless,
    "silent": _silent,
    "garbage": _garbage,
    "drip": _drip,
    "huge-header": _huge_header,
}


async def serve_hostile(
    device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Misbehave as the persona says, for at most HOSTILE_SECONDS."""
    behave = HOSTILE[svc.behaviour or "silent"]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(behave(device, svc, reader, writer), HOSTILE_SECONDS)


HANDLERS: dict[str, Handler] = {
    "http": serve_http,
    "https": serve_http,
    "rtsp": serve_rtsp,
    "tcp": serve_tcp,
    "hostile": serve_hostile,
}
