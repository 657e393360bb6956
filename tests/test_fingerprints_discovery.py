"""Discovery-channel fingerprints plus name/value claims identify the fixture devices, relabels included."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest

from camscan.claims import claims_for
from camscan.fingerprints import FingerprintDB
from camscan.fuse import fuse
from camscan.models import Evidence, Verdict
from camscan.parse import dhip, dvrip, sadp, soap
from camscan.vendors import VendorDB

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DB = FingerprintDB.builtin()
VENDORS = VendorDB.builtin()
DISCOVERY_FIELDS = [
    "dhip.device_class", "dhip.device_type", "dhip.reply", "dhip.version", "dvrip.reply",
    "mdns.host", "mdns.instance", "mdns.service", "mdns.txt", "onvif.firmware", "onvif.model",
    "sadp.description", "sadp.reply", "sadp.software_version", "ssdp.server", "wsd.scope.hardware",
    "wsd.scope.name", "wsd.scope.other", "wsd.types", "wsd.xaddr",
]  # fmt: skip
FIRMWARE_FIELDS = ["onvif.firmware", "sadp.software_version", "dhip.version"]

Pairs = list[tuple[str, str]]


def evidence(probe: str, pairs: Iterable[tuple[str, str]]) -> list[Evidence]:
    """What the engine makes of observations: the first fingerprint match and the name/value claim."""
    out: list[Evidence] = []
    for field, value in pairs:
        match = DB.match(field, value)
        if match is not None:
            out.append(
                Evidence(probe, field, value, dict(match.claims), match.strength, None, match.fingerprint)
            )
        claimed = claims_for(field, value, VENDORS)
        if claimed is not None:
            out.append(Evidence(probe, field, value, claimed[0], claimed[1]))
    return out


def verdict(probe: str, pairs: Iterable[tuple[str, str]]) -> Verdict:
    return fuse(evidence(probe, pairs), VENDORS)


def wsd_pairs(name: str, index: int = 0) -> Pairs:
    """The wsd.* observations of one ProbeMatch fixture, in the issue-3 vocabulary."""
    match = soap.parse_probe_matches((FIXTURES / "wsd" / name).read_bytes())[index]
    pairs: Pairs = [("wsd.types", " ".join(match.types)), ("wsd.scopes", " ".join(match.scopes))]
    for key, values in soap.decode_scopes(match.scopes).items():
        for value in values:
            if key in soap.SCOPE_KEYS:
                pairs.append((f"wsd.scope.{key}", value))
            elif key == soap.OTHER:
                pairs.append(("wsd.scope.other", value))
            else:
                pairs.append(("wsd.scope.other", f"{key}/{value}"))
    pairs.extend(("wsd.xaddr", x) for x in match.xaddrs)
    return pairs


def sadp_pairs(name: str) -> Pairs:
    reply = sadp.parse_probe_match((FIXTURES / "sadp" / name).read_bytes())
    fields = {
        "sadp.description": reply.description,
        "sadp.serial": reply.serial,
        "sadp.software_version": reply.software_version,
        "sadp.oem_info": reply.oem_info,
    }
    return [("sadp.reply", "ProbeMatch"), *((k, v) for k, v in fields.items() if v)]


def dhip_pairs(name: str) -> Pairs:
    doc = tomllib.loads((FIXTURES / "dhip" / name).read_text(encoding="utf-8"))
    reply = dhip.parse_reply(bytes.fromhex(doc["header"].replace(" ", "")) + doc["body"].encode())
    fields = {
        "dhip.vendor": reply.vendor,
        "dhip.device_type": reply.device_type,
        "dhip.device_class": reply.device_class,
        "dhip.serial": reply.serial,
        "dhip.version": reply.version,
    }
    return [("dhip.reply", "client.notifyDevInfo"), *((k, v) for k, v in fields.items() if v)]


def test_every_discovery_field_has_entries() -> None:
    assert set(DISCOVERY_FIELDS) <= set(DB.fields())


def test_discovery_entries_never_claim_a_brand() -> None:
    # A brand is a label: only camscan.claims turns labels into brand claims.
    for fp in DB.entries():
        if fp.field in DISCOVERY_FIELDS:
            assert "brand" not in fp.claims, fp.id


@pytest.mark.parametrize("field", FIRMWARE_FIELDS)
def test_firmware_format_names_the_maker_not_the_brand(field: str) -> None:
    for fp in DB.entries():
        if fp.field == field:
            assert "manufacturer" in fp.claims and "brand" not in fp.claims, fp.id


# ---------------------------------------------------------------- WS-Discovery ProbeMatch fixtures


def test_hikvision_probematch_without_name_scope() -> None:
    v = verdict("wsdiscovery", wsd_pairs("hikvision-probematch.xml"))
    assert (v.manufacturer, v.device_type, v.model) == ("hikvision", "camera", "DS-2CD2143G2-I")
    assert v.brand == "hikvision" and v.is_camera


def test_tapo_probematch_is_tp_link_and_model_placeholder_is_dropped() -> None:
    v = verdict("wsdiscovery", wsd_pairs("tapo-c200-probematch.xml"))
    assert (v.manufacturer, v.device_type) == ("tp-link", "camera")
    assert v.model is None  # the scope says hardware/MODEL


def test_axis_probematch_names_axis_and_model() -> None:
    v = verdict("wsdiscovery", wsd_pairs("axis-m1065-probematch.xml"))
    assert (v.manufacturer, v.model) == ("axis", "M1065-L")


def test_dahua_probematch() -> None:
    v = verdict("wsdiscovery", wsd_pairs("dahua-probematch.xml"))
    assert (v.manufacturer, v.device_type, v.model) == ("dahua", "camera", "IPC-HDW5831R-ZE")


def test_xiongmai_style_probematch_is_named_from_port_and_placeholders_together() -> None:
    pairs = wsd_pairs("xiongmai-8899-probematch.xml")
    assert verdict("wsdiscovery", pairs).manufacturer == "xiongmai"
    # The placeholders alone are too generic to name anyone.
    weak_only = [(f, v) for f, v in pairs if f != "wsd.xaddr"]
    assert verdict("wsdiscovery", weak_only).manufacturer is None


def test_nvr_answering_as_network_video_transmitter_is_still_an_nvr() -> None:
    v = verdict("wsdiscovery", wsd_pairs("multi-probematch.xml"))
    assert (v.manufacturer, v.device_type, v.model) == ("hikvision", "nvr", "DS-7608NI-K2")


def test_unknown_onvif_camera_is_a_camera_of_unknown_make() -> None:
    v = verdict("wsdiscovery", [("wsd.types", "dn:NetworkVideoTransmitter"), ("wsd.scope.name", "IPCamera")])
    assert v.is_camera and v.manufacturer is None and v.brand is None


def test_port_2020_on_another_path_only() -> None:
    assert DB.match("wsd.xaddr", "http://192.0.2.20:2020/onvif/device_service") is not None
    assert DB.match("wsd.xaddr", "http://192.0.2.20/cgi-bin/x?port=2020/") is None


# ---------------------------------------------------------------- ONVIF device information (relabels)


def test_lorex_label_with_dahua_firmware_is_dahua_made() -> None:
    v = verdict(
        "onvif",
        [
            ("onvif.manufacturer", "LOREX"),
            ("onvif.model", "LNB8973B"),
            ("onvif.firmware", "2.460.0001.5.R, Build Date 2017-08-11"),
            ("onvif.serial", "ND021808019141"),
            ("onvif.hardware_id", "1.00"),
        ],
    )
    assert (v.brand, v.manufacturer) == ("lorex", "dahua")
    assert (v.model, v.serial) == ("LNB8973B", "ND021808019141")
    assert v.firmware == "2.460.0001.5.R, Build Date 2017-08-11"


def test_tapo_device_information() -> None:
    info = soap.parse_device_information((FIXTURES / "wsd" / "tapo-c200-deviceinfo.xml").read_bytes())
    names = {"Manufacturer": "manufacturer", "Model": "model", "FirmwareVersion": "firmware"}
    names |= {"SerialNumber": "serial", "HardwareId": "hardware_id"}
    v = verdict("onvif", [(f"onvif.{names[k]}", value) for k, value in info.items()])
    assert (v.manufacturer, v.model, v.serial) == ("tp-link", "C200", "3a7f91c2")
    assert v.firmware == "1.1.16 Build 211209 Rel.37726n(4555)"


def test_hikvision_firmware_under_another_label_names_hikvision_as_maker() -> None:
    v = verdict("onvif", [("onvif.manufacturer", "HiWatch"), ("onvif.firmware", "V5.5.82 build 190220")])
    assert (v.brand, v.manufacturer, v.firmware) == ("hiwatch", "hikvision", "V5.5.82 build 190220")


# ---------------------------------------------------------------- SADP, DHIP, DVRIP


def test_sadp_hikvision_camera() -> None:
    v = verdict("sadp", sadp_pairs("hikvision-ipc.xml"))
    assert (v.manufacturer, v.brand, v.device_type) == ("hikvision", "hikvision", "camera")
    assert (v.model, v.firmware) == ("DS-2CD2143G2-I", "V5.7.13build 230217")
    assert v.serial == "DS-2CD2143G2-I20230415AAWRK71234567"


def test_sadp_oem_nvr_is_hikvision_made_lts() -> None:
    v = verdict("sadp", sadp_pairs("oem-nvr.xml"))
    assert (v.manufacturer, v.brand) == ("hikvision", "lts")
    assert (v.model, v.firmware) == ("LTN8708K-P8", "V4.30.085build 220601")


def test_dhip_dahua_camera() -> None:
    v = verdict("dhip", dhip_pairs("dahua-ipc.toml"))
    assert (v.manufacturer, v.brand, v.device_type) == ("dahua", "dahua", "camera")
    assert (v.model, v.firmware, v.serial) == ("IPC-HDW5831R-ZE", "2.800.0000016.0.R", "6G0ABCD1234567F")


def test_dhip_amcrest_is_dahua_made() -> None:
    v = verdict("dhip", dhip_pairs("amcrest-ip2m.toml"))
    assert (v.manufacturer, v.brand, v.device_type, v.model) == ("dahua", "amcrest", "camera", "IP2M-841B")
    assert v.conflicts == ()


def test_dhip_recorder_classes() -> None:
    for cls, kind in (("NVR", "nvr"), ("XVR", "dvr"), ("HCVR", "dvr")):
        v = verdict("dhip", [("dhip.reply", "client.notifyDevInfo"), ("dhip.device_class", cls)])
        assert (v.manufacturer, v.device_type) == ("dahua", kind)


def test_dvrip_5050_answer_is_dahua() -> None:
    doc = tomllib.loads((FIXTURES / "dhip" / "dvrip-5050-dvr.toml").read_text(encoding="utf-8"))
    reply = dvrip.parse_reply(bytes.fromhex("".join(doc["hex"].split())))
    pairs = [("dvrip.reply", "search")]
    if reply.model:
        pairs.append(("dvrip.model", reply.model))
    assert verdict("dvrip", pairs).manufacturer == "dahua"


# ---------------------------------------------------------------- mDNS and SSDP


def test_mdns_hikvision_cgi_service() -> None:
    v = verdict(
        "mdns",
        [
            ("mdns.service", "_CGI._tcp.local."),
            ("mdns.instance", "HIKVISION DS-2CD2722FWD-IZS - 733050075"),
            ("mdns.host", "DS-2CD2722FWD-IZS20170321BBWR733050075.local"),
            ("mdns.txt", "path=/"),
        ],
    )
    assert (v.manufacturer, v.model) == ("hikvision", "DS-2CD2722FWD-IZS")
    assert v.serial == "DS-2CD2722FWD-IZS20170321BBWR733050075"


def test_mdns_axis_video_service() -> None:
    v = verdict(
        "mdns",
        [
            ("mdns.service", "_axis-video._tcp.local."),
            ("mdns.instance", "AXIS M3045-V - ACCC8E4D000A"),
            ("mdns.host", "axis-accc8e4d000a.local"),
            ("mdns.txt", "macaddress=ACCC8E4D000A"),
        ],
    )
    assert (v.manufacturer, v.device_type, v.model, v.serial) == ("axis", "camera", "M3045-V", "ACCC8E4D000A")


@pytest.mark.parametrize(
    ("service", "maker"),
    [("_arec._tcp.local.", "arecont"), ("_AXIS-VIDEO._TCP.LOCAL", "axis"), ("_axis-nvr._tcp.local.", "axis")],
)
def test_mdns_vendor_service_types(service: str, maker: str) -> None:
    v = verdict("mdns", [("mdns.service", service)])
    assert v.manufacturer == maker and v.is_camera


@pytest.mark.parametrize("service", ["_http._tcp.local.", "_rtsp._tcp.local.", "_onvif._tcp.local."])
def test_generic_mdns_services_name_nobody(service: str) -> None:
    assert DB.match("mdns.service", service) is None


@pytest.mark.parametrize(
    ("server", "maker"),
    [
        ("Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP devices/1.6.22", "axis"),
        ("Linux/2.x UPnP/1.0 Avtech/1.0", "avtech"),
        ("Linux/2.6.29, UPnP/1.0, Everest/1.0", "pelco"),
    ],
)
def test_ssdp_server_strings(server: str, maker: str) -> None:
    assert verdict("ssdp", [("ssdp.server", server)]).manufacturer == maker


@pytest.mark.parametrize(
    "server",
    ["Linux/3.14.29, UPnP/1.0, Portable SDK for UPnP devices/1.6.19", "Linux/2.6 UPnP/1.0 miniupnpd/1.0"],
)
def test_generic_upnp_stacks_name_nobody(server: str) -> None:
    assert DB.match("ssdp.server", server) is None


# ---------------------------------------------------------------- hostile values


@pytest.mark.parametrize("field", DISCOVERY_FIELDS)
def test_huge_hostile_values_are_matched_fast(field: str) -> None:
    hostile = [
        "DS-2" + "A" * 200_000,
        "2.800." + "0" * 200_000,
        "http://" + "a" * 200_000 + ":2020/",
        "HIKVISION " + "DS-2CD-" * 30_000 + " - 1",
        "V5.5." + "1" * 200_000,
        ("_axis-video._tcp.local" + " ") * 10_000,
    ]
    started = time.perf_counter()
    for value in hostile:
        DB.match(field, value)
    assert time.perf_counter() - started < 0.5
