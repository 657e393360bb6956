"""Reverse-mapping (PTR) questions and answers, for DNS (RFC 1035) and LLMNR (RFC 4795, the same wire format).

dnspython builds and parses the messages; this module keeps the answers that name the address asked about,
as plain host names a report can show.
"""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.reversename

MAX_MESSAGE = 4096  # a PTR answer is small; EDNS0 lets a server send up to 4 KiB and no more is read
MAX_NAMES = 4  # PTR records kept per address
MAX_NAME = 253


class PtrParseError(ValueError):
    """The message is not an answer to our reverse question; str() says why, in one line."""


def reverse_query(ip: str, *, recursion: bool) -> dns.message.QueryMessage:
    """The PTR question for an IPv4 address (recursion desired for a DNS resolver; never for LLMNR)."""
    query = dns.message.make_query(dns.reversename.from_address(ip), dns.rdatatype.PTR)
    if not recursion:
        query.flags &= ~dns.flags.RD
    return query


def host_name(name: dns.name.Name) -> str | None:
    """A name as a report shows it (no final dot), or None when it is not a plain printable host name."""
    try:
        text = name.to_text(omit_final_dot=True)
    except dns.exception.DNSException:
        return None
    if not text or len(text) > MAX_NAME or "\\" in text or not text.isascii() or not text.isprintable():
        return None
    return text


def ptr_names(reply: dns.message.Message, query: dns.message.Message) -> tuple[str, ...]:
    """The host names a reply gives for the query's address (only its PTR records, at most MAX_NAMES)."""
    if not query.is_response(reply):
        raise PtrParseError("answers another question")
    if reply.rcode() != 0:
        return ()
    asked = query.question[0].name
    names: list[str] = []
    for rrset in reply.answer:
        if rrset.name != asked or rrset.rdtype != dns.rdatatype.PTR:
            continue
        for rdata in rrset:
            text = host_name(rdata.target)
            if text and text not in names and len(names) < MAX_NAMES:
                names.append(text)
    return tuple(names)


def parse_reply(wire: bytes, query: dns.message.Message) -> tuple[str, ...]:
    """ptr_names of a reply's wire bytes (capped); PtrParseError when it is not a DNS message."""
    if len(wire) > MAX_MESSAGE:
        raise PtrParseError(f"larger than {MAX_MESSAGE} bytes")
    try:
        reply = dns.message.from_wire(wire, ignore_trailing=True)
    except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
        raise PtrParseError(f"not a DNS message ({type(exc).__name__})") from None
    return ptr_names(reply, query)
