"""Defused XML parsing for hostile datagrams: no DTD or entities, capped size, depth and element count."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

MAX_DEPTH = 32
MAX_ELEMENTS = 4096
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


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


def parse(
    data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS
) -> ET.Element:
    """Parse untrusted XML bytes into an element tree; raise XmlError (one line) for anything unacceptable."""
    if len(data) > max_bytes:
        raise XmlError(f"XML is {len(data)} bytes, more than the {max_bytes} allowed")
    if not data.startswith(_UTF16_BOMS):
        # Firmware pads datagrams with NULs or sends a newline before the declaration; expat rejects both.
        data = data.lstrip(b" \t\r\n").rstrip(b"\x00 \t\r\n")
    if not data:
        raise XmlError("empty XML document")
    parser = DefusedXMLParser(
        target=_CappedBuilder(max_depth, max_elements),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        parser.feed(data)
        root: ET.Element = parser.close()
    except XmlError:
        raise
    except DefusedXmlException as exc:
        raise XmlError(f"XML refused: {type(exc).__name__} (DTDs and entities are not allowed)") from None
    except ET.ParseError as exc:
        raise XmlError(f"malformed XML: {exc}") from None
    except (ValueError, LookupError, RecursionError, OverflowError) as exc:
        raise XmlError(f"unreadable XML: {type(exc).__name__}") from None
    return root


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
