"""Benchmark: read a router's ARP table over SNMP (camscan, on pysnmp) from a router namespace with N entries.

Run as root: `.venv/bin/python bench/snmp_walk.py --entries 5000`. Debian's snmpd runs in a router namespace
built for the run; traffic stays between that namespace and a scanner namespace. Prints wall time, CPU time
and requests for v2c and v3 (SHA-256/AES) walks, and Net-SNMP's own snmpbulkwalk of one column where the
`snmp` package is installed, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import httpx

from camlab.snmpagent import AGENT_IP, Community, V3User, router_lab
from camscan.context import ScanContext
from camscan.limits import Limits
from camscan.probes.snmp import SnmpLimits, read_router_macs
from camscan.snmpconfig import CommunityV2c, SnmpRouter, UserV3

NETWORK = "10.10.0.0/16"


def neighbours(count: int) -> dict[str, str]:
    """count addresses in 10.10.0.0/16 with MACs in one OUI."""
    return {
        f"10.10.{n // 256}.{n % 256}": f"00:80:f0:00:{n // 256:02x}:{n % 256:02x}"
        for n in range(2, count + 2)
    }


async def _walk(creds: CommunityV2c | UserV3) -> dict[str, Any]:
    router = SnmpRouter(IPv4Network(NETWORK), IPv4Address(AGENT_IP), creds, entry=1)
    async with httpx.AsyncClient() as http:
        ctx = ScanContext(http=http, limits=Limits())
        # includes importing pysnmp and building its engine (~0.35 s of CPU, once per scan and credential)
        wall, cpu = time.perf_counter(), time.process_time()
        result = await read_router_macs(ctx, [router], SnmpLimits())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    (found,) = result.routers
    return {"status": str(found.status), "macs": len(found.macs), "requests": found.sent, "rows": found.rows,
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}  # fmt: skip


def inside(kind: str) -> None:
    """The measured walk, run inside the scanner namespace; secrets come in the environment."""
    env = os.environ
    if kind == "v2c":
        creds: CommunityV2c | UserV3 = CommunityV2c(env["BENCH_COMMUNITY"])
    else:
        creds = UserV3("bench", "SHA-256", env["BENCH_AUTH"], "AES", env["BENCH_PRIV"])
    print(json.dumps(asyncio.run(_walk(creds))))


def measure(scanner_ns: str, kind: str, env: dict[str, str]) -> dict[str, Any]:
    cmd = ["ip", "netns", "exec", scanner_ns, sys.executable, __file__, "--inside", kind]
    # iproute2 running this script in the lab's namespace: argv built here, no shell
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, timeout=300)  # noqa: S603
    if proc.returncode != 0:
        raise SystemExit(f"{kind} walk failed: {proc.stderr.strip()[-500:]}")
    return dict(json.loads(proc.stdout))


def net_snmp(scanner_ns: str, community: str) -> dict[str, Any] | None:
    """snmpbulkwalk of ipNetToPhysicalPhysAddress alone (C, one column), for scale."""
    if shutil.which("snmpbulkwalk") is None:
        return None
    cmd = ["ip", "netns", "exec", scanner_ns, "snmpbulkwalk", "-v2c", "-c", community, "-On", "-Cr50",
           AGENT_IP, "1.3.6.1.2.1.4.35.1.4"]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)  # noqa: S603 -- argv built here
    return {"rows": len(proc.stdout.splitlines()), "wall_s": round(time.perf_counter() - started, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--inside", choices=["v2c", "v3"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside)
        return
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces)")
    env = {"BENCH_COMMUNITY": secrets.token_hex(8), "BENCH_AUTH": secrets.token_hex(8),
           "BENCH_PRIV": secrets.token_hex(8)}  # fmt: skip
    user = V3User("bench", "SHA-256", env["BENCH_AUTH"], "AES", env["BENCH_PRIV"])
    state = Path(tempfile.mkdtemp(prefix="camscan-snmp-bench-"))
    prefix = "csw" + uuid.uuid4().hex[:6]
    with router_lab(
        prefix, state, [NETWORK], neighbours(args.entries), [Community(env["BENCH_COMMUNITY"])], [user]
    ) as lab:
        for kind in ("v2c", "v3"):
            for n in range(args.repeat):
                print(
                    json.dumps(
                        {
                            "walk": kind,
                            "run": n + 1,
                            "entries": args.entries,
                            **measure(lab.scanner_ns, kind, env),
                        }
                    )
                )
        print(
            json.dumps(
                {
                    "walk": "net-snmp snmpbulkwalk, one column",
                    **(
                        net_snmp(lab.scanner_ns, env["BENCH_COMMUNITY"])
                        or {"skipped": "snmpbulkwalk not installed"}
                    ),
                }
            )
        )
    shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
