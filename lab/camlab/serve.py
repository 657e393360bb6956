"""`python -m camlab.serve`: run the lab server in the foreground until SIGTERM/SIGINT.

`camlab up` starts this inside the cameras' namespace; it writes a JSON ready file once every listener is
bound (or `{"error": "..."}` if binding failed) so the parent can wait for it. `--subnet` lays the devices out
on one subnet (flat lab); `--segments` spreads them over several /24s (routed lab), the same way `up` did.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from camlab.personas import PersonaError
from camlab.plan import (
    LabDevice,
    LabError,
    LabInputError,
    device_ifname,
    load_plan,
    load_routed_personas,
    parse_subnet,
    plan_segments,
)
from camlab.server import LabServer, quiet_exception_handler


def rss_kib() -> int:
    """This process's resident set size in KiB (0 if unknown)."""
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    tmp.replace(path)


def macvlan_names(devices: Sequence[LabDevice], base: str | None = None) -> dict[str, str]:
    """Device ip -> its macvlan in the namespace lab (numbered within `base`, else the device's network)."""
    return {d.ip: device_ifname(d.ip, base or d.network or f"{d.ip}/24") for d in devices}


async def serve_forever(
    devices: Sequence[LabDevice],
    state_dir: Path,
    on_ready: Callable[[LabServer, dict[str, Any]], None] | None = None,
    *,
    multicast: bool = False,
    mdns: bool | None = None,
    ifname_base: str | None = None,
) -> None:
    """Bind all devices, report readiness, then serve until SIGTERM/SIGINT.

    `multicast` (namespace labs): UDP responders bind to each device's macvlan and join the discovery groups
    there; `mdns` (default: as `multicast`) registers the [[mdns]] services.
    """
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(quiet_exception_handler)
    started = time.monotonic()
    interfaces = macvlan_names(devices, ifname_base) if multicast else None
    server = LabServer(
        devices, state_dir / "certs", interfaces=interfaces, mdns=multicast if mdns is None else mdns
    )
    await server.start()
    info = {
        "pid": os.getpid(),
        "devices": len(devices),
        "listeners": server.listeners,
        "udp_sockets": server.udp_sockets,
        "multicast": server.multicast,
        "mdns_services": server.mdns.services if server.mdns else 0,
        "certs": len(server.certs),
        "rss_kib": rss_kib(),
        "start_seconds": round(time.monotonic() - started, 3),
    }
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready(server, info)
    try:
        await stop.wait()
    finally:
        await server.close()


def _plan(args: argparse.Namespace) -> list[LabDevice]:
    if args.segments is None:
        return load_plan(args.personas, args.count, args.subnet, loopback=args.loopback)
    if args.loopback or args.count is None:
        raise LabInputError("--segments needs --count and is for the namespace lab only")
    segments = [parse_subnet(s) for s in args.segments.split(",")]
    return plan_segments(load_routed_personas(args.personas), args.count, segments)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point used by `lab up` (namespace mode) and usable by hand."""
    ap = argparse.ArgumentParser(prog="python -m camlab.serve", description=__doc__)
    ap.add_argument("--personas", type=Path, default=None, help="personas directory")
    ap.add_argument("--count", type=int, default=None, help="number of devices (default: one per persona)")
    ap.add_argument("--subnet", default="10.77.0.0/24")
    ap.add_argument("--loopback", action="store_true", help="shift ports < 1024 up by 10000")
    ap.add_argument(
        "--multicast",
        action="store_true",
        help="namespace lab: join discovery groups on each device's macvlan, register mDNS",
    )
    ap.add_argument(
        "--segments",
        default=None,
        help="routed lab: comma-separated /24s the devices are spread over (instead of --subnet)",
    )
    ap.add_argument("--ifname-base", default=None, help="routed lab: the network macvlan names count from")
    ap.add_argument("--no-mdns", action="store_true", help="do not register mDNS (routed: it cannot cross)")
    ap.add_argument("--state-dir", type=Path, required=True)
    ap.add_argument("--ready-file", type=Path, required=True)
    args = ap.parse_args(argv)

    def ready(server: LabServer, info: dict[str, Any]) -> None:
        _write_json(args.ready_file, info)
        print(
            f"lab server pid {info['pid']}: {info['devices']} devices, {info['listeners']} listeners, "
            f"RSS {info['rss_kib']} KiB",
            flush=True,
        )

    try:
        devices = _plan(args)
        if args.multicast and args.loopback:
            raise LabError("--multicast is for the namespace lab, never loopback")
        asyncio.run(
            serve_forever(
                devices,
                args.state_dir,
                ready,
                multicast=args.multicast,
                mdns=args.multicast and not args.no_mdns,
                ifname_base=args.ifname_base,
            )
        )
    except (LabError, PersonaError) as exc:
        _write_json(args.ready_file, {"error": str(exc)})
        print(f"lab server: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
