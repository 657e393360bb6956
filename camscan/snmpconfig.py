"""`[[snmp]]` entries of the --config file: which router to ask for which subnet's MACs, with what secret."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Literal

from camscan.config import ConfigFile
from camscan.credentials import CredentialError, config_entries, read_config
from camscan.inputs import read_text

MAX_SECRET_BYTES = 4096
MIN_V3_PASSWORD = 8  # RFC 3414 section 11.2: USM pass phrases are at least 8 octets
MAX_COMMUNITY = 255  # SnmpAdminString / OCTET STRING (SIZE (0..255))
MAX_USER = 32  # usmUserName SnmpAdminString (SIZE(1..32))
GROUP_OR_OTHER_READABLE = stat.S_IRGRP | stat.S_IROTH
# Net-SNMP's names (snmpd.conf createUser, snmpwalk -a/-x), so a router's config reads across unchanged.
AUTH_PROTOCOLS = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOCOLS = ("DES", "AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C")
WEAK_PROTOCOLS = frozenset({"MD5", "DES"})  # accepted (old routers offer nothing else), flagged in warnings
_ALIASES = {"SHA1": "SHA", "SHA-1": "SHA", "AES128": "AES", "AES-128": "AES", "AES192": "AES-192",
            "AES256": "AES-256"}  # fmt: skip

_COMMON_KEYS = frozenset({"network", "router", "port", "version"})
_V2C_KEYS = frozenset({"community_file", "community_env"})
_V3_KEYS = frozenset({"user", "auth_protocol", "auth_password_file", "auth_password_env", "priv_protocol",
                      "priv_password_file", "priv_password_env"})  # fmt: skip
_INLINE_SECRETS = {  # a secret written inline -> where it belongs
    "community": "community_file or community_env",
    "auth_password": "auth_password_file or auth_password_env",
    "priv_password": "priv_password_file or priv_password_env",
    "password": "auth_password_file / priv_password_file (or _env)",
}

SecurityLevel = Literal["noAuthNoPriv", "authNoPriv", "authPriv"]


@dataclass(frozen=True, slots=True)
class CommunityV2c:
    """An SNMPv2c community the user gave; never printed, logged or reported."""

    community: str = field(repr=False)

    def __repr__(self) -> str:
        return "CommunityV2c(<hidden>)"


@dataclass(frozen=True, slots=True)
class UserV3:
    """An SNMPv3 USM user the user gave; the level follows from what is given. Never printed."""

    user: str = field(repr=False)
    auth_protocol: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    priv_protocol: str | None = None
    priv_password: str | None = field(default=None, repr=False)

    @property
    def security_level(self) -> SecurityLevel:
        """noAuthNoPriv, authNoPriv or authPriv."""
        if self.priv_protocol:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol else "noAuthNoPriv"

    def __repr__(self) -> str:
        return f"UserV3(<hidden>, {self.security_level}, {self.auth_protocol}, {self.priv_protocol})"


@dataclass(frozen=True, slots=True)
class SnmpRouter:
    """One [[snmp]] entry: ask `router` (an SNMP agent) for the MACs of hosts in `network`."""

    network: IPv4Network
    router: IPv4Address
    credentials: CommunityV2c | UserV3
    port: int = 161
    entry: int = 0  # the entry's number in the config file, for messages

    @property
    def version(self) -> Literal["2c", "3"]:
        """SNMP version: "2c" or "3"."""
        return "2c" if isinstance(self.credentials, CommunityV2c) else "3"

    def weak_protocols(self) -> tuple[str, ...]:
        """The entry's protocols that are weak (MD5, DES): worth a warning, not a refusal."""
        creds = self.credentials
        if not isinstance(creds, UserV3):
            return ()
        return tuple(p for p in (creds.auth_protocol, creds.priv_protocol) if p in WEAK_PROTOCOLS)


def read_secret(path: Path, what: str, allow_readable: bool = False) -> str:
    """First line of a regular, size-capped file that only its owner may read (unless allowed)."""
    text = read_text(
        path, what, MAX_SECRET_BYTES, error=CredentialError, secret=True, allow_readable=allow_readable
    )
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise CredentialError(f"{what} {path}: the first line (the secret) is empty")
    return lines[0]


@dataclass(frozen=True, slots=True)
class _Entry:
    """Where an entry sits, and how its secrets are found."""

    cfg: ConfigFile = field(repr=False)
    number: int
    item: Mapping[str, Any] = field(repr=False)  # may hold a secret written inline by mistake
    allow_readable: bool = False
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> Path:
        return self.cfg.path

    def where(self, key: str | None = None) -> str:
        """File, line, entry (and key) for a message about this entry."""
        return str(self.cfg.error("snmp", self.number, key, "")).removesuffix(": ")

    def fail(self, key: str | None, problem: str) -> CredentialError:
        return CredentialError(str(self.cfg.error("snmp", self.number, key, problem)))

    def text(self, key: str, default: str | None = None) -> str | None:
        """An optional non-empty string value."""
        value = self.item.get(key, default)
        if value is not None and (not isinstance(value, str) or not value):
            raise self.fail(key, "must be a non-empty string")
        return value

    def secret(self, base: str) -> str | None:
        """The secret named by `<base>_file` or `<base>_env` (never inline); None when neither is given."""
        file_key, env_key = f"{base}_file", f"{base}_env"
        file_name, env_name = self.text(file_key), self.text(env_key)
        if file_name and env_name:
            raise self.fail(file_key, f"give {file_key} or {env_key}, not both")
        if file_name:
            path = Path(file_name)
            return read_secret(
                path if path.is_absolute() else self.path.parent / path, self.where(file_key),
                self.allow_readable,
            )  # fmt: skip
        if env_name:
            value = self.environ.get(env_name)
            if not value:
                raise self.fail(env_key, f"environment variable {env_name} is not set or empty")
            return value
        return None


def _network(entry: _Entry) -> IPv4Network:
    text = entry.text("network")
    if text is None:
        raise entry.fail("network", "missing (the CIDR block whose MACs this router knows)")
    try:
        return IPv4Network(text, strict=False)
    except ValueError:
        raise entry.fail("network", f"{text!r} is not an IPv4 CIDR block") from None


def _router(entry: _Entry) -> IPv4Address:
    text = entry.text("router")
    if text is None:
        raise entry.fail("router", "missing (the IPv4 address of the router's SNMP agent)")
    try:
        address = IPv4Address(text)
    except ValueError:
        raise entry.fail(
            "router", f"{text!r} is not an IPv4 address (host names are not looked up)"
        ) from None
    if address.is_multicast or address.is_unspecified or address == IPv4Address("255.255.255.255"):
        raise entry.fail("router", f"{text} is not a unicast address")
    return address


def _port(entry: _Entry) -> int:
    port = entry.item.get("port", 161)
    if type(port) is not int or not 1 <= port <= 65535:
        raise entry.fail("port", "must be an integer 1-65535")
    return port


def _community(entry: _Entry) -> CommunityV2c:
    community = entry.secret("community")
    if community is None:
        raise entry.fail("community_file", "version 2c needs community_file or community_env")
    if len(community.encode()) > MAX_COMMUNITY:
        raise entry.fail("community_file", f"the community is longer than {MAX_COMMUNITY} bytes")
    return CommunityV2c(community)


def _protocol(entry: _Entry, key: str, known: tuple[str, ...]) -> str | None:
    name = entry.text(key)
    if name is None:
        return None
    canonical = _ALIASES.get(name.upper(), name.upper())
    if canonical not in known:
        raise entry.fail(key, f"{name!r} is not one of {', '.join(known)}")
    return canonical


def _user(entry: _Entry) -> UserV3:
    user = entry.text("user")
    if user is None:
        raise entry.fail("user", "version 3 needs a user")
    if len(user.encode()) > MAX_USER:
        raise entry.fail("user", f"longer than {MAX_USER} bytes")
    levels: dict[str, tuple[str | None, str | None]] = {}
    for kind, known in (("auth", AUTH_PROTOCOLS), ("priv", PRIV_PROTOCOLS)):
        protocol = _protocol(entry, f"{kind}_protocol", known)
        password = entry.secret(f"{kind}_password")
        if protocol is not None and password is None:
            raise entry.fail(f"{kind}_protocol", f"needs {kind}_password_file or {kind}_password_env too")
        if protocol is None and password is not None:
            raise entry.fail(f"{kind}_password_file", f"needs {kind}_protocol too")
        if password is not None and len(password.encode()) < MIN_V3_PASSWORD:
            raise entry.fail(f"{kind}_password", f"shorter than {MIN_V3_PASSWORD} characters (RFC 3414)")
        levels[kind] = (protocol, password)
    if levels["priv"][0] and not levels["auth"][0]:
        raise entry.fail("priv_protocol", "privacy needs authentication too (auth_protocol)")
    return UserV3(user, *levels["auth"], *levels["priv"])


def _entry(entry: _Entry) -> SnmpRouter:
    if not isinstance(entry.item, dict):
        raise entry.fail(None, "must be a table")
    for key, instead in _INLINE_SECRETS.items():
        if key in entry.item:
            raise entry.fail(key, f"secrets never go in the config file: use {instead}")
    version = entry.item.get("version")
    if version not in ("2c", "3"):
        raise entry.fail("version", 'must be "2c" or "3" (SNMPv1 is not supported)')
    allowed = _COMMON_KEYS | (_V2C_KEYS if version == "2c" else _V3_KEYS)
    unknown = set(entry.item) - allowed
    if unknown:
        raise entry.fail(", ".join(sorted(unknown)), f"unknown key(s) for version {version}")
    credentials = _community(entry) if version == "2c" else _user(entry)
    return SnmpRouter(_network(entry), _router(entry), credentials, _port(entry), entry.number)


def snmp_routers(
    config: Path | None, *, allow_readable_secrets: bool = False, environ: Mapping[str, str] | None = None
) -> tuple[SnmpRouter, ...]:
    """The [[snmp]] entries of a --config file, in file order; () without a config file."""
    if config is None:
        return ()
    env = os.environ if environ is None else environ
    cfg = read_config(config)
    items = config_entries(cfg, "snmp")
    return tuple(_entry(_Entry(cfg, n, item, allow_readable_secrets, env)) for n, item in enumerate(items, 1))


def weak_protocol_warnings(routers: tuple[SnmpRouter, ...], config: Path) -> list[str]:
    """One warning line per entry that uses MD5 or DES (the CLI prints them; the scan goes on)."""
    lines = []
    for router in routers:
        weak = router.weak_protocols()
        if weak:
            verb = "are" if len(weak) > 1 else "is"
            lines.append(
                f"{config}: [[snmp]] entry {router.entry}: {' and '.join(weak)} {verb} weak; "
                "prefer SHA-256 and AES where the router offers them"
            )
    return lines
