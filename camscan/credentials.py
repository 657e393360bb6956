"""User-supplied credentials: the ONVIF password file, the --config file, [[onvif]] entries. Never echoed."""

from __future__ import annotations

import tomllib
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from camscan.context import OnvifCredentials

MAX_FILE_BYTES = 64 * 1024
ANYWHERE = IPv4Network("0.0.0.0/0")


class CredentialError(ValueError):
    """A bad credentials option or config file; the message never contains a password."""


def read_password(path: Path, what: str) -> str:
    """The first line of a password file (so the password never sits in argv or shell history)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CredentialError(f"{what} {path}: larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except CredentialError:
        raise
    except UnicodeDecodeError:
        raise CredentialError(f"{what} {path}: not UTF-8 text") from None
    except OSError as exc:
        raise CredentialError(f"{what} {path}: {exc.strerror or exc}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise CredentialError(f"{what} {path}: the first line (the password) is empty")
    return lines[0]


def _entry(path: Path, number: int, item: Any) -> tuple[IPv4Network, OnvifCredentials]:
    where = f"{path}: [[onvif]] entry {number}"
    if not isinstance(item, dict):
        raise CredentialError(f"{where}: must be a table")
    unknown = set(item) - {"network", "username", "password_file"}
    if unknown:
        raise CredentialError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (passwords go in password_file)"
        )
    for key in ("network", "username", "password_file"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise CredentialError(f"{where}: {key} must be a non-empty string")
    try:
        network = IPv4Network(item["network"], strict=False)
    except ValueError:
        raise CredentialError(f"{where}: network {item['network']!r} is not an IPv4 CIDR block") from None
    password_path = Path(item["password_file"])
    if not password_path.is_absolute():
        password_path = path.parent / password_path
    password = read_password(password_path, f"{where}: password_file")
    return network, OnvifCredentials(item["username"], password)


CONFIG_SECTIONS = frozenset({"onvif", "snmp"})


def read_config(path: Path) -> dict[str, Any]:
    """The --config TOML file's tables (size-capped; only known sections)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CredentialError(f"config {path}: larger than {MAX_FILE_BYTES} bytes")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except CredentialError:
        raise
    except tomllib.TOMLDecodeError as exc:
        raise CredentialError(f"config {path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise CredentialError(f"config {path}: not UTF-8 text") from None
    except OSError as exc:
        raise CredentialError(f"config {path}: {exc.strerror or exc}") from None
    unknown = set(data) - CONFIG_SECTIONS
    if unknown:
        raise CredentialError(f"config {path}: unknown section(s) {', '.join(sorted(unknown))}")
    return data


def config_entries(path: Path, data: dict[str, Any], section: str) -> list[Any]:
    """The `[[section]]` array of tables (empty when absent)."""
    entries = data.get(section, [])
    if not isinstance(entries, list):
        raise CredentialError(f"config {path}: {section} must be an array of tables ([[{section}]])")
    return entries


def load_config(path: Path) -> list[tuple[IPv4Network, OnvifCredentials]]:
    """`[[onvif]] network/username/password_file` entries from a TOML config file."""
    entries = config_entries(path, read_config(path), "onvif")
    return [_entry(path, n, item) for n, item in enumerate(entries, 1)]


def onvif_credentials(
    user: str | None, password_file: Path | None, config: Path | None
) -> tuple[tuple[IPv4Network, OnvifCredentials], ...]:
    """Credentials by network, most specific first; command-line ones apply wherever the config has none."""
    if (user is None) != (password_file is None):
        raise CredentialError("--onvif-user and --onvif-password-file go together")
    found = load_config(config) if config else []
    if user is not None and password_file is not None:
        found.append(
            (ANYWHERE, OnvifCredentials(user, read_password(password_file, "--onvif-password-file")))
        )
    return tuple(sorted(found, key=lambda item: -item[0].prefixlen))
