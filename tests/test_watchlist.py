"""Watchlists: built-in citations, relabelled brands, scope, and clear errors for bad user files."""

from __future__ import annotations

from pathlib import Path

import pytest

from camscan.vendors import VendorDB
from camscan.watchlist import Watchlist, WatchlistError, builtin, flag, load_file, select

V = VendorDB.builtin()
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "watchlists"
NAMED = {"huawei", "zte", "hytera", "hikvision", "dahua"}


def lists(*names: str) -> list[Watchlist]:
    return select(list(names), V)


def user(name: str) -> Watchlist:
    return load_file(FIXTURES / "good" / name, V)


def test_builtin_lists_and_their_members() -> None:
    shipped = builtin()
    assert set(shipped) == {"us-fcc-covered", "us-ndaa-889", "uk-prc-nil", "uk-bscc-2023"}
    for wl in shipped.values():
        assert wl.origin == "builtin"
        assert wl.source and wl.url.startswith("https://") and wl.updated
        assert {e.scope for e in wl.entries} == {"video-surveillance"}
        assert all(e.reason and e.source for e in wl.entries)
    for name in ("us-fcc-covered", "us-ndaa-889"):
        assert {e.vendor for e in shipped[name].entries} == NAMED
        assert all(e.affiliates for e in shipped[name].entries)
    prc = {e.vendor for e in shipped["uk-prc-nil"].entries}
    assert prc >= NAMED | {"uniview", "tiandy", "kedacom", "xiongmai"}
    bscc = {e.vendor for e in shipped["uk-bscc-2023"].entries}
    assert bscc == {"dahua", "hikvision", "honeywell", "huawei", "nuuo"}


def test_no_selection_means_every_builtin_list() -> None:
    assert {wl.id for wl in select([], V)} == set(builtin())


def test_ezviz_brand_on_a_hikvision_camera_is_explained() -> None:
    (hit,) = flag("hikvision", "ezviz", True, lists("us-fcc-covered"), V)
    assert (hit.list, hit.entity) == ("us-fcc-covered", "hikvision")
    assert hit.reason == "manufacturer hikvision (brand ezviz is a Hikvision subsidiary)"
    assert "FCC" in hit.source


def test_hilook_brand_alone_is_flagged_as_a_hikvision_product_line() -> None:
    (hit,) = flag(None, "hilook", True, lists("us-ndaa-889"), V)
    assert hit.entity == "hikvision"
    assert hit.reason == "brand hilook (hilook is a Hikvision product line)"


def test_subsidiary_as_manufacturer_is_flagged() -> None:
    (hit,) = flag("imou", None, True, lists("us-fcc-covered"), V)
    assert (hit.entity, hit.reason) == ("dahua", "manufacturer imou (imou is a Dahua subsidiary)")


@pytest.mark.parametrize("brand", ["amcrest", "lorex", "lts", "truvision", "annke"])
def test_oem_or_former_brand_alone_is_not_flagged(brand: str) -> None:
    assert flag(None, brand, True, select([], V), V) == ()
    assert flag(brand, None, True, select([], V), V) == ()


def test_amcrest_is_flagged_once_the_manufacturer_is_dahua() -> None:
    (hit,) = flag("dahua", "amcrest", True, lists("us-fcc-covered"), V)
    assert hit.reason == "manufacturer dahua (brand amcrest is an OEM customer of Dahua)"


def test_recognised_by_is_appended() -> None:
    (hit,) = flag("dahua", None, True, lists("us-ndaa-889"), V, recognised_by="DHIP discovery reply")
    assert hit.reason == "manufacturer dahua; recognised by DHIP discovery reply"


def test_one_hit_per_list() -> None:
    hits = flag("hikvision", "hikvision", True, select([], V), V)
    assert sorted(h.list for h in hits) == sorted(builtin())


def test_best_entry_wins_within_a_list() -> None:
    (hit,) = flag("ezviz", None, True, [user("group-and-brand.toml")], V)
    assert (hit.entity, hit.reason) == ("ezviz", "manufacturer ezviz")


def test_affiliates_false_covers_only_the_vendor_itself() -> None:
    wl = [user("no-affiliates.toml")]
    assert flag("ezviz", None, True, wl, V) == ()
    assert len(flag("hikvision", None, True, wl, V)) == 1


def test_non_camera_is_not_flagged_by_surveillance_lists() -> None:
    # A Huawei phone or router is not video surveillance equipment.
    assert flag("huawei", None, False, select([], V), V) == ()
    assert flag("hikvision", None, False, select([], V), V) == ()


def test_user_list_with_scope_all_flags_a_printer() -> None:
    wl = user("site-policy.toml")
    (hit,) = flag("hp", None, False, [wl], V)
    assert (hit.list, hit.entity, hit.reason) == ("site-policy", "hp", "manufacturer hp")
    assert hit.source == wl.source
    assert flag("uniview", None, False, [wl], V) == ()
    (cam,) = flag("uniview", None, True, [wl], V)
    assert cam.source == "SEC-12 annex B"


def test_user_file_defaults() -> None:
    wl = user("minimal.toml")
    assert wl.origin.endswith("minimal.toml")
    (entry,) = wl.entries
    assert (entry.scope, entry.affiliates, entry.source) == ("video-surveillance", False, "test fixture")
    assert (wl.description, wl.url, wl.updated) == ("", "", "")


def test_select_mixes_builtin_names_and_paths_and_ignores_repeats() -> None:
    path = str(FIXTURES / "good" / "minimal.toml")
    chosen = select(["uk-prc-nil", path, "uk-prc-nil"], V)
    assert [wl.id for wl in chosen] == ["uk-prc-nil", "minimal"]


def test_unknown_builtin_name_lists_the_known_ones() -> None:
    with pytest.raises(WatchlistError, match=r"^us-fcc: unknown watchlist .*us-fcc-covered"):
        select(["us-fcc"], V)


def test_duplicate_list_id_is_refused() -> None:
    path = FIXTURES / "bad" / "duplicate-id.toml"
    with pytest.raises(WatchlistError, match="duplicate watchlist id 'us-fcc-covered'") as info:
        select(["us-fcc-covered", str(path)], V)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad-toml.toml", "invalid TOML"),
        ("missing-title.toml", "missing 'title'"),
        ("missing-reason.toml", "entry 1: missing 'reason'"),
        ("unknown-vendor.toml", "unknown vendor id 'hikvison' (did you mean hikvision?)"),
        ("vendor-by-name.toml", "unknown vendor id 'Zhejiang Dahua Technology' (did you mean dahua?)"),
        ("bad-scope.toml", "scope 'cameras' must be"),
        ("empty.toml", "empty list"),
        ("duplicate-vendor.toml", "entry 2: duplicate entry for vendor 'dahua'"),
        ("unknown-key.toml", "unknown key 'afiliates'"),
        ("affiliates-not-bool.toml", "'affiliates' must be true or false"),
        ("bad-id.toml", "id 'My List!' must be"),
        ("not-utf8.toml", "not UTF-8"),
    ],
)
def test_bad_user_file_gives_one_line_error_with_the_path(name: str, message: str) -> None:
    path = FIXTURES / "bad" / name
    with pytest.raises(WatchlistError) as info:
        select([str(path)], V)
    text = str(info.value)
    assert f"{path}: " in text
    assert message in text
    assert "\n" not in text


def test_missing_file_and_huge_file(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="No such file"):
        load_file(tmp_path / "nope.toml", V)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 2_000_000 + "\n")
    with pytest.raises(WatchlistError, match="larger than"):
        load_file(big, V)
