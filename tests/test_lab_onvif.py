"""The lab's ONVIF device service: onvif-zeep-async reads every ONVIF persona, credentials are checked against
the device's own (skewed) clock, and bad requests get SOAP faults, never a crash."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import httpx
import onvif
import pytest
import zeep.exceptions
from onvif import ONVIFCamera

from camlab import onvif as lab_onvif
from camlab.channels import OnvifSpec
from camlab.datagrams import wsd_probe_match
from camlab.loopback import ThreadedLab
from camlab.personas import PersonaError, load_persona, load_personas
from camlab.plan import LabDevice, default_personas_dir, plan_devices
from camscan.parse import soap, xmlsafe
from camscan.probes import onvif_soap
from tests.test_lab_channels import lab_token, soap_call, token

PERSONAS = load_personas(default_personas_dir())
ONVIF = [p.id for p in PERSONAS if p.channels.onvif]
WSDL = os.path.join(os.path.dirname(onvif.__file__), "wsdl")


def device_of(lab: ThreadedLab, pid: str) -> tuple[LabDevice, OnvifSpec]:
    device = next(d for d in lab.devices if d.persona.id == pid)
    assert device.persona.channels.onvif is not None
    return device, device.persona.channels.onvif


async def read_device(
    device: LabDevice, spec: OnvifSpec, user: str, password: str, adjust_time: bool = True
) -> tuple[Any, Any, Any]:
    """GetDeviceInformation and GetNetworkInterfaces the way camscan's ONVIF probe library does them."""
    cam = ONVIFCamera(device.ip, device.real_port(spec.port), user, password, WSDL, adjust_time=adjust_time)
    try:
        await cam.update_xaddrs()
        mgmt = await cam.create_devicemgmt_service()
        return await mgmt.GetDeviceInformation(), await mgmt.GetNetworkInterfaces(), cam.dt_diff
    finally:
        await cam.close()


@pytest.mark.parametrize("pid", ONVIF)
async def test_onvif_zeep_async_reads_every_onvif_persona(
    loopback_lab_runtime: ThreadedLab, pid: str
) -> None:
    device, spec = device_of(loopback_lab_runtime, pid)
    user, password = (spec.username, spec.password) if spec.auth == "required" else ("", "")
    info, nics, offset = await read_device(device, spec, user, password)
    assert (info.Manufacturer, info.Model) == (spec.manufacturer, spec.model)
    assert info.FirmwareVersion == spec.firmware
    assert info.SerialNumber == device.render(spec.serial or "")
    assert nics[0].Info.HwAddress == device.mac
    assert abs(offset.total_seconds() - spec.clock_skew) < 5


REQUIRED = [p.id for p in PERSONAS if p.channels.onvif and p.channels.onvif.auth == "required"]


@pytest.mark.parametrize("pid", REQUIRED)
async def test_required_auth_refuses_without_the_right_token(
    loopback_lab_runtime: ThreadedLab, pid: str
) -> None:
    device, spec = device_of(loopback_lab_runtime, pid)
    for user, password in (("", ""), (spec.username, "wrong"), ("operator", spec.password)):
        with pytest.raises(zeep.exceptions.Fault, match="Sender not Authorized"):
            await read_device(device, spec, user, password)


async def test_a_skewed_clock_refuses_tokens_from_the_client_clock(loopback_lab_runtime: ThreadedLab) -> None:
    device, spec = device_of(loopback_lab_runtime, "hikvision-ds2cd2347")
    assert spec.clock_skew >= 3600 and spec.auth == "required"
    with pytest.raises(zeep.exceptions.Fault, match="Sender not Authorized"):
        await read_device(device, spec, spec.username, spec.password, adjust_time=False)
    info, _, offset = await read_device(device, spec, spec.username, spec.password, adjust_time=True)
    assert info.Model == spec.model and offset.total_seconds() > 3600


async def post(device: LabDevice, spec: OnvifSpec, body: bytes, path: str = lab_onvif.PATH) -> httpx.Response:
    url = f"http://{device.ip}:{device.real_port(spec.port)}{path}"
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.post(url, content=body, headers={"Content-Type": lab_onvif.CONTENT_TYPE})


async def test_pre_auth_clock_and_faults(loopback_lab_runtime: ThreadedLab) -> None:
    lab = loopback_lab_runtime
    device, spec = device_of(lab, "hikvision-ds2cd2387")
    assert spec.clock_skew < 0
    reply = await post(device, spec, soap_call("GetSystemDateAndTime"))
    utc = next(xmlsafe.descendants(xmlsafe.parse(reply.content, max_bytes=65536), "UTCDateTime"))
    parts = {xmlsafe.local(e.tag): int(e.text or 0) for e in utc.iter() if len(e) == 0}
    clock = dt.datetime(
        parts["Year"],
        parts["Month"],
        parts["Day"],
        parts["Hour"],
        parts["Minute"],
        parts["Second"],
        tzinfo=dt.UTC,
    )
    assert reply.status_code == 200
    assert abs((clock - dt.datetime.now(dt.UTC)).total_seconds() - spec.clock_skew) < 5
    refused = await post(device, spec, soap_call("GetDeviceInformation"))
    assert (refused.status_code, soap.parse_fault(refused.content)) == (400, "ter:NotAuthorized")
    unknown = await post(device, spec, soap_call("SystemReboot", token(spec.username, spec.password, "x")))
    assert soap.parse_fault(unknown.content) == "ter:NotAuthorized"  # refused before it is even looked at
    anon, anon_spec = device_of(lab, "dahua-ipc-hdw5831")
    unsupported = await post(anon, anon_spec, soap_call("SystemReboot"))
    assert soap.parse_fault(unsupported.content) == "ter:ActionNotSupported"
    bad = await post(anon, anon_spec, b"<not-xml")
    assert (bad.status_code, soap.parse_fault(bad.content)) == (400, "ter:WellFormed")
    bomb = b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aa">]><e>&a;</e>'
    assert soap.parse_fault((await post(anon, anon_spec, bomb)).content) == "ter:WellFormed"
    not_soap = await post(anon, anon_spec, b"<Envelope/>")
    assert soap.parse_fault(not_soap.content) == "ter:InvalidArgs"
    huge = await post(anon, anon_spec, b"x" * 70_000)
    assert huge.status_code == 413
    plain = await post(anon, anon_spec, soap_call("GetDeviceInformation"), path="/other")
    assert plain.status_code != 200 or b"GetDeviceInformationResponse" not in plain.content
    assert lab.server.stats.internal_errors == 0


def header_with(element: str) -> Any:
    env = "http://www.w3.org/2003/05/soap-envelope"
    doc = f'<s:Envelope xmlns:s="{env}"><s:Header>{element}</s:Header></s:Envelope>'
    return xmlsafe.child(xmlsafe.parse(doc.encode(), max_bytes=65536), "Header")


def test_token_rules() -> None:
    spec = OnvifSpec(auth="required", clock_skew=7200)
    now = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
    device_time = (now + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert lab_onvif.token_ok(spec, header_with(token("admin", "camscan-lab", device_time)), now)
    client_time = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not lab_onvif.token_ok(spec, header_with(token("admin", "camscan-lab", client_time)), now)
    assert not lab_onvif.token_ok(spec, header_with(token("admin", "nope", device_time)), now)
    assert not lab_onvif.token_ok(spec, header_with(token("root", "camscan-lab", device_time)), now)
    as_text = token("admin", "camscan-lab", device_time).replace("#PasswordDigest", "#PasswordText")
    assert not lab_onvif.token_ok(spec, header_with(as_text), now)
    assert not lab_onvif.token_ok(spec, header_with("<Security/>"), now)
    assert not lab_onvif.token_ok(spec, None, now)


def _plan_one(tmp_path: Path, onvif_keys: str = "", auth: str = "anonymous") -> LabDevice:
    """One device of a small ONVIF persona whose [onvif] table gets `onvif_keys`."""
    text = f"""
id = "cam"
description = "test persona"
mac = "0a:00:00:00:00:00"
[[service]]
port = 8999
kind = "http"
[expect]
is_camera = true
watchlisted = false
[wsdiscovery]
scopes = ["onvif://www.onvif.org/name/Cam%20{{serial}}", "onvif://www.onvif.org/hardware/H1", "odm:x"]
[onvif]
port = 8999
auth = "{auth}"
model = "M1"
{onvif_keys}
"""
    path = tmp_path / "cam.toml"
    path.write_text(text, encoding="utf-8")
    return plan_devices([load_persona(path)], 1, "10.77.0.0/24")[0]


def _ask(device: LabDevice, operation: str) -> tuple[int, bytes]:
    spec = device.persona.channels.onvif
    assert spec is not None
    return lab_onvif.handle(device, spec, soap_call(operation))


def test_get_scopes_lists_what_the_device_announces(tmp_path: Path) -> None:
    device = _plan_one(tmp_path)
    status, body = _ask(device, "GetScopes")
    assert status == 200
    announced = wsd_probe_match(device, device.persona.channels.wsdiscovery).scopes  # type: ignore[arg-type]
    assert onvif_soap.parse_scopes(body) == list(announced)
    assert b"<tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>onvif://www.onvif.org/hardware/H1" in body


def test_persona_scopes_and_hostname_override_the_defaults(tmp_path: Path) -> None:
    plain = _plan_one(tmp_path)
    assert onvif_soap.parse_hostname(_ask(plain, "GetHostname")[1]) == "M1"  # the model, by default
    device = _plan_one(tmp_path, 'scopes = ["onvif://www.onvif.org/name/Other"]\nhostname = "cam-{mac_hex}"')
    assert onvif_soap.parse_scopes(_ask(device, "GetScopes")[1]) == ["onvif://www.onvif.org/name/Other"]
    hexmac = device.mac.replace(":", "")
    assert onvif_soap.parse_hostname(_ask(device, "GetHostname")[1]) == f"cam-{hexmac}"
    silent = _plan_one(tmp_path, "scopes = []")
    assert onvif_soap.parse_scopes(_ask(silent, "GetScopes")[1]) == []


def test_get_scopes_needs_a_token_where_auth_is_required(tmp_path: Path) -> None:
    device = _plan_one(tmp_path, auth="required")
    status, body = _ask(device, "GetScopes")
    assert (status, soap.parse_fault(body)) == (400, "ter:NotAuthorized")
    assert _ask(device, "GetHostname")[0] == 200  # PRE_AUTH: answered without a token
    spec = device.persona.channels.onvif
    assert spec is not None
    status, body = lab_onvif.handle(device, spec, soap_call("GetScopes", lab_token(spec)))
    assert status == 200 and len(onvif_soap.parse_scopes(body)) == 3


def test_bad_onvif_scopes_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match="'scopes' must be a list"):
        _plan_one(tmp_path, 'scopes = "onvif://www.onvif.org/name/X"')
