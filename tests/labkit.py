"""Pytest fixtures that build and serve labs: `loopback_lab` (any user), `netns_lab` and `routed_lab` (root),
and the one throw-away namespace (`throwaway_netns`, the `netns` fixture) every namespace test starts from.

Use them from a conftest or a test module with ``from tests.labkit import loopback_lab, netns_lab``.
They yield the lab manifest (see camlab.manifest); `loopback_lab_runtime` yields the running
ThreadedLab itself (devices and server counters) for tests that need more than the manifest.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camlab import netns as flat_lab
from camlab import nsops, routed
from camlab.loopback import ThreadedLab, plan_loopback
from camlab.plan import LabError

NETNS_SUBNET = "10.77.0.0/24"  # private to the test's own namespaces, so it never clashes
# the routed lab's /24s: not contiguous, spread over the /16 (its own namespaces, so no clash either)
ROUTED_SEGMENTS = ("10.88.3.0/24", "10.88.77.0/24", "10.88.140.0/24", "10.88.250.0/24")
ROUTED_TOOLS = ("nft", "snmpd", "snmpwalk")  # Debian nftables, snmpd, snmp (make setup installs them)


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _cannot(reason: str) -> None:
    """Skip, or fail under CI=true where every lab must be buildable."""
    if _ci():
        pytest.fail(f"netns lab unavailable under CI: {reason}")
    pytest.skip(reason)


def require_netns() -> None:
    """Skip the calling test (fail it under CI=true) when a namespace lab cannot be built here."""
    reason = netns_unavailable()
    if reason:
        _cannot(reason)


@contextlib.contextmanager
def throwaway_netns(tag: str = "cs", count: int = 1) -> Iterator[tuple[str, ...]]:
    """`count` fresh namespaces (only lo, up) named <tag>-<random>[-n], deleted on exit; the calling test is
    skipped where namespaces cannot be made, and fails instead under CI=true."""
    require_netns()
    stem = f"{tag}-{uuid.uuid4().hex[:8]}"
    names = (stem,) if count == 1 else tuple(f"{stem}-{n}" for n in range(count))
    stack = contextlib.ExitStack()
    try:
        made = stack.enter_context(nsops.scratch_namespaces(*names))
    except LabError as exc:
        _cannot(f"cannot create a network namespace: {exc}")
        raise  # unreachable: _cannot skips or fails
    with stack:
        yield made


@pytest.fixture
def netns() -> Iterator[str]:
    """A throw-away network namespace for one test (multicast there never leaves it)."""
    with throwaway_netns("csns") as (name,):
        yield name


def start_loopback_lab(
    state_dir: Path, count: int | None = None, attempts: int = 5, personas: Path | None = None
) -> ThreadedLab:
    """A loopback lab on a random 127.x.y.0/24 (parallel runs do not clash), already serving."""
    last: Exception | None = None
    for _ in range(attempts):
        base = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0"
        lab = ThreadedLab(plan_loopback(personas, count, base), base, state_dir)
        try:
            lab.start()
            return lab
        except LabError as exc:  # an address/port taken by someone else: try another /24
            last = exc
    raise LabError(f"no free loopback /24 after {attempts} tries: {last}")


@pytest.fixture(scope="session")
def loopback_lab_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedLab]:
    """The running loopback lab (one device per persona)."""
    lab = start_loopback_lab(tmp_path_factory.mktemp("loopback-lab"))
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def loopback_lab(loopback_lab_runtime: ThreadedLab) -> dict[str, Any]:
    """Manifest of the loopback lab: devices with ip, mac, persona, ports, expect; port_map; macs_file."""
    return loopback_lab_runtime.manifest


def netns_unavailable() -> str | None:
    """Why a namespace lab cannot be built here, or None."""
    if os.geteuid() != 0:
        return "the namespace lab needs root"
    if shutil.which("ip") is None:
        return "iproute2 ('ip') is not installed"
    return None


@pytest.fixture(scope="session")
def netns_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A namespace lab with a unique prefix (one device per persona); torn down at the end."""
    require_netns()
    prefix = "t" + uuid.uuid4().hex[:7]
    state = tmp_path_factory.mktemp("netns-lab")
    try:
        manifest = flat_lab.up(prefix, NETNS_SUBNET, state_dir=state)
    except LabError as exc:
        flat_lab.down(prefix, state)
        _cannot(f"cannot build the namespace lab: {exc}")
        raise  # unreachable: _cannot skips or fails
    try:
        yield manifest
    finally:
        flat_lab.down(prefix, state)


def routed_unavailable() -> str | None:
    """Why a routed lab cannot be built (and asked over SNMP) here, or None."""
    missing = [tool for tool in ROUTED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"the routed lab needs {', '.join(missing)} (apt-get install nftables snmpd snmp)"
    return netns_unavailable()


def require_routed() -> None:
    """Skip the calling test (fail it under CI=true) when a routed lab cannot be built here."""
    reason = routed_unavailable()
    if reason:
        _cannot(reason)


@pytest.fixture(scope="session")
def routed_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A routed lab with a unique prefix: one device per persona (routed set included) over four /24s."""
    require_routed()
    prefix = "r" + uuid.uuid4().hex[:7]
    state = tmp_path_factory.mktemp("routed-lab")
    try:
        manifest = routed.up(prefix, routed.layout(explicit=ROUTED_SEGMENTS), state_dir=state)
    except LabError as exc:
        flat_lab.down(prefix, state)
        _cannot(f"cannot build the routed lab: {exc}")
        raise  # unreachable: _cannot skips or fails
    try:
        yield manifest
    finally:
        flat_lab.down(prefix, state)


def run_in_netns(ns: str, code: str, *args: str, timeout: float = 30.0) -> Any:
    """Run a Python snippet in a namespace; it prints one JSON document, which is returned."""
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"snippet failed in {ns}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)
