"""Packets counted on the wire in a lab namespace (nftables counters): what camscan's --rate bounds."""

from __future__ import annotations

import json
import subprocess

COUNTER_TABLE = "camlab_sent"
# What a scanner starts: TCP SYNs, UDP datagrams and ICMP echo requests. Answers to what others started (RST,
# ACK, echo replies) are not counted.
COUNTER_RULES = f"""
table inet {COUNTER_TABLE} {{
    counter sent {{ }}
    chain out {{
        type filter hook output priority 0; policy accept;
        tcp flags & (syn | ack) == syn counter name "sent"
        meta l4proto udp counter name "sent"
        icmp type echo-request counter name "sent"
    }}
}}
"""


class PacketCounter:
    """Counts the packets the processes of one namespace start, while it is entered (`with`)."""

    def __init__(self, netns: str) -> None:
        self.netns = netns

    def _nft(self, *args: str, stdin: str | None = None) -> str:
        cmd = ["ip", "netns", "exec", self.netns, "nft", *args]
        # fixed argv of the lab's own tools; the namespace name is the lab's
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=True).stdout  # noqa: S603

    def __enter__(self) -> PacketCounter:
        self._nft("-f", "-", stdin=COUNTER_RULES)
        return self

    def __exit__(self, *exc: object) -> None:
        self._nft("delete", "table", "inet", COUNTER_TABLE)

    def count(self) -> int:
        """Packets counted so far."""
        data = json.loads(self._nft("-j", "list", "counter", "inet", COUNTER_TABLE, "sent"))
        return int(next(item["counter"]["packets"] for item in data["nftables"] if "counter" in item))
