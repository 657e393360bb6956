"""Lab certificates carry exactly the subject/issuer a persona asks for."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from camlab.certs import CertError, make_cert, parse_name

HIK = "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"


def test_name_round_trips_as_rfc4514() -> None:
    assert parse_name(HIK).rfc4514_string() == HIK
    assert parse_name("CN=a\\,b,O=X").rfc4514_string() == "CN=a\\,b,O=X"


def test_self_signed_when_issuer_is_subject() -> None:
    pem, _ = make_cert(HIK, HIK)
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.subject.rfc4514_string() == HIK == cert.issuer.rfc4514_string()
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(cert)


def test_issuer_signed_cert_keeps_both_names() -> None:
    subject = "CN=001122334455.myboschcam.net,O=Bosch Sicherheitssysteme GmbH"
    issuer = (
        "SERIALNUMBER=044123000001,CN=001122334455,OU=ST-VS,O=Bosch Sicherheitssysteme GmbH,L=Grasbrunn,C=DE"
    )
    cert = x509.load_pem_x509_certificate(make_cert(subject, issuer)[0])
    assert cert.subject == parse_name(subject)
    assert cert.issuer == parse_name(issuer)
    with pytest.raises(ValueError):
        cert.verify_directly_issued_by(cert)  # not self-signed


@pytest.mark.parametrize("bad", ["", "CN", "XX=foo", "CN=", "C=China", "CN=a,,O=b"])
def test_bad_names_raise(bad: str) -> None:
    with pytest.raises(CertError):
        parse_name(bad)
