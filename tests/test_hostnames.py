"""Host names: the NetBIOS and PTR parsers (hostile bytes included), and host_names against real peers on
loopback: Debian's dnsmasq for reverse DNS, NBSTAT and LLMNR responders built from the RFCs' layouts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dns.flags
import dns.message
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.netbios import NBNSHeader, NBNSNodeStatusResponse, NBNSNodeStatusResponseService

from camscan.hostnames import LLMNR_PORT, HostNamer
from camscan.models import Observation
from camscan.parse import netbios, ptr
from camscan.parse.netbios import NetbiosParseError, NodeName
from camscan.parse.ptr import PtrParseError
from camscan.targets import parse_targets
from tests.labkit import _cannot
from tests.udpkit import FakeDevices, Handler, loopback_base, scan_context

MAC = "44:19:b6:00:00:05"


def nbstat_reply(trn: int, names: Sequence[tuple[str, int, int]], *, flags: int = 0x40) -> bytes:
    """A node status reply laid out as RFC 1002 §4.2.18 says: names space-padded to 15, suffix, flags."""
    entries = [
        NBNSNodeStatusResponseService(NETBIOS_NAME=n.ljust(15), SUFFIX=s, NAME_FLAGS=f) for n, s, f in names
    ]
    header = NBNSHeader(NAME_TRN_ID=trn, RESPONSE=1, NM_FLAGS=flags, QDCOUNT=0, ANCOUNT=1)
    return bytes(header / NBNSNodeStatusResponse(RR_NAME="*", SUFFIX=0, NODE_NAME=entries, MAC_ADDRESS=MAC))


CAMERA_NAMES = [("WORKGROUP", 0x00, 0x84), ("IPCAM-7F3A", 0x00, 0x04), ("IPCAM-7F3A", 0x20, 0x04)]


# --- NetBIOS node status, pure


def test_the_query_is_rfc_1002s_wildcard_node_status_request() -> None:
    query = netbios.build_query(0x1234)
    assert query[:4] == b"\x12\x34\x00\x00" and query[4:6] == b"\x00\x01"  # unicast (no B bit), one question
    assert (
        query[12:13] == b"\x20" and query[13:15] == b"CK" and query[-4:] == b"\x00\x21\x00\x01"
    )  # "*", NBSTAT, IN
    assert len(query) == 50


def test_the_hosts_own_name_is_its_unique_workstation_name() -> None:
    status = netbios.parse_reply(
        nbstat_reply(7, CAMERA_NAMES, flags=0x50), 7
    )  # AA and RD: flags vary by stack
    assert status.names[0] == NodeName("WORKGROUP", 0, group=True, active=True)
    assert status.host_name() == "IPCAM-7F3A" and status.mac == MAC
    server_only = netbios.parse_reply(nbstat_reply(8, [("NAS", 0x20, 0x04), ("NAS", 0x03, 0x04)]), 8)
    assert server_only.host_name() == "NAS"
    assert netbios.parse_reply(nbstat_reply(9, [("WORKGROUP", 0, 0x84)]), 9).host_name() is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (nbstat_reply(8, CAMERA_NAMES), "another query"),
        (netbios.build_query(7), "too short"),
        (netbios.build_query(7) + bytes(40), "not a successful response"),
        (nbstat_reply(7, [(f"N{n}", 0, 4) for n in range(101)]), "larger than"),
        (nbstat_reply(7, CAMERA_NAMES)[:-60], "not a NetBIOS packet"),
    ],
)
def test_anything_but_our_answer_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(NetbiosParseError, match=why):
        netbios.parse_reply(data, 7)


def test_names_that_cannot_be_shown_are_dropped() -> None:
    status = netbios.parse_reply(nbstat_reply(7, [("EVIL\x1b[2J", 0, 4), ("CAM\xff", 0, 4), ("OK", 0, 4)]), 7)
    assert [n.name for n in status.names] == ["OK"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_hostile_bytes_raise_only_the_declared_error(data: bytes) -> None:
    for blob in (data, nbstat_reply(7, CAMERA_NAMES)[:12] + data):
        try:
            status = netbios.parse_reply(blob, 7)
        except NetbiosParseError:
            continue
        assert all(n.name.isprintable() and len(n.name) <= 15 for n in status.names)


# --- PTR (DNS and LLMNR), pure


def ptr_answer(query: dns.message.Message, *names: str, rdtype: str = "PTR") -> bytes:
    reply = dns.message.make_response(query)
    if names:
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", rdtype, *names))
    return reply.to_wire()


def test_a_reverse_question_and_its_answer() -> None:
    query = ptr.reverse_query("10.1.2.3", recursion=True)
    assert str(query.question[0].name) == "3.2.1.10.in-addr.arpa." and query.flags & dns.flags.RD
    assert not ptr.reverse_query("10.1.2.3", recursion=False).flags & dns.flags.RD  # LLMNR: no recursion
    names = ptr.parse_reply(ptr_answer(query, "cam-3.site.example.", "alias.example."), query)
    assert sorted(names) == ["alias.example", "cam-3.site.example"]
    assert ptr.parse_reply(ptr_answer(query, "10.9.9.9", rdtype="A"), query) == ()  # not a PTR: ignored


def test_answers_to_another_question_or_junk_are_refused() -> None:
    query = ptr.reverse_query("10.1.2.3", recursion=True)
    other = ptr.reverse_query("10.1.2.4", recursion=True)
    with pytest.raises(PtrParseError, match="another question"):
        ptr.parse_reply(ptr_answer(other, "x.example."), query)
    with pytest.raises(PtrParseError, match="not a DNS message"):
        ptr.parse_reply(b"\x00\x01junk", query)
    with pytest.raises(PtrParseError, match="larger than"):
        ptr.parse_reply(bytes(5000), query)
    weird = ptr.parse_reply(ptr_answer(query, "bad\\027name.example.", "ok.example."), query)
    assert weird == ("ok.example",)  # an escaped control character is no host name


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_hostile_dns_bytes_raise_only_the_declared_error(data: bytes) -> None:
    query = ptr.reverse_query("10.1.2.3", recursion=True)
    head = query.to_wire()[:2] + b"\x84\x00"  # our id, a response
    for blob in (data, head + data):
        try:
            names = ptr.parse_reply(blob, query)
        except PtrParseError:
            continue
        assert all(n.isprintable() and len(n) <= ptr.MAX_NAME for n in names)


# --- host_names against peers on loopback


def nbstat_device(names: Sequence[tuple[str, int, int]]) -> Handler:
    def answer(data: bytes, ip: str) -> list[bytes]:
        trn = int.from_bytes(data[:2], "big")
        return [nbstat_reply(trn, names)] if data[-4:] == b"\x00\x21\x00\x01" else []

    return answer


def llmnr_device(name: str) -> Handler:
    """An LLMNR responder (RFC 4795 §2.4) answering a reverse query for its own address, nothing else."""

    def answer(data: bytes, ip: str) -> list[bytes]:
        query = dns.message.from_wire(data)
        asked = query.question[0].name
        if (
            query.question[0].rdtype != dns.rdatatype.PTR
            or str(asked) != ptr.reverse_query(ip, recursion=False).question[0].name.to_text()
        ):
            return []
        return [ptr_answer(query, name)]

    return answer


class CountingRate:
    """The scan's rate limiter as seen by a test: it counts every datagram acquired."""

    def __init__(self) -> None:
        self.count = 0

    async def acquire(self, n: int = 1, *, urgent: bool = False) -> None:
        self.count += n


async def test_netbios_and_llmnr_names_come_from_the_host_itself() -> None:
    base = loopback_base()
    nb, ll = FakeDevices(), FakeDevices()
    nb.add(base + "5", nbstat_device(CAMERA_NAMES))
    ll.add(base + "5", llmnr_device("ipcam-7f3a.local."))
    nb.add(base + "6", lambda data, ip: [])  # holds its port, answers nothing
    nb_port, ll_port = await nb.start(), await ll.start()
    try:
        async with scan_context({netbios.PORT: nb_port, LLMNR_PORT: ll_port}) as ctx:
            rate = CountingRate()
            ctx.limits.rate = rate  # type: ignore[assignment]
            namer = HostNamer(query_timeout=0.5, budget=1.0)
            mdns = [Observation("mdns", "mdns.host", "IPCam-7F3A.local", 5353)]
            found = await namer.host_names(ctx, base + "5", mdns)
            started = time.monotonic()
            silent = await namer.host_names(ctx, base + "6")
            waited = time.monotonic() - started
    finally:
        nb.close()
        ll.close()
    # mDNS, NetBIOS, LLMNR in that order; LLMNR's name is mDNS's again (case aside), so it is given once
    assert found == [("IPCam-7F3A.local", "mdns"), ("IPCAM-7F3A", "netbios")]
    assert rate.count == 4  # one NBSTAT and one LLMNR question to each host; no DNS server was configured
    assert silent == [] and waited < 1.0 + 0.5  # nothing answered: back within the budget


async def test_the_typed_name_comes_first_and_names_are_given_once() -> None:
    targets = parse_targets(["cam.site.example"], resolve=lambda name: ["10.77.0.9"])
    namer = HostNamer(targets, netbios=False, llmnr=False)  # and no resolver: nothing is sent at all
    obs = [
        Observation("mdns", "mdns.host", "CAM.site.example", 5353),
        Observation("mdns", "mdns.host", "x\x07", 5353),  # not showable
    ]
    async with scan_context() as ctx:
        assert await namer.host_names(ctx, "10.77.0.9", obs) == [("cam.site.example", "target")]


@contextmanager
def dnsmasq(records: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Debian's dnsmasq on a loopback address, answering only the PTR records given (no upstream)."""
    binary = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if Path("/usr/sbin/dnsmasq").exists() else None)
    if binary is None:
        if os.geteuid() != 0:
            pytest.skip("dnsmasq is not installed (make setup installs dnsmasq-base as root)")
        _cannot("dnsmasq is not installed: make setup installs dnsmasq-base")
    address = loopback_base() + "53"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # a free port on that address
        probe.bind((address, 0))
        port = probe.getsockname()[1]
    ptrs = [
        f"--ptr-record={ptr.reverse_query(ip, recursion=False).question[0].name},{name}"
        for ip, name in records.items()
    ]
    cmd = [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
           "--bogus-priv", f"--listen-address={address}", "--bind-interfaces", f"--port={port}",
           "--pid-file=", *ptrs]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--user=nobody")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if subprocess.run(
                ["ss", "-Hlun", f"src {address}:{port}"], capture_output=True, text=True
            ).stdout.strip():
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield address, port
    finally:
        proc.terminate()
        proc.wait(10)


async def test_reverse_dns_asks_a_real_resolver_and_keeps_its_ptr_names() -> None:
    with dnsmasq({"10.77.0.5": "cam-5.site.example"}) as (server, port):
        dead = loopback_base() + "54"  # a first resolver that does not answer: the next is asked
        namer = HostNamer(
            nameservers=[dead, server], dns_port=port, netbios=False, llmnr=False, query_timeout=0.5
        )
        async with scan_context() as ctx:
            rate = CountingRate()
            ctx.limits.rate = rate  # type: ignore[assignment]
            named = await namer.host_names(ctx, "10.77.0.5")
            unnamed = await namer.host_names(ctx, "10.77.0.6")
            loopback = await namer.host_names(ctx, "127.0.0.1")  # never asked: no DNS about loopback
    assert named == [("cam-5.site.example", "ptr")]
    assert unnamed == [] and loopback == []
    assert rate.count == 4  # two servers for each of the two routable addresses, none for loopback
