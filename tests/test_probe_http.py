"""HttpProbe against authored device answers (httpx MockTransport) and real loopback servers."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import ssl
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from camscan.context import Caps, ScanContext, Timeouts
from camscan.limits import Limits
from camscan.models import Host, ProbeResult
from camscan.probes.http import USER_AGENT, HttpProbe
from camscan.status import Status

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "http"
DEVICE = "192.0.2.10"  # only ever reached through MockTransport: no packet leaves the process
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def load(name: str) -> dict[str, Any]:
    with (FIXTURES / f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)


def device_transport(name: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    """A fake device serving one fixture file, recording every request it gets."""
    responses = {r["path"]: r for r in load(name)["response"]}

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        r = responses.get(request.url.path)
        if r is None:
            return httpx.Response(404)
        body = r["body"].encode(r.get("body_charset", "utf-8"))
        return httpx.Response(r["status"], headers=[tuple(h) for h in r["headers"]], content=body)

    return httpx.MockTransport(handle)


def context(client: httpx.AsyncClient, port_map: dict[int, int] | None = None, **kw: Any) -> ScanContext:
    return ScanContext(
        http=client,
        limits=Limits(rate=100_000),
        timeouts=Timeouts(probe=kw.pop("probe", 2.0)),
        caps=kw.pop("caps", Caps()),
        port_map=port_map or {},
    )


def fields(result: ProbeResult, name: str) -> list[str]:
    return [o.value for o in result.observations if o.field == name]


async def probe_fixture(name: str, port: int = 80) -> tuple[ProbeResult, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=device_transport(name, seen)) as client:
        result = await HttpProbe().run(context(client), Host(DEVICE), port)
    return result, seen


async def test_hikvision_401_shows_status_server_and_realm() -> None:
    result, seen = await probe_fixture("hikvision-401")
    assert result.status is Status.OK
    assert (result.probe, result.ip, result.port) == ("http", DEVICE, 80)
    assert fields(result, "http.status") == ["401"]
    assert fields(result, "http.server") == ["App-webs/"]
    assert fields(result, "http.realm") == ["IP Camera(C2183)"]  # Digest and Basic name the same realm once
    assert fields(result, "http.title") == ["Document Error: Unauthorized"]
    assert len(seen) == 1


async def test_requests_identify_camscan_and_carry_no_credentials() -> None:
    _, seen = await probe_fixture("hikvision-401")
    request = seen[0]
    assert request.method == "GET" and request.url.path == "/"
    assert request.headers["user-agent"] == USER_AGENT
    assert "no login" in USER_AGENT
    assert "authorization" not in request.headers and "cookie" not in request.headers


async def test_same_host_redirect_is_followed_once_and_both_answers_observed() -> None:
    result, seen = await probe_fixture("hikvision-legacy")
    assert [r.url.path for r in seen] == ["/", "/index.asp"]
    assert result.status is Status.OK and result.error is None
    assert fields(result, "http.status") == ["302", "200"]
    assert fields(result, "http.server") == ["Webs"]  # the same value seen twice is kept once
    assert fields(result, "http.location") == ["/index.asp"]
    assert fields(result, "http.title") == ["Network Camera"]
    assert fields(result, "http.cookie") == ["_goaheadwebSessionId=; path=/"]
    body = fields(result, "http.body")
    assert body and body[0].startswith("<!doctype html>")  # BOM stripped
    assert "doc/page/login.asp" in body[0]


async def test_redirect_title_and_target_title_both_kept() -> None:
    result, _ = await probe_fixture("mobotix-redirect")
    assert fields(result, "http.title") == ["Redirect to userimage: /control/userimage.html", "Live & Player"]


async def test_redirect_to_another_address_is_not_followed() -> None:
    result, seen = await probe_fixture("offsite-redirect")
    assert [str(r.url) for r in seen] == [f"http://{DEVICE}/"]
    assert fields(result, "http.location") == ["http://203.0.113.7/login.html"]
    assert result.status is Status.OK


async def test_redirect_to_a_hostname_is_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "http://camera.example/"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        result = await HttpProbe().run(context(client), Host(DEVICE), 80)
    assert len(seen) == 1 and fields(result, "http.location") == ["http://camera.example/"]


async def test_absolute_same_ip_redirect_to_https_uses_the_logical_port_mapping() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": f"https://user:pw@{DEVICE}/doc?x=1#frag"})
        return httpx.Response(200, headers={"Server": "lighttpd"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        result = await HttpProbe().run(context(client, {80: 8080, 443: 8443}), Host(DEVICE), 80)
    assert [str(r.url) for r in seen] == [f"http://{DEVICE}:8080/", f"https://{DEVICE}:8443/doc?x=1"]
    assert "authorization" not in seen[1].headers  # userinfo in the Location is dropped
    server = [o for o in result.observations if o.field == "http.server"]
    assert [(o.value, o.port) for o in server] == [("lighttpd", 443)]  # reported on the logical port


async def test_redirect_chain_is_followed_only_once() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": f"/hop{len(seen)}"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        result = await HttpProbe().run(context(client), Host(DEVICE), 80)
    assert [r.url.path for r in seen] == ["/", "/hop1"]
    assert fields(result, "http.location") == ["/hop1", "/hop2"]


async def test_compressed_body_is_inflated_within_the_cap() -> None:
    page = b"<html><title>gzipped</title>" + b"a" * 50_000 + b"</html>"

    def handle(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "text/html"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(gzip.compress(page)))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        result = await HttpProbe().run(context(client, caps=Caps(body=1000)), Host(DEVICE), 80)
    assert fields(result, "http.title") == ["gzipped"]
    assert len(fields(result, "http.body")[0]) == 1000


async def test_gb2312_page_title_is_decoded() -> None:
    result, _ = await probe_fixture("xiongmai-gb2312", port=8000)
    assert fields(result, "http.server") == ["uc-httpd 1.0.0"]
    assert fields(result, "http.title") == ["NETSurveillance WEB"]
    assert "请使用IE浏览器" in fields(result, "http.body")[0]


async def test_https_port_uses_https() -> None:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=device_transport("hikvision-401", seen)) as client:
        await HttpProbe().run(context(client), Host(DEVICE), 443)
    assert (seen[0].url.scheme, seen[0].url.host, seen[0].url.path) == ("https", DEVICE, "/")


# --- real loopback servers -------------------------------------------------------------------------


@asynccontextmanager
async def loopback(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 for the duration of the block; yields its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def run_probe(port: int, real: int, **kw: Any) -> ProbeResult:
    # verification off as in a scan: a camera's self-signed certificate is read, not trusted
    async with httpx.AsyncClient(verify=False, follow_redirects=False, trust_env=False) as client:  # noqa: S501
        return await HttpProbe().run(context(client, {port: real}, **kw), Host("127.0.0.1"), port)


async def test_endless_body_stops_at_the_cap_as_too_large() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nServer: streamer\r\nContent-Type: text/html\r\n\r\n<title>live</title>"
        )
        while True:
            writer.write(b"x" * 4096)
            await writer.drain()

    async with loopback(endless) as real:
        start = time.monotonic()
        result = await run_probe(80, real, probe=5.0, caps=Caps(body=20_000))
        took = time.monotonic() - start
    assert result.status is Status.TOO_LARGE
    assert took < 2.0
    assert fields(result, "http.server") == ["streamer"]
    assert fields(result, "http.title") == ["live"]
    assert len(fields(result, "http.body")[0]) == 20_000


async def test_silent_server_times_out_within_the_probe_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(60)

    async with loopback(silent) as real:
        start = time.monotonic()
        result = await run_probe(80, real, probe=0.4)
        took = time.monotonic() - start
    assert result.status is Status.TIMEOUT
    assert 0.35 < took < 1.5
    assert result.error and "0.4" in result.error


async def test_headers_then_stall_keeps_what_arrived() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nServer: slowpoke\r\nContent-Length: 100\r\n\r\n<title>half")
        await writer.drain()
        await asyncio.sleep(60)

    async with loopback(stall) as real:
        result = await run_probe(80, real, probe=0.4)
    assert result.status is Status.TIMEOUT
    assert fields(result, "http.server") == ["slowpoke"]
    assert fields(result, "http.body") == ["<title>half"]


async def test_garbage_answer_is_a_protocol_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"\x00\xff\x10 not http at all\r\n\r\n")
        await writer.drain()

    async with loopback(garbage) as real:
        result = await run_probe(80, real)
    assert result.status is Status.PROTOCOL_ERROR
    assert result.observations == ()


async def test_closed_port_is_refused() -> None:
    async def ignore(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with loopback(ignore) as real:
        pass  # the server is gone: its port now refuses
    result = await run_probe(80, real)
    assert result.status is Status.REFUSED


def make_certificate(tmp: Path) -> tuple[Path, Path]:
    """A CA-signed leaf shaped like an Axis camera certificate; returns (cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Camscan Test CA")])
    leaf_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Axis Communications AB"),
            x509.NameAttribute(NameOID.COMMON_NAME, "axis-accc8e000001"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(leaf_name)
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


async def test_tls_subject_and_issuer_from_a_real_tls_server(tmp_path: Path) -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*make_certificate(tmp_path))

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nServer: axis\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with loopback(answer, tls) as real:
        result = await run_probe(443, real)
    assert result.status is Status.OK
    assert fields(result, "tls.subject") == ["CN=axis-accc8e000001,O=Axis Communications AB"]
    assert fields(result, "tls.issuer") == ["CN=Camscan Test CA"]
    assert {o.probe for o in result.observations if o.field.startswith("tls.")} == {"tls"}
    assert {o.port for o in result.observations} == {443}


async def test_plain_http_on_a_tls_port_is_a_tls_error() -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with loopback(plain) as real:
        result = await run_probe(443, real)
    assert result.status is Status.TLS_ERROR
