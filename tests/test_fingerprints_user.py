"""A user's own fingerprint folders: strict validation with one-line errors, and overriding built-ins."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from camscan.fingerprints import FingerprintDB, FingerprintError, read_file, self_test
from camscan.fingerprints.linear import LinearPattern, PatternError
from camscan.vendors import VendorDB

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fingerprints"
VENDOR_IDS = VendorDB.builtin().ids()

# folder -> (entry id named in the error or None for a file-level error, words the error must contain)
BAD = {
    "bad_regex": ("acme-broken-regex", "does not compile"),
    "bad_toml_syntax": (None, "invalid TOML"),
    "bad_missing_examples": ("acme-no-examples", "no examples"),
    "bad_shadowed": ("acme-model-title", "shadowed: entry 'acme-generic-title'"),
    "bad_counterexample": ("acme-axis-org", "counterexample"),
    "bad_unknown_vendor": ("acme-unknown-vendor", "unknown vendor id 'acme-cameras-inc'"),
    "bad_unknown_claim": ("acme-unknown-claim", "unknown claim key 'colour'"),
    "bad_expect": ("acme-wrong-expect", "expected 'Q2'"),
    "bad_lookahead": ("acme-both-names", "RE2) refuses it: lookaheads are not supported"),
    "bad_backreference": ("acme-repeated-word", "RE2) refuses it: backreferences are not supported"),
}
UNPARSEABLE = ["bad_regex", "bad_toml_syntax", "bad_lookahead", "bad_backreference"]
# Defects only visible once the file parses: self_test must report these too.
SEMANTIC = [name for name in BAD if name not in UNPARSEABLE]


@pytest.mark.parametrize("folder", sorted(BAD))
def test_load_rejects_bad_file_with_one_clear_line(folder: str) -> None:
    entry, words = BAD[folder]
    with pytest.raises(FingerprintError) as caught:
        FingerprintDB.load([FIXTURES / folder], vendor_ids=VENDOR_IDS)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(FIXTURES / folder / "site.toml") + ": ")
    assert words in message
    if entry is not None:
        assert f"fingerprint '{entry}'" in message


@pytest.mark.parametrize("folder", SEMANTIC)
def test_self_test_reports_each_defect_class(folder: str) -> None:
    entry, words = BAD[folder]
    db = FingerprintDB(read_file(FIXTURES / folder / "site.toml"))
    failures = self_test(db, VENDOR_IDS)
    assert any(f"fingerprint '{entry}'" in f and words in f and "site.toml" in f for f in failures), failures


@pytest.mark.parametrize("folder", UNPARSEABLE)
def test_unparseable_files_fail_before_self_test(folder: str) -> None:
    with pytest.raises(FingerprintError, match=r"site\.toml"):
        read_file(FIXTURES / folder / "site.toml")


def test_user_entry_is_tried_before_the_builtin_one() -> None:
    db = FingerprintDB.load([FIXTURES / "good_override"], vendor_ids=VENDOR_IDS)
    first = db.match("http.server", "DNVRS-Webs")
    assert first is not None and first.fingerprint == "site-hiwatch-dvr"
    assert first.claims["brand"] == "hiwatch"
    assert [m.fingerprint for m in db.match_all("http.server", "DNVRS-Webs")] == [
        "site-hiwatch-dvr",
        "hikvision-dnvrs-webs",
    ]
    acme = db.match("http.server", "AcmeCam/2.1")
    assert acme is not None and acme.claims["firmware"] == "2.1"
    app_webs = db.match("http.server", "App-webs/")  # built-in entries still apply
    assert app_webs is not None and app_webs.fingerprint == "hikvision-app-webs"
    builtin = FingerprintDB.builtin().match("http.server", "DNVRS-Webs")  # the shared built-in is untouched
    assert builtin is not None and builtin.fingerprint == "hikvision-dnvrs-webs"
    assert self_test(db, VENDOR_IDS) == []


def test_user_entry_reusing_a_builtin_id_replaces_it() -> None:
    db = FingerprintDB.load([FIXTURES / "good_replace_id"], vendor_ids=VENDOR_IDS)
    match = db.match("tcp.port", "8000")
    assert match is not None and match.claims == {"device_type": "server"}
    assert [fp.id for fp in db.entries()].count("hikvision-sdk-port-8000") == 1
    assert self_test(db, VENDOR_IDS) == []


def test_same_id_in_two_user_folders_is_an_error(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "dup.toml").write_text((FIXTURES / "good_override" / "site.toml").read_text())
    with pytest.raises(
        FingerprintError, match=r"dup\.toml: fingerprint 'site-hiwatch-dvr': id already used in .*site\.toml"
    ):
        FingerprintDB.load([FIXTURES / "good_override", other], vendor_ids=VENDOR_IDS)


def test_vendor_ids_are_checked_only_when_given() -> None:
    db = FingerprintDB.load([FIXTURES / "bad_unknown_vendor"])
    match = db.match("http.server", "AcmeCam/2.1")
    assert match is not None and match.claims["manufacturer"] == "acme-cameras-inc"


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FingerprintError, match="not a directory"):
        FingerprintDB.load([tmp_path / "nope"])


def _entry(field: str = "http.server", **keys: str) -> bytes:
    """One user file with one entry; keys are raw TOML values that replace the sane defaults."""
    values = {"id": '"x1"', "pattern": '"^X$"', "claims": '{ device_type = "camera" }', "strength": '"weak"'}
    values |= {"source": '"s"', "examples": '[ { value = "X" } ]'} | keys
    body = "".join(f"{key} = {value}\n" for key, value in values.items() if value)
    return f'field = "{field}"\n[[fingerprint]]\n{body}'.encode()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b'field = "http.server"\nfingerprints = []\n', "unknown top-level key 'fingerprints'"),
        (b"field = 3\n", "'field' must name an observed field"),
        (_entry(exmaples="[]"), "fingerprint 'x1': unknown key 'exmaples'"),
        (_entry(strength='"huge"'), "strength must be one of strong, medium, weak"),
        (_entry(id='"Bad Id"'), "entry #1: 'id' must be a lowercase slug"),
        (_entry(claims="{ device_type = 1 }"), "[claims] values must be strings"),
        (_entry(source=""), "fingerprint 'x1': missing 'source'"),
        (_entry(claims='{ device_type = "toaster" }'), "unknown device_type 'toaster'"),
        (_entry("tcp.port", strength='"strong"'), "entries for tcp.port may only be weak"),
        (_entry(pattern='"(?P<colour>X)"'), "named group 'colour' is not one of"),
        (_entry("http.servr"), "unknown field 'http.servr' (did you mean http.server"),
        (_entry("onvif.colour"), "unknown field 'onvif.colour'"),
    ],
)
def test_bad_user_entries_name_the_file_on_one_line(tmp_path: Path, content: bytes, words: str) -> None:
    (tmp_path / "mine.toml").write_bytes(content)
    with pytest.raises(FingerprintError) as caught:
        FingerprintDB.load([tmp_path], vendor_ids=VENDOR_IDS)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "mine.toml")) and words in message and "\n" not in message


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "huge.toml").write_bytes(b"# " + b"x" * (2 << 20))
    with pytest.raises(FingerprintError, match="larger than"):
        FingerprintDB.load([tmp_path])


@contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Fail instead of hanging the suite if a match ever backtracks (the bound is not a speed test)."""

    def stop(signum: int, frame: object) -> None:
        raise AssertionError(f"still matching after {seconds} s: the engine backtracked")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_catastrophic_user_patterns_load_and_a_title_built_to_backtrack_matches_in_linear_time() -> None:
    db = FingerprintDB.load([FIXTURES / "good_catastrophic"], vendor_ids=VENDOR_IDS)
    assert self_test(db, VENDOR_IDS) == []
    # In Python's re each of these takes exponential (or n^5) time: 30 digits already take minutes.
    hostile = ["1" * 4096 + " Cameras", "1" * 4096, "Acme" + " Acme" * 800 + " Q1234 Camera!"]
    with hang_guard(30):
        for value in hostile:
            assert db.match("http.title", value) is None
    assert db.match("http.title", "12 Camera") is not None
    nested = db.match("http.title", "Acme Cam Q1656 Camera")
    assert nested is not None and nested.claims["model"] == "Q1656"  # named groups still capture


def test_fuzz_finding_a_pattern_with_a_lone_surrogate_is_refused_not_a_crash() -> None:
    with pytest.raises(PatternError, match="not valid Unicode"):
        LinearPattern("a\ud821b")
    assert LinearPattern("Camera").search("\ud800 Camera") is not None  # a surrogate in a value is matched


def test_python_escapes_re2_spells_otherwise_still_work() -> None:
    dash = LinearPattern(r"^CPPLUS DVR\s?[-\u2013]\s?Web View$")  # \uXXXX is RE2's \x{XXXX}
    assert dash.search("CPPLUS DVR \u2013 Web View") is not None
    assert dash.pattern == r"^CPPLUS DVR\s?[-\u2013]\s?Web View$"  # shown as written
    end = LinearPattern(r"Camera\Z")  # Python's \Z is RE2's \z: the very end
    assert end.search("IP Camera") is not None and end.search("IP Camera\n") is None
    assert LinearPattern(r"a\\u2013").search("a\\u2013") is not None  # an escaped backslash stays one
