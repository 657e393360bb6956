"""Routers' ARP tables over SNMP (read-only GETBULK walks of IP-MIB), for MACs on routed subnets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from camscan.context import ScanContext
from camscan.parse.snmp import MEDIA_COLUMNS, PHYSICAL_COLUMNS, NeighbourTable
from camscan.snmpconfig import CommunityV2c, SnmpRouter, UserV3
from camscan.status import Status

MAX_VALUE_BYTES = 64  # a MAC is 6; longer values are kept only long enough to be seen as not-a-MAC
Column = tuple[int, ...]
_SMALLER_PLEASE = frozenset({1, 5})  # error-status tooBig(1), genErr(5) (RFC 3416 section 3)
_AgentKey = tuple[IPv4Address, int, "CommunityV2c | UserV3"]
# Agent answers that mean "not with these credentials" (USM reports, RFC 3414 section 3.2).
_REJECTED = frozenset(
    {"WrongDigest", "UnknownUserName", "UnknownSecurityName", "UnsupportedSecurityLevel",
     "AuthenticationFailure", "DecryptionError", "NotInTimeWindow", "UnknownCommunityName"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SnmpLimits:
    """What one call may spend; routers are walked side by side, so a call lasts about router_time."""

    request_timeout: float = 1.5  # wait for one answer
    retries: int = 1  # resends of an unanswered request (so 2 tries)
    router_time: float = 60.0  # everything done to one router, both tables
    max_rows: int = 65_536  # entries read per table column from one router; past it: too-large
    max_repetitions: int = 50  # GETBULK rows per column per request (Net-SNMP answers 100 values at most)

    @property
    def request_bound(self) -> float:
        """Wall-clock seconds one request may take, resends included."""
        return (self.retries + 1) * self.request_timeout + 0.25

    @classmethod
    def from_context(cls, ctx: ScanContext) -> SnmpLimits:
        """The scan's own connect timeout per request; never longer than the scan."""
        return cls(request_timeout=ctx.timeouts.connect, router_time=min(60.0, ctx.timeouts.scan))


@dataclass(frozen=True, slots=True)
class RouterMacs:
    """What one router's agent gave: its status and the MACs it knows in the configured networks."""

    router: str  # the agent's address
    port: int
    networks: tuple[str, ...]  # the [[snmp]] networks this walk served
    status: Status
    macs: Mapping[str, str] = field(default_factory=dict)  # ip -> MAC, only inside `networks`
    sent: int = 0  # requests sent (pysnmp's resends not counted)
    received: int = 0  # answers
    rows: int = 0  # table rows read
    rejected: int = 0  # rows not used (malformed, not IPv4, not a unicast MAC, invalid entry, other network)
    elapsed: float = 0.0
    error: str | None = None  # one line, never a secret


@dataclass(frozen=True, slots=True)
class SnmpMac:
    """One address's MAC and the router whose table gave it."""

    mac: str
    router: str


@dataclass(frozen=True, slots=True)
class SnmpMacs:
    """Every router's outcome, and ip -> (MAC, router) over all of them."""

    routers: tuple[RouterMacs, ...]
    macs: Mapping[str, SnmpMac]


@dataclass(frozen=True, slots=True)
class _Agent:
    """One walk: the agent, the credentials, and every configured network it serves."""

    router: IPv4Address
    port: int
    credentials: CommunityV2c | UserV3
    networks: tuple[IPv4Network, ...]

    @property
    def key(self) -> _AgentKey:
        return self.router, self.port, self.credentials

    def keeps(self, ip: IPv4Address) -> bool:
        return any(ip in net for net in self.networks)


@dataclass(slots=True)
class _Walk:
    """One agent's walk in progress."""

    agent: _Agent
    table: NeighbourTable
    sent: int = 0
    received: int = 0


class _Stop(Exception):
    """The walk ends early with this status and message."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_router_macs(
    ctx: ScanContext, routers: Sequence[SnmpRouter], limits: SnmpLimits | None = None
) -> SnmpMacs:
    """Walk each router's IP-MIB neighbour tables; one failing router never raises or hides another."""
    if not routers:
        return SnmpMacs((), {})
    bounds = limits or SnmpLimits.from_context(ctx)
    agents = _agents(routers)
    groups: dict[CommunityV2c | UserV3, list[_Agent]] = {}
    for agent in agents:
        groups.setdefault(agent.credentials, []).append(agent)
    done = await asyncio.gather(*(_walk_group(ctx, bounds, creds, group) for creds, group in groups.items()))
    found = {
        a.key: r for group, results in zip(groups.values(), done, strict=True)
        for a, r in zip(group, results, strict=True)
    }  # fmt: skip
    return SnmpMacs(tuple(found[a.key] for a in agents), _pick(routers, found))


def _agents(routers: Sequence[SnmpRouter]) -> list[_Agent]:
    """Entries that share an agent and credentials become one walk serving all their networks."""
    nets: dict[_AgentKey, list[IPv4Network]] = {}
    for r in routers:
        nets.setdefault((r.router, r.port, r.credentials), []).append(r.network)
    return [_Agent(router, port, creds, tuple(networks)) for (router, port, creds), networks in nets.items()]


def _pick(routers: Sequence[SnmpRouter], found: Mapping[_AgentKey, RouterMacs]) -> dict[str, SnmpMac]:
    """ip -> (MAC, router), taking each address from the most specific entry whose router knew it."""
    out: dict[str, SnmpMac] = {}
    # most specific network first; equal prefixes in file order
    for entry in sorted(routers, key=lambda e: (-e.network.prefixlen, e.entry)):
        result = found[(entry.router, entry.port, entry.credentials)]
        for ip, mac in result.macs.items():
            if ip not in out and IPv4Address(ip) in entry.network:
                out[ip] = SnmpMac(mac, result.router)
    return out


async def _walk_group(
    ctx: ScanContext, limits: SnmpLimits, creds: CommunityV2c | UserV3, agents: list[_Agent]
) -> list[RouterMacs]:
    """The agents that share credentials share one SNMP engine (building one costs ~0.15 s of CPU)."""
    try:
        hl = _pysnmp()
        # off the event loop: pysnmp builds its MIB tables here
        engine = await asyncio.to_thread(hl.SnmpEngine)
    except Exception as exc:
        return [_failed(a, Status.ERROR, _one_line(exc, creds), 0.0) for a in agents]
    try:
        auth = _auth(hl, creds)
        return list(await asyncio.gather(*(_walk_agent(ctx, limits, hl, engine, auth, a) for a in agents)))
    finally:
        engine.close_dispatcher()


async def _walk_agent(
    ctx: ScanContext, limits: SnmpLimits, hl: Any, engine: Any, auth: Any, agent: _Agent
) -> RouterMacs:
    """Both tables of one agent within the router's time cap; whatever was read before a failure is kept."""
    started = time.monotonic()
    walk = _Walk(agent, NeighbourTable(keep=agent.keeps))
    status, error = Status.OK, None
    try:
        async with asyncio.timeout(limits.router_time):
            target = await hl.UdpTransportTarget.create(
                (str(agent.router), agent.port), timeout=limits.request_timeout,
                retries=limits.retries,
            )  # fmt: skip
            await _walk_columns(ctx, limits, hl, engine, auth, target, walk, PHYSICAL_COLUMNS)
            # The older table is read only where the newer one has no IPv4 rows: on agents that have both
            # (Net-SNMP, most routers) they hold the same entries, and pysnmp's decoding is the cost here.
            if not walk.table.seen_ipv4("physical"):
                await _walk_columns(ctx, limits, hl, engine, auth, target, walk, MEDIA_COLUMNS)
    except _Stop as stop:
        status, error = stop.status, str(stop)
    except TimeoutError:
        status = Status.TIMEOUT
        error = f"stopped after the router time cap ({limits.router_time:g} s); what was read is kept"
    except Exception as exc:
        status, error = Status.ERROR, _one_line(exc, agent.credentials)
    return RouterMacs(
        router=str(agent.router), port=agent.port, networks=tuple(map(str, agent.networks)), status=status,
        macs=walk.table.macs(), sent=walk.sent, received=walk.received, rows=walk.table.rows,
        rejected=walk.table.rejected, elapsed=round(time.monotonic() - started, 3), error=error,
    )  # fmt: skip


@dataclass(slots=True)
class _Columns:
    """Columns of one table walked side by side: where each stands and how many rows it gave."""

    active: list[Column]
    max_rows: int
    last: dict[Column, Column] = field(default_factory=dict)
    counts: dict[Column, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.last = {column: column for column in self.active}
        self.counts = dict.fromkeys(self.active, 0)

    def take(self, var_binds: Sequence[Any], table: NeighbourTable) -> None:
        """Feed one GETBULK answer to the table; drop the columns it ended (or could not advance)."""
        finished: set[Column] = set()
        for position, (name, value) in enumerate(var_binds):
            column = self.active[position % len(self.active)]  # answers repeat the requested columns in order
            if column in finished:
                continue
            oid = tuple(name)
            if oid[: len(column)] != column or _is_end(value):
                finished.add(column)
                continue
            if oid <= self.last[column]:
                raise _Stop(
                    Status.PROTOCOL_ERROR, "the agent returned OIDs out of order (a walk without end)"
                )
            if self.counts[column] >= self.max_rows:
                raise _Stop(
                    Status.TOO_LARGE, f"more than {self.max_rows} entries in a table; the first are kept"
                )
            self.last[column] = oid
            self.counts[column] += 1
            table.add(oid, _plain(value))
        if not var_binds:
            finished.update(self.active)  # an empty answer cannot advance the walk
        self.active = [c for c in self.active if c not in finished]


async def _walk_columns(
    ctx: ScanContext, limits: SnmpLimits, hl: Any, engine: Any, auth: Any, target: Any, walk: _Walk,
    columns: tuple[Column, ...],
) -> None:  # fmt: skip
    """GETBULK the columns side by side (one request carries all of them) until each leaves its subtree."""
    state = _Columns(list(columns), limits.max_rows)
    repetitions = limits.max_repetitions
    while state.active:
        # Charged for every datagram pysnmp may send for this request: its resends, and before the first
        # request of a walk the SNMPv3 engine discovery it makes on its own.
        sends = (1 + limits.retries) * (2 if walk.sent == 0 else 1)
        await ctx.limits.rate.acquire(sends, urgent=True)
        walk.sent += 1
        try:
            # pysnmp counts timeouts in timer ticks, which stretch while the loop is busy: bound by the clock
            async with asyncio.timeout(limits.request_bound):
                indication, error_status, _index, var_binds = await hl.bulk_cmd(
                    engine, auth, target, hl.ContextData(), 0, repetitions,
                    *(hl.ObjectType(hl.ObjectIdentity(state.last[c])) for c in state.active),
                    lookupMib=False,
                )  # fmt: skip
        except TimeoutError:
            indication = "RequestTimedOut"
        if indication:
            raise _indication_stop(indication, walk.agent, limits)
        walk.received += 1
        if error_status:
            # Net-SNMP answers genErr to a GETBULK that runs past the end of a restricted view, other agents
            # tooBig: ask again for fewer rows (at most log2(max_repetitions) more requests)
            if int(error_status) in _SMALLER_PLEASE and repetitions > 1:
                repetitions //= 2
                continue
            raise _Stop(Status.PROTOCOL_ERROR, f"the agent answered error-status {_pretty(error_status)}")
        state.take(var_binds, walk.table)


def _pretty(value: Any) -> str:
    """pysnmp's name for a value (an error-status: genErr, tooBig...) or its text."""
    pretty = getattr(value, "prettyPrint", None)
    return str(pretty() if callable(pretty) else value)[:100]


def _is_end(value: Any) -> bool:
    """endOfMibView (and noSuchObject/noSuchInstance): pysnmp decodes these as Null subtypes."""
    from pyasn1.type import univ

    return isinstance(value, univ.Null)


def _plain(value: Any) -> bytes | int:
    """An OCTET STRING as (capped) bytes, an INTEGER as int, anything else as b"" (not a MAC)."""
    from pyasn1.type import univ

    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets()[:MAX_VALUE_BYTES])
    if isinstance(value, univ.Integer):
        return int(value)
    return b""


def _indication_stop(indication: Any, agent: _Agent, limits: SnmpLimits) -> _Stop:
    kind = indication if isinstance(indication, str) else type(indication).__name__
    if kind == "RequestTimedOut":
        tries = limits.retries + 1
        return _Stop(
            Status.TIMEOUT,
            f"no answer from {agent.router}:{agent.port} ({tries} tries of {limits.request_timeout:g} s): "
            "no agent there, or it ignores this community, privacy password or source address",
        )
    if kind in _REJECTED:
        return _Stop(Status.REFUSED, f"the agent rejected the credentials ({indication})")
    return _Stop(Status.PROTOCOL_ERROR, f"SNMP error: {indication}")


def _auth(hl: Any, creds: CommunityV2c | UserV3) -> Any:
    """pysnmp's credentials object (its repr hides the secrets too)."""
    if isinstance(creds, CommunityV2c):
        # the first argument is an index that pysnmp shows in reprs: never the community itself
        return hl.CommunityData("camscan", communityName=creds.community, mpModel=1)
    auth = {
        "MD5": hl.USM_AUTH_HMAC96_MD5, "SHA": hl.USM_AUTH_HMAC96_SHA, "SHA-224": hl.USM_AUTH_HMAC128_SHA224,
        "SHA-256": hl.USM_AUTH_HMAC192_SHA256, "SHA-384": hl.USM_AUTH_HMAC256_SHA384,
        "SHA-512": hl.USM_AUTH_HMAC384_SHA512,
    }  # fmt: skip
    # Net-SNMP's names: AES-192/256 are Blumenthal's key extension, the -C ones Reeder's (Cisco's)
    priv = {
        "DES": hl.USM_PRIV_CBC56_DES, "AES": hl.USM_PRIV_CFB128_AES,
        "AES-192": hl.USM_PRIV_CFB192_AES_BLUMENTHAL, "AES-256": hl.USM_PRIV_CFB256_AES_BLUMENTHAL,
        "AES-192-C": hl.USM_PRIV_CFB192_AES, "AES-256-C": hl.USM_PRIV_CFB256_AES,
    }  # fmt: skip
    return hl.UsmUserData(
        creds.user, creds.auth_password, creds.priv_password,
        authProtocol=auth[creds.auth_protocol] if creds.auth_protocol else hl.USM_AUTH_NONE,
        privProtocol=priv[creds.priv_protocol] if creds.priv_protocol else hl.USM_PRIV_NONE,
    )  # fmt: skip


def _pysnmp() -> Any:
    """pysnmp's asyncio API, imported on first use (importing it costs ~0.2 s; most scans never need it)."""
    from pysnmp.hlapi.v3arch import asyncio as hl

    return hl


def _failed(agent: _Agent, status: Status, error: str, elapsed: float) -> RouterMacs:
    return RouterMacs(
        str(agent.router), agent.port, tuple(map(str, agent.networks)), status, elapsed=elapsed, error=error
    )


def _one_line(exc: BaseException, creds: CommunityV2c | UserV3) -> str:
    """An exception as one short line, with any secret blanked out (library messages are not ours)."""
    text = f"{type(exc).__name__}: {exc}"
    secrets = (
        (creds.community,) if isinstance(creds, CommunityV2c) else (creds.auth_password, creds.priv_password)
    )
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    return " ".join(text.split())[:300]
