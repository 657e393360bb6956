"""Device personas: what one simulated device answers on each port, loaded from TOML and validated.

File format (one persona per file, ``camlab/personas/<id>.toml``, read as package data; the personas only a
routed lab serves live in ``camlab/personas/routed/``)::

    id = "hikvision-ds2cd2142"            # must equal the file name (without .toml)
    description = "…"                      # one line for humans
    mac = "44:19:b6:00:00:00"              # unicast; first 4 bytes are kept, replicas get the last 2
    serial = "DS-2CD2142FWD-I2019####"     # optional; the run of '#' becomes the device number
    source = "rapid7/recog @ 14fa1a7211e7 xml/http_servers.xml"  # optional: the public source of the strings
    icmp = true                            # answers ICMP echo (false: the namespace labs drop echo requests
                                           # to it with nftables, as a host firewall does)
    closed_ports = "reset"                 # what a port it does not serve does: "reset" (TCP RST, ICMP port
                                           # unreachable: the kernel's answer) or "drop" (silence: firewalled)

    [[service]]                            # one per open port; none at all: a host that answers only ping
    port = 80
    kind = "http"                          # http | https | rtsp | tcp | hostile
    ...kind-specific keys (below)...

    [expect]                               # the verdict a correct scan reports for this device
    manufacturer = "hikvision"             # vendor id; absent = null (unknown)
    brand = "ezviz"                        # vendor id of the label (= manufacturer when unrelabelled)
    is_camera = true
    device_type = "camera"                 # absent = not asserted (often not inferable)
    watchlisted = true                     # with camscan's default selection (every built-in list)
    needs_mac = false                      # true: the full verdict is only reachable with the MAC OUI

Kind-specific keys:

* ``http`` / ``https``: ``status`` (default 200), ``reason``, ``version`` ("HTTP/1.1"), ``headers`` (a table,
  or a list of ``[name, value]`` pairs when a name repeats, e.g. two Set-Cookie), ``body``; optional
  ``[service.paths."/index.asp"]`` tables with the same keys answer that path (query ignored); every other
  path gets the service-level answer. ``https`` also needs ``cert = { subject = "CN=…,O=…", issuer = "…" }``
  (issuer absent = self-signed). Content-Length and ``Connection: close`` are added unless given.
* ``rtsp``: ``server`` (Server header, optional), ``realm`` (optional: DESCRIBE then gets 401),
  ``auth`` ("digest" or "basic"), ``headers`` (extra, on every reply).
* ``tcp``: ``banner`` (text) or ``banner_hex`` sent on connect; ``reply_hex`` sent once after the first data.
* ``hostile``: ``behaviour`` = endless | silent | garbage | drip | huge-header; optional ``head`` (text
  the endless/drip behaviours start with), ``interval`` (drip seconds per byte), ``size`` (header bytes).

Discovery channels (optional tables, documented in channels.py): ``[wsdiscovery]``, ``[onvif]``,
``[sadp]``, ``[dhip]``, ``[dvrip]``, ``[[mdns]]``, ``[ssdp]``. What a scan must then also report goes into
``[expect]`` (all optional; strings take placeholders and are rendered per device in the manifest)::

    model = "DS-2CD2142FWD-I"              # as a discovery channel reports it
    firmware = "V5.5.0build 170725"
    serial = "{serial}"
    channels = ["wsdiscovery", "onvif", "sadp"]   # must name exactly the channel tables present
    needs_discovery = true                 # the full verdict is only reachable through these channels

Placeholders in any string: ``{serial}``, ``{mac_hex}`` / ``{MAC_HEX}`` (12 hex digits), ``{mac}`` / ``{MAC}``
(aa:bb:cc:dd:ee:ff, lower/upper case), ``{serial9}`` (the serial's last 9 characters, as Hikvision mDNS
names use), ``{ip}``, ``{uuid}`` (a stable random UUID per device), ``{stray_ip}``
(an address of the lab subnet that no device uses: the last host), and ``{nonce}`` (fresh 32 hex digits per
reply, for WWW-Authenticate).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, Literal

from camlab.channels import CHANNELS, Channels, parse_channels
from camlab.checks import PersonaError as PersonaError
from camlab.checks import check_keys, fail, string
from camscan.models import DEVICE_TYPES

Kind = Literal["http", "https", "rtsp", "tcp", "hostile"]
KINDS: tuple[Kind, ...] = ("http", "https", "rtsp", "tcp", "hostile")
BEHAVIOURS = frozenset({"endless", "silent", "garbage", "drip", "huge-header"})
MAX_FILE = 256 * 1024  # a persona file is small; anything bigger is a mistake
MAX_DEVICES = 65536  # replicas keep the 4th MAC byte and number the last two

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_TOP_KEYS = frozenset(
    {"id", "description", "mac", "serial", "source", "icmp", "closed_ports", "service", "expect", *CHANNELS}
)
CLOSED_PORTS = ("reset", "drop")
_EXPECT_KEYS = frozenset(
    {
        "manufacturer",
        "brand",
        "is_camera",
        "device_type",
        "watchlisted",
        "needs_mac",
        "model",
        "firmware",
        "serial",
        "channels",
        "needs_discovery",
    }
)
_RESPONSE_KEYS = frozenset({"status", "reason", "version", "headers", "body"})
_KIND_KEYS: dict[str, frozenset[str]] = {
    "http": _RESPONSE_KEYS | {"paths"},
    "https": _RESPONSE_KEYS | {"paths", "cert"},
    "rtsp": frozenset({"server", "realm", "auth", "headers"}),
    "tcp": frozenset({"banner", "banner_hex", "reply_hex"}),
    "hostile": frozenset({"behaviour", "head", "interval", "size"}),
}


Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class HttpReply:
    """One canned HTTP answer."""

    status: int = 200
    reason: str | None = None
    version: str = "HTTP/1.1"
    headers: Headers = ()
    body: str = ""


@dataclass(frozen=True, slots=True)
class CertSpec:
    """Subject and issuer of a served TLS certificate, as RFC 4514-like strings."""

    subject: str
    issuer: str


@dataclass(frozen=True, slots=True)
class Service:
    """One open port of a persona and how it answers."""

    port: int
    kind: Kind
    reply: HttpReply | None = None  # http/https: the answer for any path not in `paths`
    paths: Mapping[str, HttpReply] = field(default_factory=dict)
    cert: CertSpec | None = None
    server: str | None = None  # rtsp
    realm: str | None = None  # rtsp
    auth: Literal["digest", "basic"] = "digest"  # rtsp
    headers: Headers = ()  # rtsp extra headers
    banner: bytes = b""  # tcp
    reply_bytes: bytes = b""  # tcp
    behaviour: str | None = None  # hostile
    head: str | None = None  # hostile
    interval: float = 1.0  # hostile drip
    size: int = 70_000  # hostile huge-header


@dataclass(frozen=True, slots=True)
class Expect:
    """The verdict a correct scan reports for a persona."""

    manufacturer: str | None
    brand: str | None
    is_camera: bool
    watchlisted: bool
    device_type: str | None = None
    needs_mac: bool = False
    model: str | None = None  # templates: rendered per device in the manifest
    firmware: str | None = None
    serial: str | None = None
    channels: tuple[str, ...] = ()  # discovery channels the persona answers
    needs_discovery: bool = False  # the full verdict is only reachable through `channels`

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form for manifests."""
        return {
            "manufacturer": self.manufacturer,
            "brand": self.brand,
            "is_camera": self.is_camera,
            "device_type": self.device_type,
            "watchlisted": self.watchlisted,
            "needs_mac": self.needs_mac,
            "model": self.model,
            "firmware": self.firmware,
            "serial": self.serial,
            "channels": list(self.channels),
            "needs_discovery": self.needs_discovery,
        }


@dataclass(frozen=True, slots=True)
class Persona:
    """One kind of device: its MAC block, serial template, services and expected verdict."""

    id: str
    description: str
    mac: str
    services: tuple[Service, ...]
    expect: Expect
    serial: str | None = None
    source: str | None = None
    channels: Channels = field(default_factory=Channels)
    icmp: bool = True  # answers ICMP echo requests
    closed_ports: str = "reset"  # "drop": TCP/UDP to ports it does not serve get no answer at all

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(s.port for s in self.services)


@dataclass(frozen=True, slots=True)
class Replica:
    """A persona instantiated as device number `index`: its own MAC and serial."""

    index: int
    persona: Persona
    mac: str
    serial: str | None


_fail = fail
_check_keys = check_keys
_str = string


def _headers(where: str, raw: object) -> Headers:
    pairs: list[tuple[str, str]] = []
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        items: list[Any] = list(raw.items())
    elif isinstance(raw, list):
        items = raw
    else:
        raise _fail(where, "'headers' must be a table or a list of [name, value] pairs")
    for item in items:
        if not (isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise _fail(where, "each header must be a [name, value] pair of strings")
        name, value = item
        if not _HEADER_NAME_RE.match(name):
            raise _fail(where, f"bad header name {name!r}")
        if "\r" in value or "\n" in value:
            raise _fail(where, f"header {name} contains a line break")
        pairs.append((name, value))
    return tuple(pairs)


def _reply(where: str, data: Mapping[str, Any]) -> HttpReply:
    status = data.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise _fail(where, "'status' must be an integer 100..599")
    version = _str(where, data, "version") or "HTTP/1.1"
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise _fail(where, "'version' must be HTTP/1.0 or HTTP/1.1")
    return HttpReply(
        status=status,
        reason=_str(where, data, "reason"),
        version=version,
        headers=_headers(where, data.get("headers")),
        body=_str(where, data, "body") or "",
    )


def _hex(where: str, data: Mapping[str, Any], key: str) -> bytes:
    text = _str(where, data, key)
    if text is None:
        return b""
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise _fail(where, f"'{key}' is not hex") from None


def _web_service(where: str, port: int, kind: Kind, data: Mapping[str, Any]) -> Service:
    paths_raw = data.get("paths", {})
    if not isinstance(paths_raw, Mapping):
        raise _fail(where, "'paths' must be a table of path -> reply")
    paths: dict[str, HttpReply] = {}
    for path, sub in paths_raw.items():
        if not path.startswith("/") or not isinstance(sub, Mapping):
            raise _fail(where, f"path {path!r} must start with '/' and hold a reply table")
        _check_keys(f"{where} path {path}", sub, _RESPONSE_KEYS)
        paths[path] = _reply(f"{where} path {path}", sub)
    cert = None
    if kind == "https":
        raw = data.get("cert")
        if not isinstance(raw, Mapping):
            raise _fail(where, 'https needs cert = { subject = "CN=…" }')
        _check_keys(f"{where} cert", raw, ("subject", "issuer"))
        subject = _str(where, raw, "subject", required=True) or ""
        cert = CertSpec(subject=subject, issuer=_str(where, raw, "issuer") or subject)
    return Service(port=port, kind=kind, reply=_reply(where, data), paths=paths, cert=cert)


def _service(where: str, data: object) -> Service:
    if not isinstance(data, Mapping):
        raise _fail(where, "each [[service]] must be a table")
    kind = data.get("kind")
    if kind not in KINDS:
        raise _fail(where, f"'kind' must be one of {', '.join(KINDS)}")
    port = data.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise _fail(where, "'port' must be an integer 1..65535")
    where = f"{where} port {port}"
    _check_keys(where, data, _KIND_KEYS[kind] | {"kind", "port"})
    if kind in ("http", "https"):
        return _web_service(where, port, kind, data)
    if kind == "rtsp":
        auth = data.get("auth", "digest")
        if auth not in ("digest", "basic"):
            raise _fail(where, "'auth' must be digest or basic")
        return Service(
            port=port,
            kind=kind,
            server=_str(where, data, "server"),
            realm=_str(where, data, "realm"),
            auth=auth,
            headers=_headers(where, data.get("headers")),
        )
    if kind == "tcp":
        if "banner" in data and "banner_hex" in data:
            raise _fail(where, "give 'banner' or 'banner_hex', not both")
        banner = (_str(where, data, "banner") or "").encode() or _hex(where, data, "banner_hex")
        return Service(port=port, kind=kind, banner=banner, reply_bytes=_hex(where, data, "reply_hex"))
    behaviour = data.get("behaviour")
    if behaviour not in BEHAVIOURS:
        raise _fail(where, f"'behaviour' must be one of {', '.join(sorted(BEHAVIOURS))}")
    interval = data.get("interval", 1.0)
    size = data.get("size", 70_000)
    if not isinstance(interval, int | float) or not 0.01 <= interval <= 60:
        raise _fail(where, "'interval' must be 0.01..60 seconds")
    if not isinstance(size, int) or not 1 <= size <= 16 * 1024 * 1024:
        raise _fail(where, "'size' must be 1..16777216 bytes")
    return Service(
        port=port,
        kind="hostile",
        behaviour=behaviour,
        head=_str(where, data, "head"),
        interval=float(interval),
        size=size,
    )


def _expect_channels(where: str, data: Mapping[str, Any], present: tuple[str, ...]) -> tuple[str, ...]:
    raw = data.get("channels")
    if raw is None:
        return present
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise _fail(where, "[expect] 'channels' must be a list of channel names")
    unknown = sorted(set(raw) - set(CHANNELS))
    if unknown:
        raise _fail(where, f"[expect] unknown channel(s) {', '.join(unknown)}")
    if set(raw) != set(present) or len(raw) != len(set(raw)):
        raise _fail(where, f"[expect] channels {sorted(raw)} differ from the tables {sorted(present)}")
    return tuple(c for c in CHANNELS if c in raw)


def _expect(where: str, data: object, present: tuple[str, ...] = ()) -> Expect:
    if not isinstance(data, Mapping):
        raise _fail(where, "missing [expect] table")
    _check_keys(f"{where} [expect]", data, _EXPECT_KEYS)
    flags: dict[str, bool] = {}
    for key, required in (
        ("is_camera", True),
        ("watchlisted", True),
        ("needs_mac", False),
        ("needs_discovery", False),
    ):
        value = data.get(key, None if required else False)
        if not isinstance(value, bool):
            raise _fail(where, f"[expect] '{key}' must be true or false")
        flags[key] = value
    device_type = _str(where, data, "device_type")
    if device_type is not None and device_type not in DEVICE_TYPES:
        raise _fail(where, f"[expect] unknown device_type {device_type!r}")
    channels = _expect_channels(where, data, present)
    if flags["needs_discovery"] and not channels:
        raise _fail(where, "[expect] needs_discovery without any discovery channel")
    return Expect(
        manufacturer=_str(where, data, "manufacturer"),
        brand=_str(where, data, "brand"),
        device_type=device_type,
        model=_str(where, data, "model"),
        firmware=_str(where, data, "firmware"),
        serial=_str(where, data, "serial"),
        channels=channels,
        **flags,
    )


def parse_persona(data: Mapping[str, Any], where: str) -> Persona:
    """Validate one persona's decoded TOML; `where` names it in errors."""
    _check_keys(where, data, _TOP_KEYS)
    pid = _str(where, data, "id", required=True) or ""
    if not _ID_RE.match(pid):
        raise _fail(where, f"id {pid!r} must be a lowercase slug")
    mac = (_str(where, data, "mac", required=True) or "").lower()
    if not _MAC_RE.match(mac) or int(mac[:2], 16) & 1:
        raise _fail(where, f"mac {mac!r} must be a unicast MAC like 44:19:b6:00:00:00")
    icmp = data.get("icmp", True)
    if not isinstance(icmp, bool):
        raise _fail(where, "'icmp' must be true or false")
    raw_services = data.get("service", [])
    if not isinstance(raw_services, list):
        raise _fail(where, "each [[service]] must be a table")
    if not raw_services and not icmp:
        raise _fail(where, "needs a [[service]] or icmp = true (nothing could find it)")
    closed_ports = data.get("closed_ports", "reset")
    if closed_ports not in CLOSED_PORTS:
        raise _fail(where, f"'closed_ports' must be one of {', '.join(CLOSED_PORTS)}")
    services = tuple(_service(where, s) for s in raw_services)
    ports = [s.port for s in services]
    if len(set(ports)) != len(ports):
        raise _fail(where, "two services on the same port")
    channels = parse_channels(where, data, frozenset(s.port for s in services if s.kind == "http"))
    return Persona(
        id=pid,
        description=_str(where, data, "description", required=True) or "",
        mac=mac,
        services=services,
        expect=_expect(where, data.get("expect"), channels.names),
        channels=channels,
        serial=_str(where, data, "serial"),
        source=_str(where, data, "source"),
        icmp=icmp,
        closed_ports=closed_ports,
    )


def load_persona(path: Traversable) -> Persona:
    """Read and validate one persona file (a path, or a file of the installed package's data)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(str(path), f"cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE:
        raise _fail(str(path), f"larger than {MAX_FILE} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _fail(str(path), "not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(str(path), f"invalid TOML ({exc})") from None
    persona = parse_persona(data, str(path))
    if persona.id != path.name.removesuffix(".toml"):
        raise _fail(str(path), f"id {persona.id!r} differs from the file name")
    return persona


def load_personas(directory: Traversable) -> list[Persona]:
    """Every ``*.toml`` persona in a directory (a path or package data), sorted by id."""
    if not directory.is_dir():
        raise PersonaError(f"{directory}: no such personas directory")
    files = sorted(
        (p for p in directory.iterdir() if p.name.endswith(".toml") and p.is_file()), key=lambda p: p.name
    )
    personas = [load_persona(p) for p in files]
    if not personas:
        raise PersonaError(f"{directory}: no *.toml personas")
    return personas


def _serial_for(template: str | None, index: int) -> str | None:
    if template is None:
        return None
    match = re.search(r"#+", template)
    if match is None:
        return template
    width = len(match.group())
    return template[: match.start()] + f"{index:0{width}d}"[-width:] + template[match.end() :]


def replicate(personas: Sequence[Persona], n: int) -> list[Replica]:
    """`n` devices cycling through `personas`; device i gets MAC low bytes i and serial number i."""
    if not personas:
        raise PersonaError("no personas to replicate")
    if not 1 <= n <= MAX_DEVICES:
        raise PersonaError(f"device count must be 1..{MAX_DEVICES}")
    out = []
    for i in range(n):
        persona = personas[i % len(personas)]
        mac = f"{persona.mac[:11]}:{i >> 8:02x}:{i & 0xFF:02x}"
        out.append(Replica(index=i, persona=persona, mac=mac, serial=_serial_for(persona.serial, i)))
    return out
