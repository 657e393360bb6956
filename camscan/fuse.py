"""Weigh a host's evidence into one verdict: maker, brand, model, firmware, serial, type, confidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from camscan import fields
from camscan.models import SURVEILLANCE_TYPES, Evidence, Strength, Verdict
from camscan.vendors import VendorDB

WEIGHT: dict[Strength, float] = {"strong": 0.9, "medium": 0.6, "weak": 0.3}
WEAKER: dict[Strength, Strength] = {"strong": "medium", "medium": "weak", "weak": "weak"}
# A maker or brand is named only above this score: one weak signal alone is never enough.
NAME_THRESHOLD = 0.5
# A rival candidate scoring at least this much is reported as a contradiction.
CONFLICT_THRESHOLD = 0.3
# Relations under which the brand's products are made by the parent maker itself.
OWN_PRODUCT_RELATIONS = frozenset({"subsidiary", "product-line"})
# Labels a relabeller sets (page titles, ONVIF Manufacturer, MAC blocks…): declared in camscan.fields.
LABEL_FIELDS = fields.LABEL_FIELDS
DERIVED = "derived:"  # note prefix of the maker a brand implies


@dataclass(frozen=True, slots=True)
class Candidate:
    """One value claimed for one key, with the evidence behind it."""

    value: str
    score: float
    support: tuple[Evidence, ...]


def _combine(weights: Iterable[float]) -> float:
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    return 1.0 - miss


def normalise_claims(evidence: Sequence[Evidence], vendors: VendorDB) -> list[Evidence]:
    """Put brand ids under `brand`, and add the maker a brand implies as derived evidence."""
    out: list[Evidence] = []
    for ev in evidence:
        claims = dict(ev.claims)
        maker = claims.get("manufacturer")
        if maker and maker in vendors.ids() and vendors.get(maker).kind == "brand":
            claims.pop("manufacturer")
            claims.setdefault("brand", maker)
        if claims != dict(ev.claims):
            ev = Evidence(ev.probe, ev.field, ev.value, claims, ev.strength, ev.port, ev.fingerprint, ev.note)
        out.append(ev)
        brand = claims.get("brand")
        if not brand or brand not in vendors.ids() or "manufacturer" in claims:
            continue
        parent = vendors.maker_of(brand)
        if parent == brand:
            continue
        info = vendors.get(brand)
        strength: Strength = ev.strength
        if info.relation not in OWN_PRODUCT_RELATIONS:
            strength = WEAKER[strength]
        if info.relation_confidence == "weak":
            strength = "weak"
        note = vendors.relation_note(brand) or f"{brand} -> {parent}"
        out.append(
            Evidence(
                ev.probe,
                ev.field,
                ev.value,
                {"manufacturer": parent},
                strength,
                ev.port,
                ev.fingerprint,
                f"{DERIVED} {note}",
            )
        )
    return out


def candidates(evidence: Sequence[Evidence], key: str) -> list[Candidate]:
    """Every value claimed for `key`, best first."""
    support: defaultdict[str, list[Evidence]] = defaultdict(list)
    for ev in evidence:
        value = ev.claims.get(key)
        if value:
            support[value].append(ev)
    ranked = [
        Candidate(value, _combine(_independent_weights(evs)), tuple(evs)) for value, evs in support.items()
    ]
    return sorted(ranked, key=lambda c: (-c.score, c.value))


def _independent_weights(evs: Sequence[Evidence]) -> list[float]:
    # The same fact seen twice (one banner on two ports) is one signal, not two.
    best: dict[tuple[str, str], float] = {}
    for ev in evs:
        key = (ev.field, ev.value)
        best[key] = max(best.get(key, 0.0), WEIGHT[ev.strength])
    return list(best.values())


def _pick(
    evidence: Sequence[Evidence], key: str, threshold: float = 0.0
) -> tuple[str | None, list[Candidate]]:
    ranked = candidates(evidence, key)
    if not ranked or ranked[0].score < threshold:
        return None, ranked
    return ranked[0].value, ranked


def _maker_score(ranked: list[Candidate], vendors: VendorDB) -> tuple[float, list[str]]:
    """Confidence in the top maker, lowered by rivals that are not the same company group."""
    top = ranked[0]
    group = vendors.affiliates_of(vendors.maker_of(top.value)) if top.value in vendors.ids() else {top.value}
    rivals = [c for c in ranked[1:] if c.value not in group and c.score >= CONFLICT_THRESHOLD]
    conflicts = [
        f"manufacturer {c.value} also claimed ({', '.join(sorted({e.field for e in c.support}))})"
        for c in rivals
    ]
    penalty = max((c.score for c in rivals), default=0.0)
    return max(0.0, top.score - 0.5 * penalty), conflicts


def from_maker_stack(ev: Evidence) -> bool:
    """Evidence a relabeller does not change: a fingerprint on the maker's own stack or value formats."""
    if ev.fingerprint is None or (ev.note or "").startswith(DERIVED):
        return False
    return fields.role(ev.field) in fields.MAKER_ROLES


def _label_makers(
    evs: Sequence[Evidence], manufacturer: str, vendors: VendorDB
) -> tuple[list[Candidate], list[str]]:
    """Makers named only by labels (outside the stack maker's group): the brands sold, and the conflicts."""
    group = _group(manufacturer, vendors)
    stack_fields = sorted(
        {e.field for e in evs if from_maker_stack(e) and e.claims.get("manufacturer") == manufacturer}
    )
    brands: list[Candidate] = []
    conflicts: list[str] = []
    for cand in candidates(evs, "manufacturer"):
        if cand.value in group or any(from_maker_stack(e) for e in cand.support):
            continue
        named_by = sorted({e.field for e in cand.support})
        if cand.score >= NAME_THRESHOLD and any(e.field != "mac.oui" for e in cand.support):
            brands.append(cand)
            conflicts.append(
                f"the label names {cand.value} ({', '.join(named_by)}) but the maker's own "
                f"{', '.join(stack_fields)} names {manufacturer}: "
                f"made by {manufacturer}, sold as {cand.value}"
            )
        elif cand.score >= CONFLICT_THRESHOLD:
            conflicts.append(f"manufacturer {cand.value} also claimed ({', '.join(named_by)})")
    return brands, conflicts


def _group(vid: str, vendors: VendorDB) -> frozenset[str]:
    return vendors.affiliates_of(vendors.maker_of(vid)) if vid in vendors.ids() else frozenset({vid})


def fuse(evidence: Sequence[Evidence], vendors: VendorDB) -> Verdict:
    """The verdict for one host; contradictions are reported, never silently dropped."""
    evs = normalise_claims(evidence, vendors)
    # The maker's own stack and formats outweigh labels and MAC blocks: a relabel changes the label only.
    stack_evs = [e for e in evs if from_maker_stack(e)]
    manufacturer, makers = _pick(stack_evs, "manufacturer", NAME_THRESHOLD)
    relabelled: list[Candidate] = []
    conflicts: list[str] = []
    confidence = 0.0
    if manufacturer:
        confidence, conflicts = _maker_score(makers, vendors)
        relabelled, label_conflicts = _label_makers(evs, manufacturer, vendors)
        conflicts.extend(label_conflicts)
    else:
        manufacturer, makers = _pick(evs, "manufacturer", NAME_THRESHOLD)
        if manufacturer:
            confidence, conflicts = _maker_score(makers, vendors)
    brand, brands = _pick(evs, "brand", NAME_THRESHOLD)
    if brand is None and relabelled:
        brand = relabelled[0].value
    if brand and manufacturer and vendors.maker_of(brand) not in (manufacturer, brand):
        related = vendors.maker_of(brand)
        conflicts.append(f"brand {brand} is usually made by {related}, but the evidence names {manufacturer}")
    for rival in brands[1:]:
        if (
            rival.score >= CONFLICT_THRESHOLD
            and brand
            and vendors.maker_of(rival.value) != vendors.maker_of(brand)
        ):
            conflicts.append(f"brand {rival.value} also claimed")
    if brand is None and manufacturer is not None:
        brand = manufacturer
    # A type stated by a maker's own fingerprint outranks any number of generic ones ("an ONVIF device",
    # "type/video_encoder"): NVRs answer those too, and generic claims must not add up against it.
    named_types = [e for e in evs if "device_type" in e.claims and _names_a_maker(e)]
    device_type, _ = _pick(named_types or evs, "device_type")
    if device_type is None and manufacturer and _implies_camera(makers[0], vendors):
        device_type = "camera"
    model, _ = _pick(evs, "model")
    firmware, _ = _pick(evs, "firmware")
    serial, _ = _pick(evs, "serial")
    is_camera = device_type in SURVEILLANCE_TYPES
    if not manufacturer and is_camera:
        # A camera of unknown make: confidence says how sure we are it is a camera at all.
        types = candidates(evs, "device_type")
        confidence = types[0].score if types else 0.0
    return Verdict(
        manufacturer=manufacturer,
        brand=brand,
        model=model,
        firmware=firmware,
        serial=serial,
        device_type=device_type,
        is_camera=is_camera,
        confidence=round(confidence, 2),
        conflicts=tuple(conflicts),
    )


def _names_a_maker(ev: Evidence) -> bool:
    return bool(ev.claims.get("manufacturer") or ev.claims.get("brand"))


def _implies_camera(maker: Candidate, vendors: VendorDB) -> bool:
    """A surveillance maker named by its own stack, or by a video-only MAC block, makes a camera."""
    if maker.value not in vendors.ids() or not vendors.get(maker.value).surveillance:
        return False
    return any(ev.field != "mac.oui" or _mac_camera(ev, maker.value, vendors) for ev in maker.support)


def _mac_camera(ev: Evidence, maker: str, vendors: VendorDB) -> bool:
    # Derived evidence (a brand's parent) keeps the brand's MAC block: judge the block's own vendor.
    block_vendor = vendors.from_name(ev.value) or maker
    return vendors.mac_suggests_camera(block_vendor, ev.value)


def recognised_by(evidence: Sequence[Evidence], manufacturer: str | None, vendors: VendorDB) -> str | None:
    """A short account of the strongest evidence for the maker, for the watchlist reason."""
    if not manufacturer:
        return None
    evs = [e for e in normalise_claims(evidence, vendors) if e.claims.get("manufacturer") == manufacturer]
    if not evs:
        return None
    # The maker's own stack and formats first: they are what a relabel cannot hide.
    evs.sort(key=lambda e: (not from_maker_stack(e), -WEIGHT[e.strength], e.field in LABEL_FIELDS, e.field))
    parts = []
    for ev in evs[:2]:
        value = ev.value if len(ev.value) <= 60 else ev.value[:57] + "..."
        parts.append(f"{ev.field} {value!r}" + (f" ({ev.note})" if ev.note else ""))
    return "; ".join(parts)
