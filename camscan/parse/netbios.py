"""NetBIOS node status (NBSTAT, RFC 1002 §4.2.17-18): the query, and the node-name table of a reply.

scapy builds and dissects the packets (its NBNS layers); this module caps what it is given, checks that the
reply answers our query, and keeps only names that can be shown: printable ASCII, at most 15 characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from scapy.layers.netbios import NBNSHeader, NBNSNodeStatusRequest, NBNSNodeStatusResponse

from camscan.oui import normalise_mac

PORT = 137
# A table may hold 255 names; a real host holds a handful, and scapy dissects at most 100 list items
# (conf.max_list_count): a reply with more is refused whole, as is one longer than 100 names can make
# (a 12-byte header, a 57-byte answer head, 18 bytes a name, 46 bytes of statistics).
MAX_NAMES = 100
MAX_DATAGRAM = 12 + 57 + MAX_NAMES * 18 + 46
NBSTAT = 0x21
WORKSTATION, SERVER = 0x00, 0x20  # name suffixes of a host's own (unique) name
_GROUP = 0x80  # NAME_FLAGS' G bit (its high byte, as scapy splits it): a group name, not a host's
_ACTIVE = 0x04  # NAME_FLAGS' ACT bit


class NetbiosParseError(ValueError):
    """The datagram is not a node status reply to our query; str() says why, in one line."""


@dataclass(frozen=True, slots=True)
class NodeName:
    """One entry of a node-name table."""

    name: str
    suffix: int
    group: bool
    active: bool


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """A node status reply: the names the host holds and the MAC it reports (its UNIT_ID)."""

    names: tuple[NodeName, ...]
    mac: str | None

    def host_name(self) -> str | None:
        """The host's own name: its first unique workstation (or server) name."""
        for suffix in (WORKSTATION, SERVER):
            for entry in self.names:
                if entry.suffix == suffix and not entry.group:
                    return entry.name
        return None


def build_query(transaction_id: int) -> bytes:
    """A unicast node status request for the wildcard name "*" (what `nmblookup -A` sends)."""
    header = NBNSHeader(NAME_TRN_ID=transaction_id & 0xFFFF, NM_FLAGS=0, QDCOUNT=1)
    return bytes(header / NBNSNodeStatusRequest())


def _name(raw: bytes) -> str | None:
    text = raw.rstrip(b" \x00").decode("ascii", "replace")
    return text if text and text.isprintable() and "\ufffd" not in text else None


def parse_reply(data: bytes, transaction_id: int) -> NodeStatus:
    """The node-name table of a reply to the query with this transaction id."""
    if len(data) > MAX_DATAGRAM:
        raise NetbiosParseError(f"larger than {MAX_DATAGRAM} bytes")
    if len(data) < 12 + 57:
        raise NetbiosParseError("too short for a node status reply")
    try:
        # Dissected as the two layers they must be, whatever flags the header carries (scapy binds the
        # answer layer to one exact flag value, and devices set others).
        header = NBNSHeader(data[:12])
        answer = NBNSNodeStatusResponse(data[12:])
    except Exception as exc:
        raise NetbiosParseError(f"not a NetBIOS packet ({type(exc).__name__})") from None
    if not header.RESPONSE or header.OPCODE != 0 or header.RCODE != 0:
        raise NetbiosParseError("not a successful response")
    if transaction_id & 0xFFFF != header.NAME_TRN_ID:
        raise NetbiosParseError("answers another query")
    if header.ANCOUNT < 1 or answer.RR_TYPE != NBSTAT:
        raise NetbiosParseError("no node status answer")
    names = tuple(
        NodeName(text, int(entry.SUFFIX), bool(entry.NAME_FLAGS & _GROUP), bool(entry.NAME_FLAGS & _ACTIVE))
        for entry in answer.NODE_NAME
        if (text := _name(bytes(entry.NETBIOS_NAME))) is not None
    )
    mac = normalise_mac(str(answer.MAC_ADDRESS)) if answer.MAC_ADDRESS else None
    return NodeStatus(names, mac if mac != "00:00:00:00:00:00" else None)
