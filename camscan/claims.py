"""Claims from name and value fields: the vendor a label names; the model, firmware, serial reported."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from camscan.fields import CLAIM_RULES, ClaimRule
from camscan.models import Strength
from camscan.vendors import VendorDB

MAX_VALUE = 128
# A label can be relabelled and a value can be mistyped by the firmware; the vendor's own stack cannot
# (those tells live in the fingerprint data), so every claim made here is medium.
STRENGTH: Strength = "medium"
# Line/paragraph separators, format (bidi overrides, zero-width) and surrogate/control code points.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Words firmwares put where they have no real value; reporting them as a model or serial misleads.
PLACEHOLDERS = frozenset(
    {"-", "--", "n/a", "na", "none", "null", "unknown", "default", "model", "ipc-model", "serial", "0"}
)


# The rules live with the field vocabulary (camscan.fields): one declaration per field.
Rule = ClaimRule
RULES: Mapping[str, ClaimRule] = CLAIM_RULES


def clean_value(value: str) -> str | None:
    """The value stripped and cut to MAX_VALUE characters; None when empty or it holds control characters."""
    text = value[: MAX_VALUE * 4].strip()[:MAX_VALUE].strip()
    if not text or any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in text):
        return None
    return text


def claims_for(field: str, value: str, vendors: VendorDB) -> tuple[dict[str, str], Strength] | None:
    """What an observation of a name or value field claims, with its strength; None when it claims nothing."""
    rule = RULES.get(field)
    if rule is None:
        return None
    text = clean_value(value)
    if text is None:
        return None
    if rule.prefix:
        if text[: len(rule.prefix)].lower() != rule.prefix:
            return None
        text = text[len(rule.prefix) :].strip()
        if not text:
            return None
    if rule.kind == "value":
        if text.lower() in PLACEHOLDERS:
            return None
        return {rule.key: text}, STRENGTH
    vid = vendors.from_name(text)
    if vid is None:
        return None
    key = "brand" if vendors.get(vid).kind == "brand" else "manufacturer"
    return {key: vid}, STRENGTH
