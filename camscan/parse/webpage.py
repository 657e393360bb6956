"""Pure page reader: the parts of a camera's web page that name its maker (scripts, images, variables…)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

# A camera login page names itself in its first kilobytes; never scan further than this.
MAX_SCAN = 64 * 1024
MAX_PER_FIELD = 16  # values kept per field and page: a hostile page may repeat a tag without end
MAX_VALUE = 256
MAX_TAGS = 512  # tags looked at per page
COPYRIGHT_SPAN = 160  # characters read after a copyright mark
MAX_MARKS = 64  # copyright marks looked at per page, owner or not

# Every pattern is bounded ({0,n}) and unnested, so its cost is linear in the page size.
_TAG = re.compile(r"<(script|img|link|meta|i?frame|body)\b([^<>]{0,1024})>", re.IGNORECASE)
_ATTR = re.compile(
    r"""([a-zA-Z:-]{1,24})\s{0,8}=\s{0,8}(?:"([^"]{0,512})"|'([^']{0,512})'|([^\s"'>]{1,512}))"""
)
_JS_VAR = re.compile(
    r"""\b(?:var|let|const)\s{1,8}([A-Za-z_$][\w$]{0,63})\s{0,8}=\s{0,8}(?:"([^"\r\n]{0,200})"|'([^'\r\n]{0,200})')"""
)
_JS_REDIRECT = re.compile(
    r"""\blocation(?:\.href)?\s{0,8}(?:=|\.replace\(|\.assign\()\s{0,8}(?:"([^"\r\n]{1,256})"|'([^'\r\n]{1,256})')"""
)
_REFRESH_URL = re.compile(r"""url\s{0,8}=\s{0,8}['"]?([^'"\s;>]{1,256})""", re.IGNORECASE)
# "(c)" only before a year or a name: "function(c){" in a script is not a copyright line.
_COPYRIGHT = re.compile(r"\bcopyright\b|&copy;|&#169;|©|\(c\)(?=\s{0,2}[0-9A-Z])|版权所有", re.IGNORECASE)
# What a copyright line says before the owner: marks, years, "all rights reserved" in two languages.
_COPYRIGHT_NOISE = re.compile(
    r"^(?:[\s:,.\-–—|]|copyright|&copy;|&#169;|©|\(c\)|版权所有|\d{4}(?:\s{0,3}[-–~]\s{0,3}\d{4})?)+",
    re.IGNORECASE,
)
_STOP = re.compile(r"""[<>"'\r\n]|all rights reserved|版权所有""", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_META_NAMES = frozenset({"author", "generator", "description", "application-name", "copyright"})
_ICON_RELS = ("icon", "shortcut", "apple-touch")


def page_fields(text: str) -> list[tuple[str, str]]:
    """(field, value) pairs of a page: scripts, images, metas, variables, redirects and copyright owners."""
    page = text[:MAX_SCAN]
    found: dict[str, dict[str, None]] = {}

    def keep(field: str, value: str) -> None:
        value = _clean(value)
        bucket = found.setdefault(field, {})
        if value and len(bucket) < MAX_PER_FIELD:
            bucket.setdefault(value, None)

    for field, value in _tag_fields(page):
        keep(field, value)
    for m in _JS_VAR.finditer(page):
        keep("http.js_var", f"{m.group(1)}={m.group(2) if m.group(2) is not None else m.group(3)}")
    for m in _JS_REDIRECT.finditer(page):
        keep("http.redirect", m.group(1) or m.group(2))
    for owner in _copyrights(page):
        keep("http.copyright", owner)
    return [(field, value) for field, values in found.items() for value in values]


def first_redirect(fields: list[tuple[str, str]]) -> str | None:
    """The first client-side redirect target among page fields, if any."""
    return next((value for field, value in fields if field == "http.redirect"), None)


def _tag_fields(page: str) -> Iterator[tuple[str, str]]:
    for n, m in enumerate(_TAG.finditer(page)):
        if n >= MAX_TAGS:
            return
        tag = m.group(1).lower()
        attrs = _attrs(m.group(2))
        if tag in ("script", "frame", "iframe") and "src" in attrs:
            yield "http.script", attrs["src"]
        elif tag == "img" and "src" in attrs:
            yield "http.image", attrs["src"]
        elif tag == "body" and "background" in attrs:
            yield "http.image", attrs["background"]
        elif tag == "link" and "href" in attrs:
            rel = attrs.get("rel", "").lower()
            yield ("http.image" if rel.startswith(_ICON_RELS) else "http.script"), attrs["href"]
        elif tag == "meta":
            yield from _meta(attrs)


def _meta(attrs: dict[str, str]) -> Iterator[tuple[str, str]]:
    content = attrs.get("content", "")
    if attrs.get("http-equiv", "").lower() == "refresh":
        url = _REFRESH_URL.search(content)
        if url:
            yield "http.redirect", url.group(1)
        return
    name = attrs.get("name", "").lower()
    if name in _META_NAMES and content.strip():
        yield "http.meta", f"{name}={content}"


def _attrs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(text):
        value = next((g for g in m.group(2, 3, 4) if g is not None), "")
        out.setdefault(m.group(1).lower(), html.unescape(value))
    return out


def _copyrights(page: str) -> Iterator[str]:
    count = 0
    for n, m in enumerate(_COPYRIGHT.finditer(page)):
        if count >= MAX_PER_FIELD or n >= MAX_MARKS:
            return
        after = page[m.start() : m.start() + COPYRIGHT_SPAN]
        owner = _owner(after)
        if not owner and m.group(0) == "版权所有":  # Chinese puts the owner first: "<owner> 版权所有"
            before = page[max(0, m.start() - COPYRIGHT_SPAN) : m.start()]
            owner = _owner(re.split(r"[<>\"'\r\n]", before)[-1])
        if owner:
            count += 1
            yield owner


def _owner(snippet: str) -> str:
    text = _COPYRIGHT_NOISE.sub("", html.unescape(snippet))
    stop = _STOP.search(text)
    text = text[: stop.start()] if stop else text
    text = _COPYRIGHT_NOISE.sub("", text.strip())
    return text.strip(" .,;:|-–—")


def _clean(value: str) -> str:
    return _SPACES.sub(" ", value).strip()[:MAX_VALUE]
