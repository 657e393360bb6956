"""Pure HTTP helpers: auth challenges, realms, page titles and body decoding (no I/O)."""

from __future__ import annotations

import html
import re

from camscan import caps
from camscan.parse import charset
from camscan.parse.charset import Decoded

TITLE_MAX = caps.TITLE_CHARS
_TITLE_SPAN = caps.TITLE_SPAN  # a real <title> is short; never scan further than this for its end
_TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*[ \t]*(?:,|$)")
_TITLE_OPEN = re.compile(r"<title\b[^<>]{0,512}>", re.IGNORECASE)  # no "<" inside: each try stops early
_TITLE_CLOSE = re.compile(r"</title\s*>", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:\-]{1,40})""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]{0,256}?charset\s*=\s*["']?([A-Za-z0-9._:\-]{1,40})""", re.IGNORECASE
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16le"),
    (b"\xfe\xff", "utf-16be"),
)


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _token(text: str, pos: int) -> tuple[str, int]:
    end = pos
    while end < len(text) and text[end] in _TCHARS:
        end += 1
    return text[pos:end], end


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """Read a quoted-string starting at the opening quote; an unterminated one runs to the end."""
    out: list[str] = []
    pos += 1
    while pos < len(text):
        ch = text[pos]
        if ch == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if ch == '"':
            return "".join(out), pos + 1
        out.append(ch)
        pos += 1
    return "".join(out), pos


def _value(text: str, pos: int) -> tuple[str, int]:
    if pos < len(text) and text[pos] == '"':
        return _quoted(text, pos)
    # Lenient: some firmware sends unquoted values with spaces (realm=IP Camera(123)); take up to the comma.
    end = text.find(",", pos)
    end = len(text) if end < 0 else end
    return text[pos:end].strip(), end


def _params(text: str, pos: int) -> tuple[dict[str, str], int]:
    """Read the auth-params of one challenge; stop before the next challenge's scheme."""
    params: dict[str, str] = {}
    start = _skip(text, pos, " \t")
    blob = _TOKEN68.match(text, start)
    if blob and start > pos:
        return params, blob.end()  # "Negotiate <token68>": an opaque blob, no params
    while pos < len(text):
        start = _skip(text, pos, " \t,")
        name, after = _token(text, start)
        eq = _skip(text, after, " \t")
        if not name or eq >= len(text) or text[eq] != "=":
            return params, start  # a new scheme (or junk) begins here
        value, pos = _value(text, _skip(text, eq + 1, " \t"))
        params.setdefault(name.lower(), value)
        pos = _skip(text, pos, " \t")
        if pos < len(text) and text[pos] != ",":
            nxt = text.find(",", pos)  # junk after a value: drop it up to the next comma
            pos = len(text) if nxt < 0 else nxt
    return params, pos


def parse_challenges(header: str) -> list[tuple[str, dict[str, str]]]:
    """Split a WWW-Authenticate value into (scheme, params) challenges; params keys are lowercase."""
    out: list[tuple[str, dict[str, str]]] = []
    pos = 0
    while pos < len(header):
        pos = _skip(header, pos, " \t\r\n,")
        if pos >= len(header):
            break
        scheme, after = _token(header, pos)
        if not scheme:
            pos += 1  # junk character between challenges
            continue
        params, pos = _params(header, after)
        out.append((scheme, params))
    return out


def realms(header: str) -> list[str]:
    """The non-empty realm of every challenge in a WWW-Authenticate value, in order."""
    return [p["realm"] for _, p in parse_challenges(header) if p.get("realm")]


def extract_title(body: str) -> str | None:
    """The first <title> of an HTML page: entities unescaped, whitespace collapsed, at most 256 chars."""
    m = _TITLE_OPEN.search(body)
    if m is None:
        return None
    end = _TITLE_CLOSE.search(body, m.end(), m.end() + _TITLE_SPAN)
    if end is None:
        return None
    title = _SPACES.sub(" ", html.unescape(body[m.end() : end.start()])).strip()
    return title[:TITLE_MAX] or None


def declared_charset(raw: bytes, content_type: str | None) -> str | None:
    """The charset label of a body: its BOM, else the Content-Type, else a <meta> near the top; or None."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    if content_type:
        m = _CHARSET.search(content_type[: caps.HTTP_HEADER])
        if m:
            return m.group(1)
    meta = _META_CHARSET.search(raw[: caps.CHARSET_SNIFF])
    return meta.group(1).decode("ascii") if meta else None


def decode_page(raw: bytes, content_type: str | None) -> Decoded:
    """Decode a body prefix by its declared charset when that is a web charset (else Latin-1); never fails."""
    decoded = charset.decode(raw, declared_charset(raw, content_type))
    text = decoded.text.removeprefix("\ufeff")
    return decoded if text is decoded.text else Decoded(text, decoded.codec, decoded.refused)


def decode_body(raw: bytes, content_type: str | None) -> str:
    """The text of a body prefix (decode_page without the note)."""
    return decode_page(raw, content_type).text
