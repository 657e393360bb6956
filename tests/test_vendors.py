"""Vendor vocabulary: every shared id exists, names map to the right id, OEM relations are sourced."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from camscan.vendors import VendorDB, VendorError

V = VendorDB.builtin()

MAKERS = {
    "hikvision",
    "dahua",
    "huawei",
    "zte",
    "hytera",
    "uniview",
    "tiandy",
    "kedacom",
    "xiongmai",
    "axis",
    "hanwha",
    "bosch",
    "vivotek",
    "mobotix",
    "avigilon",
    "sony",
    "panasonic",
    "geovision",
    "reolink",
    "tp-link",
    "arecont",
    "pelco",
    "honeywell",
    "nuuo",
    "milesight",
    "foscam",
    "acti",
    "avtech",
    "ubiquiti",
    "verkada",
    "hisilicon",
    "tvt",
    "d-link",
    "trendnet",
    "grandstream",
    "netwave",
    "hipcam",
    "canon",
    "iqinvision",
    "truen",
    "genetec",
    "2n",
    "vaddio",
    "jovision",
    "herospeed",
    "vstarcam",
    "provision-isr",
}
BRANDS = {
    "ezviz",
    "hilook",
    "hiwatch",
    "prama",
    "lts",
    "truvision",
    "interlogix",
    "hills",
    "amcrest",
    "lorex",
    "imou",
    "ic-realtime",
    "q-see",
    "cp-plus",
    "swann",
    "annke",
    "indigovision",
    "intelbras",
    "digital-watchdog",
    "steinsvik",
}
OTHERS = {"hp", "brother", "synology", "qnap", "mikrotik", "cisco", "netgear", "raspberry-pi", "dell"}


def test_every_shared_vendor_id_exists_with_its_kind() -> None:
    assert not (MAKERS | BRANDS | OTHERS) - V.ids()
    assert {V.get(b).kind for b in BRANDS} == {"brand"}
    assert {V.get(o).kind for o in OTHERS} == {"other"}
    assert not any(V.get(o).surveillance for o in OTHERS)
    assert all(V.get(b).surveillance for b in BRANDS)


def test_every_relation_names_its_source_and_a_known_parent() -> None:
    related = [V.get(v) for v in V.ids() if V.get(v).parent is not None]
    assert len(related) >= 20
    for v in related:
        assert v.parent in V.ids()
        assert v.relation in {"subsidiary", "product-line", "oem", "former-subsidiary"}
        assert v.relation_source and len(v.relation_source) > 20, v.id
        assert v.relation_confidence in {"strong", "weak"}


@pytest.mark.parametrize(
    ("brand", "parent", "relation", "confidence"),
    [
        ("ezviz", "hikvision", "subsidiary", "strong"),
        ("hilook", "hikvision", "product-line", "strong"),
        ("hiwatch", "hikvision", "product-line", "strong"),
        ("prama", "hikvision", "subsidiary", "strong"),
        ("lts", "hikvision", "oem", "strong"),
        ("truvision", "hikvision", "oem", "strong"),
        ("hills", "hikvision", "oem", "strong"),
        ("imou", "dahua", "subsidiary", "strong"),
        ("lorex", "dahua", "former-subsidiary", "strong"),
        ("amcrest", "dahua", "oem", "strong"),
        ("ic-realtime", "dahua", "oem", "strong"),
        ("intelbras", "dahua", "oem", "weak"),
        ("cp-plus", "dahua", "oem", "weak"),
        ("indigovision", "dahua", "oem", "weak"),
        ("digital-watchdog", "tvt", "oem", "weak"),
        ("swann", "reolink", "oem", "weak"),
        ("steinsvik", "truen", "oem", "strong"),
    ],
)
def test_relabel_relations(brand: str, parent: str, relation: str, confidence: str) -> None:
    v = V.get(brand)
    assert (v.parent, v.relation, v.relation_confidence) == (parent, relation, confidence)
    assert V.maker_of(brand) == parent


def test_annke_has_no_parent_because_the_sources_are_mixed() -> None:
    assert V.get("annke").parent is None
    assert V.maker_of("annke") == "annke"
    assert V.relation_note("annke") is None


def test_affiliates_are_subsidiaries_and_product_lines_not_oem_customers() -> None:
    assert V.affiliates_of("hikvision") == {"hikvision", "ezviz", "hilook", "hiwatch", "prama"}
    assert V.affiliates_of("dahua") == {"dahua", "imou"}
    assert V.affiliates_of("axis") == {"axis"}


def test_relation_notes_read_as_plain_phrases() -> None:
    assert V.relation_note("ezviz") == "ezviz is a Hikvision subsidiary"
    assert V.relation_note("hilook") == "hilook is a Hikvision product line"
    assert V.relation_note("amcrest") == "amcrest is an OEM customer of Dahua"
    assert V.relation_note("lorex") == "lorex is a former Dahua subsidiary"
    assert V.relation_note("intelbras") == "intelbras is probably an OEM customer of Dahua"
    assert V.relation_note("hikvision") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hangzhou Hikvision Digital Technology Co.,Ltd.", "hikvision"),
        ("Prama Hikvision India Private Limited", "hikvision"),
        ("HIKVISION", "hikvision"),
        ("Hangzhou Ezviz Software Co.,Ltd.", "ezviz"),
        ("Zhejiang Dahua Technology Co., Ltd.", "dahua"),
        ("ZHEJIANG DAHUA TECHNOLOGYCO.,LTD", "dahua"),
        ("Zhejiang Dahua Zhilian", "dahua"),
        ("Dahua", "dahua"),
        ("hangzhou huacheng network technology co., ltd", "imou"),
        ("HUAWEI TECHNOLOGIES CO.,LTD", "huawei"),
        ("Huawei Device Co., Ltd.", "huawei"),
        ("zte corporation", "zte"),
        ("Axis Communications AB", "axis"),
        ("AXIS", "axis"),
        ("Honeywell Video Systems", "honeywell"),
        ("Honeywell Security (China) Co., Ltd.", "honeywell"),
        ("SECURITE COMMUNICATIONS / HONEYWELL", "honeywell"),
        ("LT SECURITY INC", "lts"),
        ("SAMSUNG TECHWIN CO.,LTD", "hanwha"),
        ("Hanwha Vision Vietnam Company Limited", "hanwha"),
        ("VCS Video Communication Systems AG", "bosch"),
        ("TP-LINK TECHNOLOGIES CO.,LTD.", "tp-link"),
        ("Routerboard.com", "mikrotik"),
        ("  Amcrest\n Technologies ", "amcrest"),
    ],
)
def test_registrant_and_free_text_names(text: str, expected: str) -> None:
    assert V.from_name(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ace Axis Limited",
        "Axis-Shield",
        "Axis Electronics",
        "Shanghai Dahua Scale",
        "Kedah Electronics Engineering, LLC",
        "GENETEC Corporation",
        "Dell'Orto S.P.A.",
        "YAMATAKE-HONEYWELL CO., LTD.",
        "PELCOMBE GROUP LTD.",
        "ACTIA",
        "Actiontec Electronics, Inc",
        "SONY TEKTRONIX CORP.",
        "Wuxi Zhongxing Optoelectronics Technology Co.,Ltd.",
        "Laguna Hills, Inc.",
        "Brother, Brother & Sons ApS",
        "",
        "   ",
    ],
)
def test_registrant_traps_are_not_attributed(text: str) -> None:
    assert V.from_name(text) is None


def _netaddr_registrants() -> set[str]:
    text = resources.files("netaddr.eui").joinpath("oui.txt").read_bytes().decode("utf-8", errors="replace")
    return {m.group(1).strip() for m in re.finditer(r"\(base 16\)\s+(.+)", text)}


def test_ieee_registrants_with_a_lookalike_word_map_only_to_the_real_company() -> None:
    orgs = _netaddr_registrants()
    for word, vid, must in [("axis", "axis", "axis communications"), ("dahua", "dahua", "dahua technology")]:
        for org in (o for o in orgs if word in o.lower()):
            if V.from_name(org) == vid:
                assert must in org.lower().replace("technologyco", "technology co"), org
    assert any(V.from_name(o) == "axis" for o in orgs)


def test_long_hostile_names_are_cut_and_still_answer() -> None:
    assert V.from_name("Hikvision " + "x" * 1_000_000) == "hikvision"
    assert V.from_name("a" * 1_000_000 + "Hikvision") is None


def test_unknown_id_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        V.get("acme")


BASE = """
[vendor.acme]
name = "Acme"
kind = "maker"
surveillance = true
aliases = ["acme"]
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[vendor.sub]\nname="S"\nkind="brand"\nsurveillance=true\naliases=["s"]\nparent="nobody"\n'
            'relation="oem"\nrelation_source="x"\n',
            "unknown parent",
        ),
        (
            '[vendor.sub]\nname="S"\nkind="brand"\nsurveillance=true\naliases=["s"]\nparent="acme"\nrelation="oem"\n',
            "go together",
        ),
        (
            '[vendor.sub]\nname="S"\nkind="brand"\nsurveillance=true\naliases=["s"]\nparent="acme"\n'
            'relation="cousin"\nrelation_source="x"\n',
            "relation must be",
        ),
        ('[vendor.sub]\nname="S"\nkind="company"\nsurveillance=true\naliases=["s"]\n', "kind must be"),
        ('[vendor.sub]\nname="S"\nkind="maker"\nsurveillance=true\naliases=["(open"]\n', "not a valid regex"),
        ('[vendor.sub]\nname="S"\nkind="maker"\nsurveillance="yes"\naliases=["s"]\n', "surveillance"),
        ('[vendor.Sub]\nname="S"\nkind="maker"\nsurveillance=true\naliases=["s"]\n', "lowercase slug"),
        ('[vendor.sub]\nname="S"\nkind="maker"\nsurveillance=true\naliases=["s"]\nalias="t"\n', "unknown"),
    ],
)
def test_bad_vendor_data_is_a_one_line_vendor_error(extra: str, message: str) -> None:
    with pytest.raises(VendorError, match=message) as info:
        VendorDB.from_toml(BASE + extra)
    assert "\n" not in str(info.value)


def test_parent_loops_are_refused() -> None:
    loop = (
        '[vendor.a]\nname="A"\nkind="brand"\nsurveillance=true\naliases=["a"]\nparent="b"\nrelation="oem"\n'
        'relation_source="x"\n'
        '[vendor.b]\nname="B"\nkind="brand"\nsurveillance=true\naliases=["b"]\nparent="a"\nrelation="oem"\n'
        'relation_source="x"\n'
    )
    with pytest.raises(VendorError, match="loops"):
        VendorDB.from_toml(loop)
