"""parse/urls.py: the one same-host rule behind HTTP redirects, SSDP LOCATIONs and ONVIF XAddrs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camscan.parse.urls import MAX_URL, NotSameHost, PinnedUrl, pin
from camscan.probes.http import redirect_target
from camscan.probes.onvif import XAddrRefused, endpoint_for
from camscan.probes.ssdp import same_host_url

IP = "10.1.2.3"


@pytest.mark.parametrize(
    ("text", "base", "expected"),
    [
        ("/index.asp", f"http://{IP}:80/", PinnedUrl("http", IP, 80, "/index.asp")),
        (
            "doc/page/login.asp?_1",
            f"http://{IP}:8080/a/",
            PinnedUrl("http", IP, 8080, "/a/doc/page/login.asp?_1"),
        ),
        (f"https://u:pw@{IP}/doc?x=1#frag", f"http://{IP}:80/", PinnedUrl("https", IP, 443, "/doc?x=1")),
        (f"HTTP://{IP}:49152/rootDesc.xml", None, PinnedUrl("http", IP, 49152, "/rootDesc.xml")),
        (f"  http://{IP}  ", None, PinnedUrl("http", IP, 80, "/")),
    ],
)
def test_urls_on_the_devices_own_address_are_rebuilt_from_parts(
    text: str, base: str | None, expected: PinnedUrl
) -> None:
    assert pin(text, IP, base=base) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("http://10.1.2.4/", "not the device's own address"),
        ("//10.9.9.9/x", "not the device's own address"),  # scheme-relative: another host
        ("http://camera.example/", "not a URL on an IP address"),
        ("http://167838211/", "not a URL on an IP address"),  # 10.1.2.3 as one decimal number
        ("http://0x0a.1.2.3/", "not a URL on an IP address"),
        (f"ftp://{IP}/", "not http or https"),
        (f"javascript://{IP}/%0aalert(1)", "not http or https"),
        (f"http://{IP}:99999/", "not a URL on an IP address"),
        (f"http://{IP}/a\r\nSet-Cookie: x", "not a plain URL"),
        (f"http://{IP}/a b", "not a plain URL"),
        (f"http://{IP}/" + "a" * MAX_URL, "not a plain URL"),
        ("", "not a plain URL"),
    ],
)
def test_anything_else_is_refused_with_its_reason(text: str, why: str) -> None:
    with pytest.raises(NotSameHost, match=why):
        pin(text, IP, base=f"http://{IP}:80/" if text.startswith("//") else None)


def test_the_three_callers_share_the_rule() -> None:
    base = pin(f"http://{IP}/", IP)
    assert redirect_target(base, "/login") == PinnedUrl("http", IP, 80, "/login")
    assert redirect_target(base, "/") is None  # a redirect to itself is no redirect
    assert redirect_target(base, "http://10.1.2.4/") is None
    assert str(same_host_url(f"http://u:p@{IP}:1900/d.xml#f", IP)) == f"http://{IP}:1900/d.xml"
    assert same_host_url("http://10.1.2.4/d.xml", IP) is None
    assert endpoint_for(f"http://{IP}", IP).url(8080) == f"http://{IP}:8080/onvif/device_service"
    with pytest.raises(XAddrRefused, match=r"XAddr host '10\.1\.2\.4'"):
        endpoint_for("http://10.1.2.4/onvif/device_service", IP)


def test_ipv6_addresses_are_compared_as_addresses() -> None:
    assert pin("http://[::1]:8080/x", "0::1").url() == "http://[0::1]:8080/x"


@given(st.text(max_size=300), st.sampled_from([None, f"http://{IP}:80/a/"]))
def test_a_pinned_url_is_always_on_the_address_or_refused(text: str, base: str | None) -> None:
    try:
        pinned = pin(text, IP, base=base)
    except NotSameHost:
        return
    again = pin(pinned.url(), IP)
    assert again == pinned and pinned.ip == IP and pinned.scheme in ("http", "https")
    assert "#" not in pinned.path and "@" not in pinned.url().split("/", 3)[2]
