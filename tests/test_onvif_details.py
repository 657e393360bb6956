"""ONVIF detail without credentials: host name, scopes and services, and where to look for the service."""

from __future__ import annotations

import pytest

from camscan.parse.soap import SoapParseError
from camscan.probes import onvif_soap
from camscan.probes.onvif import CANDIDATE_PORTS, MAX_ENDPOINTS, candidate_endpoints
from camscan.status import Status
from tests.test_probe_onvif import FIXTURES, IP, Device, probe, values

ENV = (
    '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">'
    "<env:Body>{}</env:Body></env:Envelope>"
)


async def test_an_open_device_says_its_name_scopes_and_services() -> None:
    result = await probe(Device())
    assert result.status is Status.OK
    assert values(result, "onvif.hostname") == ["IPCAM-LOBBY"]
    assert values(result, "wsd.scope.type") == ["video_encoder"]
    assert values(result, "wsd.scope.name") == ["HIKVISION DS-2CD2142FWD-I"]
    assert values(result, "wsd.scope.hardware") == ["DS-2CD2142FWD-I"]  # listed twice, kept once
    assert values(result, "wsd.scope.other") == ["http://123"]
    assert values(result, "onvif.service") == [
        "http://www.onvif.org/ver10/device/wsdl",
        "http://www.onvif.org/ver10/media/wsdl",
        "http://www.onvif.org/ver20/media/wsdl",
        "http://www.onvif.org/ver10/events/wsdl",
    ]
    assert {o.probe for o in result.observations} == {"onvif"}


async def test_a_device_that_gives_no_detail_keeps_its_identity() -> None:
    device = Device(details=False)
    result = await probe(device)
    assert result.status is Status.OK
    assert values(result, "onvif.manufacturer") == ["HIKVISION"]
    assert values(result, "onvif.hostname") == values(result, "onvif.service") == []
    assert [s.operation for s in device.seen][-3:] == ["GetHostname", "GetScopes", "GetServices"]


async def test_a_device_that_stalls_on_a_detail_gets_no_more_requests() -> None:
    device = Device(stall_on="GetHostname")
    result = await probe(device, probe=0.5)
    assert result.status is Status.OK and values(result, "onvif.manufacturer") == ["HIKVISION"]
    assert [s.operation for s in device.seen][-1] == "GetHostname"


def test_get_services_asks_for_no_capabilities() -> None:
    body = onvif_soap.build_request("GetServices").decode()
    assert "<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>" in body
    assert "<tds:GetHostname/>" in onvif_soap.build_request("GetHostname").decode()


def test_parsers_read_the_fixtures() -> None:
    assert onvif_soap.parse_hostname((FIXTURES / "hostname.xml").read_bytes()) == "IPCAM-LOBBY"
    assert len(onvif_soap.parse_scopes((FIXTURES / "scopes.xml").read_bytes())) == 6
    assert len(onvif_soap.parse_services((FIXTURES / "services.xml").read_bytes())) == 4


@pytest.mark.parametrize(
    "inner",
    [
        "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>true</tt:FromDHCP>"
        "</tds:HostnameInformation></tds:GetHostnameResponse>",
        f"<tds:GetHostnameResponse><tds:HostnameInformation><tt:Name>{'a' * 300}</tt:Name>"
        "</tds:HostnameInformation></tds:GetHostnameResponse>",
        "<tds:GetHostnameResponse><tds:HostnameInformation><tt:Name>\x7f</tt:Name>"
        "</tds:HostnameInformation></tds:GetHostnameResponse>",
    ],
)
def test_no_usable_host_name_is_none(inner: str) -> None:
    assert onvif_soap.parse_hostname(ENV.format(inner).encode()) is None


def test_scopes_and_services_are_capped_and_cleaned() -> None:
    items = "".join(
        f"<tds:Scopes><tt:ScopeItem>onvif://www.onvif.org/x/{n}</tt:ScopeItem></tds:Scopes>"
        for n in range(100)
    )
    items += "<tds:Scopes><tt:ScopeItem>has space</tt:ScopeItem></tds:Scopes>"
    scopes = onvif_soap.parse_scopes(
        ENV.format(f"<tds:GetScopesResponse>{items}</tds:GetScopesResponse>").encode()
    )
    assert len(scopes) == onvif_soap.MAX_SCOPES and "has space" not in scopes
    services = "".join(
        f"<tds:Service><tds:Namespace>urn:s:{n % 30}</tds:Namespace></tds:Service>" for n in range(200)
    )
    found = onvif_soap.parse_services(
        ENV.format(f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>").encode()
    )
    assert found == [f"urn:s:{n}" for n in range(onvif_soap.MAX_SERVICES)]


@pytest.mark.parametrize(
    "parse", [onvif_soap.parse_hostname, onvif_soap.parse_scopes, onvif_soap.parse_services]
)
def test_a_fault_or_garbage_is_not_an_answer(parse: object) -> None:
    for data in ((FIXTURES / "fault-notauthorized.xml").read_bytes(), b"<html>", b""):
        with pytest.raises(SoapParseError):
            parse(data)  # type: ignore[operator]


# --- where to ask -----------------------------------------------------------------------------------

HOST = "192.0.2.7"


def test_an_xaddr_on_the_hosts_own_address_comes_first_whatever_its_port() -> None:
    urls = candidate_endpoints(HOST, [f"http://{HOST}:8999/onvif/device_service"], open_ports=[80, 554])
    assert urls == [f"http://{HOST}:8999/onvif/device_service", f"http://{HOST}:80/onvif/device_service"]


def test_an_xaddr_naming_another_address_is_never_followed() -> None:
    xaddrs = ["http://192.0.2.99/onvif/device_service", "http://evil.example/onvif", "ftp://192.0.2.7/x"]
    assert candidate_endpoints(HOST, xaddrs, open_ports=[]) == []


def test_without_discovery_the_usual_onvif_ports_are_tried() -> None:
    assert candidate_endpoints(HOST, open_ports=[2020, 22]) == [f"http://{HOST}:2020/onvif/device_service"]
    every = candidate_endpoints(HOST)
    assert [int(u.split(":")[2].split("/")[0]) for u in every] == list(CANDIDATE_PORTS)
    assert 8999 in CANDIDATE_PORTS and 8899 in CANDIDATE_PORTS


def test_an_xaddr_keeps_its_scheme_and_path_and_duplicates_collapse() -> None:
    xaddrs = [f"https://{HOST}:8443/onvif/device_service", f"https://{HOST}:8443/onvif/device_service"]
    urls = candidate_endpoints(HOST, xaddrs, open_ports=[8080])
    assert urls == [f"https://{HOST}:8443/onvif/device_service", f"http://{HOST}:8080/onvif/device_service"]


def test_candidates_are_capped() -> None:
    xaddrs = [f"http://{HOST}:{9000 + n}/onvif/device_service" for n in range(20)]
    assert len(candidate_endpoints(HOST, xaddrs)) == MAX_ENDPOINTS


def test_the_probe_accepts_what_candidate_endpoints_gives() -> None:
    assert all(u.startswith(f"http://{IP}:") for u in candidate_endpoints(IP, open_ports=[80]))
