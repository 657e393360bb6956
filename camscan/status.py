"""The closed set of outcomes a probe can report."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How one probe of one host (or segment) ended."""

    OK = "ok"  # the peer answered and the answer was parsed
    TIMEOUT = "timeout"  # no (complete) answer before the probe's deadline
    REFUSED = "refused"  # TCP RST: the port is closed
    UNREACHABLE = "unreachable"  # no route, host down, network error before any answer
    PROTOCOL_ERROR = "protocol-error"  # the peer answered with something that is not the protocol
    TOO_LARGE = "too-large"  # the answer passed its size cap; what fit is kept
    TLS_ERROR = "tls-error"  # the TLS handshake failed
    SKIPPED = "skipped"  # not run (no privilege, not applicable, deadline already passed)
    ERROR = "error"  # an unexpected failure inside camscan; the scan goes on
