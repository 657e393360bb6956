"""The namespace lab (root): each macvlan answers ARP and TCP as its own device; up/down converge."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from camlab import netns
from camlab.plan import LabError

pytestmark = pytest.mark.netns

# Runs inside the scanner netns: TCP-connect to each (ip, port), sniff scan0, report who answered from where.
SNIFF = r"""
import json, socket, subprocess, sys, time
targets = json.loads(sys.argv[1])
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
raw.bind(("scan0", 0))
raw.settimeout(0.1)
peers, banners = {}, {}
for ip, port, get in targets:
    with socket.create_connection((ip, port), timeout=3) as s:
        peers[ip] = s.getpeername()[0]
        if get:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            banners[ip] = s.recv(200).decode("latin-1")
seen = {}
end = time.time() + 0.5
while time.time() < end:
    try:
        frame, addr = raw.recvfrom(65535)
    except TimeoutError:
        continue
    if addr[2] == socket.PACKET_OUTGOING or frame[23] != 6:
        continue
    seen.setdefault(socket.inet_ntoa(frame[26:30]), set()).add(frame[6:12].hex(":"))
neigh = json.loads(subprocess.run(["ip", "-j", "neigh", "show", "dev", "scan0"], capture_output=True,
                                  text=True).stdout or "[]")
print(json.dumps({"peers": peers, "banners": banners, "macs": {k: sorted(v) for k, v in seen.items()},
                  "neigh": {n["dst"]: n.get("lladdr") for n in neigh}}))
"""


def test_every_device_answers_arp_and_tcp_as_itself(netns_lab: dict[str, Any]) -> None:
    from tests.labkit import run_in_netns

    devices = netns_lab["devices"]
    targets = [[d["ip"], d["ports"][0], d["persona"] == "hikvision-ds2cd2142"] for d in devices]
    seen = run_in_netns(netns_lab["scanner_netns"], SNIFF, json.dumps(targets))
    for d in devices:
        assert seen["peers"][d["ip"]] == d["ip"]
        assert seen["neigh"][d["ip"]] == d["mac"], f"ARP for {d['persona']}"
        assert seen["macs"][d["ip"]] == [d["mac"]], f"TCP source MAC of {d['persona']}"
    hik = next(d for d in devices if d["persona"] == "hikvision-ds2cd2142")
    assert "Server: App-webs/" in seen["banners"][hik["ip"]]


def test_manifest_names_the_scanner_side(netns_lab: dict[str, Any]) -> None:
    assert netns_lab["mode"] == "netns" and netns_lab["interface"] == "scan0"
    scanner = netns_lab["scanner_netns"]
    assert netns_lab["scan_command"] == f"ip netns exec {scanner} camscan scan 10.77.0.0/24"
    assert netns_lab["port_map"] == {} and netns_lab["devices"][0]["ip"] == "10.77.0.2"
    status = netns.status(netns_lab["prefix"], Path(netns_lab["state_dir"]))
    assert status["server_pids"] == [netns_lab["server_pid"]] and len(status["namespaces"]) == 3


def _state(prefix: str) -> str:
    """Links, addresses, rules and routes of a lab, without ifindexes or counters."""
    out = []
    for ns in netns.names(prefix).all:
        # IPv4 only: the kernel's IPv6 link-local autoconfiguration (DAD) changes state on its own time
        for args in (["link"], ["-4", "addr"], ["-4", "rule"], ["-4", "route", "show", "table", "all"]):
            data = json.loads(
                subprocess.run(
                    ["ip", "-n", ns, "-j", *args], capture_output=True, text=True, check=True
                ).stdout
                or "[]"
            )
            for item in data:
                for noisy in (
                    "ifindex",
                    "link_index",
                    "stats64",
                    "addr_info_valid",
                    "txqlen",
                    "link_netnsid",
                    "flags",
                    "operstate",
                    "linkinfo",
                ):
                    item.pop(noisy, None)
                for info in item.get("addr_info", []):
                    info.pop("valid_life_time", None)
                    info.pop("preferred_life_time", None)
            out.append(json.dumps(sorted(json.dumps(i, sort_keys=True) for i in data)))
    return "\n".join(out)


def test_up_converges_and_down_is_idempotent(tmp_path: Path) -> None:
    from tests.labkit import require_netns, run_in_netns

    require_netns()
    prefix = "t" + uuid.uuid4().hex[:7]
    names = netns.names(prefix)
    try:
        first = netns.up(prefix, "10.78.0.0/24", 6, state_dir=tmp_path / "state")
        before = _state(prefix)
        again = netns.up(prefix, "10.78.0.0/24", 6, state_dir=tmp_path / "state")
        assert _state(prefix) == before
        assert again["devices"] == first["devices"] and again["server_pid"] != first["server_pid"]
        assert netns.netns_pids(names.cams) == [again["server_pid"]]  # the old server was stopped

        subprocess.run(["ip", "-n", names.cams, "link", "del", "mv3"], check=True)  # someone breaks it
        netns.up(prefix, "10.78.0.0/24", 6, state_dir=tmp_path / "state")
        assert _state(prefix) == before

        netns.up(prefix, "10.78.0.0/24", 3, state_dir=tmp_path / "state")
        links = subprocess.run(
            ["ip", "-n", names.cams, "-o", "link", "show", "type", "macvlan"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        names_left = sorted(line.split(": ")[1].split("@")[0] for line in links.splitlines())
        assert names_left == ["mv2", "mv3", "mv4"]
        rules = subprocess.run(["ip", "-n", names.cams, "rule"], capture_output=True, text=True).stdout
        assert "10.78.0.5" not in rules and "10.78.0.4 lookup 1004" in rules
        alive = run_in_netns(
            names.scanner,
            "import json, socket; s = socket.create_connection(('10.78.0.4', "
            "80), 3); print(json.dumps(s.getpeername()[0]))",
        )
        assert alive == "10.78.0.4"
    finally:
        removed = netns.down(prefix, tmp_path / "state")
    assert removed == 3
    assert netns.down(prefix, tmp_path / "state") == 0
    assert not any(Path("/run/netns", ns).exists() for ns in names.all)
    assert not (tmp_path / "state").exists()


def test_up_and_down_refuse_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match="needs root"):
        netns.up("tnoroot")
    with pytest.raises(LabError, match="needs root"):
        netns.down("tnoroot")


def test_bad_prefix_is_refused() -> None:
    with pytest.raises(LabError, match="bad lab prefix"):
        netns.names("Bad-Prefix")


# Runs inside the scanner netns: send each datagram (to a group, the broadcast address or one device) from
# scan0's address and report every reply as {name: [[source ip, source port, hex payload], ...]}.
PROBE = r"""
import json, socket, sys, time
src, jobs = sys.argv[1], json.loads(sys.argv[2])
out = {}
for name, dest, port, payload_hex, wait in jobs:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    s.bind((src, 0))
    s.sendto(bytes.fromhex(payload_hex), (dest, port))
    s.settimeout(0.05)
    got, end = [], time.time() + wait
    while time.time() < end:
        try:
            data, addr = s.recvfrom(65535)
        except TimeoutError:
            continue
        got.append([addr[0], addr[1], data.hex()])
    out[name] = got
    s.close()
print(json.dumps(out))
"""

# Runs inside the scanner netns: browse DNS-SD service types and resolve every instance found.
BROWSE = r"""
import asyncio, json, sys
from zeroconf import IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf
async def main():
    azc = AsyncZeroconf(interfaces=[sys.argv[1]], ip_version=IPVersion.V4Only)
    found = set()
    def seen(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Added:
            found.add((service_type, name))
    browser = AsyncServiceBrowser(azc.zeroconf, json.loads(sys.argv[2]), handlers=[seen])
    await asyncio.sleep(float(sys.argv[3]))
    out = []
    for stype, name in sorted(found):
        info = AsyncServiceInfo(stype, name)
        if await info.async_request(azc.zeroconf, 3000):
            out.append([stype, name, info.parsed_addresses(), info.server, info.port,
                        {k.decode(): (v or b"").decode() for k, v in info.properties.items()}])
    await browser.async_cancel()
    await azc.async_close()
    print(json.dumps(out))
asyncio.run(main())
"""


def discovery_jobs(target: str | None = None, wait: float = 0.5) -> list[list[Any]]:
    """One probe per channel and flavour: to the groups (and broadcast), or unicast to `target`."""
    from camscan.parse import dhip, dvrip, sadp, soap, upnp

    jobs: list[tuple[str, str, int, bytes, float]] = [
        ("wsd_typed", "239.255.255.250", 3702, soap.build_probe("uuid:typed-1"), wait),
        ("wsd_untyped", "239.255.255.250", 3702, soap.build_probe("uuid:untyped-1", None), wait),
        ("sadp", "239.255.255.250", 37020, sadp.build_inquiry("A1B2-C3"), wait),
        ("dhip", "239.255.255.251", 37810, dhip.build_search(9), wait),
        ("dvrip", "255.255.255.255", 5050, dvrip.build_search(), wait),
        ("ssdp", "239.255.255.250", 1900, upnp.build_msearch("upnp:rootdevice"), wait),
    ]
    return [[n, target or dest, port, payload.hex(), w] for n, dest, port, payload, w in jobs]


def answering(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """Which device addresses must answer each probe of discovery_jobs()."""
    from camlab.personas import load_personas
    from camlab.plan import default_personas_dir

    personas = {p.id: p for p in load_personas(default_personas_dir())}
    want: dict[str, set[str]] = {
        "wsd_typed": set(),
        "wsd_untyped": set(),
        "sadp": set(),
        "dhip": set(),
        "dvrip": set(),
        "ssdp": set(),
    }
    for dev in manifest["devices"]:
        wsd = personas[dev["persona"]].channels.wsdiscovery
        if wsd is not None:
            want["wsd_typed"].add(dev["ip"])
            if wsd.answer_untyped:
                want["wsd_untyped"].add(dev["ip"])
        for channel in ("sadp", "dhip", "dvrip", "ssdp"):
            if channel in dev["channels"]:
                want[channel].add(dev["ip"])
    return want


def check_replies(got: dict[str, list[list[Any]]], manifest: dict[str, Any]) -> None:
    """Every expected device answered exactly once, from its own address and port, with a parseable reply."""
    from camscan.parse import dhip, dvrip, sadp, soap, upnp

    parse: dict[str, Callable[[bytes], Any]] = {
        "wsd_typed": soap.parse_probe_matches,
        "wsd_untyped": soap.parse_probe_matches,
        "sadp": sadp.parse_probe_match,
        "dhip": dhip.parse_reply,
        "dvrip": dvrip.parse_reply,
        "ssdp": upnp.parse_search_reply,
    }
    ports = {
        "wsd_typed": 3702,
        "wsd_untyped": 3702,
        "sadp": 37020,
        "dhip": 37810,
        "dvrip": 5050,
        "ssdp": 1900,
    }
    macs = {d["ip"]: d["mac"] for d in manifest["devices"]}
    for name, want in answering(manifest).items():
        sources = [ip for ip, _, _ in got[name]]
        missing, extra = want - set(sources), set(sources) - want
        assert sorted(sources) == sorted(want), f"{name}: missing {missing}, extra {extra}"
        for ip, port, payload in got[name]:
            assert port == ports[name]
            reply = parse[name](bytes.fromhex(payload))
            if name in ("sadp", "dhip", "dvrip"):
                assert reply.mac == macs[ip] and reply.ipv4 == ip


def test_multicast_probes_from_the_scanner_reach_every_responder(netns_lab: dict[str, Any]) -> None:
    from tests.labkit import run_in_netns

    assert netns_lab["multicast"] is True and netns_lab["server"]["udp_sockets"] > 0
    scanner, source = netns_lab["scanner_netns"], netns_lab["scanner_ip"]
    got = run_in_netns(scanner, PROBE, source, json.dumps(discovery_jobs()))
    check_replies(got, netns_lab)
    axis = next(d for d in netns_lab["devices"] if d["persona"] == "axis-m3045")
    unicast = run_in_netns(scanner, PROBE, source, json.dumps(discovery_jobs(axis["ip"], wait=0.3)))
    assert [r[0] for r in unicast["wsd_typed"]] == [axis["ip"]] and unicast["sadp"] == []


def test_mdns_services_resolve_from_the_scanner(netns_lab: dict[str, Any]) -> None:
    from camlab.personas import load_personas
    from camlab.plan import default_personas_dir
    from tests.labkit import run_in_netns

    personas = {p.id: p for p in load_personas(default_personas_dir())}
    wanted = {
        (svc.type, d["ip"]): svc for d in netns_lab["devices"] for svc in personas[d["persona"]].channels.mdns
    }
    assert len(wanted) >= 4 and netns_lab["server"]["mdns_services"] == len(wanted)
    types = sorted({t for t, _ in wanted})
    found = run_in_netns(
        netns_lab["scanner_netns"], BROWSE, netns_lab["scanner_ip"], json.dumps(types), "1.5"
    )
    resolved = {
        (stype, addrs[0]): (name, server, port, txt) for stype, name, addrs, server, port, txt in found
    }
    assert set(resolved) == set(wanted)
    axis = next(v for (t, _), v in resolved.items() if t == "_axis-video._tcp.local.")
    mac = next(d["mac"] for d in netns_lab["devices"] if d["persona"] == "axis-m3045").replace(":", "")
    assert axis == (
        f"AXIS M3045-V - {mac.upper()}._axis-video._tcp.local.",
        f"axis-{mac}.local.",
        80,
        {"macaddress": mac.upper()},
    )
    hik = next(v for (t, _), v in resolved.items() if t == "_CGI._tcp.local.")
    serial = next(d["serial"] for d in netns_lab["devices"] if d["persona"] == "hikvision-ds2cd2387")
    assert hik[0].endswith(f" - {serial[-9:]}._CGI._tcp.local.") and hik[1] == f"{serial}.local."


GARBAGE = [
    b"",
    b"\xff" * 3000,
    b"<Probe>" * 100,
    b"M-SEARCH * HTTP/1.1\r\n\r\n",
    b"\x20\x00\x00\x00DHIP",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Probe>&a;</Probe>',
]


def test_lab_stays_up_under_garbage_datagrams(netns_lab: dict[str, Any]) -> None:
    from tests.labkit import run_in_netns

    jobs = [
        [f"g{i}-{port}", dest, port, payload.hex(), 0.0]
        for i, payload in enumerate(GARBAGE)
        for dest, port in (
            ("239.255.255.250", 3702),
            ("239.255.255.250", 37020),
            ("239.255.255.251", 37810),
            ("255.255.255.255", 5050),
            ("239.255.255.250", 1900),
        )
    ]
    junk = run_in_netns(netns_lab["scanner_netns"], PROBE, netns_lab["scanner_ip"], json.dumps(jobs))
    assert not any(junk.values())  # garbage is never answered
    got = run_in_netns(
        netns_lab["scanner_netns"], PROBE, netns_lab["scanner_ip"], json.dumps(discovery_jobs())
    )
    check_replies(got, netns_lab)
    assert netns.netns_pids(netns.names(netns_lab["prefix"]).cams) == [netns_lab["server_pid"]]


def test_two_hundred_devices_with_every_responder_come_up_fast(tmp_path: Path) -> None:
    from tests.labkit import require_netns, run_in_netns

    require_netns()
    prefix = "t" + uuid.uuid4().hex[:7]
    try:
        manifest = netns.up(prefix, "10.81.0.0/24", 200, state_dir=tmp_path / "state")
        server = manifest["server"]
        assert manifest["up_seconds"] < 15 and server["rss_kib"] < 160 * 1024, server
        assert server["udp_sockets"] == sum(len(d["udp"]) for d in manifest["devices"]) > 100
        got = run_in_netns(
            netns.names(prefix).scanner, PROBE, manifest["scanner_ip"], json.dumps(discovery_jobs(wait=1.0))
        )
        check_replies(got, manifest)
    finally:
        netns.down(prefix, tmp_path / "state")
