"""Name and value fields as claims: a label names a brand or maker; values fill model, firmware, serial."""

from __future__ import annotations

import time

import pytest

from camscan.claims import MAX_VALUE, RULES, claims_for
from camscan.fuse import fuse
from camscan.models import Evidence
from camscan.vendors import VendorDB

VENDORS = VendorDB.builtin()

NAME_FIELDS = [
    "onvif.manufacturer",
    "dhip.vendor",
    "sadp.oem_info",
    "upnp.manufacturer",
    "wsd.scope.name",
    "http.copyright",
]
VALUE_RULES = [
    ("onvif.model", "model", "IPC-HDW5831R-ZE"),
    ("onvif.firmware", "firmware", "2.460.0001.5.R, Build Date 2017-08-11"),
    ("onvif.serial", "serial", "ND021808019141"),
    ("sadp.description", "model", "DS-2CD2143G2-I"),
    ("sadp.serial", "serial", "DS-2CD2143G2-I20230415AAWRK71234567"),
    ("sadp.software_version", "firmware", "V5.7.13build 230217"),
    ("dhip.device_type", "model", "IPC-HDW5831R-ZE"),
    ("dhip.serial", "serial", "6G0ABCD1234567F"),
    ("dhip.version", "firmware", "2.800.0000016.0.R"),
    ("upnp.model_name", "model", "AXIS M3045-V"),
    ("upnp.serial", "serial", "ACCC8E4D000A"),
    ("wsd.scope.hardware", "model", "DS-2CD2143G2-I"),
    ("onvif.hostname", "hostname", "IPC-lobby-2"),
]


def test_rule_table_covers_every_name_and_value_field() -> None:
    expected = {*NAME_FIELDS, "wsd.scope.other", *(field for field, _, _ in VALUE_RULES)}
    assert set(RULES) == expected


@pytest.mark.parametrize(("field", "key", "value"), VALUE_RULES)
def test_value_field_claims_its_key(field: str, key: str, value: str) -> None:
    assert claims_for(field, value, VENDORS) == ({key: value}, "medium")


@pytest.mark.parametrize("field", NAME_FIELDS)
def test_name_field_claims_the_maker(field: str) -> None:
    assert claims_for(field, "Dahua", VENDORS) == ({"manufacturer": "dahua"}, "medium")


@pytest.mark.parametrize("field", NAME_FIELDS)
def test_name_field_claims_a_brand_as_brand(field: str) -> None:
    assert claims_for(field, "Amcrest", VENDORS) == ({"brand": "amcrest"}, "medium")


@pytest.mark.parametrize(
    ("value", "claims"),
    [
        ("LOREX", {"brand": "lorex"}),
        ("HIKVISION", {"manufacturer": "hikvision"}),
        ("Amcrest", {"brand": "amcrest"}),
        ("TP-Link", {"manufacturer": "tp-link"}),
        ("Hangzhou Hikvision Digital Technology Co., Ltd.", {"manufacturer": "hikvision"}),
    ],
)
def test_onvif_manufacturer_relabels(value: str, claims: dict[str, str]) -> None:
    assert claims_for("onvif.manufacturer", value, VENDORS) == (claims, "medium")


def test_sadp_oem_info_names_the_relabelling_brand() -> None:
    assert claims_for("sadp.oem_info", "LT Security", VENDORS) == ({"brand": "lts"}, "medium")


def test_scope_name_with_model_names_its_vendor() -> None:
    assert claims_for("wsd.scope.name", "HIKVISION DS-7608NI-K2", VENDORS) == (
        {"manufacturer": "hikvision"},
        "medium",
    )
    assert claims_for("wsd.scope.name", "CP PLUS", VENDORS) == ({"brand": "cp-plus"}, "medium")


@pytest.mark.parametrize("value", ["TP-IPC", "NVT", "IPCamera", "Acme Widgets", "Private"])
def test_unknown_names_claim_nothing(value: str) -> None:
    assert claims_for("onvif.manufacturer", value, VENDORS) is None
    assert claims_for("wsd.scope.name", value, VENDORS) is None


def test_manufacturer_extension_scope_names_the_maker() -> None:
    assert claims_for("wsd.scope.other", "manufacturer/HeroSpeed", VENDORS) == (
        {"manufacturer": "herospeed"},
        "medium",
    )
    assert claims_for("wsd.scope.other", "Manufacturer/Hanwha Vision", VENDORS) == (
        {"manufacturer": "hanwha"},
        "medium",
    )


@pytest.mark.parametrize("value", ["extension/unique_identifier/1", "http:123", "manufacturer/", "hikvision"])
def test_other_scopes_claim_nothing(value: str) -> None:
    assert claims_for("wsd.scope.other", value, VENDORS) is None


@pytest.mark.parametrize("field", ["http.server", "onvif.auth", "wsd.types", "mac.address", ""])
def test_fields_without_a_rule_claim_nothing(field: str) -> None:
    assert claims_for(field, "Dahua", VENDORS) is None


def test_values_are_stripped() -> None:
    assert claims_for("onvif.model", "  C200 \r\n", VENDORS) == ({"model": "C200"}, "medium")
    assert claims_for("dhip.vendor", "\tAmcrest\n", VENDORS) == ({"brand": "amcrest"}, "medium")


@pytest.mark.parametrize("value", ["", "   ", "\r\n\t"])
def test_empty_values_claim_nothing(value: str) -> None:
    assert claims_for("onvif.model", value, VENDORS) is None
    assert claims_for("onvif.manufacturer", value, VENDORS) is None


@pytest.mark.parametrize(
    "value",
    ["C2\x0000", "Dahua\x1b[31m", "IPC\u202eEVIL", "DS-2CD\u200b2143", "line\u2028break", "bell\x07"],
)
def test_control_characters_are_refused(value: str) -> None:
    assert claims_for("onvif.model", value, VENDORS) is None
    assert claims_for("onvif.manufacturer", value, VENDORS) is None


@pytest.mark.parametrize("value", ["MODEL", "IPC-model", "unknown", "N/A", "-", "null"])
def test_placeholder_values_are_not_reported_as_models(value: str) -> None:
    assert claims_for("wsd.scope.hardware", value, VENDORS) is None


def test_huge_values_are_bounded_quickly() -> None:
    started = time.perf_counter()
    got = claims_for("onvif.model", "A" * 5_000_000, VENDORS)
    assert got == ({"model": "A" * MAX_VALUE}, "medium")
    assert claims_for("onvif.manufacturer", "Dahua " + "x" * 5_000_000, VENDORS) == (
        {"manufacturer": "dahua"},
        "medium",
    )
    assert claims_for("onvif.manufacturer", " " * 5_000_000 + "Dahua", VENDORS) is None
    assert time.perf_counter() - started < 1.0


def test_a_value_is_never_cut_to_end_in_whitespace() -> None:
    value = "x" * (MAX_VALUE - 1) + " tail"
    got = claims_for("onvif.firmware", value, VENDORS)
    assert got == ({"firmware": "x" * (MAX_VALUE - 1)}, "medium")


def _evidence(field: str, value: str) -> Evidence:
    found = claims_for(field, value, VENDORS)
    assert found is not None
    claims, strength = found
    return Evidence("onvif", field, value, claims, strength)


def test_a_label_alone_never_invents_a_model_or_serial() -> None:
    verdict = fuse([_evidence("onvif.manufacturer", "HIKVISION")], VENDORS)
    assert verdict.manufacturer == "hikvision"
    assert (verdict.model, verdict.firmware, verdict.serial) == (None, None, None)
