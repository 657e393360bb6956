"""Decode device text only with the charsets web content uses; any other label is read as Latin-1.

A device names the charset of what it sends, and Python would honour any codec by that name,
including ones that are slow by design (punycode is quadratic: 0.7 s of CPU for 64 KiB) or that
are not text encodings at all (rot13, base64, zlib). We honour only the labels of the WHATWG
Encoding Standard, the ones browsers accept (UTF-8, windows-125x and ISO-8859-x, KOI8, GBK and
GB18030, Big5, Shift_JIS, EUC-JP, ISO-2022-JP, EUC-KR, UTF-16), resolved by `webencodings`; each
has a linear-time decoder. Anything else is decoded as Latin-1 (one byte, one character, never
fails) and the refusal is reported so the probe can say so.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import webencodings

from camscan import caps

LATIN_1 = "latin-1"
# WHATWG labels that resolve to its "replacement" encoding (ISO-2022-KR, HZ-GB-2312...): browsers show
# one U+FFFD for the whole document; we read the bytes instead.
_REFUSED_NAMES = frozenset({"replacement"})


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text decoded from device bytes, the codec used, and the label refused (if one was)."""

    text: str
    codec: str  # the Python codec used, e.g. "utf-8", "gbk", "latin-1"
    refused: str | None = None  # the device's label when it was not honoured (cleaned, capped)

    @property
    def note(self) -> str | None:
        """One line for a probe's status when the declared charset was refused, else None."""
        if self.refused is None:
            return None
        return f"charset {self.refused!r} is not a web charset: read as Latin-1"


def codec_for(label: str) -> codecs.CodecInfo | None:
    """The Python codec of a web charset label ("GB2312" -> gbk), or None when it is not one."""
    label = label[: caps.CHARSET_LABEL]
    if not label.isascii():
        return None
    encoding = webencodings.lookup(label)
    if encoding is None or encoding.name in _REFUSED_NAMES:
        return None
    info: codecs.CodecInfo = encoding.codec_info
    return info


def clean_label(label: str) -> str:
    """A label as it may be shown in a report: printable ASCII only, capped."""
    kept = "".join(ch for ch in label[: caps.CHARSET_LABEL] if ch.isascii() and ch.isprintable())
    return kept.strip() or "?"


def decode(raw: bytes, label: str | None, default: str = "utf-8") -> Decoded:
    """Decode raw by its declared label (None: `default`); a refused label reads as Latin-1; never raises."""
    if label is None:
        return Decoded(raw.decode(default, errors="replace"), default)
    info = codec_for(label)
    if info is None:
        return Decoded(raw.decode(LATIN_1), LATIN_1, clean_label(label))
    text, _ = info.decode(raw, "replace")
    return Decoded(text, info.name)
