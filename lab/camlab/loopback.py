"""The rootless lab: every device on its own 127.x address, privileged ports shifted, MACs in a file."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from camlab.manifest import MACS, build_manifest, write_macs, write_manifest
from camlab.plan import LabDevice, LabError, load_plan
from camlab.serve import serve_forever
from camlab.server import LabServer, quiet_exception_handler

DEFAULT_BASE = "127.77.0.0"


def loopback_subnet(base: str) -> str:
    """`127.77.0.0` or `127.77.0.0/24` -> the /24 (or given prefix) the devices live in."""
    return base if "/" in base else f"{base}/24"


def plan_loopback(personas_dir: Path | None, count: int | None, base: str = DEFAULT_BASE) -> list[LabDevice]:
    """Devices for a loopback lab (device i at .(i+2) of the base /24)."""
    return load_plan(personas_dir, count, loopback_subnet(base), loopback=True)


def loopback_manifest(
    devices: Sequence[LabDevice], base: str, state_dir: Path, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write macs.txt and manifest.json for a loopback lab and return the manifest."""
    macs = write_macs(state_dir / MACS, devices)
    manifest = build_manifest(
        "loopback",
        devices,
        loopback_subnet(base),
        state_dir,
        macs_file=macs,
        extra={"server_pid": os.getpid(), **(extra or {})},
    )
    write_manifest(state_dir, manifest)
    return manifest


def run_foreground(
    personas_dir: Path | None,
    count: int | None,
    base: str,
    state_dir: Path,
    announce: Callable[[dict[str, Any]], None],
) -> None:
    """Serve a loopback lab until Ctrl-C / SIGTERM; the state dir's files are removed on the way out."""
    devices = plan_loopback(personas_dir, count, base)

    def ready(server: LabServer, info: dict[str, Any]) -> None:
        announce(loopback_manifest(devices, base, state_dir, {"server": info}))

    try:
        asyncio.run(serve_forever(devices, state_dir, ready))
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


class ThreadedLab:
    """A loopback lab served by an event loop in a daemon thread (for tests and embedding)."""

    def __init__(self, devices: Sequence[LabDevice], base: str, state_dir: Path) -> None:
        self.devices = list(devices)
        self.base = base
        self.state_dir = state_dir
        self.server = LabServer(self.devices, state_dir / "certs")
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(quiet_exception_handler)
        self._thread = threading.Thread(target=self.loop.run_forever, name="camscan-lab", daemon=True)
        self.manifest: dict[str, Any] = {}

    def start(self, timeout: float = 60.0) -> dict[str, Any]:
        """Bind every listener and write the manifest; raises LabError if binding fails."""
        self._thread.start()
        fut: Future[None] = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop)
        try:
            fut.result(timeout)
        except BaseException:
            self.stop()
            raise
        self.manifest = loopback_manifest(
            self.devices, self.base, self.state_dir, {"listeners": self.server.listeners}
        )
        return self.manifest

    def stop(self) -> None:
        """Close every listener and connection and end the thread."""
        if self.loop.is_closed():
            return
        if self._thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self.server.close(), self.loop)
            try:
                fut.result(10)
            except Exception as exc:  # pragma: no cover - shutdown best effort
                raise LabError(f"lab server did not stop cleanly: {exc}") from None
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(10)
        self.loop.close()
