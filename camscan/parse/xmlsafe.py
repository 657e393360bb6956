"""Defused XML parsing for hostile datagrams: no DTD or entities, capped size, depth and element count."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from camscan import caps
from camscan.parse import charset

MAX_DEPTH = caps.XML_DEPTH
MAX_ELEMENTS = caps.XML_ELEMENTS
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_DECLARED = re.compile(rb"""^<\?xml\b[^>]{0,200}?\bencoding\s*=\s*["']([A-Za-z0-9._:\-]{1,40})["']""")
# Encodings expat reads itself from bytes; any other declared charset is decoded here (see _source).
_EXPAT_NATIVE = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1"})


class XmlError(ValueError):
    """The bytes are not acceptable XML: malformed, too large, too deep, or using a DTD or entities."""


class _CappedBuilder(ET.TreeBuilder):
    """A tree builder that refuses documents nested too deep or with too many elements."""

    def __init__(self, max_depth: int, max_elements: int) -> None:
        super().__init__()
        self._depth = 0
        self._count = 0
        self._max_depth = max_depth
        self._max_elements = max_elements

    def start(self, tag: Any, attrs: dict[Any, Any], /) -> ET.Element:
        self._depth += 1
        self._count += 1
        if self._depth > self._max_depth:
            raise XmlError(f"XML nested deeper than {self._max_depth} elements")
        if self._count > self._max_elements:
            raise XmlError(f"XML has more than {self._max_elements} elements")
        return super().start(tag, attrs)

    def end(self, tag: str, /) -> ET.Element:
        self._depth -= 1
        return super().end(tag)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed document and the charset its declaration named if that was refused (read as Latin-1)."""

    root: ET.Element
    refused_charset: str | None = None


def _source(data: bytes) -> tuple[bytes | str, str | None]:
    """What to feed expat: the bytes when it can read their declared encoding, else text we decoded.

    expat decodes UTF-8, UTF-16, ASCII and Latin-1 itself, takes other single-byte charsets from
    Python's codec of that name (any codec, punycode and utf-7 included) and fails on multi-byte
    ones (GB2312, Big5, Shift_JIS: common on cameras). So a declared charset is resolved here
    against the web charsets (charset.codec_for) and the text is fed decoded: expat then ignores
    the declaration. A charset that is not a web charset is read as Latin-1.
    """
    declared = _DECLARED.match(data[: caps.XML_DECLARATION])
    if declared is None or data.startswith(_UTF16_BOMS):
        return data, None
    label = declared.group(1).decode("ascii")
    decoded = charset.decode(data, label)
    if decoded.refused is None and decoded.codec in _EXPAT_NATIVE:
        return data, None
    return decoded.text, decoded.refused


def parse(
    data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS
) -> ET.Element:
    """Parse untrusted XML bytes into an element tree; raise XmlError (one line) for anything unacceptable."""
    return parse_document(data, max_bytes=max_bytes, max_depth=max_depth, max_elements=max_elements).root


def parse_document(
    data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS
) -> Document:
    """parse(), also telling whether the declared charset was refused (and the text read as Latin-1)."""
    if len(data) > max_bytes:
        raise XmlError(f"XML is {len(data)} bytes, more than the {max_bytes} allowed")
    if not data.startswith(_UTF16_BOMS):
        # Firmware pads datagrams with NULs or sends a newline before the declaration; expat rejects both.
        data = data.lstrip(b" \t\r\n").rstrip(b"\x00 \t\r\n")
    if not data:
        raise XmlError("empty XML document")
    source, refused = _source(data)
    parser = DefusedXMLParser(
        target=_CappedBuilder(max_depth, max_elements),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        parser.feed(source)
        root: ET.Element = parser.close()
    except XmlError:
        raise
    except DefusedXmlException as exc:
        raise XmlError(f"XML refused: {type(exc).__name__} (DTDs and entities are not allowed)") from None
    except ET.ParseError as exc:
        raise XmlError(f"malformed XML: {exc}") from None
    except (ValueError, LookupError, RecursionError, OverflowError) as exc:
        raise XmlError(f"unreadable XML: {type(exc).__name__}") from None
    return Document(root, refused)


def local(tag: object) -> str:
    """The local part of a "{namespace}name" tag: prefixes and namespaces differ between firmwares."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def children(elem: ET.Element | None, name: str) -> Iterator[ET.Element]:
    """Direct children of elem whose local name is name."""
    if elem is None:
        return
    for sub in elem:
        if local(sub.tag) == name:
            yield sub


def child(elem: ET.Element | None, name: str) -> ET.Element | None:
    """The first direct child of elem with this local name, or None."""
    return next(children(elem, name), None)


def descendants(elem: ET.Element | None, name: str) -> Iterator[ET.Element]:
    """Every element below (and including) elem with this local name, in document order."""
    if elem is None:
        return
    for sub in elem.iter():
        if local(sub.tag) == name:
            yield sub


def text(elem: ET.Element | None, max_len: int) -> str | None:
    """The stripped text of elem capped at max_len characters; None when absent or blank."""
    if elem is None or elem.text is None:
        return None
    value = elem.text.strip()[:max_len].strip()
    return value or None
