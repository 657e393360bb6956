"""Join what probes saw to what it claims: fingerprint matches and MAC registrants become evidence."""

from __future__ import annotations

from collections.abc import Iterable

from camscan import fields
from camscan.claims import claims_for
from camscan.fingerprints import FingerprintDB
from camscan.models import Evidence, MacInfo, Observation, ProbeResult, Strength, Unmatched
from camscan.vendors import VendorDB

# Observations that name something, and observations that claim nothing but that a reader must see:
# both declared in the field vocabulary (camscan.fields).
NAMING_FIELDS = fields.NAMING_FIELDS
MAX_UNMATCHED_VALUE = 512
RECORDED_FIELDS = fields.RECORDED_NOTES
# Values longer than this (page bodies) are kept in the evidence as the matched excerpt only.
EXCERPT_OVER = 256


def from_results(
    ip: str, results: Iterable[ProbeResult], db: FingerprintDB, vendors: VendorDB
) -> tuple[list[Evidence], list[Unmatched]]:
    """Match every observation (fingerprints, then name/value rules); unknown naming values kept aside."""
    evidence: list[Evidence] = []
    unmatched: list[Unmatched] = []
    seen: set[tuple[str, str, int | None]] = set()
    for result in results:
        for obs in result.observations:
            key = (obs.field, obs.value, obs.port)
            if key in seen:
                continue
            seen.add(key)
            found, matched = of_observation(obs, db, vendors)
            evidence.extend(found)
            if not matched and obs.field in NAMING_FIELDS and obs.value.strip():
                unmatched.append(
                    Unmatched(ip, obs.probe, obs.field, obs.value[:MAX_UNMATCHED_VALUE], obs.port)
                )
    return evidence, unmatched


def of_observation(obs: Observation, db: FingerprintDB, vendors: VendorDB) -> tuple[list[Evidence], bool]:
    """The evidence of one observation (a fingerprint's match, a name/value rule's claim, a recorded note),
    and whether a fingerprint or a rule matched it."""
    found: list[Evidence] = []
    match = db.match(obs.field, obs.value)
    if match is not None:
        value = db.excerpt(match, obs.value) if len(obs.value) > EXCERPT_OVER else obs.value
        claims = dict(match.claims)
        found.append(
            Evidence(
                obs.probe, obs.field, value, claims, match.strength, obs.port, match.fingerprint, match.tell
            )
        )
    kept = obs.value[:MAX_UNMATCHED_VALUE]
    rule = claims_for(obs.field, obs.value, vendors)
    if rule is not None:
        claims, strength = rule
        found.append(
            Evidence(obs.probe, obs.field, kept, claims, strength, obs.port, None, "reported by the device")
        )
    if obs.field in RECORDED_FIELDS:
        note = RECORDED_FIELDS[obs.field]
        found.append(Evidence(obs.probe, obs.field, kept, {}, "weak", obs.port, None, note))
    return found, match is not None or rule is not None


def from_open_ports(ports: Iterable[int], db: FingerprintDB) -> list[Evidence]:
    """An open port can itself be a (weak) tell, such as Dahua's 37777."""
    out = []
    for port in ports:
        match = db.match("tcp.port", str(port))
        if match is not None:
            out.append(
                Evidence(
                    "tcp", "tcp.port", str(port), dict(match.claims), match.strength, port, match.fingerprint
                )
            )
    return out


def from_mac(info: MacInfo, source: str, vendors: VendorDB) -> Evidence | None:
    """The MAC block's registrant as evidence; weak for makers whose blocks are mostly not cameras."""
    if info.vendor is None or info.vendor not in vendors.ids() or info.registrant is None:
        return None
    vendor = vendors.get(info.vendor)
    key = "brand" if vendor.kind == "brand" else "manufacturer"
    # The registrant names the maker fairly well; whether that makes a camera is fusion's question.
    strength: Strength = "medium"
    return Evidence(
        source,
        "mac.oui",
        info.registrant,
        {key: vendor.id},
        strength,
        None,
        f"oui:{info.block}" if info.block else None,
    )
