"""Parse the scan options that are more than a number: port lists, port maps and MAC files."""

from __future__ import annotations

from pathlib import Path

from camscan import oui

MAX_MAC_FILE_BYTES = 8 * 1024 * 1024


class OptionError(ValueError):
    """A bad option value; str() is one line for the user."""


def _port(text: str, what: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise OptionError(f"{what}: {text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise OptionError(f"{what}: {port} is not between 1 and 65535")
    return port


def parse_ports(text: str) -> tuple[int, ...]:
    """'80,443,8000-8010' -> sorted unique ports."""
    ports: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "-" in part:
            lo_text, _, hi_text = part.partition("-")
            lo, hi = _port(lo_text, "--ports"), _port(hi_text, "--ports")
            if hi < lo:
                raise OptionError(f"--ports: range {part!r} ends before it starts")
            ports.update(range(lo, hi + 1))
        else:
            ports.add(_port(part, "--ports"))
    if not ports:
        raise OptionError("--ports: no ports given")
    if len(ports) > 1024:
        raise OptionError(f"--ports: {len(ports)} ports is more than the 1024 a camera inventory needs")
    return tuple(sorted(ports))


def parse_discovery(text: str) -> tuple[str, ...]:
    """'wsdiscovery,sadp' -> the discovery protocols to run ('' or 'none' -> none)."""
    from camscan.probes import SEGMENT_PROBES

    names = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip() and p.strip() != "none"))
    unknown = [n for n in names if n not in SEGMENT_PROBES]
    if unknown:
        raise OptionError(f"--discovery: unknown protocol {unknown[0]!r}; known: {', '.join(SEGMENT_PROBES)}")
    return names


def parse_port_map(text: str) -> dict[int, int]:
    """'80=10080,554=10554' -> {80: 10080, 554: 10554} (logical port -> port to connect to)."""
    mapping: dict[int, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        logical, sep, real = part.partition("=")
        if not sep:
            raise OptionError(f"--port-map: {part!r} is not PORT=PORT")
        mapping[_port(logical.strip(), "--port-map")] = _port(real.strip(), "--port-map")
    return mapping


def read_mac_file(path: Path) -> dict[str, str]:
    """'IP MAC' (or IP,MAC) lines, # comments: MACs for hosts ARP cannot reach (DHCP or switch exports)."""
    try:
        if path.stat().st_size > MAX_MAC_FILE_BYTES:
            raise OptionError(f"--macs {path}: larger than {MAX_MAC_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OptionError:
        raise
    except UnicodeDecodeError:
        raise OptionError(f"--macs {path}: not UTF-8 text") from None
    except OSError as exc:
        raise OptionError(f"--macs {path}: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        item = line.split("#", 1)[0].replace(",", " ").split()
        if not item:
            continue
        if len(item) < 2:
            raise OptionError(f"--macs {path} line {number}: expected 'IP MAC'")
        ip, mac_text = item[0], item[1]
        parts = ip.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
            raise OptionError(f"--macs {path} line {number}: {ip!r} is not an IPv4 address")
        mac = oui.normalise_mac(mac_text)
        if mac is None:
            raise OptionError(f"--macs {path} line {number}: {mac_text!r} is not a MAC address")
        out[ip] = mac
    return out
