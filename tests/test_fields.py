"""One declared field vocabulary: what every probe emits, and what fingerprints and rules may use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from camscan import fields
from camscan.fingerprints import FingerprintDB
from camscan.models import STRENGTHS
from camscan.parse.webpage import page_fields
from camscan.probes import dhip, dvrip, sadp

PROBES = Path(__file__).resolve().parent.parent / "camscan" / "probes"
LITERAL = re.compile(
    r'"((?:http|tls|rtsp|wsd|onvif|sadp|dhip|dvrip|mdns|ssdp|upnp|mac|tcp)\.[a-z_]+(?:\.[a-z_]+)?)"'
)
# Probe modules whose fields all carry the probe's own name (tls.* is also read from HTTPS answers).
OWN_PROBE = {
    "http.py": "http", "rtsp.py": "rtsp", "onvif.py": "onvif", "onvif_soap.py": "onvif", "sadp.py": "sadp",
    "dhip.py": "dhip", "dvrip.py": "dvrip", "mdns.py": "mdns", "ssdp.py": "ssdp",
    "wsdiscovery.py": "wsdiscovery",
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(p.name for p in PROBES.glob("*.py")))
def test_every_field_a_probe_names_is_declared_for_that_probe(module: str) -> None:
    named = set(LITERAL.findall((PROBES / module).read_text(encoding="utf-8")))
    assert named <= set(fields.FIELDS), sorted(named - set(fields.FIELDS))
    probe = OWN_PROBE.get(module)
    if probe is not None:
        wrong = sorted(
            f for f in named if f.startswith(("http.", "rtsp.", probe)) and f not in fields.emitted_by(probe)
        )
        assert not wrong, wrong


def test_the_page_reader_emits_only_declared_http_fields() -> None:
    page = (
        '<img src="a.gif"><script src="b.js"></script><meta name=author content=x><script>var a="b"</script>'
    )
    page += '<meta http-equiv=refresh content="0;url=c.htm"><p>&copy; 2020 Axis Communications AB</p>'
    emitted = {field for field, _ in page_fields(page)}
    assert emitted == {
        "http.image",
        "http.script",
        "http.meta",
        "http.js_var",
        "http.redirect",
        "http.copyright",
    }
    assert emitted <= fields.emitted_by("http")


def test_every_fingerprint_field_is_declared_and_within_its_strength_limit() -> None:
    for fp in FingerprintDB.builtin().entries():
        declared = fields.get(fp.field)
        assert declared is not None, fp.field
        assert STRENGTHS.index(fp.strength) >= STRENGTHS.index(declared.max_strength), fp.id


def test_vocabulary_is_consistent() -> None:
    for field in fields.FIELDS.values():
        assert field.probes and field.doc
        assert field.role in ("stack", "format", "label", "detail", "recorded")
        assert (field.role == "recorded") == (field.note is not None), field.name
    assert fields.role("no.such.field") == "detail"
    assert set(fields.CLAIM_RULES) <= set(fields.FIELDS)


def test_the_vendor_search_decoders_emit_only_declared_fields() -> None:
    for decoder in (sadp.decode, dhip.decode, dvrip.decode):
        emitted = set(decoder.names())
        assert emitted <= fields.emitted_by(decoder.probe) | {"mac.address"}, sorted(emitted)
        assert len(emitted) == len(decoder.fields) + 3
