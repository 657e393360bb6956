"""One asyncio server for every simulated device: a listener per (device address, service port)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import resource
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from camlab.certs import CertCache, CertError
from camlab.handlers import HANDLERS, MAX_HEAD, BadRequest
from camlab.mdns import MdnsAnnouncer
from camlab.personas import Service
from camlab.plan import LabDevice, LabError, LabInputError
from camlab.udp import UdpResponder, UdpStats, protocols_for

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 2048  # open client connections across all devices; more are dropped at once
CLOSE_GRACE = 2.0  # seconds to flush a reply before the socket is aborted


@dataclass(slots=True)
class ServerStats:
    """Counters a test or `lab status` can read."""

    connections: int = 0
    active: int = 0
    dropped: int = 0  # over MAX_CONNECTIONS
    client_errors: int = 0  # resets, timeouts, malformed requests: the client's doing
    internal_errors: int = 0  # bugs in the lab itself (logged)
    udp: UdpStats = field(default_factory=UdpStats)  # discovery datagrams


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one (hundreds of listeners need it); returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 16 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
    return soft


def quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Keep client-caused transport errors (TLS garbage, resets) out of the log; log the rest."""
    exc = context.get("exception")
    if isinstance(exc, OSError | ssl.SSLError | asyncio.CancelledError):
        return
    log.warning("lab server: %s", context.get("message", "unexpected error"), exc_info=exc)


class LabServer:
    """Serves `devices` until closed; a client can never take it down.

    `interfaces` (device ip -> macvlan name) switches the UDP responders to the namespace lab's multicast
    sockets; without it they listen on each device address (loopback). `mdns` registers the [[mdns]]
    services (namespace lab only: multicast).
    """

    def __init__(
        self,
        devices: Sequence[LabDevice],
        cert_dir: Path,
        max_connections: int = MAX_CONNECTIONS,
        *,
        interfaces: Mapping[str, str] | None = None,
        mdns: bool = False,
    ) -> None:
        self.devices = list(devices)
        self.certs = CertCache(cert_dir)
        self.max_connections = max_connections
        self.stats = ServerStats()
        self.interfaces = dict(interfaces) if interfaces is not None else None
        self.mdns = MdnsAnnouncer(self.devices) if mdns else None
        self._servers: list[asyncio.Server] = []
        self._udp: list[UdpResponder] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def listeners(self) -> int:
        return len(self._servers)

    @property
    def udp_sockets(self) -> int:
        return len(self._udp)

    @property
    def multicast(self) -> bool:
        return self.interfaces is not None

    def _start_udp(self) -> None:
        loop = asyncio.get_running_loop()
        addresses = frozenset(d.ip for d in self.devices)
        for device in self.devices:
            ifname = None if self.interfaces is None else self.interfaces[device.ip]
            for proto in protocols_for(device):
                responder = UdpResponder(device, proto, self.stats.udp, ifname=ifname, ignore=addresses)
                responder.open(loop)
                self._udp.append(responder)

    def _tls(self, device: LabDevice, svc: Service) -> ssl.SSLContext | None:
        if svc.kind != "https" or svc.cert is None:
            return None
        subject, issuer = device.render(svc.cert.subject), device.render(svc.cert.issuer)
        try:
            return self.certs.context(subject, issuer)
        except CertError as exc:
            raise LabInputError(f"persona {device.persona.id} port {svc.port}: {exc}") from None

    async def start(self) -> None:
        """Bind every listener; on any failure close what was bound and raise LabError."""
        raise_fd_limit()
        try:
            for device in self.devices:
                for svc in device.persona.services:
                    port = device.real_port(svc.port)
                    callback = functools.partial(self._connection, device, svc)
                    try:
                        server = await asyncio.start_server(
                            callback,
                            host=device.ip,
                            port=port,
                            ssl=self._tls(device, svc),
                            limit=MAX_HEAD,
                            backlog=256,
                            reuse_address=True,
                            ssl_handshake_timeout=10.0 if svc.kind == "https" else None,
                        )
                    except OSError as exc:
                        why = exc.strerror or exc
                        raise LabError(f"cannot listen on {device.ip}:{port}: {why}") from None
                    self._servers.append(server)
            self._start_udp()
            if self.mdns is not None:
                await self.mdns.start()
        except BaseException:
            await self.close()
            raise

    async def _connection(
        self, device: LabDevice, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self.stats.active >= self.max_connections:
            self.stats.dropped += 1
            writer.transport.abort()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.stats.connections += 1
        self.stats.active += 1
        try:
            await HANDLERS[svc.kind](device, svc, reader, writer)
        except (OSError, TimeoutError, EOFError, BadRequest, asyncio.IncompleteReadError):
            self.stats.client_errors += 1
        except asyncio.CancelledError:
            pass  # server shutdown
        except Exception:
            self.stats.internal_errors += 1
            log.exception("lab server bug serving %s port %s", device.persona.id, svc.port)
        finally:
            self.stats.active -= 1
            if task is not None:
                self._tasks.discard(task)
            await self._hang_up(writer)

    @staticmethod
    async def _hang_up(writer: asyncio.StreamWriter) -> None:
        try:
            if writer.transport.is_closing():
                writer.transport.abort()
                return
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), CLOSE_GRACE)
        except (OSError, TimeoutError, ssl.SSLError, asyncio.CancelledError):
            writer.transport.abort()
        except Exception:  # pragma: no cover - a transport quirk must not escape the handler
            writer.transport.abort()

    async def close(self) -> None:
        """Stop listening and end open connections."""
        for responder in self._udp:
            responder.close()
        self._udp.clear()
        if self.mdns is not None:
            await self.mdns.close()
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=CLOSE_GRACE)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), CLOSE_GRACE)
        self._servers.clear()
