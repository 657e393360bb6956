"""Every default camscan uses, in one place: the CLI, the engine, the probes and the README read these."""

from __future__ import annotations

from dataclasses import dataclass

from camscan import __version__, caps

# Ports ---------------------------------------------------------------------------------------------------
# TCP ports checked on every live host (web, RTSP, Hikvision SDK 8000, Dahua 37777, ONVIF 2020/8899/8999).
PORTS: tuple[int, ...] = (80, 443, 554, 8000, 8080, 8443, 37777, 2020, 8899, 8999, 8554)
HTTP_PORTS = frozenset({80, 8080, 8000, 2020, 8899, 8999, 8081, 8888})
HTTPS_PORTS = frozenset({443, 8443})
RTSP_PORTS = frozenset({554, 8554})
# Where ONVIF device services listen when discovery names none: ports only ONVIF uses first, 2020 (TP-Link
# Tapo), 8899 (Xiongmai), 8999 (HeroSpeed), then the web ports 80, 8080, 8000.
ONVIF_PORTS: tuple[int, ...] = (2020, 8899, 8999, 80, 8080, 8000)
# TCP ping ports for addresses that ARP cannot settle: nmap's -sn TCP ports (80, 443) plus RTSP, which almost
# every camera serves. A SYN answered by SYN-ACK or RST proves the host is there.
PING_PORTS: tuple[int, ...] = (80, 443, 554)

# Time ----------------------------------------------------------------------------------------------------
CONNECT_TIMEOUT = 1.5  # one TCP connect of the port sweep of a live host
PROBE_TIMEOUT = 3.0  # one whole probe of one port (connect, send, read)
HOST_TIMEOUT = 6.0  # everything done to one host
SCAN_DEADLINE = 600.0  # the whole scan
# A TCP ping (and each attempt of a longer connect) lives just under Linux's initial retransmission timeout
# (1 s, RFC 6298): the kernel then never sends a second SYN on its own, so every SYN on the wire is one the
# rate limiter allowed.
PING_TIMEOUT = 0.9
DISCOVERY_WAIT = 1.5  # seconds to listen for replies after the last discovery datagram or ping

# Pacing --------------------------------------------------------------------------------------------------
MAX_RATE = 50_000  # packets per second a user may ask for
MAX_CONCURRENCY = 16_384  # connections open at once a user may ask for
RESERVED_FDS = 256  # file descriptors kept back from connections: sockets, files, the event loop itself
HOST_WORKERS = 256  # live hosts probed at once


@dataclass(frozen=True, slots=True)
class Profile:
    """A named pacing preset: how fast, how wide and how patient a scan is."""

    name: str
    rate: float  # new connections and datagrams per second, at most (the one pacing number)
    concurrency: int  # connections open at once, at most (TCP pings included)
    per_host: int  # probe connections to one host at once
    sweep_per_host: int  # SYNs of one live host's port check out at once
    connect: float
    probe: float
    host: float
    about: str


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "gentle",
            rate=300,
            concurrency=256,
            per_host=1,
            sweep_per_host=1,
            connect=3.0,
            probe=6.0,
            host=20.0,
            about="fragile medical and building systems: 300 packets/s, patient timeouts",
        ),
        Profile(
            "normal",
            rate=10_000,
            concurrency=8192,
            per_host=1,
            sweep_per_host=4,
            connect=CONNECT_TIMEOUT,
            probe=PROBE_TIMEOUT,
            host=HOST_TIMEOUT,
            about="a routed /16 in about a minute: 10,000 packets/s, one probe connection per host",
        ),
        Profile(
            "fast",
            rate=30_000,
            concurrency=16_384,
            per_host=2,
            sweep_per_host=10,
            connect=1.0,
            probe=PROBE_TIMEOUT,
            host=HOST_TIMEOUT,
            about="big estates on fast links: 30,000 packets/s, two probe connections per host",
        ),
    )
}
DEFAULT_PROFILE = "normal"

# Targets -------------------------------------------------------------------------------------------------
MAX_HOSTS = 65_536  # target sets above this need --max-hosts
MAX_INPUT_FILE_BYTES = 4 * 1024 * 1024  # a target, exclude or MAC file

# Network reads (every limit on device bytes lives in camscan.caps; these are ScanContext.Caps defaults) -----
BODY_CAP = caps.HTTP_BODY  # HTTP body bytes kept
HEADER_CAP = caps.HTTP_HEADER  # HTTP / RTSP header block
RTSP_CAP = caps.RTSP_RESPONSE  # whole RTSP response
BANNER_CAP = caps.TCP_BANNER  # raw TCP banner

# Identity on the wire ------------------------------------------------------------------------------------
USER_AGENT = f"camscan/{__version__} (inventory scan; no login)"
