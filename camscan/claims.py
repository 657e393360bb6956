"""Claims from name and value fields: the vendor a label names; the model, firmware, serial reported."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

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


@dataclass(frozen=True, slots=True)
class Rule:
    """How one observed field becomes a claim: a name looked up as a vendor, or a value under a key."""

    kind: Literal["name", "value"]
    key: str = ""  # claim key of a value rule: model, firmware or serial
    prefix: str = ""  # only values starting with this (case-insensitive), which is then cut off


RULES: Mapping[str, Rule] = MappingProxyType(
    {
        # Name fields: a vendor's name, possibly a relabelling brand.
        "onvif.manufacturer": Rule("name"),
        "dhip.vendor": Rule("name"),
        "sadp.oem_info": Rule("name"),
        "upnp.manufacturer": Rule("name"),
        "wsd.scope.name": Rule("name"),
        # Hanwha and HeroSpeed name their maker in an onvif vendor-extension scope.
        "wsd.scope.other": Rule("name", prefix="manufacturer/"),
        # Value fields.
        "onvif.model": Rule("value", "model"),
        "onvif.firmware": Rule("value", "firmware"),
        "onvif.serial": Rule("value", "serial"),
        "sadp.description": Rule("value", "model"),
        "sadp.serial": Rule("value", "serial"),
        "sadp.software_version": Rule("value", "firmware"),
        "dhip.device_type": Rule("value", "model"),
        "dhip.serial": Rule("value", "serial"),
        "dhip.version": Rule("value", "firmware"),
        "upnp.model_name": Rule("value", "model"),
        "upnp.serial": Rule("value", "serial"),
        "wsd.scope.hardware": Rule("value", "model"),
    }
)


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
