"""The namespace lab (root): each macvlan answers ARP and TCP as its own device; up/down converge."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from camscan.lab import netns
from camscan.lab.plan import LabError

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
        for args in (["link"], ["addr"], ["rule"], ["route", "show", "table", "all"]):
            data = json.loads(subprocess.run(["ip", "-n", ns, "-j", *args], capture_output=True, text=True,
                                             check=True).stdout or "[]")
            for item in data:
                for noisy in ("ifindex", "link_index", "stats64", "addr_info_valid", "txqlen", "link_netnsid",
                              "flags", "operstate", "linkinfo"):
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
        links = subprocess.run(["ip", "-n", names.cams, "-o", "link", "show", "type", "macvlan"],
                               capture_output=True, text=True, check=True).stdout
        names_left = sorted(line.split(": ")[1].split("@")[0] for line in links.splitlines())
        assert names_left == ["mv2", "mv3", "mv4"]
        rules = subprocess.run(["ip", "-n", names.cams, "rule"], capture_output=True, text=True).stdout
        assert "10.78.0.5" not in rules and "10.78.0.4 lookup 1004" in rules
        alive = run_in_netns(names.scanner, "import json, socket; s = socket.create_connection(('10.78.0.4', "
                             "80), 3); print(json.dumps(s.getpeername()[0]))")
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
