"""Records of the fingerprint database: one entry, its examples, and the error a bad entry raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from camscan.fingerprints.linear import LinearPattern
from camscan.inputs import InputError
from camscan.models import Strength

BUILTIN_ORIGIN = "camscan/fingerprints/data/"  # prefix of the origin of every shipped entry


class FingerprintError(InputError):
    """A fingerprint file or entry is unusable; str() is one line naming the file (and entry)."""

    def __init__(self, origin: str, what: str | None = None, entry: str | None = None) -> None:
        # FingerprintError("whole message") also works, for callers that build their own line.
        where = f"{origin}: fingerprint '{entry}'" if entry is not None else origin
        super().__init__(one_line(where if what is None else f"{where}: {what}"))
        self.origin = origin
        self.entry = entry


def one_line(text: str) -> str:
    """Collapse any line breaks so a message stays on one line."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Example:
    """A value the entry must match first, and the claims it must then yield."""

    value: str
    expect: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One entry: a regex over one observed field and what a match claims about the device."""

    id: str
    field: str
    pattern: LinearPattern  # RE2: linear-time matching whatever the pattern
    claims: Mapping[str, str]
    strength: Strength
    source: str
    examples: tuple[Example, ...]
    counterexamples: tuple[str, ...]
    origin: str  # the file it came from, for error messages
    tell: str | None = None  # a short phrase naming the format or trait that gives the maker away
