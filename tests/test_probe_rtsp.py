"""RtspProbe against small RTSP servers on loopback that replay authored device answers."""

from __future__ import annotations

import asyncio
import socket
import time
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from camscan.context import Caps, ScanContext, Timeouts
from camscan.limits import Limits
from camscan.models import Host, ProbeResult
from camscan.probes.rtsp import RtspProbe
from camscan.status import Status

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rtsp"


def answers(name: str) -> dict[str, bytes]:
    with (FIXTURES / f"{name}.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return {m.upper(): data[m].encode() for m in ("options", "describe") if m in data}


@asynccontextmanager
async def rtsp_server(replies: dict[str, bytes], log: list[bytes] | None = None) -> AsyncIterator[int]:
    """Answer each request by method from `replies`; a missing method closes; b"" means stay silent."""
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if log is not None:
                    log.append(head)
                reply = replies.get(head.split(b" ", 1)[0].decode())
                if reply is None:
                    break
                if not reply:
                    await asyncio.sleep(60)
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def probe(real: int, port: int = 554, **kw: Any) -> ProbeResult:
    async with httpx.AsyncClient() as client:
        ctx = ScanContext(
            http=client,
            limits=Limits(rate=100_000),
            timeouts=Timeouts(probe=kw.pop("timeout", 2.0)),
            caps=kw.pop("caps", Caps()),
            port_map={port: real},
        )
        return await RtspProbe().run(ctx, Host("127.0.0.1"), port)


def fields(result: ProbeResult, name: str) -> list[str]:
    return [o.value for o in result.observations if o.field == name]


async def test_dahua_server_and_basic_realm() -> None:
    async with rtsp_server(answers("dahua")) as real:
        result = await probe(real)
    assert (result.probe, result.port, result.status) == ("rtsp", 554, Status.OK)
    assert fields(result, "rtsp.server") == ["Dahua Rtsp Server"]
    assert fields(result, "rtsp.realm") == ["device"]
    assert fields(result, "rtsp.status") == ["401"]  # DESCRIBE's status
    assert fields(result, "rtsp.public")[0].startswith("OPTIONS, DESCRIBE")
    assert {o.port for o in result.observations} == {554}


async def test_hikvision_digest_realm() -> None:
    async with rtsp_server(answers("hikvision")) as real:
        result = await probe(real)
    assert result.status is Status.OK
    assert fields(result, "rtsp.realm") == ["IP Camera(21388)"]
    assert fields(result, "rtsp.server") == []


async def test_requests_are_options_then_describe_without_credentials() -> None:
    log: list[bytes] = []
    async with rtsp_server(answers("dahua"), log) as real:
        await probe(real, port=8554)
    assert [h.split(b"\r\n")[0] for h in log] == [
        b"OPTIONS rtsp://127.0.0.1:8554/ RTSP/1.0",
        b"DESCRIBE rtsp://127.0.0.1:8554/ RTSP/1.0",
    ]
    assert b"CSeq: 1\r\n" in log[0] and b"CSeq: 2\r\n" in log[1]
    assert b"Accept: application/sdp\r\n" in log[1]
    assert all(b"authorization" not in h.lower() for h in log)


async def test_dahua_answer_to_an_http_get_parses_as_rtsp() -> None:
    async with rtsp_server(answers("dahua-http-get")) as real:
        result = await probe(real)
    assert result.status is Status.OK  # DESCRIBE failing (connection closed) keeps the OPTIONS answer
    assert fields(result, "rtsp.server") == ["Dahua Rtsp Server"]
    assert fields(result, "rtsp.status") == ["405"]
    assert result.error and result.error.startswith("describe:")


async def test_web_server_on_the_rtsp_port_is_a_protocol_error_that_keeps_its_server() -> None:
    async with rtsp_server(answers("web-server")) as real:
        result = await probe(real)
    assert result.status is Status.PROTOCOL_ERROR
    assert fields(result, "http.server") == ["lighttpd/1.4.59"]
    assert fields(result, "http.status") == ["400"]
    assert fields(result, "rtsp.status") == []


async def test_garbage_is_a_protocol_error() -> None:
    async with rtsp_server({"OPTIONS": b"\x16\x03\x01 garbage\r\n\r\n"}) as real:
        result = await probe(real)
    assert result.status is Status.PROTOCOL_ERROR
    assert result.observations == ()


async def test_peer_that_closes_without_answering_is_a_protocol_error() -> None:
    async with rtsp_server({}) as real:
        result = await probe(real)
    assert result.status is Status.PROTOCOL_ERROR
    assert result.error == "closed the connection without answering"


async def test_silent_peer_times_out_within_the_probe_timeout() -> None:
    async with rtsp_server({"OPTIONS": b""}) as real:
        start = time.monotonic()
        result = await probe(real, timeout=0.4)
        took = time.monotonic() - start
    assert result.status is Status.TIMEOUT
    assert 0.35 < took < 1.5


async def test_describe_that_never_answers_keeps_the_options_answer() -> None:
    replies = answers("dahua") | {"DESCRIBE": b""}
    async with rtsp_server(replies) as real:
        result = await probe(real, timeout=0.5)
    assert result.status is Status.OK
    assert fields(result, "rtsp.status") == ["200"]
    assert fields(result, "rtsp.server") == ["Dahua Rtsp Server"]
    assert result.error and "describe" in result.error


async def test_oversize_header_block_is_too_large_and_keeps_what_fit() -> None:
    huge = (
        b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: Padded Rtsp Server\r\n"
        + b"X-Pad: "
        + b"a" * 5000
        + b"\r\n\r\n"
    )
    async with rtsp_server({"OPTIONS": huge}) as real:
        result = await probe(real, caps=Caps(rtsp=1024))
    assert result.status is Status.TOO_LARGE
    assert fields(result, "rtsp.server") == ["Padded Rtsp Server"]


async def test_oversize_sdp_body_is_too_large() -> None:
    sdp = b"v=0\r\n" + b"a=x\r\n" * 1000
    describe = b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nServer: Big\r\nContent-Length: %d\r\n\r\n" % len(sdp) + sdp
    replies = answers("hikvision") | {"DESCRIBE": describe}
    async with rtsp_server(replies) as real:
        result = await probe(real, caps=Caps(rtsp=2048))
    assert result.status is Status.TOO_LARGE
    assert fields(result, "rtsp.server") == ["Big"]
    assert fields(result, "rtsp.status") == ["200"]


async def test_closed_port_is_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    result = await probe(free)
    assert result.status is Status.REFUSED
