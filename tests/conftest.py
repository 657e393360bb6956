"""Shared test set-up: a guard against DNS leaks, and the lab fixtures."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

# lab fixtures; netns (a throw-away namespace); a throw-away PostgreSQL server
pytest_plugins = ["tests.labkit", "tests.udpkit", "tests.pgkit"]

_real_getaddrinfo = socket.getaddrinfo
_real_getnameinfo = socket.getnameinfo


def _literal_or_local(host: object) -> bool:
    if host is None or host in ("localhost", b"localhost", ""):
        return True
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def no_dns_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests may name only literal addresses and localhost: a name lookup (forward or reverse) would leave
    the machine."""

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _literal_or_local(host):
            raise AssertionError(f"test tried to resolve {host!r}; tests must not send DNS queries")
        return _real_getaddrinfo(host, *args, **kwargs)

    def no_reverse(address: Any, flags: int, *args: Any) -> Any:
        if not flags & socket.NI_NUMERICHOST:
            raise AssertionError(
                f"test tried a reverse lookup of {address!r}; tests must not send DNS queries"
            )
        return _real_getnameinfo(address, flags, *args)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    monkeypatch.setattr(socket, "getnameinfo", no_reverse)
    yield


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the artefacts the run kept (the audit report's screenshot)."""
    from tests.chromekit import WRITTEN

    for path in WRITTEN:
        terminalreporter.write_line(f"test artefact: {path}")
