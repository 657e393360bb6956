"""Running `camscan sweep` / `diff` / `history` as a user would, against labs laid out device by device."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camlab.loopback import ThreadedLab
from camlab.personas import Persona, load_personas
from camlab.plan import LabDevice, LabError, default_personas_dir, loopback_port_map

SITE_TIMEOUTS = {"host_timeout": 4, "probe_timeout": 2, "discovery_wait": 0.3}


@dataclass(frozen=True)
class Placed:
    """A device to lay: its persona, its host number on the lab /24, and the MAC and serial it keeps."""

    persona: str
    host: int
    mac: str
    serial: str | None


def personas() -> dict[str, Persona]:
    """camlab's shipped personas, by id."""
    return {p.id: p for p in load_personas(default_personas_dir())}


def lay(placed: Sequence[Placed], base: str) -> list[LabDevice]:
    """Lab devices at the given hosts of `base` (a loopback /24, 127.x.y.0), ports shifted."""
    known = personas()
    prefix = base.rsplit(".", 1)[0]
    return [
        LabDevice(
            ip=f"{prefix}.{p.host}",
            mac=p.mac,
            persona=known[p.persona],
            serial=p.serial,
            port_map=loopback_port_map(known[p.persona].ports),
            network=f"{base}/24",
        )
        for p in placed
    ]


def serve(placed: Sequence[Placed], base: str, state: Path) -> ThreadedLab:
    """A loopback lab serving exactly these devices."""
    state.mkdir(parents=True, exist_ok=True)
    lab = ThreadedLab(lay(placed, base), base, state)
    lab.start()
    return lab


def free_base(attempts: int = 20) -> str:
    """A random 127.x.y.0 base; the first device bind proves it free (see serve)."""
    del attempts
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0"


def site_toml(name: str, targets: str, manifest: dict[str, Any], extra: str = "") -> str:
    """A [[site]] for a loopback lab: no ARP, its port map and MAC file, short timeouts."""
    port_map = ",".join(f"{k}={v}" for k, v in manifest["port_map"].items())
    timeouts = "\n".join(f"{k} = {v}" for k, v in SITE_TIMEOUTS.items())
    return (
        f'[[site]]\nname = "{name}"\ntargets = ["{targets}"]\narp = false\nport_map = "{port_map}"\n'
        f'macs_file = "{manifest["macs_file"]}"\n{timeouts}\n{extra}\n'
    )


@dataclass
class Run:
    """A finished camscan command."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def camscan(*args: str, netns: str | None = None, timeout: float = 120.0) -> Run:
    """Run the real command (optionally inside a namespace)."""
    cmd = [sys.executable, "-m", "camscan", *args]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


__all__ = ["LabError", "Placed", "Run", "camscan", "free_base", "serve", "site_toml"]
