"""ONVIF WS-Discovery (UDP 3702): typed and untyped Probe, ProbeMatches turned into observations."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import urlsplit

from camscan.models import Observation
from camscan.oui import normalise_mac
from camscan.parse.soap import (
    MAX_BYTES,
    ONVIF_SCOPE,
    SCOPE_KEYS,
    ProbeMatch,
    SoapParseError,
    build_probe,
    decode_scopes,
    mac_from_endpoint,
    parse_probe_matches,
)
from camscan.probes.udp import Channel, DatagramProbe, Decoder, Reject

NAME = "wsdiscovery"
PORT = 3702
GROUP = "239.255.255.250"
TYPED = "dn:NetworkVideoTransmitter"  # some cameras answer only a typed probe (ZoneMinder PR #1645)


def _message_key(message_id: str) -> str:
    """A MessageID / RelatesTo compared the way firmwares vary it: case and uuid/urn prefixes aside."""
    text = message_id.strip().lower()
    for prefix in ("urn:", "uuid:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text


def _xaddr_host(xaddr: str) -> str | None:
    try:
        return urlsplit(xaddr).hostname
    except ValueError:
        return None


def _claimed(xaddr: str, source: str) -> bool:
    """Whether an XAddr points at another host than the one that answered (IPv6 literals excepted)."""
    host = _xaddr_host(xaddr)
    if host is None:
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return True  # a host name: nothing ties it to the replying address
    # The scan is IPv4; a device routinely lists its own IPv6 (link-local) address beside the IPv4 one.
    return addr.version == 4 and str(addr) != source


def scope_observations(scopes: Sequence[str]) -> list[tuple[str, str]]:
    """(field, value) pairs of scopes: wsd.scope.<key> for ONVIF keys, wsd.scope.other for the rest."""
    out: list[tuple[str, str]] = []
    for scope in scopes:
        if scope[: len(ONVIF_SCOPE)].lower() != ONVIF_SCOPE:
            out.append(("wsd.scope.other", scope))
            continue
        for key, values in decode_scopes([scope]).items():
            for value in values:
                if key in SCOPE_KEYS:
                    out.append((f"wsd.scope.{key}", value))
                else:  # a vendor extension (e.g. extension/unique_identifier/1)
                    out.append(("wsd.scope.other", f"{key}/{value}"))
    return out


def match_observations(match: ProbeMatch, source: str) -> list[Observation]:
    """The observations one ProbeMatch yields for the host that sent it (field vocabulary of issue 3)."""
    pairs: list[tuple[str, str]] = []
    if match.types:
        pairs.append(("wsd.types", " ".join(match.types)))
    scoped = scope_observations(match.scopes)
    pairs.extend(scoped)
    if match.scopes:
        pairs.append(("wsd.scopes", " ".join(match.scopes)))
    pairs.extend(("wsd.xaddr", xaddr) for xaddr in match.xaddrs)
    pairs.extend(("wsd.claimed_address", xaddr) for xaddr in match.xaddrs if _claimed(xaddr, source))
    if match.endpoint:
        pairs.append(("wsd.endpoint", match.endpoint))
    macs = [mac_from_endpoint(match.endpoint)] if match.endpoint else []
    macs.extend(normalise_mac(value) for field, value in scoped if field == "wsd.scope.mac")
    pairs.extend(("mac.address", mac) for mac in dict.fromkeys(macs) if mac)
    if match.metadata_version is not None:
        pairs.append(("wsd.metadata_version", str(match.metadata_version)))
    return [Observation(NAME, field, value, PORT) for field, value in pairs if value]


def decoder(message_ids: Sequence[str]) -> Decoder:
    """A decoder that keeps ProbeMatches answering one of our probes and drops everything else."""
    ours = {_message_key(m) for m in message_ids}

    def decode(data: bytes, source: str) -> tuple[Observation, ...]:
        try:
            matches = parse_probe_matches(data)
        except SoapParseError as exc:
            raise Reject("malformed", str(exc)) from None
        if not matches:  # a Probe (ours echoed, or another client's), Hello, Bye, a fault...
            raise Reject("not-a-match", "WS-Discovery message without a ProbeMatch")
        relates_to = matches[0].relates_to
        if relates_to is None or _message_key(relates_to) not in ours:
            raise Reject("unrelated", "ProbeMatches that answer none of our probes")
        found: list[Observation] = []
        for match in matches:
            found.extend(match_observations(match, source))
        return tuple(dict.fromkeys(found))

    return decode


class WsDiscoveryProbe(DatagramProbe):
    """ONVIF WS-Discovery: a typed and an untyped Probe to 239.255.255.250:3702 and to each target."""

    name: ClassVar[str] = NAME
    channel: ClassVar[Channel] = Channel(PORT, GROUP, listen_group=False, max_datagram=MAX_BYTES)

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """A typed and an untyped Probe, each with a new MessageID; answers must relate to one of them."""
        typed, untyped = f"uuid:{uuid.uuid4()}", f"uuid:{uuid.uuid4()}"
        payloads = (build_probe(typed, TYPED), build_probe(untyped, None))
        return payloads, decoder((typed, untyped))
