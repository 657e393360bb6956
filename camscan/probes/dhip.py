"""Dahua DHIP discovery (UDP 37810): DHDiscover.search, and client.notifyDevInfo turned into observations."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import ClassVar

from camscan.models import Observation
from camscan.parse.dhip import (
    MAX_DATAGRAM,
    REPLY_METHOD,
    DhipEcho,
    DhipParseError,
    DhipReply,
    build_search,
    parse_reply,
)
from camscan.probes.udp import Channel, DatagramProbe, Decoder, Reject, claimed_address

NAME = "dhip"
PORT = 37810
GROUP = "239.255.255.251"


def reply_observations(reply: DhipReply) -> list[Observation]:
    """The observations one client.notifyDevInfo yields (field vocabulary of issue 3)."""
    pairs = (
        ("dhip.reply", REPLY_METHOD),
        ("dhip.vendor", reply.vendor),
        ("dhip.device_type", reply.device_type),
        ("dhip.device_class", reply.device_class),
        ("dhip.serial", reply.serial),
        ("dhip.version", reply.version),
        ("dhip.machine_name", reply.machine_name),
        ("mac.address", reply.mac),
    )
    return [Observation(NAME, field, value, PORT) for field, value in pairs if value]


def decode(data: bytes, source: str) -> tuple[Observation, ...]:
    """Observations of a notifyDevInfo datagram; Reject for a search request (ours or another tool's)."""
    try:
        reply = parse_reply(data)
    except DhipEcho as exc:
        raise Reject("echo", str(exc)) from None
    except DhipParseError as exc:
        raise Reject("malformed", str(exc)) from None
    return tuple(reply_observations(reply)) + claimed_address(NAME, reply.ipv4, source, PORT)


class DhipProbe(DatagramProbe):
    """Dahua DHIP: DHDiscover.search to 239.255.255.251:37810 on each segment and to each target."""

    name: ClassVar[str] = NAME
    # Devices answer the asker, and some to the group: listen there too.
    channel: ClassVar[Channel] = Channel(PORT, GROUP, listen_group=True, max_datagram=MAX_DATAGRAM)

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """One search with a fresh request id."""
        return (build_search(secrets.randbelow(2**31 - 1) + 1),), decode
