"""User-supplied credentials: the ONVIF password file, the --config file, [[onvif]] entries. Never echoed."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from camscan import config
from camscan.context import OnvifCredentials
from camscan.inputs import InputError, read_text

MAX_FILE_BYTES = 64 * 1024
ANYWHERE = IPv4Network("0.0.0.0/0")


class CredentialError(InputError):
    """A bad credentials option or config file; the message never contains a password."""


def read_password(path: Path, what: str, allow_readable: bool = False) -> str:
    """The first line of a password file (so the password never sits in argv or shell history).

    A file that others may read or change is refused, as ssh refuses such keys, unless `allow_readable`."""
    text = read_text(
        path, what, MAX_FILE_BYTES, error=CredentialError, secret=True, allow_readable=allow_readable
    )
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise CredentialError(f"{what} {path}: the first line (the password) is empty")
    return lines[0]


def _entry(
    cfg: config.ConfigFile, number: int, item: Any, allow_readable: bool = False
) -> tuple[IPv4Network, OnvifCredentials]:
    def fail(key: str | None, problem: str) -> CredentialError:
        return CredentialError(str(cfg.error("onvif", number, key, problem)))

    if not isinstance(item, dict):
        raise fail(None, "must be a table")
    unknown = sorted(set(item) - {"network", "username", "password_file"})
    if unknown:
        raise fail(
            unknown[0], "unknown key (passwords go in password_file; keys: network, username, password_file)"
        )
    for key in ("network", "username", "password_file"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise fail(key, "must be a non-empty string")
    try:
        network = IPv4Network(item["network"], strict=False)
    except ValueError:
        raise fail("network", f"{item['network']!r} is not an IPv4 CIDR block") from None
    password_path = Path(item["password_file"])
    if not password_path.is_absolute():
        password_path = cfg.path.parent / password_path
    where = str(cfg.error("onvif", number, "password_file", "")).removesuffix(": ")
    password = read_password(password_path, where, allow_readable)
    return network, OnvifCredentials(item["username"], password)


def read_config(path: Path) -> config.ConfigFile:
    """The --config TOML file (size-capped; only known sections), read by camscan.config."""
    try:
        return config.load(path)
    except config.ConfigError as exc:
        raise CredentialError(str(exc)) from None


def config_entries(cfg: config.ConfigFile, section: str) -> list[Any]:
    """The `[[section]]` array of tables (empty when absent)."""
    try:
        return cfg.entries(section)
    except config.ConfigError as exc:
        raise CredentialError(str(exc)) from None


def load_config(path: Path, allow_readable: bool = False) -> list[tuple[IPv4Network, OnvifCredentials]]:
    """`[[onvif]] network/username/password_file` entries from a TOML config file."""
    cfg = read_config(path)
    return [_entry(cfg, n, item, allow_readable) for n, item in enumerate(config_entries(cfg, "onvif"), 1)]


def onvif_credentials(
    user: str | None, password_file: Path | None, config: Path | None, allow_readable: bool = False
) -> tuple[tuple[IPv4Network, OnvifCredentials], ...]:
    """Credentials by network, most specific first; command-line ones apply wherever the config has none."""
    if (user is None) != (password_file is None):
        raise CredentialError("--onvif-user and --onvif-password-file go together")
    found = load_config(config, allow_readable) if config else []
    if user is not None and password_file is not None:
        password = read_password(password_file, "--onvif-password-file", allow_readable)
        found.append((ANYWHERE, OnvifCredentials(user, password)))
    return tuple(sorted(found, key=lambda item: -item[0].prefixlen))
