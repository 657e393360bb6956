"""The routed lab (root): the scanner reaches each /24 only through the router, the rest of the /16 is silent,
ARP and multicast stop at the router, and the router's snmpd lists every device's MAC (v2c and v3)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from camlab import netns, routed
from camscan.probes.snmp import SnmpLimits, SnmpMacs, read_router_macs
from camscan.snmpconfig import snmp_routers
from camscan.status import Status
from tests.labkit import ROUTED_SEGMENTS, require_routed, run_in_netns
from tests.udpkit import run_in_netns as run_async_in_netns
from tests.udpkit import scan_context

pytestmark = pytest.mark.netns

SILENT = ["10.88.0.1", "10.88.4.9", "10.88.76.254", "10.88.200.7", "10.88.255.254"]  # in the /16, no segment
WAIT = 1.5  # seconds every answer has to arrive in (the lab answers in milliseconds)
IP_NET_TO_PHYSICAL = "1.3.6.1.2.1.4.35.1.4"  # IP-MIB ipNetToPhysicalPhysAddress
IP_NET_TO_MEDIA = "1.3.6.1.2.1.4.22.1.2"  # RFC 1213 ipNetToMediaPhysAddress

# Runs in the scanner netns: send ICMP echoes, TCP SYNs and UDP datagrams, ARP for addresses, and report every
# IP packet that came back to scan0 (source, TTL, what it was) and every ARP answer.
SURVEY = r"""
import json, sys, time
from scapy.all import ARP, ICMP, IP, TCP, UDP, UDPerror, IPerror, Ether, AsyncSniffer, conf, send, srp
conf.verb = 0
job = json.loads(sys.argv[1])
probes = [IP(dst=ip) / ICMP(id=0x5151, seq=i) for i, ip in enumerate(job["ping"])]
probes += [IP(dst=ip) / TCP(sport=42000 + i, dport=port, flags="S")
           for i, (ip, port) in enumerate(job["syn"])]
probes += [IP(dst=ip) / UDP(sport=sport, dport=port) / bytes.fromhex(data)
           for ip, port, sport, data in job["udp"]]
sniffer = AsyncSniffer(iface="scan0", store=True, lfilter=lambda p: IP in p and p[IP].dst == job["me"])
sniffer.start()
time.sleep(0.3)
send(probes)
time.sleep(job["wait"])
packets = sniffer.stop() or []
seen = []
for p in packets:
    entry = {"src": p[IP].src, "ttl": p[IP].ttl, "mac": p[Ether].src}
    if ICMP in p:
        entry.update(icmp=p[ICMP].type, about=p[IPerror].dst if IPerror in p else None)
    elif TCP in p:
        entry.update(tcp=p[TCP].sport, flags=str(p[TCP].flags))
    elif UDP in p:
        entry.update(udp=p[UDP].sport, to=p[UDP].dport)
    seen.append(entry)
answered, _ = srp([Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=ip) for ip in job["arp"]], iface="scan0",
                  timeout=0.5)
arp = {r[ARP].psrc: r[ARP].hwsrc for _, r in answered}
print(json.dumps({"seen": seen, "arp": arp}))
"""


def wsd_probe(message_id: str) -> str:
    from camscan.parse import soap

    return soap.build_probe(message_id, None).hex()


def per_segment(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One device per segment that answers ping and serves TCP."""
    out = []
    for seg in manifest["segments"]:
        out.append(
            next(
                d
                for d in manifest["devices"]
                if d["network"] == seg["subnet"] and d["icmp"] and d["ports"] and d["closed_ports"] == "reset"
            )
        )
    return out


def persona(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in manifest["devices"] if d["persona"] == name)


@pytest.fixture(scope="module")
def survey(routed_lab: dict[str, Any]) -> dict[str, Any]:
    """One round of probes from the scanner, shared by the tests below."""
    reachable = per_segment(routed_lab)
    no_ping = persona(routed_lab, "dahua-ipc-ping-prohibited")
    ping_only = persona(routed_lab, "ping-only-switch")
    wsd = next(d for d in routed_lab["devices"] if "wsdiscovery" in d["channels"])
    job = {
        "me": routed_lab["scanner_ip"],
        "wait": WAIT,
        "ping": [d["ip"] for d in reachable] + SILENT + [no_ping["ip"], ping_only["ip"]],
        "syn": [[d["ip"], d["ports"][0]] for d in reachable]
        + [[ip, 80] for ip in SILENT]
        + [[no_ping["ip"], 80], [ping_only["ip"], 80], [ping_only["ip"], 22]],
        "udp": [[ip, 3702, 43001, wsd_probe("uuid:silent")] for ip in SILENT]
        + [
            ["239.255.255.250", 3702, 43002, wsd_probe("uuid:group")],
            [wsd["ip"], 3702, 43003, wsd_probe("uuid:unicast")],
            [ping_only["ip"], 161, 43004, "00"],
        ],
        "arp": [d["ip"] for d in reachable]
        + [s["router_ip"] for s in routed_lab["segments"]]
        + [routed_lab["router"]["transit_ip"]],
    }
    result: dict[str, Any] = run_in_netns(routed_lab["scanner_netns"], SURVEY, json.dumps(job), timeout=60)
    result["wsd"] = wsd["ip"]
    return result


def test_a_device_on_every_segment_answers_ping_and_tcp_one_hop_away(
    routed_lab: dict[str, Any], survey: dict[str, Any]
) -> None:
    assert len(routed_lab["segments"]) == 4 and {s["subnet"] for s in routed_lab["segments"]} == set(
        ROUTED_SEGMENTS
    )
    for dev in per_segment(routed_lab):
        replies = [p for p in survey["seen"] if p["src"] == dev["ip"]]
        assert any(p.get("icmp") == 0 for p in replies), f"no echo reply from {dev['persona']} {dev['ip']}"
        assert any(p.get("tcp") == dev["ports"][0] and p["flags"] == "SA" for p in replies), dev["persona"]
        assert {p["ttl"] for p in replies} == {63}  # one router between: the devices' 64, less one hop


def test_the_rest_of_the_16_gets_no_answer_at_all(survey: dict[str, Any]) -> None:
    about_silent = [p for p in survey["seen"] if p["src"] in SILENT or p.get("about") in SILENT]
    assert about_silent == []  # no echo reply, no reset, no ICMP unreachable from the router either


def test_arp_and_multicast_stop_at_the_router(routed_lab: dict[str, Any], survey: dict[str, Any]) -> None:
    transit = routed_lab["router"]["transit_ip"]
    assert list(survey["arp"]) == [transit]  # devices and the segments' gateways never answer ARP here
    sources = {p["mac"] for p in survey["seen"]}
    assert sources == {survey["arp"][transit]}  # every answer came off the wire from the router
    udp = [p for p in survey["seen"] if "udp" in p]
    assert [(p["src"], p["to"]) for p in udp] == [(survey["wsd"], 43003)]  # unicast answered, the group not
    neigh = run_in_netns(
        routed_lab["scanner_netns"],
        "import json, subprocess; print(subprocess.run(['ip', "
        "'-j', 'neigh'], capture_output=True, text=True).stdout or '[]')",
    )
    assert {n["dst"] for n in neigh} == {transit}


def test_personas_that_filter_show_it_on_the_wire(routed_lab: dict[str, Any], survey: dict[str, Any]) -> None:
    no_ping = persona(routed_lab, "dahua-ipc-ping-prohibited")
    got = [p for p in survey["seen"] if p["src"] == no_ping["ip"]]
    assert [p.get("tcp") for p in got] == [80] and not any("icmp" in p for p in got)
    ping_only = persona(routed_lab, "ping-only-switch")
    got = [p for p in survey["seen"] if p["src"] == ping_only["ip"] or p.get("about") == ping_only["ip"]]
    assert [p.get("icmp") for p in got] == [0]  # the echo reply, and no reset or port-unreachable
    assert sorted(routed_lab["firewalled"]) == sorted([no_ping["ip"], ping_only["ip"]])


def snmp(lab: dict[str, Any], oid: str, *auth: str) -> subprocess.CompletedProcess[str]:
    """snmpwalk from the scanner namespace to the router (numeric OIDs; no MIB files needed)."""
    agent = lab["snmp"]
    cmd = [
        "ip",
        "netns",
        "exec",
        lab["scanner_netns"],
        "snmpwalk",
        *auth,
        "-On",
        "-t",
        "1",
        "-r",
        "0",
        f"{agent['address']}:{agent['port']}",
        oid,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, env={**os.environ, "MIBS": ""})


def macs(walk: str, oid: str) -> dict[str, str]:
    """ip -> MAC from an ipNetToPhysical/ipNetToMedia PhysAddress walk (the address ends the OID)."""
    found = {}
    for line in walk.splitlines():
        m = re.match(
            rf"^\.{re.escape(oid)}\.[\d.]*?(\d+(?:\.\d+){{3}}) = Hex-STRING: ([0-9A-F ]+)$", line.strip()
        )
        if m:
            found[m.group(1)] = ":".join(m.group(2).split()).lower()
    return found


def community(lab: dict[str, Any]) -> str:
    return Path(lab["snmp"]["v2c"]["community_file"]).read_text().strip()


def v3(lab: dict[str, Any], priv: str | None = None) -> list[str]:
    s = lab["snmp"]["v3"]
    auth_key = Path(s["auth_file"]).read_text().strip()
    priv_key = priv or Path(s["priv_file"]).read_text().strip()
    return [
        "-v3",
        "-l",
        "authPriv",
        "-u",
        s["user"],
        "-a",
        s["auth_protocol"],
        "-A",
        auth_key,
        "-x",
        s["priv_protocol"],
        "-X",
        priv_key,
    ]


def test_the_routers_arp_table_over_snmp_v2c_lists_every_device(routed_lab: dict[str, Any]) -> None:
    want = {d["ip"]: d["mac"] for d in routed_lab["devices"]}
    for oid in (IP_NET_TO_PHYSICAL, IP_NET_TO_MEDIA):
        walk = snmp(routed_lab, oid, "-v2c", "-c", community(routed_lab))
        assert walk.returncode == 0, walk.stderr
        got = macs(walk.stdout, oid)
        assert {ip: got.get(ip) for ip in want} == want, oid
    maconly = persona(routed_lab, "uniview-ipc2122-maconly")
    assert maconly["mac"].startswith("88:26:3f") and maconly["expect"]["needs_mac"] is True


def test_snmp_v3_authpriv_reads_it_and_wrong_secrets_read_nothing(routed_lab: dict[str, Any]) -> None:
    walk = snmp(routed_lab, IP_NET_TO_PHYSICAL, *v3(routed_lab))
    assert walk.returncode == 0, walk.stderr
    assert set(macs(walk.stdout, IP_NET_TO_PHYSICAL)) >= {d["ip"] for d in routed_lab["devices"]}
    wrong = snmp(routed_lab, IP_NET_TO_PHYSICAL, "-v2c", "-c", community(routed_lab) + "x")
    assert wrong.returncode != 0 and "Hex-STRING" not in wrong.stdout and "Timeout" in wrong.stderr
    bad_priv = snmp(routed_lab, IP_NET_TO_PHYSICAL, *v3(routed_lab, priv="not-the-key-0000"))
    assert bad_priv.returncode != 0 and "Hex-STRING" not in bad_priv.stdout


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_camscans_snmp_reader_gets_every_mac_with_the_labs_config(
    routed_lab: dict[str, Any], version: str
) -> None:
    routers = snmp_routers(Path(routed_lab["snmp"]["camscan_config"][version]))

    async def walk() -> SnmpMacs:
        async with scan_context() as ctx:
            return await read_router_macs(ctx, routers, SnmpLimits(request_timeout=1.0))

    result = run_async_in_netns(routed_lab["scanner_netns"], walk)
    assert [r.status for r in result.routers] == [Status.OK]
    assert {ip: m.mac for ip, m in result.macs.items()} == {d["ip"]: d["mac"] for d in routed_lab["devices"]}


def test_snmp_is_read_only(routed_lab: dict[str, Any]) -> None:
    agent = routed_lab["snmp"]
    cmd = [
        "ip",
        "netns",
        "exec",
        routed_lab["scanner_netns"],
        "snmpset",
        "-v2c",
        "-c",
        community(routed_lab),
        "-t",
        "1",
        "-r",
        "0",
        agent["address"],
        "1.3.6.1.2.1.1.5.0",
        "s",
        "renamed",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env={**os.environ, "MIBS": ""})
    assert out.returncode != 0 and re.search(r"noAccess|notWritable|readOnly", out.stderr + out.stdout), out
    name = snmp(routed_lab, "1.3.6.1.2.1.1.5", "-v2c", "-c", community(routed_lab))
    assert f'STRING: "{netns.names(routed_lab["prefix"]).router}"' in name.stdout


def test_manifest_says_how_the_routed_lab_is_built(routed_lab: dict[str, Any]) -> None:
    m, n = routed_lab, netns.names(routed_lab["prefix"])
    assert (m["mode"], m["multicast"], m["subnet"], m["blackhole"]) == (
        "routed",
        False,
        "10.88.0.0/16",
        "10.88.0.0/16",
    )
    config = m["snmp"]["camscan_config"]["v2c"]
    assert m["scan_command"] == f"ip netns exec {n.scanner} camscan scan 10.88.0.0/16 --config {config}"
    assert m["router"]["addresses"] == [m["router"]["transit_ip"], *(s["router_ip"] for s in m["segments"])]
    assert [s["router_ip"] for s in m["segments"]] == [f"{s[:-4]}1" for s in ROUTED_SEGMENTS]
    assert sum(s["devices"] for s in m["segments"]) == len(m["devices"]) >= 66
    text = json.dumps(m)
    v2c, v3_files = m["snmp"]["v2c"], m["snmp"]["v3"]
    for path in (v2c["community_file"], v3_files["auth_file"], v3_files["priv_file"]):
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
        assert Path(path).read_text().strip() not in text  # files are named, secrets never written out
    assert (
        subprocess.run(
            ["ip", "netns", "identify", str(m["snmp"]["pid"])], capture_output=True, text=True
        ).stdout.strip()
        == n.router
    )  # snmpd listens in the router's netns only


def test_up_rebuilds_and_down_removes_everything(tmp_path: Path) -> None:
    require_routed()
    prefix, state = "r" + uuid.uuid4().hex[:7], tmp_path / "state"
    lay = routed.layout("10.90.0.0/20", 2)
    try:
        first = routed.up(prefix, lay, 6, state_dir=state)
        again = routed.up(prefix, lay, 6, state_dir=state)
        assert [d["ip"] for d in again["devices"]] == [
            "10.90.4.2",
            "10.90.4.3",
            "10.90.4.4",
            "10.90.12.2",
            "10.90.12.3",
            "10.90.12.4",
        ]
        old = [first["server_pid"], first["snmp"]["pid"]]
        assert not any(Path(f"/proc/{pid}").exists() for pid in old)  # the first lab's processes are gone
    finally:
        removed = netns.down(prefix, state)
    assert removed == 3 and netns.down(prefix, state) == 0
    assert not Path(f"/proc/{again['snmp']['pid']}").exists() and not state.exists()
