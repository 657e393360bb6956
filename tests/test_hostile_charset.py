"""A device names its own charset: only web charsets are honoured, anything else is read as Latin-1."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from camscan import caps
from camscan.context import ScanContext
from camscan.limits import Limits
from camscan.models import Host, Observation
from camscan.parse import charset, xmlsafe
from camscan.parse.dhip import build_frame
from camscan.parse.http import decode_page
from camscan.parse.sadp import parse_probe_match
from camscan.probes.dhip import decode as dhip_decode
from camscan.probes.http import HttpProbe
from camscan.status import Status

DEVICE = "192.0.2.10"  # only ever reached through MockTransport: no packet leaves the process


def punycode_page(size: int = caps.HTTP_BODY) -> bytes:
    """The issue's attack: 64 KiB of valid punycode, which Python's codec decodes in quadratic time."""
    basic = size // 2
    return ("é" * (size - basic - 8) + "a" * basic).encode("punycode")


def test_punycode_page_is_read_as_latin1_not_decoded_by_the_quadratic_codec() -> None:
    raw = punycode_page()
    assert len(raw) > 60_000 and raw.decode("punycode")  # a real punycode text, not junk
    page = decode_page(raw, "text/html; charset=punycode")
    assert page.codec == "latin-1"
    assert page.text == raw.decode("latin-1")
    assert page.note == "charset 'punycode' is not a web charset: read as Latin-1"
    assert charset.codec_for("punycode") is None


@pytest.mark.parametrize(
    "label", ["punycode", "idna", "utf-7", "rot13", "uu", "base64", "zlib", "bz2", "hex", "unicode_escape",
              "raw_unicode_escape", "utf-32", "undefined", "iso-2022-kr", "no-such-codec", "x" * 200]
)  # fmt: skip
def test_codecs_that_are_not_web_charsets_are_refused(label: str) -> None:
    page = decode_page(b"ok\xff", f"text/html; charset={label}")
    assert (page.text, page.codec) == ("ok\xff", "latin-1")
    assert page.note is not None and "read as Latin-1" in page.note


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("GB2312", "网络摄像机"), ("gbk", "网络摄像机"), ("GB18030", "网络摄像机"), ("Big5", "網路攝影機"),
        ("Shift_JIS", "ネットワークカメラ"), ("EUC-JP", "ネットワークカメラ"), ("EUC-KR", "네트워크 카메라"),
        ("KOI8-R", "Камера"), ("windows-1251", "Камера"), ("ISO-8859-2", "Kamera sieciowa ż"),
        ("latin1", "Caméra"), ("UTF-8", "Caméra"), ("windows-1252", "Caméra"),
    ],
)  # fmt: skip
def test_camera_charsets_are_honoured(label: str, text: str) -> None:
    raw = f"<title>{text}</title>".encode(charset.codec_for(label).name)  # type: ignore[union-attr]
    page = decode_page(raw, f"text/html; charset={label}")
    assert page.text == f"<title>{text}</title>"
    assert page.note is None


def test_meta_charset_and_bom_are_read_and_a_missing_charset_is_utf8() -> None:
    assert decode_page(b'<meta charset="gbk">' + "中".encode("gbk"), None).text.endswith("中")
    assert decode_page(b"\xff\xfeo\x00k\x00", None).text == "ok"
    assert decode_page("é".encode(), None).text == "é"
    assert decode_page(b'<meta charset="utf-7">+AGE-', None).note is not None


async def test_http_probe_says_the_punycode_charset_was_refused_and_still_reads_the_title() -> None:
    body = b"<html><title>Network Camera</title>" + punycode_page(8192)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/html; charset=punycode"}, content=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        ctx = ScanContext(http=client, limits=Limits(rate=100_000))
        result = await HttpProbe().run(ctx, Host(DEVICE), 80)
    assert result.status is Status.OK
    assert [o.value for o in result.observations if o.field == "http.title"] == ["Network Camera"]
    assert result.error == f"http://{DEVICE}:80/: charset 'punycode' is not a web charset: read as Latin-1"


def test_xml_declaring_a_camera_charset_is_decoded_and_a_hostile_one_read_as_latin1() -> None:
    doc = '<?xml version="1.0" encoding="GB2312"?><root><name>网络摄像机</name></root>'.encode("gb2312")
    parsed = xmlsafe.parse_document(doc, max_bytes=4096)
    assert parsed.root[0].text == "网络摄像机" and parsed.refused_charset is None
    hostile = b'<?xml version="1.0" encoding="punycode"?><root><name>cam</name></root>'
    parsed = xmlsafe.parse_document(hostile, max_bytes=4096)
    assert parsed.root[0].text == "cam" and parsed.refused_charset == "punycode"


def test_sadp_reply_in_gb2312_from_a_chinese_firmware_is_read() -> None:
    reply = (
        '<?xml version="1.0" encoding="GB2312"?><ProbeMatch><Uuid>A</Uuid><Types>inquiry</Types>'
        "<DeviceDescription>网络摄像机 DS-2CD2142FWD-I</DeviceDescription></ProbeMatch>"
    ).encode("gb2312")
    assert parse_probe_match(reply).description == "网络摄像机 DS-2CD2142FWD-I"


@given(st.binary(max_size=300), st.text(max_size=60))
def test_decoding_never_raises_whatever_the_label(raw: bytes, label: str) -> None:
    decoded = charset.decode(raw, label)
    assert isinstance(decoded.text, str)
    assert decoded.refused is None or (decoded.codec == "latin-1" and decoded.text == raw.decode("latin-1"))


def test_attack_dhip_reply_with_a_lone_surrogate_escape_yields_text_a_report_can_write() -> None:
    body = b'{"method":"client.notifyDevInfo","mac":"3c:ef:8c:12:ab:34\\ud800",'
    body += b'"params":{"deviceInfo":{"DeviceType":"IPC\\ud800X","Vendor":"Dahua","\\udc00k":"v"}}}'
    observations = dhip_decode(build_frame(body), "192.0.2.40")
    for obs in observations:
        obs.value.encode("utf-8")  # the JSON report and the CSV are UTF-8: a lone surrogate would not write
    assert Observation("dhip", "dhip.device_type", "IPC\ufffdX", 37810) in observations
