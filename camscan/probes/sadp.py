"""Hikvision SADP (UDP 37020): the inquiry, and a device's ProbeMatch turned into observations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import ClassVar

from camscan.parse.sadp import (
    MAX_BYTES,
    SadpEcho,
    SadpParseError,
    build_inquiry,
    parse_probe_match,
)
from camscan.probes.udp import Channel, DatagramProbe, Decoder, ReplyDecoder

NAME = "sadp"
PORT = 37020
GROUP = "239.255.255.250"


# Observations of a reply datagram (every field it fills, its MAC, a claimed address); Reject for a request.
decode = ReplyDecoder(
    NAME,
    PORT,
    parse_probe_match,
    (SadpEcho, SadpParseError),
    "ProbeMatch",
    ("device_type", "description", "serial", "software_version", "dsp_version", "oem_info", "activated"),
)


class SadpProbe(DatagramProbe):
    """Hikvision SADP: an inquiry to 239.255.255.250:37020 on each segment and to each target."""

    name: ClassVar[str] = NAME
    # Devices answer the asker, and some to the group: listen there too.
    channel: ClassVar[Channel] = Channel(PORT, GROUP, listen_group=True, max_datagram=MAX_BYTES)

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """One inquiry with a fresh request uuid."""
        return (build_inquiry(str(uuid.uuid4()).upper()),), decode
