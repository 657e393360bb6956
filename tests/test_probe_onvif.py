"""OnvifProbe against fake ONVIF device services on loopback: anonymous, signed, skewed, hostile."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import logging
import re
import string
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

import httpx
import pytest

from camscan.context import Caps, OnvifCredentials, ScanContext, Timeouts
from camscan.limits import Limits
from camscan.models import Host, ProbeResult
from camscan.parse.soap import SoapParseError
from camscan.probes.onvif import OnvifCache, OnvifProbe, XAddrRefused, endpoint_for
from camscan.probes.onvif_soap import (
    PASSWORD_DIGEST,
    WSSE,
    WSU,
    build_request,
    parse_hw_addresses,
    parse_system_time,
    password_digest,
    security_header,
)
from camscan.status import Status
from camscan.vendors import VendorDB

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "onvif"
IP = "127.0.0.1"
USER = "cam-user-Q7x"
PASSWORD = "pw-S3cr3t-Zk9"
OP = re.compile(rb"<(?:[\w.-]+:)?Body[^>]*>\s*<(?:[\w.-]+:)?(\w+)")


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.xml").read_bytes()


def clock_answer(now: dt.datetime) -> bytes:
    text = string.Template(fixture("systemdateandtime").decode()).substitute(
        year=now.year, month=now.month, day=now.day, hour=now.hour, minute=now.minute, second=now.second
    )
    return text.encode()


@dataclass
class Seen:
    """One request as the fake device received it."""

    operation: str
    raw: bytes
    token: bool
    authorization: bool


@dataclass
class Device:
    """A fake ONVIF device service; `auth` is what it demands for identity calls."""

    info: bytes = field(default_factory=lambda: fixture("hikvision-deviceinfo"))
    interfaces: bytes = field(default_factory=lambda: fixture("hikvision-networkinterfaces"))
    details: bool = True  # answers GetHostname and GetScopes like an identity call, GetServices always
    stall_on: str = ""  # an operation the device never answers
    auth: str = "none"  # "none" | "wsse" (UsernameToken digest) | "http-digest"
    username: str = USER
    password: str = PASSWORD
    skew: dt.timedelta = dt.timedelta(0)
    clock: bool = True  # False: GetSystemDateAndTime is refused too
    mode: str = "normal"  # normal | garbage | huge | slow | bomb | echo | bare401 | unsupported
    after_auth: bool = False  # garbage/huge/slow/bomb only once a request is properly signed
    seen: list[Seen] = field(default_factory=list)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.skew

    def token_ok(self, body: bytes) -> bool:
        """Accept only a fresh digest UsernameToken for our user, checked against the device's own clock."""
        try:
            token = ET.fromstring(body).find(f".//{{{WSSE}}}UsernameToken")  # noqa: S314 -- camscan's request
        except ET.ParseError:
            return False
        if token is None:
            return False
        password = token.find(f"{{{WSSE}}}Password")
        nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        created = token.findtext(f"{{{WSU}}}Created") or ""
        if password is None or password.get("Type") != PASSWORD_DIGEST:
            return False
        expected = base64.b64encode(
            hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()  # noqa: S324 -- WS-Security
        ).decode()
        when = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        fresh = abs((when - self.now()).total_seconds()) <= 5
        return token.findtext(f"{{{WSSE}}}Username") == self.username and password.text == expected and fresh

    def digest_ok(self, header: str | None) -> bool:
        """RFC 7616 (MD5, qop=auth) check of an Authorization: Digest header."""
        if not header or not header.lower().startswith("digest "):
            return False
        p = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 -- HTTP Digest (RFC 2617) is MD5

        ha1 = md5(f"{self.username}:onvif:{self.password}")
        ha2 = md5(f"POST:{p.get('uri', '')}")
        want = md5(f"{ha1}:{p.get('nonce')}:{p.get('nc')}:{p.get('cnonce')}:{p.get('qop')}:{ha2}")
        return p.get("username") == self.username and p.get("response") == want

    def answer(
        self, op: str, body: bytes, authorization: str | None, hostile: bool
    ) -> tuple[int, bytes, list[str]]:
        if hostile and self.mode == "garbage":
            return 200, b"\x00\xff<html><body>Welcome</body></html>", []
        if op == "GetSystemDateAndTime":
            return (
                (200, clock_answer(self.now()), [])
                if self.clock
                else (400, fixture("fault-notauthorized"), [])
            )
        if hostile and self.mode == "bomb":
            return 200, fixture("entity-bomb"), []
        if self.mode == "unsupported":
            return 400, fixture("fault-actionnotsupported"), []
        if op == "GetServices" and self.details:  # PRE_AUTH in ONVIF Core: no token needed
            return 200, fixture("services"), []
        if self.auth == "http-digest" and not self.digest_ok(authorization):
            challenge = 'Digest realm="onvif", nonce="6a1b2c3d4e5f", qop="auth", algorithm=MD5'
            return 401, b"", [f"WWW-Authenticate: {challenge}"]
        if self.auth == "wsse" and not self.token_ok(body):
            if self.mode == "echo":
                reason = f"User {USER} with password {PASSWORD} is not authorized".encode()
                fault = (
                    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>'
                    b"<s:Reason><s:Text>" + reason + b"</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"
                )
                return 400, fault, []
            if self.mode == "bare401":
                return 401, b"", []
            return 400, fixture("fault-notauthorized"), []
        if op == "GetDeviceInformation":
            return 200, self.info, []
        if op == "GetNetworkInterfaces":
            return 200, self.interfaces, []
        if op in ("GetHostname", "GetScopes") and self.details:
            return 200, fixture("hostname" if op == "GetHostname" else "scopes"), []
        return 400, fixture("fault-actionnotsupported"), []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            m = OP.search(body)
            op = m.group(1).decode() if m else ""
            auth_header = headers.get("authorization")
            self.seen.append(Seen(op, head + body, b"UsernameToken" in body, auth_header is not None))
            hostile = not self.after_auth or self.token_ok(body) or self.digest_ok(auth_header)
            if op == self.stall_on:
                await asyncio.sleep(30)
            if hostile and self.mode == "slow":
                await asyncio.sleep(30)
            if hostile and self.mode == "huge":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n")
                writer.write(b"Content-Length: 209715200\r\nConnection: close\r\n\r\n<s:Envelope>")
                for _ in range(3200):  # 200 MiB at most, should the client never stop reading
                    writer.write(b"<x>" + b"A" * 65530 + b"</x>")
                    await writer.drain()
                return
            status, payload, extra = self.answer(op, body, auth_header, hostile)
            reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized"}[status]
            extra_lines = "".join(f"{h}\r\n" for h in extra)
            writer.write(
                (
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
                    f"{extra_lines}Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
                ).encode()
                + payload
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(*devices: Device) -> AsyncIterator[list[int]]:
    """Each device on its own loopback port; handler tasks are cancelled on the way out."""
    tasks: set[asyncio.Task[object]] = set()

    def starter(device: Device) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def on_connect(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            with contextlib.suppress(asyncio.CancelledError):  # teardown of a still-sleeping handler
                await device.handle(r, w)

        return on_connect

    servers = [await asyncio.start_server(starter(d), IP, 0) for d in devices]
    try:
        yield [s.sockets[0].getsockname()[1] for s in servers]
    finally:
        for s in servers:
            s.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def context(
    client: httpx.AsyncClient,
    *,
    creds: OnvifCredentials | None = None,
    network: str = "127.0.0.0/8",
    port_map: dict[int, int] | None = None,
    probe: float = 2.0,
) -> ScanContext:
    return ScanContext(
        http=client,
        limits=Limits(rate=100_000),
        timeouts=Timeouts(probe=probe),
        caps=Caps(),
        port_map=port_map or {},
        onvif_credentials=[(IPv4Network(network), creds)] if creds else [],
    )


async def probe(device: Device, **kw: object) -> ProbeResult:
    async with serving(device) as (port,), httpx.AsyncClient(trust_env=False) as client:
        ctx = context(client, port_map={80: port}, **kw)  # type: ignore[arg-type]
        return await OnvifProbe().run(ctx, Host(IP), f"http://{IP}/onvif/device_service")


def values(result: ProbeResult, name: str) -> list[str]:
    return [o.value for o in result.observations if o.field == name]


MINE = OnvifCredentials(USER, PASSWORD)


# --- the devices a user meets -------------------------------------------------------------------


async def test_anonymous_device_gives_identity_clock_and_mac_on_the_logical_port() -> None:
    device = Device()
    result = await probe(device)
    assert (result.probe, result.ip, result.port, result.status) == ("onvif", IP, 80, Status.OK)
    assert values(result, "onvif.manufacturer") == ["HIKVISION"]
    assert values(result, "onvif.model") == ["DS-2CD2142FWD-I"]
    assert values(result, "onvif.firmware") == ["V5.5.0 build 170725"]
    assert values(result, "onvif.serial") == ["DS-2CD2142FWD-I20170925AAWR123456789"]
    assert values(result, "onvif.hardware_id") == ["88"]
    assert values(result, "onvif.auth") == ["anonymous"]
    assert values(result, "mac.address") == ["44:19:b6:12:34:56"]
    assert abs(int(values(result, "onvif.clock_offset")[0])) <= 2
    assert {o.port for o in result.observations} == {80}
    assert [s.operation for s in device.seen] == [
        "GetSystemDateAndTime",
        "GetDeviceInformation",
        "GetNetworkInterfaces",
        "GetHostname",
        "GetScopes",
        "GetServices",
    ]
    assert result.error is None


async def test_anonymous_device_never_receives_the_users_credentials() -> None:
    device = Device()
    result = await probe(device, creds=MINE)
    assert values(result, "onvif.auth") == ["anonymous"]
    assert not any(s.token or USER.encode() in s.raw for s in device.seen)


async def test_locked_device_without_credentials_is_refused_and_gets_no_token() -> None:
    device = Device(auth="wsse")
    result = await probe(device)
    assert result.status is Status.OK
    assert values(result, "onvif.auth") == ["refused"]
    assert values(result, "onvif.fault") == ["ter:NotAuthorized"]
    assert values(result, "onvif.manufacturer") == []
    assert values(result, "onvif.clock_offset")  # PRE_AUTH clock still answered
    assert [s.operation for s in device.seen] == [
        "GetSystemDateAndTime",
        "GetDeviceInformation",
        "GetHostname",
        "GetScopes",
        "GetServices",
    ]
    assert values(result, "onvif.hostname") == []  # READ_SYSTEM: refused without a token
    assert "http://www.onvif.org/ver10/media/wsdl" in values(result, "onvif.service")  # PRE_AUTH
    assert not any(s.token for s in device.seen)


@pytest.mark.parametrize(
    ("username", "password"),
    [(USER, PASSWORD), ("o'brien<&>co", 'pässwörd ✓ "quoted"')],
)
async def test_credentials_are_accepted_through_a_digest_username_token(username: str, password: str) -> None:
    device = Device(auth="wsse", username=username, password=password)
    result = await probe(device, creds=OnvifCredentials(username, password))
    assert result.status is Status.OK
    assert values(result, "onvif.auth") == ["credentials"]
    assert values(result, "onvif.manufacturer") == ["HIKVISION"]
    assert values(result, "mac.address") == ["44:19:b6:12:34:56"]
    assert values(result, "onvif.fault") == []
    assert [(s.operation, s.token) for s in device.seen] == [
        ("GetSystemDateAndTime", False),
        ("GetDeviceInformation", False),
        ("GetDeviceInformation", True),
        ("GetNetworkInterfaces", True),
        ("GetHostname", True),
        ("GetScopes", True),
        ("GetServices", True),
    ]
    assert not any(password.encode() in s.raw for s in device.seen)  # only the digest travels


async def test_short_user_name_does_not_mangle_what_the_device_reports() -> None:
    device = Device(auth="wsse", username="ua", info=fixture("dahua-deviceinfo"))
    result = await probe(device, creds=OnvifCredentials("ua", PASSWORD))
    assert values(result, "onvif.auth") == ["credentials"]
    assert values(result, "onvif.manufacturer") == ["Dahua"]  # "ua" is in "Dahua": identity is not scrubbed


async def test_wrong_password_is_refused() -> None:
    device = Device(auth="wsse")
    result = await probe(device, creds=OnvifCredentials(USER, "not-the-password"))
    assert values(result, "onvif.auth") == ["refused"]
    assert values(result, "onvif.fault") == ["ter:NotAuthorized"]
    assert values(result, "onvif.manufacturer") == []
    assert sum(s.token for s in device.seen) == 1  # one signed try, no guessing


async def test_credentials_for_another_network_are_never_sent() -> None:
    device = Device(auth="wsse")
    result = await probe(device, creds=MINE, network="10.0.0.0/8")
    assert values(result, "onvif.auth") == ["refused"]
    assert not any(s.token or s.authorization for s in device.seen)


@pytest.mark.parametrize("skew", [dt.timedelta(hours=3), dt.timedelta(hours=-7, minutes=-30)])
async def test_device_clock_hours_off_still_authenticates(skew: dt.timedelta) -> None:
    device = Device(auth="wsse", skew=skew)
    result = await probe(device, creds=MINE)
    assert values(result, "onvif.auth") == ["credentials"]
    assert values(result, "onvif.manufacturer") == ["HIKVISION"]
    assert abs(int(values(result, "onvif.clock_offset")[0]) - skew.total_seconds()) <= 2


async def test_skewed_device_that_hides_its_clock_rejects_the_token() -> None:
    # Without the device's clock the token looks hours stale: the fake's freshness check is real.
    device = Device(auth="wsse", skew=dt.timedelta(hours=3), clock=False)
    result = await probe(device, creds=MINE)
    assert values(result, "onvif.clock_offset") == []
    assert values(result, "onvif.auth") == ["refused"]


async def test_device_demanding_http_digest_gets_it_with_the_users_credentials() -> None:
    device = Device(auth="http-digest")
    result = await probe(device, creds=MINE)
    assert values(result, "onvif.auth") == ["credentials"]
    assert values(result, "onvif.model") == ["DS-2CD2142FWD-I"]
    assert values(result, "mac.address") == ["44:19:b6:12:34:56"]


async def test_bare_http_401_without_credentials_is_refused() -> None:
    device = Device(auth="wsse", mode="bare401")
    result = await probe(device)
    assert result.status is Status.OK
    assert values(result, "onvif.auth") == ["refused"]
    assert values(result, "onvif.fault") == ["HTTP 401"]


async def test_unsupported_operation_is_a_fault_not_an_auth_verdict() -> None:
    result = await probe(Device(mode="unsupported"), creds=MINE)
    assert result.status is Status.OK
    assert values(result, "onvif.fault") == ["ter:ActionNotSupported"]
    assert values(result, "onvif.auth") == []


async def test_dahua_firmware_string_is_kept_verbatim() -> None:
    result = await probe(Device(info=fixture("dahua-deviceinfo")))
    assert values(result, "onvif.manufacturer") == ["Dahua"]
    assert values(result, "onvif.firmware") == ["2.800.0000016.0.R, Build Date 2020-06-05"]
    assert values(result, "onvif.hardware_id") == ["1.00"]


async def test_lorex_labelled_device_reports_the_label_and_dahua_firmware() -> None:
    result = await probe(Device(info=fixture("lorex-deviceinfo")))
    (label,) = values(result, "onvif.manufacturer")
    assert label == "LOREX"
    assert values(result, "onvif.firmware") == ["2.460.0001.5.R, Build Date 2019-08-29"]
    assert values(result, "onvif.serial") == ["ND021908012345"]
    db = VendorDB.builtin()
    brand = db.from_name(label)
    assert brand == "lorex"
    assert db.maker_of(brand) == "dahua"


# --- hostile and broken devices -----------------------------------------------------------------


async def test_garbage_instead_of_soap_is_a_protocol_error() -> None:
    result = await probe(Device(mode="garbage"))
    assert result.status is Status.PROTOCOL_ERROR
    assert result.error is not None and "not SOAP" in result.error
    assert values(result, "onvif.manufacturer") == []


async def test_entity_bomb_is_refused_not_expanded() -> None:
    result = await probe(Device(mode="bomb"))
    assert result.status is Status.PROTOCOL_ERROR
    assert not any("lol" in o.value for o in result.observations)


async def test_huge_answer_stops_at_the_body_cap() -> None:
    start = time.monotonic()
    result = await probe(Device(mode="huge"))
    assert result.status is Status.TOO_LARGE
    assert result.error is not None and str(Caps().body) in result.error
    assert time.monotonic() - start < 5


async def test_slow_device_times_out_after_one_request() -> None:
    device = Device(mode="slow")
    start = time.monotonic()
    result = await probe(device, probe=0.3)
    assert result.status is Status.TIMEOUT
    assert time.monotonic() - start < 2
    assert len(device.seen) == 1  # no point asking a silent device three times


async def test_closed_port_is_refused() -> None:
    async with serving(Device()) as (port,):
        pass  # the port is closed again
    async with httpx.AsyncClient(trust_env=False) as client:
        result = await OnvifProbe().run(context(client), Host(IP), f"http://{IP}:{port}/onvif/device_service")
    assert result.status is Status.REFUSED
    assert result.port == port


@pytest.mark.parametrize(
    "xaddr",
    [
        "http://127.0.0.2/onvif/device_service",  # another host
        "http://127.0.0.1@127.0.0.2/onvif/device_service",  # userinfo trick
        "http://camera.example/onvif/device_service",  # a name would need DNS
        "ftp://127.0.0.1/onvif/device_service",
        "http://127.0.0.1:99999/onvif/device_service",
    ],
)
async def test_xaddr_off_the_host_is_refused_without_connecting(xaddr: str) -> None:
    device = Device()
    async with serving(device), httpx.AsyncClient(trust_env=False) as client:
        result = await OnvifProbe().run(context(client), Host(IP), xaddr)
    assert result.status is Status.SKIPPED
    assert result.error
    assert device.seen == []


async def test_one_bad_device_does_not_affect_another() -> None:
    devices = [
        Device(mode="garbage"),
        Device(info=fixture("dahua-deviceinfo")),
        Device(mode="huge"),
        Device(),
    ]
    probe_ = OnvifProbe(cache=OnvifCache())  # one cache shared by the whole scan
    async with serving(*devices) as ports, httpx.AsyncClient(trust_env=False) as client:
        ctx = context(client)
        results = await asyncio.gather(
            *(probe_.run(ctx, Host(IP), f"http://{IP}:{p}/onvif/device_service") for p in ports)
        )
    assert [r.status for r in results] == [Status.PROTOCOL_ERROR, Status.OK, Status.TOO_LARGE, Status.OK]
    assert values(results[1], "onvif.manufacturer") == ["Dahua"]
    assert values(results[3], "onvif.manufacturer") == ["HIKVISION"]


async def test_credentials_never_appear_in_results_errors_or_logs(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    scenarios = [
        Device(auth="wsse", password="another-password"),  # refused
        Device(auth="wsse", mode="echo", password="another-password"),  # quotes what it was sent
        Device(auth="http-digest", password="another-password"),
        Device(auth="wsse", mode="garbage", after_auth=True),
        Device(auth="wsse", mode="huge", after_auth=True),
        Device(auth="wsse", mode="slow", after_auth=True),
        Device(auth="wsse", mode="bomb", after_auth=True),
        Device(auth="http-digest", mode="garbage", after_auth=True),
    ]
    results: list[ProbeResult] = []
    async with serving(*scenarios) as ports, httpx.AsyncClient(trust_env=False) as client:
        ctx = context(client, creds=MINE, probe=0.5)
        for port in ports:
            results.append(await OnvifProbe().run(ctx, Host(IP), f"http://{IP}:{port}/onvif/device_service"))
        closed = ports[0] + 0
    async with httpx.AsyncClient(trust_env=False) as client:  # every port closed now
        results.append(
            await OnvifProbe().run(context(client, creds=MINE), Host(IP), f"http://{IP}:{closed}/x")
        )
    assert [r.status for r in results] == [Status.OK] * 3 + [
        Status.PROTOCOL_ERROR,
        Status.TOO_LARGE,
        Status.TIMEOUT,
        Status.PROTOCOL_ERROR,
        Status.PROTOCOL_ERROR,
        Status.REFUSED,
    ]
    assert [values(r, "onvif.auth") for r in results[:4]] == [["refused"]] * 3 + [[]]  # garbage: no verdict
    assert values(results[1], "onvif.fault") == ["User <hidden> with password <hidden> is not authorized"]
    out = capsys.readouterr()
    texts = [repr(r) for r in results] + [str(r.error) for r in results] + [out.out, out.err, caplog.text]
    for text in texts:
        assert USER not in text
        assert PASSWORD not in text
    assert PASSWORD not in repr(MINE) + str(MINE)


# --- the messages themselves --------------------------------------------------------------------


def test_password_digest_matches_the_onvif_programmers_guide_example() -> None:
    nonce = base64.b64decode("LKqI6G/AikKCQrN0zqZFlg==")
    assert password_digest(nonce, "2010-09-16T07:50:45Z", "userpassword") == "tuOSpGlFlIXsozq4HFNeeGeFLEI="


def test_signed_request_is_well_formed_and_carries_no_password() -> None:
    when = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    header = security_header("a<b", "hunter2", created=when, nonce=b"\x01" * 16)
    data = build_request("GetDeviceInformation", header)
    root = ET.fromstring(data)  # noqa: S314 -- our own request, not device input
    assert root.findtext(f".//{{{WSSE}}}Username") == "a<b"
    assert root.findtext(f".//{{{WSU}}}Created") == "2024-02-29T15:59:58Z"  # converted to UTC, Zulu form
    assert b"hunter2" not in data
    with pytest.raises(ValueError, match="unsupported ONVIF operation"):
        build_request("SetSystemFactoryDefault")


def test_system_time_tolerates_overflowing_fields_and_rejects_nonsense() -> None:
    def answer(**kw: int) -> bytes:
        fields = {"year": 2024, "month": 1, "day": 31, "hour": 24, "minute": 0, "second": 60} | kw
        return string.Template(fixture("systemdateandtime").decode()).substitute(fields).encode()

    assert parse_system_time(answer()) == dt.datetime(2024, 2, 1, 0, 1, 0, tzinfo=dt.UTC)
    assert parse_system_time(answer(month=13)) is None
    assert parse_system_time(answer(year=1900)) is None
    assert parse_system_time(fixture("hikvision-deviceinfo")) is None  # no UTCDateTime at all
    with pytest.raises(SoapParseError):
        parse_system_time(b"<html/>")


def test_hw_addresses_are_normalised_and_empty_ones_dropped() -> None:
    assert parse_hw_addresses(fixture("nvr-networkinterfaces")) == ["3c:ef:8c:0a:0b:0c", "3c:ef:8c:0a:0b:0d"]
    with pytest.raises(SoapParseError):
        parse_hw_addresses(fixture("hikvision-deviceinfo"))


def test_endpoint_keeps_path_and_port_and_drops_userinfo() -> None:
    ep = endpoint_for("https://u:p@127.0.0.1:8443/onvif/device_service?x=1#frag", IP)
    assert ep.url(9443) == "https://127.0.0.1:9443/onvif/device_service?x=1"
    assert endpoint_for("http://127.0.0.1", IP).url(80) == "http://127.0.0.1:80/onvif/device_service"
    with pytest.raises(XAddrRefused, match=r"not the device.s own address"):
        endpoint_for("http://127.0.0.2:80/onvif/device_service", IP)


async def test_a_deadline_mid_probe_keeps_what_the_device_already_said() -> None:
    device = Device(stall_on="GetHostname")  # identity answered, then the extras hang
    async with serving(device) as (port,), httpx.AsyncClient(trust_env=False) as client:
        ctx = context(client, port_map={80: port}, probe=10.0)
        deadline = asyncio.get_running_loop().time() + 1.0
        result = await OnvifProbe().run(ctx, Host(IP), f"http://{IP}/onvif/device_service", deadline)
    assert result.status is Status.TIMEOUT and "kept" in (result.error or "")
    assert values(result, "onvif.manufacturer") == ["HIKVISION"]
