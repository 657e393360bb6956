"""`camlab …` (also `camscan lab …`): build, serve, inspect and remove the simulated camera network."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from camlab import netns
from camlab import routed as routed_lab
from camlab.loopback import DEFAULT_BASE, run_foreground
from camlab.manifest import STATE_BASE, default_state_dir, read_manifest
from camlab.personas import PersonaError
from camlab.plan import LabError, LabInputError

PROG_ENV = "CAMLAB_PROG"  # the name `camscan lab` runs us under, for usage lines

app = typer.Typer(
    help="The simulated camera network (personas served on namespaces or loopback).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Personas = Annotated[Path | None, typer.Option(help="Personas dir (default: the personas camlab ships).")]
Prefix = Annotated[str, typer.Option(help="Namespace name prefix: <prefix>-scanner/-cams/-lan (-router).")]
Count = Annotated[int | None, typer.Option(min=1, help="Devices (default: one per persona).")]
Subnet = Annotated[str, typer.Option(help="Lab subnet; the scanner is .1, devices from .2.")]
Base = Annotated[str, typer.Option(help="Loopback /24; device i at .(i+2).")]
StateDir = Annotated[Path | None, typer.Option(help="Manifest dir (default /run/camscan-lab/...).")]
Loopback = Annotated[bool, typer.Option("--loopback", help="Serve on 127.x addresses (no root needed).")]
Routed = Annotated[bool, typer.Option("--routed", help="Scanner -> router -> several /24s (root).")]
Supernet = Annotated[
    str | None,
    typer.Option(
        help=f"Routed: the network the segments lie in; the rest is dropped ({routed_lab.DEFAULT_SUPERNET})."
    ),
]
Segments = Annotated[
    int | None,
    typer.Option(
        min=1, help=f"Routed: how many /24s, spread over the supernet ({routed_lab.DEFAULT_SEGMENTS})."
    ),
]
Segment = Annotated[list[str] | None, typer.Option(help="Routed: this /24 as a segment (repeatable).")]
Transit = Annotated[
    str | None, typer.Option(help=f"Routed: the scanner-router /30 ({routed_lab.DEFAULT_TRANSIT}).")
]


def _fail(exc: Exception, code: int | None = None) -> typer.Exit:
    """Print one error line; exit 2 for bad input (personas, options, no root), 3 when building failed."""
    typer.echo(f"camlab: {exc}", err=True)
    if code is None:
        code = 2 if isinstance(exc, PersonaError | LabInputError) else 3
    return typer.Exit(code)


def _summary(manifest: dict[str, Any]) -> None:
    devices = manifest["devices"]
    typer.echo(
        f"lab {manifest['mode']}: {len(devices)} devices on {manifest['subnet']} "
        f"({devices[0]['ip']} .. {devices[-1]['ip']}); manifest {manifest['state_dir']}/manifest.json"
    )
    typer.echo("scan it with:")
    typer.echo(f"  {manifest['scan_command']}")


@app.command("up")
def up_cmd(
    count: Count = None,
    prefix: Prefix = netns.DEFAULT_PREFIX,
    subnet: Subnet = netns.DEFAULT_SUBNET,
    personas: Personas = None,
    state_dir: StateDir = None,
    routed: Routed = False,
    supernet: Supernet = None,
    segments: Segments = None,
    segment: Segment = None,
    transit: Transit = None,
) -> None:
    """Build the namespace lab (root) and start its server; safe to re-run. --routed: a router between."""
    routed_only = {"--supernet": supernet, "--segments": segments, "--segment": segment, "--transit": transit}
    try:
        if routed:
            lay = routed_lab.layout(
                supernet or routed_lab.DEFAULT_SUPERNET,
                segments or routed_lab.DEFAULT_SEGMENTS,
                segment or (),
                transit or routed_lab.DEFAULT_TRANSIT,
            )
            manifest = routed_lab.up(prefix, lay, count, personas, state_dir)
        elif given := [name for name, value in routed_only.items() if value]:
            raise LabInputError(f"{', '.join(given)} need --routed")
        else:
            manifest = netns.up(prefix, subnet, count, personas, state_dir)
    except (PersonaError, LabError) as exc:
        raise _fail(exc) from None
    _summary(manifest)
    server = manifest["server"]
    if routed:
        _routed_summary(manifest)
    else:
        typer.echo(
            f"discovery: {server.get('udp_sockets', 0)} UDP responders (multicast + unicast), "
            f"{server.get('mdns_services', 0)} mDNS services"
        )
    typer.echo(
        f"up in {manifest['up_seconds']:.2f}s; server pid {manifest['server_pid']}, "
        f"RSS {server.get('rss_kib', 0) // 1024} MiB; remove with: camlab down --prefix {prefix}"
    )


def _routed_summary(manifest: dict[str, Any]) -> None:
    router, agent, v3 = manifest["router"], manifest["snmp"], manifest["snmp"]["v3"]
    segments = ", ".join(f"{s['subnet']} ({s['devices']})" for s in manifest["segments"])
    typer.echo(
        f"router {router['netns']}: {router['transit_ip']} (transit {router['transit']}); "
        f"segments {segments}; the rest of {router['blackhole']} is dropped silently"
    )
    typer.echo(
        f"snmp on {agent['address']}:{agent['port']}: "
        f"v2c community in {agent['v2c']['community_file']}; "
        f"v3 user {v3['user']} ({v3['auth_protocol']}/{v3['priv_protocol']}, authPriv) "
        f"keys in {v3['auth_file']}, {v3['priv_file']}"
    )


@app.command("down")
def down_cmd(prefix: Prefix = netns.DEFAULT_PREFIX, state_dir: StateDir = None) -> None:
    """Stop the namespace lab's processes and delete its namespaces; safe to re-run."""
    try:
        removed = netns.down(prefix, state_dir)
    except LabError as exc:
        raise _fail(exc) from None
    typer.echo(f"lab down: removed {removed} namespaces")


@app.command("serve")
def serve_cmd(
    loopback: Loopback = False,
    base: Base = DEFAULT_BASE,
    count: Count = None,
    personas: Personas = None,
    state_dir: StateDir = None,
) -> None:
    """Serve the lab on loopback in the foreground (Ctrl-C to stop)."""
    if not loopback:
        raise _fail(LabError("only --loopback serves in the foreground; use `camlab up` for netns"), 2)
    directory = state_dir or default_state_dir("loopback")

    def announce(manifest: dict[str, Any]) -> None:
        _summary(manifest)
        udp = manifest.get("server", {}).get("udp_sockets", 0)
        typer.echo(f"discovery: {udp} UDP responders, unicast only (no multicast or mDNS on loopback)")
        typer.echo("serving; Ctrl-C to stop")

    try:
        run_foreground(personas, count, base, directory, announce)
    except (PersonaError, LabError) as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        pass


@app.command("status")
def status_cmd() -> None:
    """List the labs that have a manifest (namespace and loopback)."""
    bases = sorted({default_state_dir("x").parent, STATE_BASE})
    found = 0
    for base in (b for b in bases if b.is_dir()):
        for sub in sorted(p for p in base.iterdir() if p.is_dir()):
            manifest = read_manifest(sub)
            if manifest is None:
                continue
            found += 1
            count = len(manifest["devices"])
            line = f"{sub.name}: {manifest['mode']}, {count} devices on {manifest['subnet']}"
            if manifest["mode"] in ("netns", "routed"):
                st = netns.status(manifest.get("prefix", sub.name), sub)
                line += f", namespaces {len(st['namespaces'])}/3, server pids {st['server_pids'] or 'none'}"
            typer.echo(line)
            typer.echo(f"  {manifest['scan_command']}")
    if not found:
        typer.echo("no lab running (start one with `camlab up` or `camlab serve --loopback`)")


def main(argv: list[str] | None = None) -> None:
    """The `camlab` console script; `camscan lab` runs it as `python -m camlab` under its own name."""
    app(args=argv, prog_name=os.environ.get(PROG_ENV) or "camlab")
