"""parse/http.py: challenges, realms, titles, body decoding; fuzzed for robustness."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from camscan.parse.http import decode_body, extract_title, parse_challenges, realms


def test_hikvision_digest_challenge_params() -> None:
    header = 'Digest qop="auth", realm="IP Camera(C2183)", nonce="4d6a4d34", stale="FALSE"'
    assert parse_challenges(header) == [
        ("Digest", {"qop": "auth", "realm": "IP Camera(C2183)", "nonce": "4d6a4d34", "stale": "FALSE"})
    ]


def test_several_challenges_in_one_header_with_commas_inside_quotes() -> None:
    header = 'Digest realm="Login to ND011811000000, x", nonce="abc", Basic realm="device"'
    assert realms(header) == ["Login to ND011811000000, x", "device"]


def test_escaped_quote_and_unquoted_realm_with_spaces() -> None:
    assert realms(r'Basic realm="say \"hi\""') == ['say "hi"']
    assert realms("Digest realm=IP Camera(21388), nonce=1") == ["IP Camera(21388)"]


def test_token68_schemes_and_empty_realms_yield_no_realm() -> None:
    assert parse_challenges('Negotiate YIIabc==, Basic realm="/"') == [
        ("Negotiate", {}),
        ("Basic", {"realm": "/"}),
    ]
    assert realms('Basic realm=""') == []
    assert realms("") == []


def test_param_names_are_case_insensitive() -> None:
    assert realms("Basic REALM=\"Use 'live' as User Name\"") == ["Use 'live' as User Name"]


def test_title_is_unescaped_collapsed_and_bounded() -> None:
    body = "<html><head><TITLE lang='en'>\n  Live &amp;   Player \n</title><title>second</title>"
    assert extract_title(body) == "Live & Player"
    assert extract_title("<title>" + "x" * 1000 + "</title>") == "x" * 256


def test_title_missing_unclosed_or_blank_is_none() -> None:
    assert extract_title("<html><body>no title</body></html>") is None
    assert extract_title("<title>never closed") is None
    assert extract_title("<title>   </title>") is None
    assert extract_title("<titlebar>x</titlebar>") is None


def test_decode_body_strips_bom_and_honours_charsets() -> None:
    assert decode_body(b"\xef\xbb\xbf<!doctype html>", None) == "<!doctype html>"
    gb = "<title>网络摄像机</title>".encode("gb2312")
    assert decode_body(gb, "text/html; charset=GB2312") == "<title>网络摄像机</title>"
    assert decode_body(b'<meta charset="gbk">' + "中".encode("gbk"), None).endswith("中")


def test_decode_body_bad_charset_reads_latin1_and_bad_bytes_are_replaced() -> None:
    assert decode_body(b"ok\xff", "text/html; charset=no-such-codec") == "ok\xff"
    assert decode_body(b"ok", "text/html; charset=rot13") == "ok"  # a codec, but not a text encoding
    assert decode_body(b"ok", "text/html; charset=undefined") == "ok"
    assert decode_body(b"ok\xff", "text/html; charset=utf-8") == "ok\ufffd"


@given(st.text(max_size=400))
def test_challenge_parsing_never_raises(header: str) -> None:
    for scheme, params in parse_challenges(header):
        assert scheme
        assert all(isinstance(v, str) for v in params.values())
    assert all(r for r in realms(header))


@given(st.text(max_size=2000))
def test_title_extraction_never_raises_and_is_bounded(body: str) -> None:
    title = extract_title(body)
    assert title is None or 0 < len(title) <= 256


@given(st.binary(max_size=2000), st.one_of(st.none(), st.text(max_size=80)))
def test_decode_body_never_raises(raw: bytes, content_type: str | None) -> None:
    assert isinstance(decode_body(raw, content_type), str)


@given(st.sampled_from(["<title>", "<TITLE x>", "</title>", "&amp;", "<", ">", " ", "a", "\n"]).map(str))
def test_title_fragments(fragment: str) -> None:
    body = fragment * 50
    title = extract_title(body)
    assert title is None or len(title) <= 256
