"""Same-host pinning: a URL a device hands us (redirect, SSDP LOCATION, ONVIF XAddr) is followed only on its
own address, rebuilt from parts (no host names, no userinfo, no fragment)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_URL = 2048  # longer than any real device URL; the cap keeps what we quote in messages and logs small
SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


class NotSameHost(ValueError):
    """The URL is not a plain http(s) URL on the device's own address; str() says why, in one line."""


@dataclass(frozen=True, slots=True)
class PinnedUrl:
    """A URL on the device's own address: scheme, address, logical port and path (with its query)."""

    scheme: str
    ip: str
    port: int
    path: str

    def url(self, port: int | None = None) -> str:
        """The URL for `port` (default: the logical port; a lab's or port forward's real port otherwise)."""
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.scheme}://{host}:{self.port if port is None else port}{self.path}"


def pin(text: str, ip: str, *, base: str | None = None, default_path: str = "/") -> PinnedUrl:
    """`text` (relative to `base` when given) pinned to `ip`; NotSameHost when it names anything else.

    Only a literal address equal to `ip` is accepted: a host name could resolve anywhere, and a decimal or
    hexadecimal spelling of an address is not a literal. An empty path becomes `default_path`.
    """
    text = text.strip()
    if not text or len(text) > MAX_URL or not text.isprintable() or " " in text:
        raise NotSameHost("not a plain URL (empty, too long, or with spaces or control characters)")
    try:
        parts = urlsplit(urljoin(base, text) if base is not None else text)
        port = parts.port
        host = parts.hostname or ""
        same = ipaddress.ip_address(host) == ipaddress.ip_address(ip)
    except ValueError:
        raise NotSameHost(f"{text[:120]!r} is not a URL on an IP address") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise NotSameHost(f"scheme {scheme[:20]!r} is not http or https")
    if not same:
        raise NotSameHost(f"host {host[:64]!r} is not the device's own address {ip}")
    path = (parts.path or default_path) + (f"?{parts.query}" if parts.query else "")
    return PinnedUrl(scheme, ip, port or DEFAULT_PORTS[scheme], path)
