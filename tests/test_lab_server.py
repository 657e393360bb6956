"""The lab server answers every persona as its file says, over real loopback sockets, and survives abuse."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import struct
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from camlab.certs import parse_name
from camlab.loopback import ThreadedLab
from camlab.personas import Service, load_personas
from camlab.plan import LabDevice, default_personas_dir

PERSONAS = load_personas(default_personas_dir())
HTTP_CASES = [(p.id, s.port) for p in PERSONAS for s in p.services if s.kind in ("http", "https")]
HTTPS_CASES = [(p.id, s.port) for p in PERSONAS for s in p.services if s.kind == "https"]
RTSP_CASES = [(p.id, s.port) for p in PERSONAS for s in p.services if s.kind == "rtsp"]


def find(lab: ThreadedLab, pid: str, port: int) -> tuple[LabDevice, Service]:
    device = next(d for d in lab.devices if d.persona.id == pid)
    return device, next(s for s in device.persona.services if s.port == port)


def pattern(device: LabDevice, template: str) -> re.Pattern[str]:
    """The rendered template as a regex; {nonce} may be any 32 hex digits."""
    parts = template.split("{nonce}")
    return re.compile("[0-9a-f]{32}".join(re.escape(device.render(part)) for part in parts))


def tls_client() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def read_rtsp(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode()
    first, *lines = head.strip().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return first, headers, body


@pytest.mark.parametrize(("pid", "port"), HTTP_CASES)
async def test_http_answers_as_the_persona_says(
    loopback_lab_runtime: ThreadedLab, pid: str, port: int
) -> None:
    device, svc = find(loopback_lab_runtime, pid, port)
    scheme = "https" if svc.kind == "https" else "http"
    assert svc.reply is not None
    async with httpx.AsyncClient(verify=tls_client(), follow_redirects=False, timeout=5) as client:
        for path, reply in [("/", svc.reply), ("/some/other?x=1", svc.reply), *svc.paths.items()]:
            r = await client.get(f"{scheme}://{device.ip}:{device.real_port(port)}{path}")
            assert (r.status_code, r.http_version) == (reply.status, reply.version), path
            for name in {n.lower() for n, _ in reply.headers}:
                templates = [v for n, v in reply.headers if n.lower() == name]
                got = r.headers.get_list(name)
                assert len(got) == len(templates), name
                assert all(pattern(device, t).fullmatch(g) for t, g in zip(templates, got, strict=True)), name
            assert r.content == device.render(reply.body).encode()
            assert r.headers["connection"].lower() == "close"


async def test_head_and_redirect_chain(loopback_lab_runtime: ThreadedLab) -> None:
    device, _ = find(loopback_lab_runtime, "mobotix-m16", 80)
    base = f"http://{device.ip}:{device.real_port(80)}"
    async with httpx.AsyncClient(timeout=5) as client:
        head = await client.head(base + "/control/userimage.html")
        final = await client.get(base + "/", follow_redirects=True)
    assert head.content == b"" and int(head.headers["content-length"]) > 0
    assert [r.status_code for r in final.history] == [302] and final.status_code == 200
    assert "MOBOTIX AG, Germany" in final.text


@pytest.mark.parametrize(("pid", "port"), HTTPS_CASES)
async def test_https_cert_subject_and_issuer(loopback_lab_runtime: ThreadedLab, pid: str, port: int) -> None:
    device, svc = find(loopback_lab_runtime, pid, port)
    assert svc.cert is not None
    _, writer = await asyncio.open_connection(device.ip, device.real_port(port), ssl=tls_client())
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    cert = x509.load_der_x509_certificate(der)
    assert cert.subject == parse_name(device.render(svc.cert.subject))
    assert cert.issuer == parse_name(device.render(svc.cert.issuer))
    if "SERIALNUMBER" not in svc.cert.subject:
        assert cert.subject.rfc4514_string() == device.render(svc.cert.subject)


@pytest.mark.parametrize(("pid", "port"), RTSP_CASES)
async def test_rtsp_options_describe_on_one_connection(
    loopback_lab_runtime: ThreadedLab, pid: str, port: int
) -> None:
    device, svc = find(loopback_lab_runtime, pid, port)
    reader, writer = await asyncio.open_connection(device.ip, device.real_port(port))
    url = f"rtsp://{device.ip}:{port}/"
    writer.write(f"OPTIONS {url} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: t\r\n\r\n".encode())
    first, headers, _ = await read_rtsp(reader)
    assert first == "RTSP/1.0 200 OK" and headers["cseq"] == "1" and "DESCRIBE" in headers["public"]
    assert headers.get("server") == (device.render(svc.server) if svc.server else None)
    writer.write(f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n".encode())
    first, headers, body = await read_rtsp(reader)
    assert headers["cseq"] == "2"
    if svc.realm is None:
        assert first == "RTSP/1.0 200 OK" and body.startswith(b"v=0")
    else:
        realm = re.escape(device.render(svc.realm))
        expected = f'Basic realm="{realm}"'
        if svc.auth == "digest":
            expected = f'Digest realm="{realm}", nonce="[0-9a-f]{{32}}"'
        assert first == "RTSP/1.0 401 Unauthorized"
        assert re.match(expected, headers["www-authenticate"])
    writer.write(f"OPTIONS {url} RTSP/1.0\r\nCSeq: 3\r\n\r\n".encode())
    assert (await read_rtsp(reader))[1]["cseq"] == "3"
    writer.close()


async def test_http_get_on_the_rtsp_port_gets_rtsp_405(loopback_lab_runtime: ThreadedLab) -> None:
    device, _ = find(loopback_lab_runtime, "dahua-ipc-hdw5831", 554)
    reader, writer = await asyncio.open_connection(device.ip, device.real_port(554))
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    first, headers, _ = await read_rtsp(reader)
    assert first == "RTSP/1.0 405 Method Not Allowed" and headers["server"] == "Dahua Rtsp Server"
    assert await reader.read() == b""
    writer.close()


async def test_tcp_banner_and_reply(loopback_lab_runtime: ThreadedLab) -> None:
    device, svc = find(loopback_lab_runtime, "hikvision-ds2cd2142", 8000)
    reader, writer = await asyncio.open_connection(device.ip, device.real_port(8000))
    assert await asyncio.wait_for(reader.readexactly(16), 5) == svc.banner
    writer.write(b"\x01junk")
    assert await asyncio.wait_for(reader.readexactly(16), 5) == svc.reply_bytes
    writer.close()
    server, _ = find(loopback_lab_runtime, "linux-server-apache", 22)
    reader, writer = await asyncio.open_connection(server.ip, server.real_port(22))
    assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"SSH-2.0-OpenSSH_9.2p1")
    writer.close()


async def hostile(lab: ThreadedLab, pid: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    device, _ = find(lab, pid, port)
    reader, writer = await asyncio.open_connection(device.ip, device.real_port(port))
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    return reader, writer


async def test_hostile_endless_body_never_ends(loopback_lab_runtime: ThreadedLab) -> None:
    reader, writer = await hostile(loopback_lab_runtime, "hostile-endless", 80)
    got = 0
    while got < 1_000_000:
        chunk = await asyncio.wait_for(reader.read(65536), 5)
        assert chunk, "an endless body must not end"
        got += len(chunk)
    writer.close()


async def test_hostile_silent_sends_nothing(loopback_lab_runtime: ThreadedLab) -> None:
    for port in (80, 443):
        reader, writer = await hostile(loopback_lab_runtime, "hostile-silent", port)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.4)
        writer.close()


async def test_hostile_garbage_is_not_a_protocol(loopback_lab_runtime: ThreadedLab) -> None:
    reader, writer = await hostile(loopback_lab_runtime, "hostile-garbage", 80)
    data = await asyncio.wait_for(reader.read(), 5)
    assert len(data) == 4096 and not data.startswith((b"HTTP", b"RTSP", b"\x16\x03"))
    writer.close()
    device, _ = find(loopback_lab_runtime, "hostile-garbage", 443)
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(asyncio.open_connection(device.ip, device.real_port(443), ssl=tls_client()), 5)


async def test_hostile_drip_is_slow(loopback_lab_runtime: ThreadedLab) -> None:
    reader, writer = await hostile(loopback_lab_runtime, "hostile-drip", 80)
    got = b""
    loop = asyncio.get_running_loop()
    end = loop.time() + 1.3
    while loop.time() < end:
        try:
            got += await asyncio.wait_for(reader.read(100), end - loop.time())
        except TimeoutError:
            break
    assert got in (b"H", b"HT")
    writer.close()


async def test_hostile_huge_header_line(loopback_lab_runtime: ThreadedLab) -> None:
    reader, writer = await hostile(loopback_lab_runtime, "hostile-huge-header", 80)
    data = await asyncio.wait_for(reader.read(), 5)
    longest = max(len(line) for line in data.split(b"\r\n"))
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and longest > 64 * 1024
    writer.close()


async def test_client_abuse_never_hurts_the_server(loopback_lab_runtime: ThreadedLab) -> None:
    lab = loopback_lab_runtime
    hik, _ = find(lab, "hikvision-ds2cd2142", 80)
    http_port, rtsp_port, tls_port = hik.real_port(80), hik.real_port(554), hik.real_port(443)

    async def exchange(port: int, payload: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(hik.ip, port)
        writer.write(payload)
        try:
            return await asyncio.wait_for(reader.read(), 12)
        finally:
            writer.close()

    bad_length = b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"
    assert (await exchange(http_port, b"\x16\x03\x01\x00garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")
    huge_line = b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n"
    assert (await exchange(http_port, huge_line)).startswith(b"HTTP/1.1 431")
    assert (await exchange(http_port, bad_length)).startswith(b"HTTP/1.1 400")
    assert (await exchange(rtsp_port, b"NOT AN RTSP LINE\r\n\r\n")).startswith(b"RTSP/1.0 400")
    assert await exchange(tls_port, b"GET / HTTP/1.0\r\n\r\n") == b""  # plain text on a TLS port: hang up
    with socket.create_connection((hik.ip, http_port)) as sock:  # connect and reset at once
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    async with httpx.AsyncClient(timeout=5) as client:
        urls = [
            f"http://{d.ip}:{d.real_port(s.port)}/"
            for d in lab.devices
            for s in d.persona.services
            if s.kind == "http"
        ]
        replies = await asyncio.gather(*(client.get(u) for u in urls * 3))
    assert len(replies) == 3 * len(urls) and all(r.status_code < 500 for r in replies)
    assert lab.server.stats.internal_errors == 0


def test_manifest_describes_the_loopback_lab(loopback_lab: dict[str, object]) -> None:
    devices = loopback_lab["devices"]
    assert isinstance(devices, list) and len(devices) == len(PERSONAS)
    assert loopback_lab["mode"] == "loopback"
    assert loopback_lab["port_map"] == {"22": 10022, "80": 10080, "88": 10088, "443": 10443, "554": 10554}
    macs = Path(str(loopback_lab["macs_file"])).read_text(encoding="utf-8").splitlines()
    assert macs[0].startswith("#") and macs[1] == f"{devices[0]['ip']} {devices[0]['mac']}"
    first, last = devices[0]["ip"], devices[-1]["ip"]
    expected = f"camscan scan {first}-{last.rsplit('.', 1)[1]} --port-map 22=10022,80=10080"
    assert str(loopback_lab["scan_command"]).startswith(expected)
    assert devices[0]["expect"]["manufacturer"] == PERSONAS[0].expect.manufacturer
