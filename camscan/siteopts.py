"""From a [[site]] (and command-line overrides) to what run_scan needs: options, knowledge, SNMP routers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from camscan import defaults
from camscan.config import ConfigError, ConfigFile
from camscan.context import OnvifCredentials, Timeouts
from camscan.credentials import ANYWHERE, CredentialError, load_config, read_password
from camscan.fingerprints import FingerprintDB, FingerprintError
from camscan.identify import Knowledge
from camscan.options import (
    DISCOVERY_PROTOCOLS,
    OptionError,
    ScanOptions,
    parse_port_map,
    parse_ports,
    read_mac_file,
)
from camscan.sites import Site
from camscan.snmpconfig import SnmpRouter, snmp_routers, weak_protocol_warnings
from camscan.targets import TargetError, parse_targets
from camscan.vendors import VendorDB
from camscan.watchlist import Watchlist, WatchlistError, select

OVERRIDABLE = (
    "profile",
    "deadline",
    "rate",
    "concurrency",
    "per_host",
    "connect_timeout",
    "probe_timeout",
    "host_timeout",
    "interface",
    "watchlists",
)


@dataclass(frozen=True, slots=True)
class PreparedSite:
    """A site ready to sweep: everything checked before the first packet."""

    site: Site
    options: ScanOptions
    knowledge: Knowledge
    routers: tuple[SnmpRouter, ...]
    watchlists: tuple[dict[str, str], ...]  # the lists in force, for history and exports
    warnings: tuple[str, ...]


def watchlist_record(wl: Watchlist) -> dict[str, str]:
    """What history keeps of a list: enough to say which version a device was judged against."""
    return {
        "id": wl.id,
        "title": wl.title,
        "source": wl.source,
        "url": wl.url,
        "updated": wl.updated,
        "origin": wl.origin,
    }


def _onvif(
    site: Site, o: Mapping[str, Any], config: Path
) -> tuple[tuple[IPv4Network, OnvifCredentials], ...]:
    found = load_config(config)
    user = o.get("onvif_username")
    if user is not None:
        if "onvif_password_file" in o:
            password = read_password(
                site.path(o["onvif_password_file"]), "onvif_password_file", o.get("allow_readable", False)
            )
        else:
            password = os.environ.get(o["onvif_password_env"], "")
            if not password:
                raise CredentialError(
                    f"onvif_password_env: environment variable {o['onvif_password_env']} is not set"
                )
        found.append((ANYWHERE, OnvifCredentials(user, password)))
    return tuple(sorted(found, key=lambda item: -item[0].prefixlen))


def _timeouts(o: Mapping[str, Any], pace: defaults.Profile) -> Timeouts:
    return Timeouts(
        connect=o.get("connect_timeout") or pace.connect,
        probe=o.get("probe_timeout") or pace.probe,
        host=o.get("host_timeout") or pace.host,
        scan=o.get("deadline") or defaults.SCAN_DEADLINE,
    )


def _options(site: Site, o: Mapping[str, Any], config: Path) -> ScanOptions:
    pace = defaults.PROFILES[o.get("profile", defaults.DEFAULT_PROFILE)]
    excludes = list(o.get("exclude", ()))
    if "exclude_file" in o:
        excludes.append(f"@{site.path(o['exclude_file'])}")
    targets = parse_targets(
        list(site.targets),
        allow_public=o.get("allow_public", False),
        max_hosts=o.get("max_hosts", defaults.MAX_HOSTS),
        exclude=excludes,
    )
    return ScanOptions(
        targets=targets,
        ports=parse_ports(o["ports"], "ports") if "ports" in o else defaults.PORTS,
        ping_ports=parse_ports(o["ping_ports"], "ping_ports", empty_ok=True)
        if "ping_ports" in o
        else defaults.PING_PORTS,
        interface=o.get("interface"),
        profile=pace.name,
        rate=o.get("rate") or pace.rate,
        concurrency=o.get("concurrency") or pace.concurrency,
        per_host=o.get("per_host") or pace.per_host,
        sweep_per_host=pace.sweep_per_host,
        timeouts=_timeouts(o, pace),
        port_map=parse_port_map(o["port_map"]) if "port_map" in o else {},
        macs=read_mac_file(site.path(o["macs_file"])) if "macs_file" in o else {},
        arp=o.get("arp", True),
        icmp=o.get("icmp", True),
        multicast=o.get("multicast", True),
        unicast_discovery=o.get("unicast_discovery", True),
        discovery=o.get("discovery", DISCOVERY_PROTOCOLS),
        discovery_wait=o.get("discovery_wait", defaults.DISCOVERY_WAIT),
        onvif=o.get("onvif", True),
        onvif_credentials=_onvif(site, o, config),
    )


_KEY_OF = {TargetError: "targets", WatchlistError: "watchlists", FingerprintError: "fingerprints"}


def _key_for(exc: Exception, text: str) -> str | None:
    for key in ("ports", "ping_ports", "port_map", "macs_file", "exclude", "onvif_password", "targets"):
        if text.startswith(key) or f" {key}" in text[:40]:
            return key
    return next((key for kind, key in _KEY_OF.items() if isinstance(exc, kind)), None)


def prepare(
    site: Site, config: ConfigFile, overrides: Mapping[str, Any], *, allow_readable_secrets: bool = False
) -> PreparedSite:
    """Check and build everything a sweep of the site needs; ConfigError naming file, line and key if not."""
    o = {**site.options, **{k: v for k, v in overrides.items() if v is not None}}
    o["allow_readable"] = allow_readable_secrets
    if o.get("profile", defaults.DEFAULT_PROFILE) not in defaults.PROFILES:
        raise OptionError(f"--profile: {o['profile']!r} is not one of {', '.join(defaults.PROFILES)}")
    try:
        options = _options(site, o, config.path)
        vendors = VendorDB.builtin()
        lists = select(
            [str(site.path(w)) if w.endswith(".toml") else w for w in o.get("watchlists", ())], vendors
        )
        db = FingerprintDB.load([site.path(f) for f in o.get("fingerprints", ())], vendor_ids=vendors.ids())
    except (TargetError, OptionError, WatchlistError, FingerprintError, CredentialError) as exc:
        key = _key_for(exc, str(exc))
        label = f'"{site.name}"'
        raise config.error("site", site.index, key.split(":")[0] if key else None, str(exc), label) from None
    routers = snmp_routers(config.path, allow_readable_secrets=allow_readable_secrets)
    return PreparedSite(
        site=site,
        options=options,
        knowledge=Knowledge(fingerprints=db, vendors=vendors, watchlists=lists),
        routers=routers,
        watchlists=tuple(watchlist_record(wl) for wl in lists),
        warnings=tuple(weak_protocol_warnings(routers, config.path)),
    )


__all__ = ["OVERRIDABLE", "ConfigError", "PreparedSite", "prepare", "watchlist_record"]
