"""probes/mdns.py: DNS-SD observations, and a real zeroconf register + browse inside a throw-away netns."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from camscan.context import ScanContext
from camscan.limits import Limits
from camscan.models import Observation, Segment, SegmentResult
from camscan.probes import mdns
from camscan.probes.mdns import (
    MAX_PER_HOST,
    MAX_TEXT,
    MAX_TXT,
    MdnsProbe,
    instance_label,
    service_observations,
    txt_entries,
    usable_sources,
)
from camscan.status import Status

ROOT = Path(__file__).resolve().parent.parent
HIK_NAME = "HIKVISION DS-2CD2722FWD-IZS - 733050075._CGI._tcp.local."
HIK_HOST = "DS-2CD2722FWD-IZS20170321BBWR733050075.local."


def fields(obs: list[Observation] | tuple[Observation, ...]) -> list[tuple[str, str]]:
    return [(o.field, o.value) for o in obs]


# ---- pure parts --------------------------------------------------------------------------------------------


def test_axis_instance_yields_service_instance_host_txt_and_mac() -> None:
    name = "AXIS M3045-V - ACCC8E4D000A._axis-video._tcp.local."
    obs = service_observations(
        "_axis-video._tcp.local.", name, "axis-accc8e4d000a.local.", {b"macaddress": b"ACCC8E4D000A"}
    )
    assert fields(obs) == [
        ("mdns.service", "_axis-video._tcp.local."),
        ("mdns.instance", "AXIS M3045-V - ACCC8E4D000A"),
        ("mdns.host", "axis-accc8e4d000a.local"),
        ("mdns.txt", "macaddress=ACCC8E4D000A"),
        ("mac.address", "ac:cc:8e:4d:00:0a"),
    ]
    assert {o.probe for o in obs} == {"mdns"} and {o.port for o in obs} == {5353}


def test_hikvision_cgi_instance_keeps_model_and_serial_formats() -> None:
    obs = service_observations("_CGI._tcp.local.", HIK_NAME, HIK_HOST, {b"path": b"/"})
    assert ("mdns.instance", "HIKVISION DS-2CD2722FWD-IZS - 733050075") in fields(obs)
    assert ("mdns.host", "DS-2CD2722FWD-IZS20170321BBWR733050075.local") in fields(obs)
    assert ("mdns.txt", "path=/") in fields(obs)
    assert not [o for o in obs if o.field == "mac.address"]


def test_instance_label_ignores_case_of_the_suffix_and_control_characters() -> None:
    assert instance_label("Cam\x07 1._cgi._tcp.local.", "_CGI._tcp.local.") == "Cam 1"
    assert instance_label("no suffix here", "_CGI._tcp.local.") == "no suffix here"


def test_txt_entries_are_capped_and_bad_macs_ignored() -> None:
    props: dict[bytes, bytes | None] = {f"k{i}".encode(): b"v" * 1000 for i in range(100)}
    entries = txt_entries(props)
    assert len(entries) == MAX_TXT and all(len(v or "") == MAX_TEXT for _, v in entries)
    obs = service_observations(
        "_http._tcp.local.",
        "x._http._tcp.local.",
        None,
        {b"macaddress": b"not-a-mac", b"flag": None, b"\xff\xfe": b"\xff"},
    )
    assert ("mdns.txt", "flag") in fields(obs) and ("mdns.txt", "\ufffd\ufffd=\ufffd") in fields(obs)
    assert not [o for o in obs if o.field in ("mac.address", "mdns.host")]


def test_usable_sources_drop_addresses_that_are_not_ours() -> None:
    ok, notes = usable_sources(
        [
            Segment("lo", "127.0.0.1"),
            Segment("lo", "127.0.0.1"),
            Segment("eth9", "198.51.100.77"),
            Segment(None, "nonsense"),
        ]
    )
    assert ok == ["127.0.0.1"] and len(notes) == 2 and "198.51.100.77" in notes[0]


@asynccontextmanager
async def scan_context() -> AsyncIterator[ScanContext]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield ScanContext(http=http, limits=Limits())


async def test_no_segment_means_no_mdns_at_all() -> None:
    async with scan_context() as ctx:
        result = await MdnsProbe().run(ctx, [], ["127.0.0.1"], lambda ip: True, 5.0)
    assert result.status is Status.SKIPPED and result.elapsed < 1.0 and result.sent == 0


async def test_a_segment_address_not_on_this_host_is_an_error_not_an_exception() -> None:
    async with scan_context() as ctx:
        # The address cannot be bound here, so no socket is opened and nothing is sent.
        result = await MdnsProbe().run(ctx, [Segment("eth9", "198.51.100.77")], [], lambda ip: True, 5.0)
    assert result.status is Status.ERROR and result.elapsed < 1.0
    assert result.error is not None and "198.51.100.77" in result.error


# ---- zeroconf on both sides, inside a throw-away namespace -------------------------------------------------


def _service(
    kind: str, instance: str, addresses: list[str], server: str, props: dict[str, str | None] | None = None
) -> Any:
    from zeroconf.asyncio import AsyncServiceInfo

    return AsyncServiceInfo(
        kind,
        f"{instance}.{kind}",
        addresses=[socket.inet_aton(a) for a in addresses],
        port=80,
        properties=props or {},
        server=server,
    )


async def netns_browse(wait: float, max_instances: int | None = None, flood: int = 12) -> dict[str, Any]:
    """Runs inside the namespace: register services on lo, browse them with MdnsProbe, report."""
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncZeroconf

    if max_instances is not None:
        mdns.MAX_INSTANCES = max_instances
    services = [
        _service(
            "_axis-video._tcp.local.",
            "AXIS M3045-V - ACCC8E4D000A",
            ["127.0.1.10"],
            "axis-accc8e4d000a.local.",
            {"macaddress": "ACCC8E4D000A"},
        ),
        _service("_CGI._tcp.local.", HIK_NAME.split("._CGI")[0], ["127.0.1.11"], HIK_HOST, {"path": "/"}),
        _service("_arec._tcp.local.", "AV2116DN-01", ["127.0.1.12"], "av2116dn-01.local."),
        _service("_rtsp._tcp.local.", "two-homed", ["127.0.1.13", "127.0.1.98"], "two.local."),
        _service(
            "_onvif._tcp.local.",
            "noisy",
            ["127.0.1.14"],
            "noisy.local.",
            {f"key{i:02d}": "x" * 200 for i in range(40)},
        ),
        *[_service("_http._tcp.local.", f"web {i}", ["127.0.1.15"], "web.local.") for i in range(flood)],
        _service("_http._tcp.local.", "outsider", ["127.0.1.99"], "outsider.local."),
        _service("_printer._tcp.local.", "not browsed", ["127.0.1.16"], "printer.local."),
    ]
    device = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        # cooperating_responders: skip the 1 s name probing per service (lab notes §4.2)
        await asyncio.gather(
            *[device.async_register_service(s, cooperating_responders=True) for s in services]
        )
        threads = threading.active_count()
        async with httpx.AsyncClient(trust_env=False) as http:
            ctx = ScanContext(http=http, limits=Limits())
            result: SegmentResult = await MdnsProbe().run(
                ctx,
                [Segment("lo", "127.0.0.1", "127.0.0.0/8")],
                ["127.0.1.10"],
                lambda ip: ip.startswith("127.0.1.") and int(ip.rsplit(".", 1)[1]) < 20,
                wait,
            )
        leaked = [t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        extra_threads = threading.active_count() - threads
    finally:
        await device.async_close()
    return {
        "status": result.status.value,
        "error": result.error,
        "elapsed": result.elapsed,
        "received": result.received,
        "rejected": result.rejected,
        "sent": result.sent,
        "leaked_tasks": leaked,
        "extra_threads": extra_threads,
        "replies": {ip: fields(obs) for ip, obs in result.replies.items()},
    }


def run_browse(ns: str, *args: object) -> dict[str, Any]:
    code = (
        "import asyncio, json, sys\nfrom tests.test_probe_mdns import netns_browse\n"
        f"print(json.dumps(asyncio.run(netns_browse({', '.join(map(repr, args))}))))"
    )
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-800:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.netns
def test_browse_resolves_camera_services_keyed_by_in_scope_address(netns: str) -> None:
    out = run_browse(netns, 2.0)
    replies = {ip: [tuple(f) for f in obs] for ip, obs in out["replies"].items()}
    assert out["status"] == "ok" and out["error"] == "4 instance(s) of hosts announcing over 8 ignored"
    assert 2.0 <= out["elapsed"] < 4.0  # the browse window plus at most the resolve grace
    assert out["leaked_tasks"] == [] and out["extra_threads"] == 0
    assert replies["127.0.1.10"] == [
        ("mdns.service", "_axis-video._tcp.local."),
        ("mdns.instance", "AXIS M3045-V - ACCC8E4D000A"),
        ("mdns.host", "axis-accc8e4d000a.local"),
        ("mdns.txt", "macaddress=ACCC8E4D000A"),
        ("mac.address", "ac:cc:8e:4d:00:0a"),
    ]
    assert ("mdns.instance", "HIKVISION DS-2CD2722FWD-IZS - 733050075") in replies["127.0.1.11"]
    assert ("mdns.host", "DS-2CD2722FWD-IZS20170321BBWR733050075.local") in replies["127.0.1.11"]
    assert ("mdns.service", "_arec._tcp.local.") in replies["127.0.1.12"]
    assert ("mdns.instance", "two-homed") in replies["127.0.1.13"]  # its out-of-scope address is not kept
    noisy = [v for f, v in replies["127.0.1.14"] if f == "mdns.txt"]
    assert len(noisy) == MAX_TXT and all(len(v) <= MAX_TEXT for v in noisy)
    web = [v for f, v in replies["127.0.1.15"] if f == "mdns.instance"]
    assert len(web) == MAX_PER_HOST
    assert set(replies) == {f"127.0.1.{n}" for n in range(10, 16)}
    # 18 browsed instances announced: the outsider and 4 web servers past the per-host cap (cut before
    # resolving) are dropped, the printer type is never asked for
    assert out["received"] == 18 and out["rejected"] == 5


@pytest.mark.netns
def test_an_announcement_flood_is_cut_at_the_instance_cap(netns: str) -> None:
    out = run_browse(netns, 1.0, 3)
    instances = [f for obs in out["replies"].values() for f in obs if f[0] == "mdns.instance"]
    assert out["status"] == "ok" and 0 < len(instances) <= 3
    assert "more than 3 instances" in out["error"]
    assert sum(len(obs) for obs in out["replies"].values()) > 0


@pytest.mark.netns
def test_attack_an_mdns_flood_from_one_host_does_not_use_up_the_others_share(netns: str) -> None:
    # 120 instances from 127.0.1.15 against a budget of 20 resolves: the flooder keeps its 8, the others
    # (6 instances on 5 hosts) are all resolved.
    out = run_browse(netns, 2.0, 20, 120)
    replies = {ip: [tuple(f) for f in obs] for ip, obs in out["replies"].items()}
    assert set(replies) == {f"127.0.1.{n}" for n in range(10, 16)}
    assert len([v for f, v in replies["127.0.1.15"] if f == "mdns.instance"]) == MAX_PER_HOST
    assert "of hosts announcing over 8 ignored" in (out["error"] or "")
