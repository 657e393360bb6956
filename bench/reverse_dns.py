"""Reverse DNS for a /24 of live hosts: camscan's HostNamer (dnspython messages, its own datagrams) against
asyncio's loop.getnameinfo (libc's resolver on threads), with an answering and a silent resolver.

Runs as root in a throw-away namespace of its own: Debian's dnsmasq on 127.0.0.1:53 holds a PTR record for
each of 254 addresses (which are never contacted), and the namespace's resolv.conf names it, so both sides ask
the same server. "silent" swaps dnsmasq for a socket that reads and never answers.

    sudo .venv/bin/python bench/reverse_dns.py
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ADDRESSES = [f"10.77.0.{n}" for n in range(1, 255)]


async def namer_run(server_answers: bool) -> dict[str, float | int]:
    import httpx

    from camscan.context import ScanContext
    from camscan.hostnames import HostNamer
    from camscan.limits import Limits

    namer = HostNamer(nameservers=["127.0.0.1"], netbios=False, llmnr=False)
    async with httpx.AsyncClient() as http:
        ctx = ScanContext(http=http, limits=Limits(rate=10_000))
        started = time.perf_counter()
        found = await asyncio.gather(*(namer.host_names(ctx, ip) for ip in ADDRESSES))
    return {"seconds": round(time.perf_counter() - started, 2), "named": sum(1 for f in found if f)}


async def getnameinfo_run(per_host: float) -> dict[str, float | int]:
    loop = asyncio.get_running_loop()

    async def one(ip: str) -> str | None:
        try:
            async with asyncio.timeout(per_host):
                host, _ = await loop.getnameinfo((ip, 0), socket.NI_NAMEREQD)
                return host
        except (TimeoutError, OSError):
            return None

    started = time.perf_counter()
    found = await asyncio.gather(*(one(ip) for ip in ADDRESSES))
    answered = time.perf_counter() - started
    # The threads go on after a timeout: the default executor is busy until libc gives up on each lookup.
    await loop.run_in_executor(None, lambda: None)
    drained = time.perf_counter() - started
    return {
        "seconds": round(answered, 2),
        "executor_free_after": round(drained, 2),
        "named": sum(1 for f in found if f),
    }


def inside(kind: str) -> None:
    silent = None
    proc = None
    if kind == "silent":
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 53))
    else:
        records = [f"--ptr-record={n}.0.77.10.in-addr.arpa,cam-{n}.site.example" for n in range(1, 255)]
        proc = subprocess.Popen(  # noqa: S603 -- Debian's dnsmasq, argv built here
            [shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
             "--no-resolv", "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=",
             "--user=nobody", *records],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
    try:
        out = {
            "camscan": asyncio.run(namer_run(kind == "answers")),
            "getnameinfo": asyncio.run(getnameinfo_run(2.0)),
        }
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        if silent is not None:
            silent.close()
    print(json.dumps(out))


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        inside(sys.argv[2])
        return 0
    if os.geteuid() != 0:
        print("needs root (a network namespace of its own)", file=sys.stderr)
        return 2
    ns = f"csrdns-{uuid.uuid4().hex[:6]}"
    etc = Path("/etc/netns") / ns
    results = {}
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)  # noqa: S603, S607 -- iproute2, argv built here
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)  # noqa: S603, S607
        etc.mkdir(parents=True)
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:2\n")
        root = Path(__file__).resolve().parent.parent
        for kind in ("answers", "silent"):
            cmd = ["ip", "netns", "exec", ns, sys.executable, __file__, "--inside", kind]
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=600)  # noqa: S603
            results[kind] = json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-400:]}
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)  # noqa: S603, S607
        shutil.rmtree(etc, ignore_errors=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
