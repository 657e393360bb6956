"""The fingerprint database: built-in data plus user files, matched first-entry-wins per field."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from importlib import resources
from pathlib import Path

from camscan import caps
from camscan.fingerprints.loader import parse_bytes, read_file
from camscan.fingerprints.model import BUILTIN_ORIGIN, Fingerprint, FingerprintError
from camscan.fingerprints.selftest import LONG_FIELDS, check_entry
from camscan.models import Match

LONG_CAP = caps.MATCH_LONG  # http.body is a body prefix of up to 64 KiB
SHORT_CAP = caps.MATCH_SHORT  # headers, titles, realms, certificate names: far shorter in practice
MATCH_MEMO = 16_384  # (field, value) answers remembered per scan; beyond, values are matched afresh
MEMO_VALUE = 1024  # only short values are remembered (a page body is not): the memo stays under 20 MB


class FingerprintDB:
    """Ordered fingerprint entries, grouped by observed field."""

    def __init__(self, entries: Iterable[Fingerprint]) -> None:
        self._entries = list(entries)
        self._by_field: dict[str, list[Fingerprint]] = {}
        self._by_id: dict[str, Fingerprint] = {}
        for fp in self._entries:
            self._by_field.setdefault(fp.field, []).append(fp)
            self._by_id.setdefault(fp.id, fp)
        # An estate has many identical cameras: the same (field, value) is matched once, then looked up.
        self._seen: dict[tuple[str, str], Match | None] = {}

    @classmethod
    def builtin(cls) -> FingerprintDB:
        """The database shipped with camscan (loaded once, then cached)."""
        return _builtin()

    @classmethod
    def load(cls, user_dirs: Sequence[Path] = (), vendor_ids: Collection[str] | None = None) -> FingerprintDB:
        """Built-in entries plus every *.toml in user_dirs; user entries go first, fully validated."""
        builtin = _builtin().entries()
        user: list[Fingerprint] = []
        seen: dict[str, Fingerprint] = {}
        for directory in user_dirs:
            for fp in _read_dir(Path(directory)):
                if fp.id in seen:
                    raise FingerprintError(fp.origin, f"id already used in {seen[fp.id].origin}", fp.id)
                seen[fp.id] = fp
                user.append(fp)
        # A user entry reusing a built-in id replaces that entry.
        db = cls(user + [fp for fp in builtin if fp.id not in seen])
        for fp in user:
            problems = check_entry(db, fp, vendor_ids)
            if problems:
                raise FingerprintError(fp.origin, problems[0], fp.id)
        return db

    @staticmethod
    def cap(field: str) -> int:
        """How many leading characters of a value of this field are searched."""
        return LONG_CAP if field in LONG_FIELDS else SHORT_CAP

    def match(self, field: str, value: str) -> Match | None:
        """The first entry of this field that matches value, or None."""
        text = value[: self.cap(field)]
        key = (field, text)
        if key in self._seen:
            return self._seen[key]
        found = next((m for fp in self._by_field.get(field, ()) if (m := _match(fp, text)) is not None), None)
        if len(text) <= MEMO_VALUE and len(self._seen) < MATCH_MEMO:
            self._seen[key] = found
        return found

    def match_all(self, field: str, value: str) -> list[Match]:
        """Every entry of this field that matches value, in database order."""
        text = value[: self.cap(field)]
        found = (_match(fp, text) for fp in self._by_field.get(field, ()))
        return [m for m in found if m is not None]

    def fields(self) -> list[str]:
        """The observed fields that have at least one entry, sorted."""
        return sorted(self._by_field)

    def entries(self) -> list[Fingerprint]:
        """All entries in database order."""
        return list(self._entries)

    def excerpt(self, match: Match, value: str, context: int = 60) -> str:
        """The part of a long value the entry matched, with some context (for the report's evidence)."""
        fp = self._by_id.get(match.fingerprint)
        text = value[: self.cap(match.field)]
        hit = fp.pattern.search(text) if fp else None
        if hit is None:
            return text[: 2 * context]
        start, end = max(0, hit.start() - context), min(len(text), hit.end() + context)
        return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def _match(fp: Fingerprint, text: str) -> Match | None:
    hit = fp.pattern.search(text)
    if hit is None:
        return None
    claims = dict(fp.claims)
    claims.update({k: v.strip() for k, v in hit.groupdict().items() if v and v.strip()})
    return Match(
        fingerprint=fp.id, field=fp.field, claims=claims, strength=fp.strength, source=fp.source, tell=fp.tell
    )


def _read_dir(directory: Path) -> list[Fingerprint]:
    if not directory.is_dir():
        raise FingerprintError(str(directory), "not a directory of fingerprint *.toml files")
    entries: list[Fingerprint] = []
    for path in sorted(directory.glob("*.toml")):
        entries.extend(read_file(path))
    return entries


@functools.cache
def _builtin() -> FingerprintDB:
    data = resources.files("camscan.fingerprints").joinpath("data")
    entries: list[Fingerprint] = []
    for item in sorted(data.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".toml"):
            entries.extend(parse_bytes(item.read_bytes(), BUILTIN_ORIGIN + item.name))
    return FingerprintDB(entries)
