"""A maker's own formats outweigh the label and the MAC block; banners that name no maker stay unnamed."""

from __future__ import annotations

import pytest

from camscan import evidence, fuse, oui, watchlist
from camscan.fingerprints import FingerprintDB
from camscan.models import Observation, ProbeResult, Status, Verdict, WatchlistHit
from camscan.vendors import VendorDB

DB = FingerprintDB.builtin()
VENDORS = VendorDB.builtin()
LISTS = watchlist.select([], VENDORS)
IP = "192.0.2.10"


def judge(
    pairs: list[tuple[str, str, str]], mac: str | None = None
) -> tuple[Verdict, tuple[WatchlistHit, ...]]:
    """What the engine does with one host's observations (probe, field, value) and its MAC."""
    results = [
        ProbeResult(probe, IP, 80, Status.OK, (Observation(probe, field, value, 80),))
        for probe, field, value in pairs
    ]
    evs, _ = evidence.from_results(IP, results, DB, VENDORS)
    if mac is not None:
        mac_ev = evidence.from_mac(oui.lookup(mac), "arp", VENDORS)
        assert mac_ev is not None
        evs.append(mac_ev)
    verdict = fuse.fuse(evs, VENDORS)
    hits = watchlist.flag(
        verdict.manufacturer,
        verdict.brand,
        verdict.is_camera,
        LISTS,
        VENDORS,
        recognised_by=fuse.recognised_by(evs, verdict.manufacturer, VENDORS),
    )
    return verdict, hits


TRENDNET_MAC = "00:14:d1:12:34:56"  # IEEE MA-L 00:14:D1 "TRENDnet, Inc."


def test_hikvision_sold_as_trendnet_is_unmasked_by_its_firmware_format() -> None:
    verdict, hits = judge(
        [
            ("onvif", "onvif.auth", "anonymous"),
            ("onvif", "onvif.manufacturer", "TRENDnet"),
            ("onvif", "onvif.model", "TV-IP1314PI"),
            ("onvif", "onvif.firmware", "V5.5.82 build 190220"),
        ],
        mac=TRENDNET_MAC,
    )
    assert (verdict.manufacturer, verdict.brand, verdict.is_camera) == ("hikvision", "trendnet", True)
    assert any("trendnet" in c and "hikvision" in c for c in verdict.conflicts), verdict.conflicts
    assert hits, "a relabelled Hikvision must not pass as clean"
    assert all("Hikvision firmware version format" in hit.reason for hit in hits), [h.reason for h in hits]


def test_the_label_alone_still_names_trendnet() -> None:
    verdict, hits = judge(
        [("onvif", "onvif.manufacturer", "TRENDnet"), ("onvif", "onvif.firmware", "1.0.3 build 1201")],
        mac=TRENDNET_MAC,
    )
    assert verdict.manufacturer == "trendnet"
    assert not hits


@pytest.mark.parametrize(
    ("pairs", "maker", "tell"),
    [
        (
            [
                ("onvif", "onvif.manufacturer", "ACME Security"),
                ("onvif", "onvif.serial", "DS-2CD2142FWD-I20180425AAWR123456789"),
            ],
            "hikvision",
            "Hikvision serial-number format",
        ),
        (
            [
                ("onvif", "onvif.manufacturer", "ACME"),
                ("onvif", "onvif.firmware", "V5.00.R02.000059A8.10010.040400.0020000"),
            ],
            "xiongmai",
            "Xiongmai firmware version format",
        ),
        (
            [
                ("onvif", "onvif.manufacturer", "ACME"),
                ("onvif", "onvif.model", "XM530_R80X20-PQ"),
            ],
            "xiongmai",
            "Xiongmai SoC model prefix",
        ),
        (
            [
                ("http", "http.title", "ACME Camera Login"),
                ("http", "http.body", "<i class='ui-video-wrap-icon'></i>"),
            ],
            "dahua",
            "Dahua web UI markers",
        ),
        (
            [
                ("http", "http.title", "ACME NVR"),
                ("http", "http.redirect", "/doc/page/login.asp?_1591178400000"),
            ],
            "hikvision",
            "Hikvision web UI path",
        ),
    ],
)
def test_a_makers_format_names_it_and_the_reason_says_which(
    pairs: list[tuple[str, str, str]], maker: str, tell: str
) -> None:
    verdict, hits = judge(pairs)
    assert verdict.manufacturer == maker and verdict.is_camera
    assert all(tell in hit.reason for hit in hits), [h.reason for h in hits]
    if maker in ("hikvision", "dahua"):
        assert hits


@pytest.mark.parametrize(
    "pairs",
    [
        [("http", "http.title", "IP Camera")],
        [("http", "http.title", "IPCamera Login")],
        [("http", "http.title", "Network Camera")],
        [("http", "http.title", "DVR")],
        [("http", "http.realm", "Camera Server")],
        [("http", "http.server", "Camera Web Server/1.0")],
        [
            ("onvif", "onvif.auth", "anonymous"),
            ("onvif", "onvif.manufacturer", "IPCAM"),
            ("onvif", "onvif.model", "C6F0SgZ3N0PaL2"),
        ],
        [("onvif", "onvif.auth", "refused")],
        [("wsdiscovery", "wsd.scope.type", "video_encoder")],
    ],
)
def test_a_banner_that_names_no_maker_is_a_camera_without_a_guessed_maker(
    pairs: list[tuple[str, str, str]],
) -> None:
    verdict, hits = judge(pairs)
    assert verdict.is_camera
    assert verdict.manufacturer is None and verdict.brand is None
    assert not hits


def test_a_recorder_tell_outranks_the_generic_onvif_camera_claims() -> None:
    verdict, _ = judge(
        [
            ("onvif", "onvif.auth", "anonymous"),
            ("onvif", "onvif.service", "http://www.onvif.org/ver10/media/wsdl"),
            ("wsdiscovery", "wsd.scope.type", "Network_Video_Transmitter"),
            ("onvif", "onvif.model", "DS-7608NI-K2"),
        ]
    )
    assert (verdict.manufacturer, verdict.device_type) == ("hikvision", "nvr")
