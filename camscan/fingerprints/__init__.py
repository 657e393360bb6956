"""Fingerprints as data: TOML entries per observed field, matched first-wins and self-tested."""

from __future__ import annotations

from camscan.fingerprints.db import FingerprintDB
from camscan.fingerprints.loader import parse_bytes, read_file
from camscan.fingerprints.model import Example, Fingerprint, FingerprintError
from camscan.fingerprints.selftest import check_entry, self_test

__all__ = [
    "Example",
    "Fingerprint",
    "FingerprintDB",
    "FingerprintError",
    "check_entry",
    "parse_bytes",
    "read_file",
    "self_test",
]
