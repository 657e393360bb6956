"""Legacy Dahua DVRIP search (UDP 5050), unicast only: the request, and the binary reply as observations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from camscan.models import Observation
from camscan.parse.dvrip import (
    MAX_DATAGRAM,
    DvripEcho,
    DvripParseError,
    DvripReply,
    build_search,
    parse_reply,
)
from camscan.probes.udp import Channel, DatagramProbe, Decoder, Reject, claimed_address

NAME = "dvrip"
PORT = 5050


def reply_observations(reply: DvripReply) -> list[Observation]:
    """The observations one search reply yields (field vocabulary of issue 3)."""
    pairs = (
        ("dvrip.reply", "search"),
        ("dvrip.model", reply.model),
        ("dvrip.serial", reply.serial),
        ("dvrip.version", reply.version),
        ("mac.address", reply.mac),
    )
    return [Observation(NAME, field, value, PORT) for field, value in pairs if value]


def decode(data: bytes, source: str) -> tuple[Observation, ...]:
    """Observations of a search reply; Reject for a search request (ours or another tool's)."""
    try:
        reply = parse_reply(data)
    except DvripEcho as exc:
        raise Reject("echo", str(exc)) from None
    except DvripParseError as exc:
        raise Reject("malformed", str(exc)) from None
    return tuple(reply_observations(reply)) + claimed_address(NAME, reply.ipv4, source, PORT)


class DvripProbe(DatagramProbe):
    """Legacy Dahua search on UDP 5050, sent to each target address (no group; we never broadcast)."""

    name: ClassVar[str] = NAME
    channel: ClassVar[Channel] = Channel(PORT, None, max_datagram=MAX_DATAGRAM)

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """The fixed 32-byte search request."""
        return (build_search(),), decode
