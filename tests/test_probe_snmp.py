"""Reading routers' ARP tables over SNMP, against Debian's real snmpd in a router namespace (root)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from camlab.snmpagent import AGENT_IP, Community, RouterLab, V3User, router_lab, snmpd_missing
from camscan.probes.snmp import SnmpLimits, SnmpMacs, read_router_macs
from camscan.snmpconfig import CommunityV2c, SnmpRouter, UserV3, snmp_routers
from camscan.status import Status
from tests.labkit import _cannot, require_netns
from tests.udpkit import run_in_netns, scan_context

pytestmark = pytest.mark.netns

SUBNETS = ("10.9.4.0/24", "10.9.5.0/24", "10.9.6.0/24")
ALL = "10.9.4.0/22"  # the three subnets, not the router link (where the scanner is)
NEIGHBOURS = {
    "10.9.4.5": "44:19:b6:00:00:05",  # Hikvision
    "10.9.4.6": "e0:50:8b:00:00:06",  # Dahua
    "10.9.5.7": "3c:ef:8c:00:00:07",  # Dahua
    "10.9.5.8": "00:40:8c:00:00:08",  # Axis
    "10.9.6.9": "ac:cc:8e:00:00:09",  # Axis
    "10.9.6.10": "01:00:5e:00:00:0a",  # a multicast MAC: never reported
}
UNICAST = {ip: mac for ip, mac in NEIGHBOURS.items() if ip != "10.9.6.10"}
COMMUNITY = "lab-" + secrets.token_hex(8)
OLD_TABLE_COMMUNITY = "old-" + secrets.token_hex(8)
USERS = {
    "sha256-aes": UserV3(
        "camscan-a", "SHA-256", "auth-" + secrets.token_hex(6), "AES", "priv-" + secrets.token_hex(6)
    ),
    "sha512-aes256": UserV3(
        "camscan-b", "SHA-512", "auth-" + secrets.token_hex(6), "AES-256", "priv-" + secrets.token_hex(6)
    ),
}
NO_AGENT = "10.9.0.77"  # on the router link, where nothing answers


def lab_user(user: UserV3) -> V3User:
    assert user.auth_protocol and user.auth_password and user.priv_protocol and user.priv_password
    return V3User(user.user, user.auth_protocol, user.auth_password, user.priv_protocol, user.priv_password)


def require_snmp_lab() -> None:
    require_netns()
    reason = snmpd_missing()
    if reason:
        _cannot(reason)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterLab]:
    require_snmp_lab()
    communities = [Community(COMMUNITY), Community(OLD_TABLE_COMMUNITY, view=".1.3.6.1.2.1.4.22")]
    users = [lab_user(u) for u in USERS.values()]
    prefix = "csn" + uuid.uuid4().hex[:6]
    with router_lab(
        prefix, tmp_path_factory.mktemp("snmp"), SUBNETS, NEIGHBOURS, communities, users
    ) as built:
        yield built


def entry(network: str, creds: CommunityV2c | UserV3, router: str = AGENT_IP, number: int = 1) -> SnmpRouter:
    return SnmpRouter(IPv4Network(network), IPv4Address(router), creds, entry=number)


def walk(lab: RouterLab, routers: list[SnmpRouter], **limits: Any) -> SnmpMacs:
    """read_router_macs from the scanner namespace (short request timeout unless told)."""

    async def scenario() -> SnmpMacs:
        async with scan_context() as ctx:
            return await read_router_macs(ctx, routers, SnmpLimits(**{"request_timeout": 0.5, **limits}))

    return run_in_netns(lab.scanner_ns, scenario)


def macs(result: SnmpMacs) -> dict[str, str]:
    return {ip: found.mac for ip, found in result.macs.items()}


def test_v2c_reads_every_entry_of_every_subnet(lab: RouterLab) -> None:
    routers = [entry(net, CommunityV2c(COMMUNITY), number=n) for n, net in enumerate(SUBNETS, 1)]
    result = walk(lab, routers)
    assert macs(result) == UNICAST
    assert {found.router for found in result.macs.values()} == {AGENT_IP}
    (only,) = result.routers  # three entries, one agent and community: one walk
    assert only.status is Status.OK and only.error is None and only.networks == SUBNETS
    assert only.sent == only.received >= 1


@pytest.mark.parametrize("user", USERS.values(), ids=USERS.keys())
def test_v3_reads_every_entry(lab: RouterLab, user: UserV3) -> None:
    result = walk(lab, [entry(ALL, user)])
    assert macs(result) == UNICAST
    assert result.routers[0].status is Status.OK


def test_entries_outside_the_network_are_dropped(lab: RouterLab) -> None:
    result = walk(lab, [entry("10.9.5.0/24", CommunityV2c(COMMUNITY))])
    assert macs(result) == {"10.9.5.7": "3c:ef:8c:00:00:07", "10.9.5.8": "00:40:8c:00:00:08"}
    assert result.routers[0].rejected > 0  # the router knew the other subnets and the scanner's own address


def test_an_agent_with_only_the_older_table_is_read(lab: RouterLab) -> None:
    result = walk(lab, [entry(ALL, CommunityV2c(OLD_TABLE_COMMUNITY))])
    assert macs(result) == UNICAST
    assert result.routers[0].status is Status.OK


def test_a_wrong_community_is_a_clear_timeout_with_no_rows(lab: RouterLab) -> None:
    wrong = "not-" + COMMUNITY
    result = walk(lab, [entry(ALL, CommunityV2c(wrong))])
    (router,) = result.routers
    assert router.status is Status.TIMEOUT and not router.macs and not result.macs
    assert router.error and "community" in router.error
    assert wrong not in repr(result)


def test_a_wrong_v3_password_is_refused_with_no_rows(lab: RouterLab) -> None:
    good = USERS["sha256-aes"]
    bad = UserV3(
        good.user, good.auth_protocol, "wrong-" + secrets.token_hex(4), good.priv_protocol, good.priv_password
    )
    result = walk(lab, [entry(ALL, bad)])
    (router,) = result.routers
    assert router.status is Status.REFUSED and not router.macs
    assert router.error and "rejected the credentials" in router.error
    assert bad.auth_password not in repr(result)


def test_no_agent_times_out_within_the_bound_and_hides_nothing(lab: RouterLab) -> None:
    routers = [
        entry("10.9.4.0/24", CommunityV2c(COMMUNITY), router=NO_AGENT, number=1),
        entry(ALL, CommunityV2c(COMMUNITY), number=2),
        entry("10.9.5.0/24", CommunityV2c("not-" + COMMUNITY), number=3),
    ]
    result = walk(lab, routers, request_timeout=0.5, retries=1)
    silent, good, wrong = result.routers
    assert silent.router == NO_AGENT and silent.status is Status.TIMEOUT and not silent.macs
    # two tries of 0.5 s and 0.25 s of grace (SnmpLimits.request_bound), plus slack for a loaded machine
    assert silent.elapsed < SnmpLimits(request_timeout=0.5, retries=1).request_bound + 0.75
    assert wrong.status is Status.TIMEOUT
    # 10.9.4.x comes from the router that answered, although the silent one's entry is more specific
    assert good.status is Status.OK and macs(result) == UNICAST


def test_config_file_to_macs(lab: RouterLab, tmp_path: Path) -> None:
    (tmp_path / "community").write_text(COMMUNITY + "\n")
    (tmp_path / "community").chmod(0o600)
    (tmp_path / "camscan.toml").write_text(
        f'[[snmp]]\nnetwork = "10.9.4.0/24"\nrouter = "{AGENT_IP}"\nversion = "2c"\n'
        'community_file = "community"\n\n'
        f'[[snmp]]\nnetwork = "10.9.6.0/24"\nrouter = "{AGENT_IP}"\nversion = "3"\nuser = "camscan-a"\n'
        'auth_protocol = "SHA-256"\nauth_password_env = "LAB_AUTH"\n'
        'priv_protocol = "AES"\npriv_password_env = "LAB_PRIV"\n'
    )
    user = USERS["sha256-aes"]
    env = {"LAB_AUTH": user.auth_password or "", "LAB_PRIV": user.priv_password or ""}
    result = walk(lab, list(snmp_routers(tmp_path / "camscan.toml", environ=env)))
    assert macs(result) == {ip: mac for ip, mac in UNICAST.items() if ip.startswith(("10.9.4.", "10.9.6."))}
    assert [r.status for r in result.routers] == [Status.OK, Status.OK]


BIG = 5000


@pytest.fixture(scope="module")
def big_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterLab]:
    require_snmp_lab()
    neighbours = {
        f"10.10.{n // 256}.{n % 256}": f"00:80:f0:00:{n // 256:02x}:{n % 256:02x}" for n in range(2, BIG + 2)
    }
    prefix = "csb" + uuid.uuid4().hex[:6]
    with router_lab(
        prefix, tmp_path_factory.mktemp("snmp-big"), ["10.10.0.0/16"], neighbours, [Community(COMMUNITY)]
    ) as built:
        yield built


def test_a_large_table_is_read_whole_within_the_caps(big_lab: RouterLab) -> None:
    result = walk(big_lab, [entry("10.10.0.0/16", CommunityV2c(COMMUNITY))])
    (router,) = result.routers
    assert router.status is Status.OK and macs(result) == big_lab.neighbours
    assert router.rows >= 2 * BIG  # the address and type columns of ipNetToPhysicalTable
    print(f"\nSNMP walk of {BIG} neighbours: {router.elapsed:.2f} s, {router.sent} requests")


def test_past_the_row_cap_the_first_rows_are_kept(big_lab: RouterLab) -> None:
    result = walk(big_lab, [entry("10.10.0.0/16", CommunityV2c(COMMUNITY))], max_rows=1000)
    (router,) = result.routers
    assert router.status is Status.TOO_LARGE and router.error and "1000" in router.error
    assert 900 <= len(router.macs) <= 1000
    assert all(big_lab.neighbours[ip] == mac for ip, mac in router.macs.items())


def test_past_the_router_time_cap_what_was_read_is_kept(big_lab: RouterLab) -> None:
    result = walk(big_lab, [entry("10.10.0.0/16", CommunityV2c(COMMUNITY))], router_time=0.3)
    (router,) = result.routers
    assert router.status is Status.TIMEOUT and router.error and "time cap" in router.error
    assert 0 < len(router.macs) < BIG
