"""ONVIF device-service probe: clock, identity and MAC, anonymously or with the user's own credentials."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import ClassVar

import httpx

from camscan import defaults
from camscan.context import OnvifCredentials, ScanContext
from camscan.models import Host, Observation, ProbeResult
from camscan.parse.soap import SoapParseError, parse_device_information, parse_fault
from camscan.parse.urls import NotSameHost, PinnedUrl, pin
from camscan.probes import onvif_soap
from camscan.probes.body import read_capped
from camscan.probes.tcp import short_error, status_for_error
from camscan.probes.wsdiscovery import scope_observations
from camscan.status import Status

USER_AGENT = defaults.USER_AGENT
DEFAULT_PATH = "/onvif/device_service"
INFO_FIELDS = {
    "Manufacturer": "onvif.manufacturer",
    "Model": "onvif.model",
    "FirmwareVersion": "onvif.firmware",
    "SerialNumber": "onvif.serial",
    "HardwareId": "onvif.hardware_id",
}
FREE_TEXT = frozenset({"onvif.fault"})  # fields that may quote what the device was sent
# Outcomes after which talking on to the device is pointless: nothing (or nothing sane) answered.
_FATAL = frozenset({Status.TIMEOUT, Status.REFUSED, Status.UNREACHABLE, Status.TLS_ERROR, Status.ERROR})
_AUTH_HTTP = frozenset({401, 403})


class XAddrRefused(ValueError):
    """The XAddr is not an http(s) URL on the probed host's own address."""


# The device service URL, pinned to the host's own address and a logical port.
Endpoint = PinnedUrl


def endpoint_for(xaddr: str, ip: str) -> Endpoint:
    """Check an XAddr against the host's address and rebuild it from parts (no userinfo, no fragment)."""
    try:
        return pin(xaddr, ip, default_path=DEFAULT_PATH)
    except NotSameHost as exc:
        raise XAddrRefused(f"XAddr {exc}") from None


CANDIDATE_PORTS = defaults.ONVIF_PORTS
MAX_ENDPOINTS = 8


def candidate_endpoints(
    ip: str, xaddrs: Iterable[str] = (), open_ports: Iterable[int] | None = None
) -> list[str]:
    """Device-service URLs worth asking on this host, best first (pure; the engine picks how many).

    First every XAddr the host advertised (WS-Discovery) that is on its own address, whatever its port:
    an XAddr naming another address is never followed. Then /onvif/device_service on the usual ONVIF
    ports, only those known to be open when `open_ports` is given, skipping ports an XAddr already covers.
    """
    urls: list[str] = []
    covered: set[int] = set()
    for xaddr in xaddrs:
        try:
            ep = endpoint_for(xaddr, ip)
        except XAddrRefused:
            continue
        url = ep.url(ep.port)
        if url not in urls:
            urls.append(url)
            covered.add(ep.port)
    wanted = CANDIDATE_PORTS if open_ports is None else set(open_ports)
    ports = [p for p in CANDIDATE_PORTS if p in wanted]
    host = f"[{ip}]" if ":" in ip else ip
    urls.extend(f"http://{host}:{port}{DEFAULT_PATH}" for port in ports if port not in covered)
    return urls[:MAX_ENDPOINTS]


class OnvifCache:
    """What one scan builds once and every ONVIF probe shares: the fixed anonymous request bodies."""

    def __init__(self) -> None:
        self.anonymous: dict[str, bytes] = {op: onvif_soap.build_request(op) for op in onvif_soap.OPERATIONS}


@dataclass(frozen=True, slots=True)
class Reply:
    """How one SOAP exchange ended and what came back (body cut at the cap)."""

    status: Status
    http_status: int | None = None
    body: bytes = b""
    error: str | None = None
    digest_challenge: bool = False  # HTTP 401 asking for HTTP Digest rather than a UsernameToken
    midpoint: float = 0.0  # wall-clock seconds halfway between sending and the answer's headers


@dataclass(frozen=True, slots=True)
class Auth:
    """The credentials to sign a request with, and the device clock offset that makes the token fresh."""

    creds: OnvifCredentials
    offset: dt.timedelta
    http_digest: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a GetDeviceInformation answer said: identity, or a fault, or why it could not be read."""

    reply: Reply
    info: dict[str, str] | None = None
    fault: str | None = None
    unreadable: str | None = None  # the answer is not SOAP

    @property
    def wants_credentials(self) -> bool:
        """The device may want to know who we are: HTTP 401/403 or a fault not clearly about other things."""
        return self.reply.http_status in _AUTH_HTTP or onvif_soap.may_be_auth_fault(self.fault)

    @property
    def refused(self) -> bool:
        """The device clearly refused an anonymous or signed request for lack of valid credentials."""
        return self.reply.http_status in _AUTH_HTTP or onvif_soap.is_auth_fault(self.fault)


class _Scrubber:
    """Removes the user's credentials from free text that leaves the probe (a device may echo them)."""

    def __init__(self, creds: OnvifCredentials | None) -> None:
        secrets_ = [creds.password, creds.username] if creds else []
        self._secrets = sorted((s for s in secrets_ if s), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<hidden>")
        return text


def _fault_name(reply: Reply) -> str | None:
    try:
        return parse_fault(reply.body)
    except SoapParseError:
        return None


def _outcome(reply: Reply) -> Outcome:
    try:
        return Outcome(reply, info=parse_device_information(reply.body))
    except SoapParseError as exc:
        fault = _fault_name(reply)
        if fault is None and reply.http_status in _AUTH_HTTP:
            fault = f"HTTP {reply.http_status}"
        return Outcome(reply, fault=fault, unreadable=None if fault else str(exc))


class OnvifProbe:
    """GetSystemDateAndTime, GetDeviceInformation and GetNetworkInterfaces on one device service."""

    name: ClassVar[str] = "onvif"
    extra_headers: ClassVar[dict[str, str]] = {}  # per-deployment overrides (the benchmark's keep-alive run)

    def __init__(self, cache: OnvifCache | None = None) -> None:
        self.cache = cache or OnvifCache()

    def _request(self, operation: str, auth: Auth | None) -> bytes:
        if auth is None:
            return self.cache.anonymous[operation]
        now = dt.datetime.now(dt.UTC) + auth.offset
        header = onvif_soap.security_header(
            auth.creds.username, auth.creds.password, created=now, nonce=secrets.token_bytes(16)
        )
        return onvif_soap.build_request(operation, header)

    async def _exchange(self, ctx: ScanContext, ep: Endpoint, operation: str, auth: Auth | None) -> Reply:
        """POST one operation, reading at most the body cap; every failure becomes a status."""
        headers = {
            "Content-Type": onvif_soap.content_type(operation),
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "identity",  # a compressed body could expand far past the cap
            "Connection": "close",  # the shared client keeps no connections; say so to the device
            **self.extra_headers,
        }
        digest = (
            httpx.DigestAuth(auth.creds.username, auth.creds.password) if auth and auth.http_digest else None
        )
        url = ep.url(ctx.real_port(ep.port))
        try:
            async with ctx.limits.connection(ep.ip), asyncio.timeout(ctx.timeouts.probe):
                # Built inside the slot: a queued request must not carry a stale wsu:Created.
                request = self._request(operation, auth)
                sent = time.time()
                stream = ctx.http.stream(
                    "POST", url, content=request, headers=headers, auth=digest or httpx.USE_CLIENT_DEFAULT
                )
                async with stream as resp:
                    midpoint = (sent + time.time()) / 2
                    challenge = resp.status_code == 401 and any(
                        c.lower().startswith("digest") for c in resp.headers.get_list("www-authenticate")
                    )
                    body = bytearray()
                    if await read_capped(resp, ctx.caps.body, body):
                        return Reply(
                            Status.TOO_LARGE,
                            resp.status_code,
                            bytes(body[: ctx.caps.body]),
                            f"{operation}: answer larger than {ctx.caps.body} bytes",
                        )
                    return Reply(Status.OK, resp.status_code, bytes(body), None, challenge, midpoint)
        except (TimeoutError, httpx.TimeoutException):
            return Reply(
                Status.TIMEOUT, error=f"{operation}: no complete answer within {ctx.timeouts.probe:g}s"
            )
        except (httpx.RemoteProtocolError, httpx.DecodingError) as exc:
            return Reply(Status.PROTOCOL_ERROR, error=f"{operation}: not HTTP: {short_error(exc)}")
        except (httpx.TransportError, OSError) as exc:
            return Reply(status_for_error(exc), error=f"{operation}: {short_error(exc)}")

    async def _signed(self, ctx: ScanContext, ep: Endpoint, operation: str, auth: Auth) -> tuple[Reply, Auth]:
        """A request with the UsernameToken, once more with HTTP Digest too if the device demands it."""
        reply = await self._exchange(ctx, ep, operation, auth)
        if reply.digest_challenge and not auth.http_digest:
            auth = replace(auth, http_digest=True)
            reply = await self._exchange(ctx, ep, operation, auth)
        return reply, auth

    def _clock(self, reply: Reply, port: int) -> tuple[dt.timedelta, list[Observation]]:
        """The device clock minus ours (zero when unknown), and its observation."""
        if reply.status is not Status.OK:
            return dt.timedelta(0), []
        try:
            device = onvif_soap.parse_system_time(reply.body)
        except SoapParseError:
            return dt.timedelta(0), []
        if device is None:
            return dt.timedelta(0), []
        offset = device - dt.datetime.fromtimestamp(reply.midpoint, dt.UTC)
        seconds = round(offset.total_seconds())
        return offset, [Observation(self.name, "onvif.clock_offset", str(seconds), port)]

    async def _identify(
        self, ctx: ScanContext, ep: Endpoint, creds: OnvifCredentials | None, obs: list[Observation]
    ) -> tuple[Status, str | None]:
        clock = await self._exchange(ctx, ep, "GetSystemDateAndTime", None)
        if clock.status in _FATAL:
            return clock.status, clock.error
        offset, clock_obs = self._clock(clock, ep.port)
        obs.extend(clock_obs)

        anonymous = await self._exchange(ctx, ep, "GetDeviceInformation", None)
        if anonymous.status in _FATAL:
            return anonymous.status, anonymous.error
        result = _outcome(anonymous)
        auth: Auth | None = None
        if result.info is not None:
            obs.append(Observation(self.name, "onvif.auth", "anonymous", ep.port))
        elif creds is not None and result.wants_credentials:
            signed, auth = await self._signed(ctx, ep, "GetDeviceInformation", Auth(creds, offset))
            if signed.status in _FATAL:
                return signed.status, signed.error
            result = _outcome(signed)
            if result.info is not None or result.wants_credentials:  # garbage after signing says neither
                verdict = "credentials" if result.info is not None else "refused"
                obs.append(Observation(self.name, "onvif.auth", verdict, ep.port))
        elif result.refused:
            obs.append(Observation(self.name, "onvif.auth", "refused", ep.port))

        if result.fault is not None and result.info is None:
            obs.append(Observation(self.name, "onvif.fault", result.fault, ep.port))
        if result.info is None:
            if result.fault is not None:  # a device service that refuses may still say who it is
                obs.extend(await self._details(ctx, ep, None))
            if result.reply.status is Status.TOO_LARGE:
                return Status.TOO_LARGE, result.reply.error
            if result.unreadable is not None:
                return Status.PROTOCOL_ERROR, f"GetDeviceInformation: not SOAP ({result.unreadable})"
            return Status.OK, None

        obs.extend(
            Observation(self.name, INFO_FIELDS[key], value, ep.port) for key, value in result.info.items()
        )
        obs.extend(await self._macs(ctx, ep, auth))
        obs.extend(await self._details(ctx, ep, auth))
        return Status.OK, None

    async def _details(self, ctx: ScanContext, ep: Endpoint, auth: Auth | None) -> list[Observation]:
        """Host name, scopes and services, where the device tells them; stops at the first silence."""
        out: list[Observation] = []
        for operation in onvif_soap.EXTRA_OPERATIONS:
            reply = await self._exchange(ctx, ep, operation, auth)
            if reply.status is not Status.OK:
                break  # a device that stalls or drops the connection gets no more requests
            try:
                pairs = _detail_pairs(operation, reply.body)
            except SoapParseError:
                continue  # a fault or a refusal: this detail is not given anonymously
            out.extend(Observation(self.name, field, value, ep.port) for field, value in pairs)
        return out

    async def _macs(self, ctx: ScanContext, ep: Endpoint, auth: Auth | None) -> list[Observation]:
        """The MACs GetNetworkInterfaces reports, with the auth that worked; nothing if it will not say."""
        reply = await self._exchange(ctx, ep, "GetNetworkInterfaces", auth)
        if reply.status is not Status.OK:
            return []
        try:
            macs = onvif_soap.parse_hw_addresses(reply.body)
        except SoapParseError:
            return []
        return [Observation(self.name, "mac.address", mac, ep.port) for mac in macs]

    async def run(
        self, ctx: ScanContext, host: Host, xaddr: str, deadline: float | None = None
    ) -> ProbeResult:
        """Probe the device service at xaddr (which must be on host.ip); never raises.

        With a `deadline` (event-loop time), a device still answering then ends the probe with TIMEOUT and
        what it has said so far (the device information, say, without the extras that came after)."""
        start = time.monotonic()
        obs: list[Observation] = []
        try:
            ep = endpoint_for(xaddr, host.ip)
        except XAddrRefused as exc:
            return ProbeResult(
                self.name, host.ip, None, Status.SKIPPED, (), str(exc), time.monotonic() - start
            )
        try:
            creds = ctx.onvif_credentials_for(host.ip)
        except ValueError:  # not an IPv4 address: the user cannot have given credentials for it
            creds = None
        scrub = _Scrubber(creds)
        try:
            async with asyncio.timeout_at(deadline):
                status, error = await self._identify(ctx, ep, creds, obs)
        except TimeoutError:
            status, error = Status.TIMEOUT, "host deadline passed; what the device said by then is kept"
        except Exception as exc:  # one device's oddity must never stop the scan
            status, error = Status.ERROR, f"{type(exc).__name__}: {short_error(exc)}"
        return ProbeResult(
            self.name,
            host.ip,
            ep.port,
            status,
            _scrubbed(obs, scrub),
            None if error is None else scrub(error),
            time.monotonic() - start,
        )


def _detail_pairs(operation: str, body: bytes) -> list[tuple[str, str]]:
    if operation == "GetHostname":
        name = onvif_soap.parse_hostname(body)
        return [("onvif.hostname", name)] if name else []
    if operation == "GetScopes":
        return scope_observations(onvif_soap.parse_scopes(body))
    return [("onvif.service", namespace) for namespace in onvif_soap.parse_services(body)]


def _scrubbed(obs: Iterable[Observation], scrub: _Scrubber) -> tuple[Observation, ...]:
    # Only free text is scrubbed: a short user name must not mangle a model or serial that contains it.
    cleaned = (replace(o, value=scrub(o.value)) if o.field in FREE_TEXT else o for o in obs)
    return tuple(dict.fromkeys(o for o in cleaned if o.value.strip()))
