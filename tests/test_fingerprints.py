"""The built-in fingerprint database: each entry replays its own examples, plus what a user would notice."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from camscan.fingerprints import Fingerprint, FingerprintDB, check_entry, parse_bytes, self_test
from camscan.models import SURVEILLANCE_TYPES
from camscan.vendors import VendorDB

DB = FingerprintDB.builtin()
VENDOR_IDS = VendorDB.builtin().ids()
FIELDS = [
    "dhip.device_class", "dhip.device_type", "dhip.reply", "dhip.version", "dvrip.reply", "http.body",
    "http.cookie", "http.cookie_name", "http.image", "http.js_var", "http.location", "http.meta",
    "http.realm", "http.redirect", "http.script", "http.server", "http.title", "mdns.host",
    "mdns.instance", "mdns.service", "mdns.txt", "onvif.auth", "onvif.firmware", "onvif.hardware_id",
    "onvif.model",
    "onvif.serial", "onvif.service", "rtsp.realm", "rtsp.server", "sadp.description", "sadp.reply",
    "sadp.serial", "sadp.software_version", "ssdp.server", "tcp.port", "tls.issuer", "tls.subject",
    "wsd.scope.hardware", "wsd.scope.name", "wsd.scope.other", "wsd.scope.type", "wsd.types", "wsd.xaddr",
]  # fmt: skip
NON_CAMERA_VENDORS = {"hp", "brother", "synology", "qnap", "mikrotik", "netgear", "raspberry-pi", "dell"}


@pytest.mark.parametrize("fp", DB.entries(), ids=lambda fp: fp.id)
def test_entry_replays_its_examples(fp: Fingerprint) -> None:
    assert check_entry(DB, fp, VENDOR_IDS) == []


def test_whole_database_passes_self_test() -> None:
    assert self_test(DB, VENDOR_IDS) == []


def test_one_data_file_per_field_named_after_it() -> None:
    data = resources.files("camscan.fingerprints").joinpath("data")
    files = sorted(item.name for item in data.iterdir() if item.name.endswith(".toml"))
    assert files == [f"{field}.toml" for field in FIELDS]
    for name in files:
        entries = parse_bytes(data.joinpath(name).read_bytes(), name)
        assert entries and {fp.field for fp in entries} == {name.removesuffix(".toml")}
    assert DB.fields() == FIELDS


def test_covers_at_least_80_surveillance_makers_and_their_labels() -> None:
    vendors = VendorDB.builtin()
    named = {fp.claims[key] for fp in DB.entries() for key in ("manufacturer", "brand") if key in fp.claims}
    surveillance = {v for v in named if vendors.get(v) is not None and vendors.get(v).surveillance}
    makers = {v for v in surveillance if vendors.get(v).kind == "maker"}
    assert len(makers) >= 80, sorted(makers)
    assert len(surveillance - makers) >= 15, sorted(surveillance - makers)  # OEM labels: EZVIZ, Lorex…


def test_every_entry_cites_a_source_and_has_unique_id() -> None:
    ids = [fp.id for fp in DB.entries()]
    assert len(ids) == len(set(ids))
    assert all(len(fp.source) > 10 for fp in DB.entries())


# Names of the team's private research notes, which a reader of the project cannot follow. Built from parts
# so that this file, which names them to forbid them, does not itself read as citing them.
PRIVATE_NOTES = (
    "-".join(("fingerprint", "facts")),
    "/".join(("..", "shared")),
    "/".join(("shared", "research")),
)


def test_no_source_cites_a_document_outside_the_repository() -> None:
    root = Path(__file__).resolve().parent.parent
    files = [root / "README.md", *(p for d in ("camscan", "lab", "fixtures") for p in (root / d).rglob("*"))]
    cited = [
        f"{path.relative_to(root)}: {name}"
        for path in files
        if path.is_file() and path.suffix in {".toml", ".json", ".py", ".md", ".txt", ".xml", ".csv"}
        for name in PRIVATE_NOTES
        if name in path.read_text(errors="replace")
    ]
    assert cited == []


def _subject(*pairs: tuple[x509.ObjectIdentifier, str]) -> str:
    """A certificate name rendered exactly as the TLS probe reports it."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs]).rfc4514_string()


HIK_NAME = [
    (NameOID.COUNTRY_NAME, "CN"),
    (NameOID.STATE_OR_PROVINCE_NAME, "ZheJiang"),
    (NameOID.LOCALITY_NAME, "HangZhou"),
    (NameOID.ORGANIZATION_NAME, "HIKVISION"),
    (NameOID.ORGANIZATIONAL_UNIT_NAME, "DVRNVR"),
    (NameOID.COMMON_NAME, "www.hikvision.com"),
]

RECOGNISED = [
    ("http.server", "DNVRS-Webs", {"manufacturer": "hikvision"}),
    ("http.server", "App-webs/", {"manufacturer": "hikvision", "device_type": "camera"}),
    ("http.realm", "IP Camera(C2183)", {"manufacturer": "hikvision", "device_type": "camera"}),
    ("http.realm", "Login to ND011811000000", {"manufacturer": "dahua", "serial": "ND011811000000"}),
    ("rtsp.realm", "AXIS_WS_ACCC8E3A0A8F", {"manufacturer": "axis", "serial": "ACCC8E3A0A8F"}),
    ("rtsp.server", "Dahua Rtsp Server", {"manufacturer": "dahua"}),
    ("http.title", "WV-NS202A Network Camera", {"manufacturer": "panasonic", "model": "WV-NS202A"}),
    ("http.title", "NETSurveillance WEB", {"manufacturer": "xiongmai"}),
    ("http.location", "/control/userimage.html", {"manufacturer": "mobotix"}),
    ("http.body", '<meta name="author" content="MOBOTIX AG, Germany">', {"manufacturer": "mobotix"}),
    ("tls.subject", _subject(*HIK_NAME), {"manufacturer": "hikvision"}),
    ("tls.subject", _subject(*reversed(HIK_NAME)), {"manufacturer": "hikvision"}),
    (
        "tls.issuer",
        _subject(
            (NameOID.COUNTRY_NAME, "DE"),
            (NameOID.ORGANIZATION_NAME, "Bosch Sicherheitssysteme GmbH"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "ST-VS"),
            (NameOID.COMMON_NAME, "00075fc423b6"),
            (NameOID.SERIAL_NUMBER, "4711"),
        ),
        {"manufacturer": "bosch"},
    ),
    ("tcp.port", "37777", {"manufacturer": "dahua"}),
]


@pytest.mark.parametrize(("field", "value", "claims"), RECOGNISED, ids=lambda v: str(v)[:40])
def test_recognises_real_banners(field: str, value: str, claims: dict[str, str]) -> None:
    match = DB.match(field, value)
    assert match is not None
    assert {k: match.claims.get(k) for k in claims} == claims


def test_dahua_realm_names_the_maker_not_a_brand() -> None:
    match = DB.match("http.realm", "Login to ND011811000000")
    assert match is not None and "brand" not in match.claims


@pytest.mark.parametrize(
    ("field", "value", "vendor", "device_type"),
    [
        (
            "http.server",
            "HP HTTP Server; HP ENVY 5640 series - B9S56A; Serial Number: TH5336W0QW05ZC",
            "hp",
            "printer",
        ),
        ("http.server", "debut/1.30", "brother", "printer"),
        ("http.title", "DS218 - Synology DiskStation", "synology", "nas"),
        ("http.title", "RouterOS router configuration page", "mikrotik", "router"),
        ("http.realm", "TP-LINK Wireless N Router WR841N", "tp-link", "router"),
        ("http.title", "NETGEAR ReadyNAS", "netgear", "nas"),
    ],
)
def test_printers_nas_and_routers_are_not_cameras(
    field: str, value: str, vendor: str, device_type: str
) -> None:
    match = DB.match(field, value)
    assert match is not None
    assert match.claims["manufacturer"] == vendor
    assert match.claims["device_type"] == device_type
    assert device_type not in SURVEILLANCE_TYPES


GENERIC = [
    "GoAhead-Webs", "Webs", "web", "webserver", "Boa/0.94.13", "lighttpd/1.4.35", "nginx", "nginx/1.18.0",
    "mini_httpd/1.19", "thttpd/2.25b", "HTTPD", "Network Camera", "IPC", "NVR", "DVR", "IP Camera", "device",
    "/",
]  # fmt: skip


@pytest.mark.parametrize("value", GENERIC)
def test_generic_strings_claim_a_maker_only_weakly(value: str) -> None:
    for field in DB.fields():
        for match in DB.match_all(field, value):
            if "manufacturer" in match.claims or "brand" in match.claims:
                assert match.strength == "weak", (field, match.fingerprint)


@pytest.mark.parametrize("value", ["nginx", "Apache/2.4.41 (Ubuntu)", "GoAhead-Webs", "Microsoft-IIS/10.0"])
def test_common_web_servers_match_nothing(value: str) -> None:
    assert DB.match("http.server", value) is None


@pytest.mark.parametrize(
    "value", ["NVR", "IPC", "DVR RTSP Server", "NVR Rtsp Server", "IPC RTSP/1.0", "H264DVR 1.0", "HisiIPC"]
)
def test_rtsp_nvr_or_ipc_strings_are_not_hikvision(value: str) -> None:
    for field in ("rtsp.server", "rtsp.realm"):
        assert all(m.claims.get("manufacturer") != "hikvision" for m in DB.match_all(field, value))


@pytest.mark.parametrize(
    ("field", "value", "vendor"),
    [
        ("tls.subject", "CN=www.aceaxis.co.uk,O=Ace Axis Limited,C=GB", "axis"),
        ("tls.subject", "O=Axis Bank Limited,CN=axisbank.com", "axis"),
        ("http.title", "Ace Axis Limited", "axis"),
        ("http.title", "Shanghai Dahua Scale Co., Ltd", "dahua"),
        ("http.realm", "Login to the Router Web Configurator", "dahua"),
        ("http.server", "GoAhead-Webs", "hikvision"),
    ],
)
def test_near_misses_do_not_claim_the_vendor(field: str, value: str, vendor: str) -> None:
    assert all(m.claims.get("manufacturer") != vendor for m in DB.match_all(field, value))


def test_match_all_lists_every_entry_and_match_takes_the_first() -> None:
    matches = DB.match_all("http.title", "Sony Network Camera")
    assert [m.fingerprint for m in matches] == ["sony-network-camera-title", "generic-network-camera-title"]
    assert DB.match("http.title", "Sony Network Camera") == matches[0]
    assert "model" not in matches[0].claims  # an optional group that did not match adds nothing


def test_unknown_field_matches_nothing() -> None:
    assert DB.match("onvif.nonexistent", "Hikvision") is None
    assert DB.match_all("onvif.nonexistent", "Hikvision") == []


def test_body_is_searched_only_within_its_cap() -> None:
    marker = "MOBOTIX AG, Germany"
    assert DB.match("http.body", "x" * 60000 + marker) is not None
    assert DB.match("http.body", "x" * 70000 + marker) is None


HOSTILE = [
    "a" * 1_000_000,
    "CN=" * 400_000,
    "O=HIKVISION," * 100_000,
    "g_szCacheTime " * 100_000,
    "Login to " * 100_000,
    "TP-LINK " + "Router " * 100_000,
    "&nbsp;-" * 100_000,
    "\x00\udcff\u202e\n" * 100_000,
]


def test_hostile_values_are_matched_quickly() -> None:
    start = time.perf_counter()
    for field in DB.fields():
        for value in HOSTILE:
            DB.match_all(field, value)
    assert time.perf_counter() - start < 2.0


def test_builtin_database_is_loaded_once() -> None:
    assert FingerprintDB.builtin() is FingerprintDB.builtin()
