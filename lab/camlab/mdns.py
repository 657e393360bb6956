"""mDNS/DNS-SD announcements for simulated devices (namespace lab only): one zeroconf responder per device.

Each device gets its own AsyncZeroconf bound to its own address, so a query is answered from that address
with that device's records only. Registration skips the uniqueness probing (cooperating_responders: names are
unique by construction), which keeps `lab up` fast; all devices register concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from camlab.channels import MdnsService
from camlab.plan import LabDevice, LabError

CLOSE_TIMEOUT = 5.0


def service_info(device: LabDevice, svc: MdnsService) -> ServiceInfo:
    """The DNS-SD records of one service of one device."""
    instance = device.render(svc.instance)
    return ServiceInfo(
        svc.type,
        f"{instance}.{svc.type}",
        addresses=[socket.inet_aton(device.ip)],
        port=svc.port,
        properties={k: device.render(v) for k, v in svc.txt},
        server=device.render(svc.host),
    )


class MdnsAnnouncer:
    """Registers every device's [[mdns]] services and withdraws them on close."""

    def __init__(self, devices: Sequence[LabDevice]) -> None:
        self.devices = [d for d in devices if d.persona.channels.mdns]
        self._zeroconfs: list[AsyncZeroconf] = []
        self.services = 0

    async def _register(self, device: LabDevice) -> None:
        try:
            infos = [service_info(device, svc) for svc in device.persona.channels.mdns]
            azc = AsyncZeroconf(interfaces=[device.ip], ip_version=IPVersion.V4Only)
        except Exception as exc:  # zeroconf raises its own errors and OSError for bad names/addresses
            raise LabError(f"mDNS for {device.persona.id} at {device.ip}: {exc}") from None
        self._zeroconfs.append(azc)
        for info in infos:
            try:
                await azc.async_register_service(info, cooperating_responders=True)
            except Exception as exc:
                raise LabError(f"mDNS registration of {info.name!r}: {exc}") from None
            self.services += 1

    async def start(self) -> None:
        """Register everything concurrently; on failure withdraw what was registered and raise LabError."""
        results = await asyncio.gather(*(self._register(d) for d in self.devices), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.close()
            raise errors[0] if isinstance(errors[0], LabError) else LabError(f"mDNS: {errors[0]}")

    async def close(self) -> None:
        """Say goodbye and close every responder."""
        zeroconfs, self._zeroconfs = self._zeroconfs, []
        if zeroconfs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*(z.async_close() for z in zeroconfs), return_exceptions=True),
                    CLOSE_TIMEOUT,
                )
