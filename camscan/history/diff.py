"""What changed between two sweeps: new, gone, moved, changed, newly watchlisted, remediated, misplaced.

Devices are matched by asset (same site), then by identity key in order of trust (serial, MAC, ONVIF endpoint
UUID, and the address only for devices with none of those), so sweeps of two sites compare too. A field that
one of the sweeps could not read (null) is not a change. When the newer sweep did not finish, devices it did
not see are "unseen", not "gone": it may simply not have reached them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from camscan.history.identity import identity_keys
from camscan.history.read import Sweep, stamp

FailOn = Literal["new-watchlisted", "any-watchlisted", "any-change"]
FAIL_ON: tuple[FailOn, ...] = ("new-watchlisted", "any-watchlisted", "any-change")
COMPARED = ("manufacturer", "brand", "model", "firmware", "device_type")
EXIT_CLEAN, EXIT_FOUND, EXIT_INCOMPLETE = 0, 1, 4
Device = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Moved:
    """The same device at a new address."""

    before: Device
    after: Device


@dataclass(frozen=True, slots=True)
class Changed:
    """The same device reporting another maker, brand, model, firmware or type."""

    before: Device
    after: Device
    fields: dict[str, tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class Misplaced:
    """A device that breaks the site's placement policy; `new` when it did not in the earlier sweep."""

    device: Device
    violations: tuple[str, ...]
    new: bool


@dataclass(frozen=True, slots=True)
class Diff:
    """The changes from sweep `old` (None: the site's first) to sweep `new`."""

    old: Sweep | None
    new: Sweep
    added: list[Device] = field(default_factory=list)
    gone: list[Device] = field(default_factory=list)
    unseen: list[Device] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    newly_watchlisted: list[Device] = field(default_factory=list)
    remediated: list[Device] = field(default_factory=list)
    misplaced: list[Misplaced] = field(default_factory=list)
    watchlisted: list[Device] = field(default_factory=list)  # every watchlisted device in the newer sweep

    @property
    def any_change(self) -> bool:
        """Something was added, went, moved, changed or became watchlisted, or a new misplacement."""
        return bool(
            self.added
            or self.gone
            or self.moved
            or self.changed
            or self.newly_watchlisted
            or self.remediated
            or any(m.new for m in self.misplaced)
        )

    def found(self, fail_on: FailOn) -> bool:
        """Whether this diff is something to report under --fail-on (exit 1)."""
        new_findings = bool(self.newly_watchlisted) or any(m.new for m in self.misplaced)
        present = bool(self.watchlisted) or bool(self.misplaced)
        return {
            "new-watchlisted": new_findings,
            "any-watchlisted": present,
            "any-change": present or self.any_change,
        }[fail_on]

    def exit_code(self, fail_on: FailOn = "any-watchlisted") -> int:
        """1 something to report, else 4 when the newer sweep did not finish, else 0."""
        if self.found(fail_on):
            return EXIT_FOUND
        return EXIT_CLEAN if self.new.complete else EXIT_INCOMPLETE


def _match_index(devices: Sequence[Device], by_asset: bool) -> dict[tuple[str, str], Device]:
    index: dict[tuple[str, str], Device] = {}
    for dev in devices:
        if by_asset and dev.get("asset") is not None:
            index.setdefault(("asset", str(dev["asset"])), dev)
        for key in identity_keys(dev):
            index.setdefault(key, dev)
    return index


def _pair(
    old: Sequence[Device], new: Sequence[Device], same_site: bool
) -> tuple[list[tuple[Device | None, Device]], list[Device]]:
    """Each newer device with its earlier self (or None), and the earlier devices left unmatched."""
    index = _match_index(old, same_site)
    taken: set[int] = set()
    pairs: list[tuple[Device | None, Device]] = []
    for dev in new:
        keys: list[tuple[str, str]] = []
        if same_site and dev.get("asset") is not None:
            keys.append(("asset", str(dev["asset"])))
        keys += identity_keys(dev)
        match = next((index[k] for k in keys if k in index and id(index[k]) not in taken), None)
        if match is not None:
            taken.add(id(match))
        pairs.append((match, dev))
    return pairs, [dev for dev in old if id(dev) not in taken]


def _changes(before: Device, after: Device) -> dict[str, tuple[Any, Any]]:
    return {
        name: (before.get(name), after.get(name))
        for name in COMPARED
        if before.get(name) and after.get(name) and before.get(name) != after.get(name)
    }


def compare(
    old: Sweep | None, old_devices: Sequence[Device], new: Sweep, new_devices: Sequence[Device]
) -> Diff:
    """The diff of two sweeps' devices (read.devices() of each)."""
    diff = Diff(old, new)
    same_site = old is not None and old.site == new.site
    pairs, left = _pair(old_devices, new_devices, same_site)
    for gone in left:
        (diff.gone if new.complete else diff.unseen).append(gone)
        if gone["watchlisted"] and new.complete:
            diff.remediated.append(gone)
    for before, after in pairs:
        if before is None:
            diff.added.append(after)
        else:
            if before["ip"] != after["ip"]:
                diff.moved.append(Moved(before, after))
            fields = _changes(before, after)
            if fields:
                diff.changed.append(Changed(before, after, fields))
        if after["watchlisted"]:
            diff.watchlisted.append(after)
            if before is None or not before["watchlisted"]:
                diff.newly_watchlisted.append(after)
        if after.get("placement"):
            was = bool(before and before.get("placement"))
            diff.misplaced.append(Misplaced(after, tuple(after["placement"]), new=not was))
    return diff


def _brief(dev: Device) -> dict[str, Any]:
    keys = ("ip", "mac", "serial", "manufacturer", "brand", "model", "firmware", "device_type", "watchlisted")
    out = {k: dev.get(k) for k in keys}
    out["identity"] = dev.get("identity") or identity_keys(dev)[0][0]
    if dev.get("watchlisted"):
        out["watchlists"] = sorted({h["list"] for h in dev.get("watchlist", ())})
    return out


def _sweep_json(sweep: Sweep | None) -> dict[str, Any] | None:
    if sweep is None:
        return None
    return {
        "id": sweep.id,
        "site": sweep.site,
        "scan_id": sweep.scan_id,
        "status": sweep.status,
        "started_at": stamp(sweep.started_at),
        "finished_at": stamp(sweep.finished_at),
    }


def to_json(diff: Diff, fail_on: FailOn = "any-watchlisted") -> dict[str, Any]:
    """The diff as JSON (`camscan diff --json`, notifications)."""
    changes = {
        "new": [_brief(d) for d in diff.added],
        "gone": [_brief(d) for d in diff.gone],
        "unseen": [_brief(d) for d in diff.unseen],
        "moved": [{"from": m.before["ip"], "to": m.after["ip"], **_brief(m.after)} for m in diff.moved],
        "changed": [
            {**_brief(c.after), "changes": {k: {"from": a, "to": b} for k, (a, b) in c.fields.items()}}
            for c in diff.changed
        ],
        "newly_watchlisted": [_brief(d) for d in diff.newly_watchlisted],
        "remediated": [_brief(d) for d in diff.remediated],
        "placement_violations": [
            {**_brief(m.device), "violations": list(m.violations), "new": m.new} for m in diff.misplaced
        ],
    }
    return {
        "site": diff.new.site,
        "from": _sweep_json(diff.old),
        "to": _sweep_json(diff.new),
        "complete": diff.new.complete,
        "watchlisted": len(diff.watchlisted),
        "counts": {name: len(items) for name, items in changes.items()},
        "changes": changes,
        "fail_on": fail_on,
        "exit_code": diff.exit_code(fail_on),
    }
