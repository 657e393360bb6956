"""A small hand-made report for the writer tests."""

from __future__ import annotations

from camscan.models import (
    Coverage,
    Device,
    Evidence,
    ProbeResult,
    Report,
    ScanInfo,
    Unmatched,
    Verdict,
    WatchlistHit,
)
from camscan.status import Status


def sample_report(hostile_banner: str = '=HYPERLINK("http://x")\x1b[2J') -> Report:
    """Two devices: a relabelled Hikvision (watchlisted) and a printer whose banner is hostile."""
    ezviz = Device(
        ip="10.0.0.5",
        mac="34:c6:dd:12:34:56",
        mac_vendor="Hangzhou Ezviz Software Co.,Ltd.",
        mac_source="arp",
        hostname=None,
        open_ports=(80, 554),
        verdict=Verdict(
            manufacturer="hikvision",
            brand="ezviz",
            model="CS-C6N",
            firmware="V5.3.0 build 201223",
            serial=None,
            device_type="camera",
            is_camera=True,
            confidence=0.96,
        ),
        watchlist=(
            WatchlistHit(
                "us-fcc-covered",
                "hikvision",
                "manufacturer hikvision (brand ezviz is a Hikvision subsidiary)",
                "FCC Covered List",
            ),
        ),
        evidence=(
            Evidence(
                "http",
                "http.server",
                "App-webs/",
                {"manufacturer": "hikvision"},
                "strong",
                80,
                "hikvision-app-webs",
            ),
        ),
        probes=(ProbeResult("http", "10.0.0.5", 80, Status.OK, elapsed=0.01234),),
    )
    printer = Device(
        ip="10.0.0.9",
        mac=None,
        mac_vendor=None,
        mac_source=None,
        hostname=None,
        open_ports=(80,),
        verdict=Verdict(),
        watchlist=(),
        evidence=(),
        probes=(ProbeResult("http", "10.0.0.9", 80, Status.TIMEOUT, error="no answer"),),
    )
    return Report(
        scan=ScanInfo(
            id="6f1c1f0e-3a38-4a52-8df0-3f8a5ad0a4b1",
            started_at="2026-11-28T10:00:00Z",
            finished_at="2026-11-28T10:00:05Z",
            targets=("10.0.0.0/24",),
            probes=("arp", "http", "tcp"),
            mac_method="arp",
            watchlists=("us-fcc-covered",),
            options={"ports": [80, 554]},
        ),
        coverage=Coverage(addresses=254, alive=2, probed=2, cameras=1, unidentified_cameras=0, errors=0),
        devices=(ezviz, printer),
        unmatched=(Unmatched("10.0.0.9", "http", "http.server", hostile_banner, 80),),
    )
