"""[[snmp]] entries: secrets only from owner-only files or the environment, one clear line per mistake."""

from __future__ import annotations

import os
import re
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from camscan.credentials import CredentialError, onvif_credentials
from camscan.snmpconfig import CommunityV2c, SnmpRouter, UserV3, snmp_routers, weak_protocol_warnings

COMMUNITY = "c0mmun1ty-S3cret"
AUTH = "auth-Pa55phrase"
PRIV = "priv-Pa55phrase"


def secret(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "camscan.toml"
    path.write_text(body)
    return path


def test_v2c_and_v3_entries(tmp_path: Path) -> None:
    secret(tmp_path / "community", COMMUNITY)
    secret(tmp_path / "auth.pw", AUTH)
    cfg = config(
        tmp_path,
        """
[[onvif]]
network = "10.1.0.0/16"
username = "audit"
password_file = "auth.pw"

[[snmp]]
network = "10.1.5.0/24"
router = "10.1.0.1"
version = "2c"
community_file = "community"

[[snmp]]
network = "10.2.0.0/16"
router = "10.2.0.1"
port = 1161
version = "3"
user = "camscan"
auth_protocol = "sha-256"
auth_password_file = "auth.pw"
priv_protocol = "AES"
priv_password_env = "CAMSCAN_TEST_PRIV"
""",
    )
    routers = snmp_routers(cfg, environ={"CAMSCAN_TEST_PRIV": PRIV})
    assert routers == (
        SnmpRouter(IPv4Network("10.1.5.0/24"), IPv4Address("10.1.0.1"), CommunityV2c(COMMUNITY), 161, 1),
        SnmpRouter(
            IPv4Network("10.2.0.0/16"),
            IPv4Address("10.2.0.1"),
            UserV3("camscan", "SHA-256", AUTH, "AES", PRIV),
            1161,
            2,
        ),
    )
    assert [r.version for r in routers] == ["2c", "3"]
    assert routers[1].credentials.security_level == "authPriv"  # type: ignore[union-attr]
    assert onvif_credentials(None, None, cfg)[0][0] == IPv4Network("10.1.0.0/16")  # [[onvif]] still read


def test_security_level_follows_what_is_given(tmp_path: Path) -> None:
    secret(tmp_path / "auth.pw", AUTH)
    base = 'network = "10.0.0.0/8"\nrouter = "10.0.0.1"\nversion = "3"\nuser = "u"\n'
    auth = 'auth_protocol = "SHA"\nauth_password_file = "auth.pw"\n'
    cfg = config(tmp_path, f"[[snmp]]\n{base}\n[[snmp]]\n{base}{auth}")
    levels = [r.credentials.security_level for r in snmp_routers(cfg)]  # type: ignore[union-attr]
    assert levels == ["noAuthNoPriv", "authNoPriv"]


def test_no_config_no_routers() -> None:
    assert snmp_routers(None) == ()


def test_secrets_never_appear_in_reprs(tmp_path: Path) -> None:
    router = SnmpRouter(
        IPv4Network("10.0.0.0/8"), IPv4Address("10.0.0.1"), UserV3("camscan-user", "SHA", AUTH, "AES", PRIV)
    )
    text = repr(router) + repr(CommunityV2c(COMMUNITY)) + repr((router, CommunityV2c(COMMUNITY)))
    for value in (AUTH, PRIV, COMMUNITY, "camscan-user"):
        assert value not in text
    assert "authPriv" in text and "10.0.0.1" in text


V2C = 'network = "10.0.0.0/8"\nrouter = "10.0.0.1"\nversion = "2c"\n'
V3 = 'network = "10.0.0.0/8"\nrouter = "10.0.0.1"\nversion = "3"\nuser = "u"\n'


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        (V2C + f'community = "{COMMUNITY}"\n', "community", "never go in the config file"),
        (V3 + f'auth_protocol = "SHA"\nauth_password = "{AUTH}"\n', "auth_password", "auth_password_file"),
        (V2C, "community_file", "needs community_file or community_env"),
        (V2C + 'community_file = "c"\ncommunity_env = "X"\n', "community_file", "not both"),
        (V2C + 'community_env = "CAMSCAN_TEST_UNSET"\n', "community_env", "CAMSCAN_TEST_UNSET is not set"),
        (V2C.replace('router = "10.0.0.1"\n', "") + 'community_file = "c"\n', "router", "missing"),
        (V2C.replace('"10.0.0.1"', '"router.example"') + 'community_file = "c"\n', "router", "host names"),
        (V2C.replace('"10.0.0.1"', '"224.0.0.1"') + 'community_file = "c"\n', "router", "unicast"),
        (V2C.replace('"10.0.0.0/8"', '"10.0.0.0/33"') + 'community_file = "c"\n', "network", "CIDR"),
        (V2C.replace('"2c"', '"1"') + 'community_file = "c"\n', "version", "SNMPv1 is not supported"),
        (V2C.replace('"2c"', "3"), "version", '"2c" or "3"'),
        (V2C + 'community_file = "c"\nport = 70000\n', "port", "1-65535"),
        (V2C + 'community_file = "c"\nuser = "u"\n', "user", "unknown key"),
        (V3.replace('user = "u"\n', ""), "user", "needs a user"),
        (V3 + 'auth_protocol = "SHA"\n', "auth_protocol", "auth_password_file or auth_password_env"),
        (V3 + 'auth_password_file = "auth.pw"\n', "auth_password_file", "needs auth_protocol"),
        (V3 + 'auth_protocol = "SHA-1024"\nauth_password_file = "auth.pw"\n', "auth_protocol", "not one of"),
        (V3 + 'priv_protocol = "AES"\npriv_password_file = "auth.pw"\n', "priv_protocol", "authentication"),
        (
            V3 + 'auth_protocol = "MD5"\nauth_password_file = "short.pw"\n',
            "auth_password",
            "at least 8|shorter",
        ),
        ("[[snmp]]\n" + 'community_file = "c"\n', "version", '"2c" or "3"'),
    ],
)
def test_each_mistake_is_one_line_naming_file_entry_and_key(
    tmp_path: Path, body: str, key: str, words: str
) -> None:
    secret(tmp_path / "c", COMMUNITY)
    secret(tmp_path / "auth.pw", AUTH)
    secret(tmp_path / "short.pw", "1234567")
    cfg = config(tmp_path, "[[snmp]]\n" + body if not body.startswith("[[snmp]]") else body)
    with pytest.raises(CredentialError) as info:
        snmp_routers(cfg, environ={})
    message = str(info.value)
    assert "\n" not in message
    assert (
        re.match(rf"{re.escape(str(cfg))} line \d+: \[\[snmp\]\] entry 1: ", message) and f" {key}" in message
    )
    assert any(w in message for w in words.split("|")), message
    for value in (COMMUNITY, AUTH, "1234567"):
        assert value not in message


def test_a_readable_secret_file_is_refused_unless_allowed(tmp_path: Path) -> None:
    secret(tmp_path / "c", COMMUNITY, mode=0o644)
    cfg = config(tmp_path, "[[snmp]]\n" + V2C + 'community_file = "c"\n')
    with pytest.raises(
        CredentialError, match=r"community_file .*: others can read or change it \(mode 0644\)"
    ):
        snmp_routers(cfg)
    assert snmp_routers(cfg, allow_readable_secrets=True)[0].credentials == CommunityV2c(COMMUNITY)


@pytest.mark.parametrize("kind", ["directory", "fifo", "missing", "large", "empty", "binary"])
def test_a_secret_must_be_a_small_regular_text_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "c"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path, 0o600)  # opening it must not wait for a writer
    elif kind == "large":
        secret(path, "x" * 5000)
    elif kind == "empty":
        secret(path, "")
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe\x00")
        path.chmod(0o600)
    cfg = config(tmp_path, "[[snmp]]\n" + V2C + 'community_file = "c"\n')
    with pytest.raises(CredentialError, match=r"entry 1: community_file ") as info:
        snmp_routers(cfg)
    assert "\n" not in str(info.value)


def test_weak_protocols_are_accepted_with_a_warning(tmp_path: Path) -> None:
    secret(tmp_path / "auth.pw", AUTH)
    cfg = config(
        tmp_path,
        "[[snmp]]\n" + V3 + 'auth_protocol = "md5"\nauth_password_file = "auth.pw"\n'
        'priv_protocol = "des"\npriv_password_file = "auth.pw"\n',
    )
    routers = snmp_routers(cfg)
    assert routers[0].weak_protocols() == ("MD5", "DES")
    assert weak_protocol_warnings(routers, cfg) == [
        f"{cfg}: [[snmp]] entry 1: MD5 and DES are weak; prefer SHA-256 and AES where the router offers them"
    ]
