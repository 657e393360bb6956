"""parse/rtsp.py on authored device answers and on arbitrary bytes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camscan.parse.rtsp import RtspParseError, find_header_end, parse_response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rtsp"


def fixture(name: str, key: str = "options") -> bytes:
    with (FIXTURES / f"{name}.toml").open("rb") as fh:
        data: str = tomllib.load(fh)[key]
    return data.encode("utf-8")


def test_dahua_describe_401_with_basic_realm() -> None:
    resp = parse_response(fixture("dahua", "describe"), 16384)
    assert (resp.version, resp.status, resp.reason) == ("RTSP/1.0", 401, "Unauthorized")
    assert resp.headers.get("server") == "Dahua Rtsp Server"
    assert resp.headers.get("WWW-AUTHENTICATE") == 'Basic realm="device"'
    assert resp.is_rtsp


def test_dahua_answer_to_http_get_is_rtsp_405() -> None:
    resp = parse_response(fixture("dahua-http-get"), 16384)
    assert (resp.status, resp.reason, resp.headers.get("Server")) == (
        405,
        "Method Not Allowed",
        "Dahua Rtsp Server",
    )


def test_http_status_line_is_parsed_but_flagged_as_not_rtsp() -> None:
    resp = parse_response(fixture("web-server"), 16384)
    assert resp.version == "HTTP/1.1"
    assert not resp.is_rtsp
    assert resp.body == b"Bad Request"


def test_multi_valued_headers_folding_and_odd_lines() -> None:
    data = (
        b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS,\r\n DESCRIBE\r\nthis line has no colon\r\n"
        b"X-A: 1\r\nx-a: 2\r\n\r\n"
    )
    resp = parse_response(data, 1000)
    assert resp.headers.get("public") == "OPTIONS, DESCRIBE"
    assert resp.headers.get_all("X-A") == ["1", "2"]
    assert "cseq" in resp.headers and "missing" not in resp.headers


def test_body_follows_content_length_and_reports_truncation() -> None:
    data = b"RTSP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nv=0\r\no=- 1"
    resp = parse_response(data, 1000)
    assert resp.content_length == 10 and resp.body == b"v=0\r\no=- 1"
    short = parse_response(data[:-3], 1000)
    assert short.content_length == 10 and len(short.body) == 7


def test_bare_newlines_are_accepted() -> None:
    resp = parse_response(b"RTSP/1.0 404 Not Found\nServer: x\n\n", 100)
    assert resp.status == 404 and resp.headers.get("server") == "x"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01\x02garbage\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"RTSP/1.0 2000 OK\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: -5\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: 99999999999999\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nServer: never ends",
    ],
)
def test_bad_answers_raise_rtsp_parse_error(data: bytes) -> None:
    with pytest.raises(RtspParseError):
        parse_response(data, 4096)


def test_header_block_must_end_within_the_cap() -> None:
    data = b"RTSP/1.0 200 OK\r\n" + b"X-Pad: aaaaaaaa\r\n" * 100 + b"\r\n"
    with pytest.raises(RtspParseError, match="no complete header block"):
        parse_response(data, 512)
    assert parse_response(data, len(data)).status == 200


def test_find_header_end() -> None:
    assert find_header_end(b"RTSP/1.0 200 OK\r\n\r\nbody") == 19
    assert find_header_end(bytearray(b"RTSP/1.0 200 OK\r\n")) is None


@given(st.binary(max_size=3000), st.integers(min_value=0, max_value=5000))
def test_arbitrary_bytes_raise_only_rtsp_parse_error(data: bytes, cap: int) -> None:
    try:
        resp = parse_response(data, cap)
    except RtspParseError:
        return
    assert 100 <= resp.status <= 999
    assert len(resp.body) <= cap


_LINE = st.one_of(
    st.binary(max_size=60),
    st.builds(
        lambda k, v: k + b": " + v,
        st.sampled_from([b"Server", b"CSeq", b"Content-Length", b"Public"]),
        st.binary(max_size=30),
    ),
)


@given(
    st.sampled_from([b"RTSP/1.0 200 OK", b"RTSP/1.0 401", b"HTTP/1.1 400 Bad"]),
    st.lists(_LINE, max_size=12),
    st.binary(max_size=100),
)
def test_near_valid_answers_raise_only_rtsp_parse_error(
    status: bytes, lines: list[bytes], body: bytes
) -> None:
    data = b"\r\n".join([status, *lines]) + b"\r\n\r\n" + body
    try:
        resp = parse_response(data, 2048)
    except RtspParseError:
        return
    assert resp.version in ("RTSP/1.0", "HTTP/1.1")
