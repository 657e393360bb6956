"""TLS certificates for simulated devices: EC keys, subject/issuer from RFC 4514-like strings, cached."""

from __future__ import annotations

import datetime as dt
import re
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# attribute names a persona may use (RFC 4514 short names plus the ones device certs carry)
ATTRIBUTES: dict[str, x509.ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "STREET": NameOID.STREET_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "E": NameOID.EMAIL_ADDRESS,
}
_SPLIT_RE = re.compile(r"(?<!\\),")


class CertError(ValueError):
    """A subject/issuer string cannot be turned into a certificate name."""


def parse_name(text: str) -> x509.Name:
    """`CN=a,O=b,C=CN` (most significant last, as RFC 4514 writes it) -> x509.Name; `\\,` escapes a comma."""
    rdns: list[x509.NameAttribute[str]] = []
    for part in _SPLIT_RE.split(text):
        key, sep, value = part.partition("=")
        key = key.strip().upper()
        value = value.replace("\\,", ",").strip()
        if not sep or key not in ATTRIBUTES or not value:
            raise CertError(f"bad name component {part.strip()!r} in {text!r}")
        if key == "C" and len(value) != 2:
            raise CertError(f"country must be two letters in {text!r}")
        rdns.append(x509.NameAttribute(ATTRIBUTES[key], value))
    # RFC 4514 lists the last RDN first; build the sequence in its natural order
    return x509.Name(list(reversed(rdns)))


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_cert(subject: str, issuer: str) -> tuple[bytes, bytes]:
    """PEM (certificate, key): self-signed when issuer == subject, else signed by a made-up issuer key."""
    subject_name, issuer_name = parse_name(subject), parse_name(issuer)
    key = _key()
    signer = key if issuer == subject else _key()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
    )
    cert = builder.sign(signer, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class CertCache:
    """Server-side TLS contexts, one per distinct (subject, issuer), with PEM files under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._contexts: dict[tuple[str, str], ssl.SSLContext] = {}

    def context(self, subject: str, issuer: str) -> ssl.SSLContext:
        """A TLS server context presenting a certificate with this subject and issuer."""
        key = (subject, issuer)
        ctx = self._contexts.get(key)
        if ctx is None:
            cert_pem, key_pem = make_cert(subject, issuer)
            self.directory.mkdir(parents=True, exist_ok=True)
            stem = self.directory / f"cert{len(self._contexts)}"
            cert_file, key_file = stem.with_suffix(".crt"), stem.with_suffix(".key")
            cert_file.write_bytes(cert_pem)
            key_file.touch(mode=0o600)
            key_file.write_bytes(key_pem)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert_file, key_file)
            self._contexts[key] = ctx
        return ctx

    def __len__(self) -> int:
        return len(self._contexts)
