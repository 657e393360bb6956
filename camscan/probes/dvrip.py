"""Legacy Dahua DVRIP search (UDP 5050), unicast only: the request, and the binary reply as observations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from camscan.parse.dvrip import (
    MAX_DATAGRAM,
    DvripEcho,
    DvripParseError,
    build_search,
    parse_reply,
)
from camscan.probes.udp import Channel, DatagramProbe, Decoder, ReplyDecoder

NAME = "dvrip"
PORT = 5050


# Observations of a reply datagram (every field it fills, its MAC, a claimed address); Reject for a request.
decode = ReplyDecoder(
    NAME, PORT, parse_reply, (DvripEcho, DvripParseError), "search", ("model", "serial", "version")
)


class DvripProbe(DatagramProbe):
    """Legacy Dahua search on UDP 5050, sent to each target address (no group; we never broadcast)."""

    name: ClassVar[str] = NAME
    channel: ClassVar[Channel] = Channel(PORT, None, max_datagram=MAX_DATAGRAM)

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """The fixed 32-byte search request."""
        return (build_search(),), decode
