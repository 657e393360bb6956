"""Every cap on what a device can make camscan read, decode, parse or match: one home, named limits.

A device chooses what it sends; these numbers choose how much of it any parser, decoder or matcher
ever sees, so the CPU and memory one device can cost stay bounded whatever it sends. Modules import
their limits from here (and may re-export them under their own names).
"""

from __future__ import annotations

KIB = 1024

# TCP answers (read caps: bytes kept of one response)
HTTP_BODY = 64 * KIB  # body prefix kept, decoded and matched
HTTP_HEADER = 16 * KIB  # one header value (realms are parsed from it)
HTTP_VALUES = 32  # values kept per header field per response: a peer may repeat a header without end
RTSP_RESPONSE = 16 * KIB  # whole RTSP response (status line, headers, body)
RTSP_HEADERS = 200  # header lines in one RTSP response
TCP_BANNER = 4 * KIB  # raw TCP banner
TLS_NAME = 1024  # characters kept of a certificate's subject or issuer

# Decoding text whose charset the device names
CHARSET_SNIFF = 2 * KIB  # bytes of a page searched for <meta charset>
CHARSET_LABEL = 40  # characters of a charset label read
XML_DECLARATION = 256  # bytes of an XML document searched for its encoding declaration

# HTML
TITLE_SPAN = 8 * KIB  # characters searched for </title> after <title>
TITLE_CHARS = 256  # characters kept of a title

# XML (defused; every document also obeys these counts)
XML_DEPTH = 32
XML_ELEMENTS = 4096
SOAP_XML = 64 * KIB  # a WS-Discovery datagram or an ONVIF answer
SADP_XML = 32 * KIB
UPNP_DESCRIPTION = 256 * KIB

# Datagrams
UDP_DATAGRAM = 64 * KIB  # read size of a discovery socket; larger datagrams are dropped unparsed
DHIP_DATAGRAM = 65535
DHIP_BODY = 32 * KIB
DVRIP_DATAGRAM = 8 * KIB
SSDP_DATAGRAM = 64 * KIB
SSDP_HEADERS = 64  # header lines read from one SSDP datagram

# Discovery floods (per probe run). Parsing is what costs: defused XML runs at 2-4 MB/s, so a byte budget
# per source (checked before parsing) bounds one flooder's CPU, and a total one bounds many (spoofed) ones.
UDP_DATAGRAMS_PER_HOST = 8  # decoded datagrams kept per replying host
UDP_PARSE_BYTES_PER_HOST = 64 * KIB  # bytes one source may make us parse, kept or not (~16 ms of XML)
UDP_PARSE_BYTES_TOTAL = 16 * KIB * KIB  # all sources together (1000 cameras answering 4 x 2 KiB is 8 MiB)
UDP_PARSE_CHARGE = 1 * KIB  # the least a datagram is charged: a tiny one still costs a parser setup
UDP_HOSTS = 4096  # distinct replying hosts tracked per run; datagrams from more are counted, not parsed
# A scan's discovery session lasts the whole scan: over a large range its caps grow with the targets, to
# these (no estate has more cameras answering one protocol on one /16; parsing stays bounded by the total).
UDP_HOSTS_SCAN = 16384
UDP_PARSE_BYTES_PER_HOST_SCAN = 2 * KIB  # of the total, per host tracked
UDP_OBSERVATIONS_PER_HOST = 512  # after de-duplication
MDNS_INSTANCES = 512  # DNS-SD instances resolved per run
MDNS_PER_HOST = 8  # DNS-SD instances kept per address

# Fingerprint matching (characters of a value the matcher searches)
MATCH_LONG = 64 * KIB  # page bodies
MATCH_SHORT = 4 * KIB  # headers, titles, realms, certificate names, discovery fields
