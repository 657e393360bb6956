"""Hikvision SADP (UDP 37020): the inquiry, and a device's ProbeMatch turned into observations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import ClassVar

from camscan.models import Observation
from camscan.parse.sadp import (
    MAX_BYTES,
    SadpEcho,
    SadpParseError,
    SadpReply,
    build_inquiry,
    parse_probe_match,
)
from camscan.probes.udp import Channel, DatagramProbe, Decoder, Reject, claimed_address

NAME = "sadp"
PORT = 37020
GROUP = "239.255.255.250"


def reply_observations(reply: SadpReply) -> list[Observation]:
    """The observations one SADP ProbeMatch yields (field vocabulary of issue 3)."""
    activated = None if reply.activated is None else ("true" if reply.activated else "false")
    pairs = (
        ("sadp.reply", "ProbeMatch"),
        ("sadp.device_type", reply.device_type),
        ("sadp.description", reply.description),
        ("sadp.serial", reply.serial),
        ("sadp.software_version", reply.software_version),
        ("sadp.dsp_version", reply.dsp_version),
        ("sadp.oem_info", reply.oem_info),
        ("sadp.activated", activated),
        ("mac.address", reply.mac),
    )
    return [Observation(NAME, field, value, PORT) for field, value in pairs if value]


def decode(data: bytes, source: str) -> tuple[Observation, ...]:
    """Observations of a ProbeMatch datagram; Reject for an inquiry (ours looped back, or another tool's)."""
    try:
        reply = parse_probe_match(data)
    except SadpEcho as exc:
        raise Reject("echo", str(exc)) from None
    except SadpParseError as exc:
        raise Reject("malformed", str(exc)) from None
    return tuple(reply_observations(reply)) + claimed_address(NAME, reply.ipv4, source, PORT)


class SadpProbe(DatagramProbe):
    """Hikvision SADP: an inquiry to 239.255.255.250:37020 on each segment and to each target."""

    name: ClassVar[str] = NAME
    # Devices answer the asker, and some to the group: listen there too.
    channel: ClassVar[Channel] = Channel(PORT, GROUP, listen_group=True, max_datagram=MAX_BYTES)

    def conversation(self) -> tuple[Sequence[bytes], Decoder]:
        """One inquiry with a fresh request uuid."""
        return (build_inquiry(str(uuid.uuid4()).upper()),), decode
