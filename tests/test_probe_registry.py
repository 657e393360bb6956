"""Which probes run on which port."""

from __future__ import annotations

import pytest

from camscan.context import DEFAULT_PORTS
from camscan.probes import PORT_PROBES, HttpProbe, RtspProbe, probes_for_port


def names(port: int) -> list[str]:
    return [p.name for p in probes_for_port(port)]


@pytest.mark.parametrize("port", [80, 443, 8000, 8080, 8443, 2020, 8899])
def test_web_ports_get_http(port: int) -> None:
    assert names(port) == ["http"]


@pytest.mark.parametrize("port", [554, 8554])
def test_rtsp_ports_get_rtsp(port: int) -> None:
    assert names(port) == ["rtsp"]


def test_unknown_ports_get_nothing_and_registry_is_explicit() -> None:
    assert names(37777) == [] and names(22) == []
    assert {"http": HttpProbe, "rtsp": RtspProbe} == PORT_PROBES
    assert all(probes_for_port(p) or p == 37777 for p in DEFAULT_PORTS)
