"""Placement policy: watchlisted devices never on subnets that forbid them; cameras only where expected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from camscan.sites import Placement


def _within(ip: str, networks: Sequence[IPv4Network]) -> IPv4Network | None:
    address = IPv4Address(ip)
    return next((net for net in networks if address in net), None)


def violations(device: Mapping[str, Any], policy: Placement) -> list[str]:
    """One sentence per rule the device breaks (a report device)."""
    found = []
    forbidden = _within(device["ip"], policy.no_watchlisted) if device["watchlisted"] else None
    if forbidden is not None:
        maker = device.get("manufacturer") or "a watchlisted maker"
        found.append(f"watchlisted ({maker}) on {forbidden}, where watchlisted devices must not be")
    if device["is_camera"] and policy.cameras and _within(device["ip"], policy.cameras) is None:
        expected = ", ".join(map(str, policy.cameras))
        found.append(f"a camera outside the camera subnets ({expected})")
    return found


def by_address(devices: Sequence[Mapping[str, Any]], policy: Placement) -> dict[str, list[str]]:
    """Violations of every device that breaks a rule, by its address."""
    out = {d["ip"]: violations(d, policy) for d in devices}
    return {ip: found for ip, found in out.items() if found}


def policy_record(policy: Placement) -> dict[str, list[str]]:
    """The policy as stored with a sweep."""
    return {
        "no_watchlisted": [str(n) for n in policy.no_watchlisted],
        "cameras": [str(n) for n in policy.cameras],
    }
