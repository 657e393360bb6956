"""Fusion: many signals in, one verdict out, with relabels unmasked and contradictions kept."""

from __future__ import annotations

from camscan.fuse import fuse, recognised_by
from camscan.models import Evidence, Strength
from camscan.vendors import VendorDB

V = VendorDB.builtin()


def ev(field: str, value: str, strength: Strength, port: int | None = 80, **claims: str) -> Evidence:
    return Evidence("http", field, value, claims, strength, port, f"fp-{field}")


def mac(registrant: str, vendor: str, strength: Strength = "medium") -> Evidence:
    key = "brand" if V.get(vendor).kind == "brand" else "manufacturer"
    return Evidence("arp", "mac.oui", registrant, {key: vendor}, strength, None, "oui:test")


def test_amcrest_label_with_dahua_realm_is_a_dahua_sold_as_amcrest() -> None:
    verdict = fuse(
        [
            mac("Amcrest Technologies", "amcrest"),
            ev("http.realm", "Login to 9K0123456", "strong", manufacturer="dahua", serial="9K0123456"),
        ],
        V,
    )
    assert (verdict.brand, verdict.manufacturer, verdict.serial) == ("amcrest", "dahua", "9K0123456")
    assert verdict.is_camera
    assert verdict.confidence >= 0.9
    assert verdict.conflicts == ()


def test_subsidiary_brand_alone_names_the_parent_maker() -> None:
    verdict = fuse([mac("Hangzhou Ezviz Software Co.,Ltd.", "ezviz")], V)
    assert (verdict.brand, verdict.manufacturer) == ("ezviz", "hikvision")


def test_one_weak_signal_never_names_a_maker() -> None:
    verdict = fuse([Evidence("tcp", "tcp.port", "37777", {"manufacturer": "dahua"}, "weak", 37777, "p")], V)
    assert verdict.manufacturer is None and verdict.brand is None
    assert verdict.confidence == 0.0


def test_contradicting_makers_are_reported_and_lower_confidence() -> None:
    clean = fuse([ev("http.server", "App-webs/", "strong", manufacturer="hikvision")], V)
    mixed = fuse(
        [
            ev("http.server", "App-webs/", "strong", manufacturer="hikvision"),
            ev("http.realm", "AXIS_ACCC8E000001", "strong", manufacturer="axis"),
        ],
        V,
    )
    assert mixed.manufacturer in ("hikvision", "axis")
    assert mixed.conflicts and "also claimed" in mixed.conflicts[0]
    assert mixed.confidence < clean.confidence


def test_same_banner_on_two_ports_counts_once() -> None:
    one = fuse([ev("http.server", "Webs", "weak", 80, manufacturer="hikvision")], V)
    two = fuse(
        [
            ev("http.server", "Webs", "weak", 80, manufacturer="hikvision"),
            ev("http.server", "Webs", "weak", 8080, manufacturer="hikvision"),
        ],
        V,
    )
    assert one.manufacturer is None and two.manufacturer is None


def test_independent_weak_signals_add_up() -> None:
    verdict = fuse(
        [
            ev("http.server", "Webs", "weak", manufacturer="hikvision"),
            Evidence("tcp", "tcp.port", "8000", {"manufacturer": "hikvision"}, "weak", 8000, "p"),
        ],
        V,
    )
    assert verdict.manufacturer == "hikvision"


def test_printer_is_not_a_camera() -> None:
    verdict = fuse(
        [
            ev(
                "http.server",
                "HP HTTP Server; HP LaserJet",
                "strong",
                manufacturer="hp",
                device_type="printer",
            )
        ],
        V,
    )
    assert (verdict.manufacturer, verdict.device_type, verdict.is_camera) == ("hp", "printer", False)


def test_a_phone_with_a_huawei_mac_is_not_called_a_camera() -> None:
    verdict = fuse([mac("HUAWEI TECHNOLOGIES CO.,LTD", "huawei", "weak")], V)
    assert not verdict.is_camera


def test_model_firmware_serial_come_from_the_claims() -> None:
    verdict = fuse(
        [
            ev("http.title", "LOREX NR9326", "strong", brand="lorex", model="NR9326"),
            ev(
                "http.realm",
                "Login to ND021811019863",
                "strong",
                manufacturer="dahua",
                serial="ND021811019863",
            ),
        ],
        V,
    )
    assert (verdict.brand, verdict.manufacturer, verdict.model) == ("lorex", "dahua", "NR9326")


def test_recognised_by_names_the_strongest_maker_signal() -> None:
    evs = [
        mac("Amcrest Technologies", "amcrest"),
        ev("http.realm", "Login to 9K0123456", "strong", manufacturer="dahua"),
    ]
    text = recognised_by(evs, "dahua", V)
    assert text is not None and text.startswith("http.realm 'Login to 9K0123456'")
