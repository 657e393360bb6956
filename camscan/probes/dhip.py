"""Dahua DHIP discovery (UDP 37810): DHDiscover.search, and client.notifyDevInfo turned into observations."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import ClassVar

from camscan.parse.dhip import (
    MAX_DATAGRAM,
    REPLY_METHOD,
    DhipEcho,
    DhipParseError,
    build_search,
    parse_reply,
)
from camscan.probes.udp import Channel, DatagramProbe, Decoder, ReplyDecoder

NAME = "dhip"
PORT = 37810
GROUP = "239.255.255.251"


# Observations of a reply datagram (every field it fills, its MAC, a claimed address); Reject for a request.
decode = ReplyDecoder(
    NAME,
    PORT,
    parse_reply,
    (DhipEcho, DhipParseError),
    REPLY_METHOD,
    ("vendor", "device_type", "device_class", "serial", "version", "machine_name"),
)


class DhipProbe(DatagramProbe):
    """Dahua DHIP: DHDiscover.search to 239.255.255.251:37810 on each segment and to each target."""

    name: ClassVar[str] = NAME
    # Devices answer the asker, and some to the group: listen there too.
    channel: ClassVar[Channel] = Channel(PORT, GROUP, listen_group=True, max_datagram=MAX_DATAGRAM)

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """One search with a fresh request id."""
        return (build_search(secrets.randbelow(2**31 - 1) + 1),), decode
