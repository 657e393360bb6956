"""Personas: the shipped set is broad and valid, bad files fail in one clear line, replicas stay distinct."""

from __future__ import annotations

import re
from pathlib import Path

import netaddr
import pytest

from camlab.personas import BEHAVIOURS, PersonaError, load_persona, load_personas, replicate
from camlab.plan import LabError, default_personas_dir, plan_devices
from camscan.vendors import VendorDB

PERSONAS = load_personas(default_personas_dir())


def test_shipped_set_is_broad() -> None:
    cameras = [p for p in PERSONAS if p.expect.is_camera]
    makers = {p.expect.manufacturer for p in cameras if p.expect.manufacturer}
    relabels = [p for p in cameras if p.expect.brand and p.expect.brand != p.expect.manufacturer]
    others = {p.expect.device_type for p in PERSONAS if not p.expect.is_camera}
    hostile = {s.behaviour for p in PERSONAS for s in p.services if s.kind == "hostile"}
    assert len(PERSONAS) >= 30
    assert len(makers) > 20, sorted(makers)
    assert len({p.expect.brand for p in relabels}) >= 6
    assert {"printer", "nas", "router"} <= others
    banners = [s.banner for p in PERSONAS for s in p.services if s.kind == "tcp"]
    assert any(b.startswith(b"SSH-2.0-OpenSSH") for b in banners)
    assert hostile == BEHAVIOURS
    assert {s.kind for p in PERSONAS for s in p.services} == {"http", "https", "rtsp", "tcp", "hostile"}


def test_shipped_set_has_the_long_tail_patterns() -> None:
    by_id = {p.id: p for p in PERSONAS}
    onvif_ports = {p.channels.onvif.port for p in PERSONAS if p.channels.onvif}
    assert {80, 8899, 8999} <= onvif_ports  # ONVIF beside the web port and on the ports only ONVIF uses
    unnamed = [p for p in PERSONAS if p.expect.is_camera and not p.expect.manufacturer and p.channels.onvif]
    assert unnamed and all(p.channels.onvif and p.channels.onvif.auth == "anonymous" for p in unnamed)
    relabel = by_id["relabel-trendnet-tv-ip310pi"]  # the label's own MAC block, the maker's firmware
    assert relabel.mac.startswith("00:14:d1") and relabel.channels.onvif is not None
    assert relabel.channels.onvif.manufacturer == "TRENDnet" and relabel.expect.manufacturer == "hikvision"
    web_only = [p for p in PERSONAS if p.expect.manufacturer and not p.channels.names and p.ports == (80,)]
    assert any(p.expect.watchlisted for p in web_only)


def test_readme_states_the_persona_count() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    match = re.search(r'simulated devices \("personas"\): (\d+) of them', readme)
    assert match is not None and int(match.group(1)) == len(PERSONAS)


def test_relabels_name_the_real_maker_and_are_watchlisted() -> None:
    by_id = {p.id: p for p in PERSONAS}
    relabels = [
        ("ezviz-cs-c6n", "ezviz", "hikvision"),
        ("lts-cmip3042", "lts", "hikvision"),
        ("truvision-nvr22", "truvision", "hikvision"),
        ("amcrest-ip2m-841", "amcrest", "dahua"),
        ("lorex-nr9320", "lorex", "dahua"),
        ("imou-ranger2", "imou", "dahua"),
        ("icrealtime-ipmx", "ic-realtime", "dahua"),
        ("qsee-qcw2mpsl", "q-see", "dahua"),
    ]
    for pid, brand, maker in relabels:
        expect = by_id[pid].expect
        assert (expect.brand, expect.manufacturer, expect.watchlisted) == (brand, maker, True), pid


def test_expectations_use_known_vendor_ids() -> None:
    ids = VendorDB.builtin().ids()
    for p in PERSONAS:
        for vid in (p.expect.manufacturer, p.expect.brand):
            assert vid is None or vid in ids, f"{p.id}: unknown vendor id {vid}"


def test_hostile_and_unknown_hosts_expect_nothing() -> None:
    for p in PERSONAS:
        if any(s.kind == "hostile" for s in p.services):
            assert (p.expect.manufacturer, p.expect.is_camera, p.expect.watchlisted) == (None, False, False)
            assert int(p.mac[:2], 16) & 2, f"{p.id}: hostile hosts use locally administered MACs"


def test_global_macs_are_ieee_registrations() -> None:
    for p in PERSONAS:
        if int(p.mac[:2], 16) & 2:
            continue  # locally administered: makers without an IEEE block, hostile and virtual hosts
        org = netaddr.EUI(p.mac).oui.registration().org  # raises NotRegisteredError on a typo
        assert org, p.id


def test_only_hikvision_stacks_open_the_hikvision_sdk_port() -> None:
    # port 8000 alone is evidence for Hikvision; a stray one would mislead the scanner under test
    for p in PERSONAS:
        if 8000 in p.ports:
            assert p.expect.manufacturer == "hikvision", p.id


def test_facts_strings_are_exact() -> None:
    by_id = {p.id: p for p in PERSONAS}
    hik = by_id["hikvision-ds2cd2142"]
    https = next(s for s in hik.services if s.kind == "https")
    assert https.cert is not None
    assert https.cert.subject == "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"
    assert dict(hik.services[0].reply.headers if hik.services[0].reply else ())["Server"] == "App-webs/"
    sdk = next(s for s in hik.services if s.port == 8000)
    assert sdk.banner == bytes.fromhex("000000100000001e0000001e00000000")
    dahua = next(s for s in by_id["dahua-ipc-hdw5831"].services if s.kind == "rtsp")
    assert (dahua.server, dahua.realm) == ("Dahua Rtsp Server", "Login to {serial}")


GOOD = """
id = "{id}"
description = "test persona"
mac = "44:19:b6:00:00:00"
[[service]]
port = 80
kind = "http"
status = 401
headers = {{ Server = "App-webs/" }}
[expect]
manufacturer = "hikvision"
is_camera = true
watchlisted = true
"""


def write(tmp_path: Path, text: str, name: str = "cam") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_persona_loads(tmp_path: Path) -> None:
    p = load_persona(write(tmp_path, GOOD.format(id="cam")))
    assert p.ports == (80,)
    assert p.services[0].reply is not None and p.services[0].reply.headers == (("Server", "App-webs/"),)
    assert p.expect.brand is None and p.expect.device_type is None and not p.expect.needs_mac


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('kind = "http"', 'kind = "ftp"'), "'kind' must be one of"),
        (lambda t: t.replace('mac = "44:19:b6:00:00:00"', 'mac = "01:00:5e:00:00:01"'), "unicast MAC"),
        (lambda t: t.replace("status = 401", "status = 999"), "'status'"),
        (lambda t: t.replace("status = 401", "stauts = 401"), "unknown key 'stauts'"),
        (lambda t: t.replace("[expect]", "[expected]"), "unknown key 'expected'"),
        (lambda t: t.replace("is_camera = true", 'is_camera = "yes"'), "'is_camera' must be true or false"),
        (lambda t: t.replace('id = "cam"', 'id = "other"'), "differs from the file name"),
        (lambda t: t.replace('kind = "http"', 'kind = "https"'), "https needs cert"),
        (lambda t: t.replace('"App-webs/"', '"a\\r\\nX-Injected: 1"'), "line break"),
        (lambda t: t + '[[service]]\nport = 80\nkind = "tcp"\n', "two services on the same port"),
        (lambda t: t.replace("port = 80", "port = 70000"), "'port' must be an integer"),
        (lambda t: t + 'device_type = "toaster"\n', "unknown device_type"),
        (lambda t: t.replace("[[service]]", "[[service]\n"), "invalid TOML"),
    ],
)
def test_bad_persona_is_one_clear_line(tmp_path: Path, change: object, message: str) -> None:
    path = write(tmp_path, change(GOOD.format(id="cam")))  # type: ignore[operator]
    with pytest.raises(PersonaError) as info:
        load_persona(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_unreadable_inputs(tmp_path: Path) -> None:
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(PersonaError, match="not UTF-8"):
        load_persona(tmp_path / "bin.toml")
    with pytest.raises(PersonaError, match="no such personas directory"):
        load_personas(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PersonaError, match=r"no \*\.toml personas"):
        load_personas(tmp_path / "empty")


def test_replicas_get_distinct_macs_and_serials() -> None:
    n = 2 * len(PERSONAS) + 3
    devices = replicate(PERSONAS, n)
    assert [d.persona.id for d in devices[: len(PERSONAS)]] == [p.id for p in PERSONAS]
    assert devices[len(PERSONAS)].persona is PERSONAS[0]
    assert len({d.mac for d in devices}) == n
    assert all(d.mac[:11] == d.persona.mac[:11] for d in devices)
    serials = [d.serial for d in devices if d.serial is not None]
    assert len(set(serials)) == len(serials) and "#" not in "".join(serials)


def test_plan_lays_out_addresses_and_loopback_ports() -> None:
    devices = plan_devices(PERSONAS, 5, "127.88.1.0/24", loopback=True)
    assert [d.ip for d in devices] == [f"127.88.1.{i}" for i in range(2, 7)]
    hik = next(
        d
        for d in plan_devices(PERSONAS, len(PERSONAS), "127.88.1.0/24", loopback=True)
        if d.persona.id == "hikvision-ds2cd2142"
    )
    assert (hik.real_port(80), hik.real_port(443), hik.real_port(554), hik.real_port(8000)) == (
        10080,
        10443,
        10554,
        8000,
    )
    assert plan_devices(PERSONAS, 3, "10.77.0.0/24")[0].port_map == {}
    with pytest.raises(LabError, match=r"device count must be 1\.\.253"):
        plan_devices(PERSONAS, 254, "10.77.0.0/24")
    with pytest.raises(LabError, match="loopback mode needs"):
        plan_devices(PERSONAS, 3, "10.77.0.0/24", loopback=True)
    with pytest.raises(LabError, match="bad subnet"):
        plan_devices(PERSONAS, 3, "10.77.0.0/33")


def test_placeholders_render_per_device() -> None:
    devices = plan_devices(PERSONAS, len(PERSONAS), "10.77.0.0/24")
    device = next(d for d in devices if d.persona.id == "axis-m3045")
    hexmac = device.mac.replace(":", "")
    assert device.render("AXIS_WS_{MAC_HEX}") == f"AXIS_WS_{hexmac.upper()}"
    assert device.render("http://{ip}/ {mac_hex}") == f"http://{device.ip}/ {hexmac}"
    first, second = device.render("{nonce}"), device.render("{nonce}")
    assert len(first) == 32 and first != second
    assert device.render("function() { return 1; }") == "function() { return 1; }"
