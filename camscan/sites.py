"""`[[site]]` and `[history]` in camscan.toml: what each scheduled sweep scans, and where history is kept."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from camscan import defaults
from camscan.config import ConfigError, ConfigFile
from camscan.options import DISCOVERY_PROTOCOLS

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_KEEP = re.compile(r"^(\d+)\s*(d|days?)?$")
MAX_KEEP = 100_000

_STRINGS = (
    "interface",
    "profile",
    "onvif_username",
    "onvif_password_file",
    "onvif_password_env",
    "macs_file",
    "exclude_file",
)
_NUMBERS = {
    "deadline": 1.0,
    "rate": 1.0,
    "connect_timeout": 0.05,
    "probe_timeout": 0.1,
    "host_timeout": 0.1,
    "discovery_wait": 0.1,
}
_INTEGERS = {"concurrency": (16, defaults.MAX_CONCURRENCY), "per_host": (1, 16), "max_hosts": (1, 2**32)}
_BOOLS = ("arp", "icmp", "multicast", "unicast_discovery", "onvif", "allow_public")
_LISTS = ("targets", "exclude", "watchlists", "fingerprints")
_PORTS = ("ports", "ping_ports")
_TABLES = {
    "placement": ("no_watchlisted", "cameras"),
    "notify": ("file", "webhook", "webhook_secret_file", "webhook_secret_env", "syslog"),
}
SITE_KEYS = frozenset(
    {
        "name",
        "keep",
        "discovery",
        "port_map",
        *_STRINGS,
        *_NUMBERS,
        *_INTEGERS,
        *_BOOLS,
        *_LISTS,
        *_PORTS,
        *_TABLES,
    }
)
_SECRET_WORDS = ("password", "secret", "community", "token")


@dataclass(frozen=True, slots=True)
class Keep:
    """Retention: the newest `sweeps` sweeps of a site, or those of the last `days` days."""

    sweeps: int | None = None
    days: int | None = None

    def __str__(self) -> str:
        return f"{self.days}d" if self.days is not None else str(self.sweeps)


def parse_keep(text: str | int, what: str = "--keep") -> Keep:
    """'30' (sweeps) or '90d' (days) -> Keep."""
    match = _KEEP.match(str(text).strip())
    if match is None or not 1 <= int(match.group(1)) <= MAX_KEEP:
        raise ValueError(f"{what}: {text!r} is not a number of sweeps (30) or of days (90d), 1-{MAX_KEEP}")
    number = int(match.group(1))
    return Keep(days=number) if match.group(2) else Keep(sweeps=number)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where devices belong: watchlisted ones never in `no_watchlisted`; cameras only in `cameras`."""

    no_watchlisted: tuple[IPv4Network, ...] = ()
    cameras: tuple[IPv4Network, ...] = ()


@dataclass(frozen=True, slots=True)
class Notify:
    """Where a sweep's changes go besides the terminal: a file, a webhook, syslog."""

    file: Path | None = None
    webhook: str | None = None
    webhook_secret_file: Path | None = None
    webhook_secret_env: str | None = None
    syslog: str | None = None  # a socket path ("/dev/log") or "" for the default


@dataclass(frozen=True, slots=True)
class Site:
    """One `[[site]]`: a name and the scan options a sweep of it uses (None: camscan's default)."""

    name: str
    targets: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)  # validated keys of _STRINGS/_NUMBERS/... above
    placement: Placement = field(default_factory=Placement)
    notify: Notify = field(default_factory=Notify)
    keep: Keep | None = None
    config: Path | None = None  # the file it came from: relative paths are relative to its folder
    index: int = 0  # its [[site]] entry number in that file, for messages

    def path(self, value: str) -> Path:
        """A path from the config file, relative to the file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() or self.config is None else self.config.parent / p


@dataclass(frozen=True, slots=True)
class HistorySettings:
    """`[history]`: the database URL or path, and the default retention."""

    db: str | None = None
    keep: Keep | None = None


class _SiteReader:
    """Validates one [[site]] table, naming the file, line and key on the first problem."""

    def __init__(self, config: ConfigFile, index: int, item: Any) -> None:
        self.config, self.index = config, index
        if not isinstance(item, dict):
            raise config.error("site", index, None, "must be a table")
        self.item: dict[str, Any] = item
        name = item.get("name")
        self.label = f'"{name}"' if isinstance(name, str) and name else None

    def fail(self, key: str | None, problem: str) -> ConfigError:
        return self.config.error("site", self.index, key, problem, self.label)

    def name(self) -> str:
        name = self.item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(
                "name", "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return name

    def strings(self, key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "must be a list of non-empty strings")
        return tuple(value)

    def ports(self, key: str, value: Any) -> str:
        if isinstance(value, list) and all(type(v) is int for v in value):
            value = ",".join(map(str, value))
        if not isinstance(value, str):
            raise self.fail(key, 'must be a list of ports or a string like "80,443,8000-8010"')
        return value

    def scalar(self, key: str, value: Any) -> Any:
        if key in _STRINGS:
            if not isinstance(value, str) or not value:
                raise self.fail(key, "must be a non-empty string")
            if key == "profile" and value not in defaults.PROFILES:
                raise self.fail(key, f"{value!r} is not one of {', '.join(defaults.PROFILES)}")
        elif key in _NUMBERS:
            if type(value) not in (int, float) or value < _NUMBERS[key]:
                raise self.fail(key, f"must be a number of at least {_NUMBERS[key]:g}")
            value = float(value)
        elif key in _INTEGERS:
            low, high = _INTEGERS[key]
            if type(value) is not int or not low <= value <= high:
                raise self.fail(key, f"must be an integer {low}-{high}")
        elif key in _BOOLS and type(value) is not bool:
            raise self.fail(key, "must be true or false")
        return value

    def discovery(self, value: Any) -> tuple[str, ...]:
        names = self.strings("discovery", value) if value != [] else ()
        if names in (("all",),):
            return DISCOVERY_PROTOCOLS
        if names in (("none",),):
            return ()
        unknown = [n for n in names if n not in DISCOVERY_PROTOCOLS]
        if unknown:
            raise self.fail(
                "discovery", f"unknown protocol {unknown[0]!r}; known: {', '.join(DISCOVERY_PROTOCOLS)}"
            )
        return names

    def port_map(self, value: Any) -> str:
        if isinstance(value, dict):
            if not all(str(k).isdigit() and type(v) is int for k, v in value.items()):
                raise self.fail("port_map", "must map ports to ports, e.g. { 80 = 10080 }")
            value = ",".join(f"{k}={v}" for k, v in value.items())
        if not isinstance(value, str):
            raise self.fail("port_map", 'must be a table { 80 = 10080 } or a string "80=10080"')
        return value

    def networks(self, key: str, value: Any) -> tuple[IPv4Network, ...]:
        out = []
        for text in self.strings(key, value):
            try:
                out.append(IPv4Network(text, strict=False))
            except ValueError:
                raise self.fail(key, f"{text!r} is not an IPv4 CIDR block") from None
        return tuple(out)

    def sub(self, key: str) -> dict[str, Any]:
        table = self.item.get(key, {})
        if not isinstance(table, dict):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(table) - set(_TABLES[key]))
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", f"unknown key (known: {', '.join(_TABLES[key])})")
        return table

    def placement(self) -> Placement:
        table = self.sub("placement")
        return Placement(
            *(self.networks(f"placement.{k}", table[k]) if k in table else () for k in _TABLES["placement"])
        )

    def notify(self, site: Site) -> Notify:
        table = self.sub("notify")
        for key in ("file", "webhook", "webhook_secret_file", "webhook_secret_env"):
            if key in table and (not isinstance(table[key], str) or not table[key]):
                raise self.fail(f"notify.{key}", "must be a non-empty string")
        webhook = table.get("webhook")
        if webhook is not None and not webhook.startswith(("http://", "https://")):
            raise self.fail("notify.webhook", "must be an http:// or https:// URL")
        if "webhook_secret_file" in table and "webhook_secret_env" in table:
            raise self.fail("notify.webhook_secret_file", "give webhook_secret_file or webhook_secret_env")
        syslog = table.get("syslog", False)
        if not isinstance(syslog, (bool, str)):
            raise self.fail("notify.syslog", 'must be true, false or a socket path ("/dev/log")')
        return Notify(
            file=site.path(table["file"]) if "file" in table else None,
            webhook=webhook,
            webhook_secret_file=site.path(table["webhook_secret_file"])
            if "webhook_secret_file" in table
            else None,
            webhook_secret_env=table.get("webhook_secret_env"),
            syslog=("" if syslog is True else syslog) if syslog is not False else None,
        )

    def read(self) -> Site:
        name = self.name()
        for key in self.item:
            if key not in SITE_KEYS:
                secret = any(word in key for word in _SECRET_WORDS)
                hint = (
                    "secrets never go in the config file: use a *_file or *_env key"
                    if secret
                    else ("unknown key")
                )
                raise self.fail(key, hint)
        if "targets" not in self.item:
            raise self.fail("targets", "missing (the addresses, CIDRs or ranges this site sweeps)")
        options: dict[str, Any] = {}
        for key, value in self.item.items():
            if key in _LISTS:
                options[key] = self.strings(key, value)
            elif key in _PORTS:
                options[key] = self.ports(key, value)
            elif key == "discovery":
                options[key] = self.discovery(value)
            elif key == "port_map":
                options[key] = self.port_map(value)
            elif key in (*_STRINGS, *_NUMBERS, *_INTEGERS, *_BOOLS):
                options[key] = self.scalar(key, value)
        if "onvif_password_file" in options and "onvif_password_env" in options:
            raise self.fail("onvif_password_file", "give onvif_password_file or onvif_password_env, not both")
        has_password = "onvif_password_file" in options or "onvif_password_env" in options
        if has_password != ("onvif_username" in options):
            raise self.fail(
                "onvif_username", "onvif_username goes with onvif_password_file or onvif_password_env"
            )
        keep = None
        if "keep" in self.item:
            try:
                keep = parse_keep(self.item["keep"], "keep")
            except ValueError as exc:
                raise self.fail("keep", str(exc).removeprefix("keep: ")) from None
        site = Site(
            name, options.pop("targets"), options, self.placement(), keep=keep, config=self.config.path
        )
        return Site(
            name, site.targets, options, site.placement, self.notify(site), keep, site.config, self.index
        )


def read_sites(config: ConfigFile) -> list[Site]:
    """Every [[site]] of the file, validated; names are unique."""
    sites: list[Site] = []
    for index, item in enumerate(config.entries("site"), 1):
        site = _SiteReader(config, index, item).read()
        if any(s.name == site.name for s in sites):
            raise config.error("site", index, "name", f"a second site named {site.name!r}", f'"{site.name}"')
        sites.append(site)
    return sites


def read_history(config: ConfigFile) -> HistorySettings:
    """The [history] table: db (a path or a postgresql:// URL) and keep."""
    table = config.table("history")
    unknown = sorted(set(table) - {"db", "keep"})
    if unknown:
        raise config.error("history", None, unknown[0], "unknown key (known: db, keep)")
    db = table.get("db")
    if db is not None and (not isinstance(db, str) or not db):
        raise config.error("history", None, "db", "must be a path or a postgresql:// URL")
    if isinstance(db, str) and "://" in db and re.search(r"://[^/@]*:[^/@]*@", db):
        raise config.error("history", None, "db", "no password in the URL: use ~/.pgpass or PGPASSWORD")
    keep = None
    if "keep" in table:
        try:
            keep = parse_keep(table["keep"], "keep")
        except ValueError as exc:
            raise config.error("history", None, "keep", str(exc).removeprefix("keep: ")) from None
    if isinstance(db, str) and "://" not in db:
        path = Path(db).expanduser()
        db = str(path if path.is_absolute() else config.path.parent / path)
    return HistorySettings(db, keep)
