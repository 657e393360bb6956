"""Read the peer certificate of a TLS connection into observations (verification is off by design)."""

from __future__ import annotations

import ssl

from cryptography import x509

from camscan import caps
from camscan.models import Observation

_FIELD_MAX = caps.TLS_NAME


def cert_fields(der: bytes) -> dict[str, str]:
    """Subject and issuer (RFC 4514 strings) of a DER certificate; {} if it does not parse."""
    try:
        cert = x509.load_der_x509_certificate(der)
        return {
            "tls.subject": cert.subject.rfc4514_string()[:_FIELD_MAX],
            "tls.issuer": cert.issuer.rfc4514_string()[:_FIELD_MAX],
        }
    except Exception:  # a hostile or broken certificate is simply not observed
        return {}


def peer_observations(ssl_object: object, port: int | None) -> list[Observation]:
    """tls.subject / tls.issuer of the peer behind an ssl.SSLObject (or SSLSocket)."""
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return []
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return []
    return [Observation("tls", name, value, port) for name, value in cert_fields(der).items() if value]
