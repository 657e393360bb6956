"""One host's work in process, with fakes: ONVIF endpoint choice, deadlines, and what a cut scan records."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from camscan import defaults
from camscan.context import ScanContext, Timeouts
from camscan.hostwork import HOST_DEADLINE_PASSED, SCAN_CUT_SHORT, HostWork, Prober
from camscan.limits import Limits
from camscan.models import Host, Observation, ProbeResult
from camscan.probes.onvif import OnvifProbe
from camscan.status import Status

IP = "10.9.0.5"


class FakeOnvif(OnvifProbe):
    """Answers OK only on the device services listed; records every one it was asked."""

    def __init__(self, working: set[str], delay: float = 0.0) -> None:
        super().__init__()
        self.working = working
        self.delay = delay
        self.asked: list[str] = []

    async def run(
        self, ctx: ScanContext, host: Host, xaddr: str, deadline: float | None = None
    ) -> ProbeResult:
        self.asked.append(xaddr)
        await asyncio.sleep(self.delay)
        status = Status.OK if xaddr in self.working else Status.PROTOCOL_ERROR
        return ProbeResult("onvif", host.ip, None, status)


@pytest.fixture
def ctx() -> Iterator[ScanContext]:
    yield ScanContext(http=httpx.AsyncClient(), limits=Limits(rate=100_000), timeouts=Timeouts(host=2.0))


async def nothing(hw: HostWork) -> None:
    return None


def settled_host(*open_ports: int) -> HostWork:
    """A host whose every port is already settled (no port check needed): open ones given, others closed."""
    hw = HostWork(IP)
    hw.ports = {p: Status.OK if p in open_ports else Status.REFUSED for p in defaults.PORTS}
    hw.probed_ports = set(defaults.PORTS)  # the web/RTSP probes are not what these tests watch
    return hw


def xaddr_seen(url: str) -> list[Observation]:
    return [Observation("wsdiscovery", "wsd.xaddr", url, 3702)]


async def test_without_an_xaddr_the_onvif_ports_are_asked_in_order_until_one_answers(
    ctx: ScanContext,
) -> None:
    onvif = FakeOnvif({f"http://{IP}:80/onvif/device_service"})
    hw = settled_host(80, 8899)
    await Prober(ctx, defaults.PORTS, onvif, nothing).run(hw)
    assert onvif.asked == [f"http://{IP}:8899/onvif/device_service", f"http://{IP}:80/onvif/device_service"]
    assert hw.onvif_ok and hw.finished


async def test_an_xaddr_on_its_own_port_comes_first_and_one_answer_is_enough(ctx: ScanContext) -> None:
    onvif = FakeOnvif({f"http://{IP}:8999/onvif/device_service"})
    hw = settled_host(80)
    prober = Prober(ctx, defaults.PORTS, onvif, nothing)
    prober.heard(hw, xaddr_seen(f"http://{IP}:8999/onvif/device_service"))
    await prober.run(hw)
    assert onvif.asked == [f"http://{IP}:8999/onvif/device_service"]


async def test_an_xaddr_for_another_address_is_never_followed(ctx: ScanContext) -> None:
    onvif = FakeOnvif(set())
    hw = settled_host()
    prober = Prober(ctx, defaults.PORTS, onvif, nothing)
    prober.heard(hw, xaddr_seen("http://10.9.0.99/onvif/device_service"))
    await prober.run(hw)
    assert onvif.asked == [] and hw.xaddrs == []


async def test_an_xaddr_heard_after_a_failed_guess_is_still_asked(ctx: ScanContext) -> None:
    late = f"http://{IP}:8999/onvif/device_service"
    onvif = FakeOnvif({late}, delay=0.05)
    hw = settled_host(80)
    prober = Prober(ctx, defaults.PORTS, onvif, nothing)
    running = asyncio.create_task(prober.run(hw))
    await asyncio.sleep(0.01)  # the port-80 guess is being asked
    prober.heard(hw, xaddr_seen(late))
    await running
    assert onvif.asked == [f"http://{IP}:80/onvif/device_service", late] and hw.onvif_ok


async def test_the_host_deadline_ends_its_probes_and_says_so(ctx: ScanContext) -> None:
    onvif = FakeOnvif(set(), delay=10.0)
    hw = settled_host(80)
    ctx.timeouts = Timeouts(host=0.3)
    await Prober(ctx, defaults.PORTS, onvif, nothing).run(hw)
    await asyncio.gather(*hw.jobs)  # each job records its own end at the same deadline
    onvif_results = [r for r in hw.results if r.probe == "onvif"]
    assert [(r.status, r.error) for r in onvif_results] == [(Status.TIMEOUT, HOST_DEADLINE_PASSED)]
    assert hw.finished and not hw.pending


async def test_a_port_check_the_host_deadline_cut_off_is_in_the_report_with_the_ports_it_missed(
    ctx: ScanContext,
) -> None:
    # A host with no open port looks the same as one whose ports were never asked: the record must differ.
    async def slow(hw: HostWork) -> None:
        await asyncio.sleep(10)

    hw = HostWork(IP)
    hw.ports = {80: Status.REFUSED}
    ctx.timeouts = Timeouts(host=0.2)
    await Prober(ctx, defaults.PORTS, None, slow).run(hw)
    [tcp] = [r for r in hw.results if r.probe == "tcp"]
    rest = ", ".join(str(p) for p in defaults.PORTS if p != 80)
    assert tcp.status is Status.TIMEOUT
    assert tcp.error == f"the host's 0.2 s ran out before its port check ended; not checked: {rest}"
    assert hw.finished and hw.open_ports == ()


async def test_a_finished_port_check_leaves_no_such_record(ctx: ScanContext) -> None:
    hw = settled_host()
    await Prober(ctx, defaults.PORTS, None, nothing).run(hw)
    assert [r for r in hw.results if r.probe == "tcp"] == []


async def test_a_scan_cut_short_records_what_it_cut_and_leaves_the_host_pending(ctx: ScanContext) -> None:
    onvif = FakeOnvif(set(), delay=10.0)
    hw = settled_host(80)
    prober = Prober(ctx, defaults.PORTS, onvif, nothing)
    running = asyncio.create_task(prober.run(hw))
    await asyncio.sleep(0.05)
    prober.cut_short = True
    for job in list(hw.jobs):
        job.cancel()
    running.cancel()
    await asyncio.gather(running, *hw.jobs, return_exceptions=True)
    assert [r.error for r in hw.results if r.probe == "onvif"] == [SCAN_CUT_SHORT]
    assert not hw.finished and hw.pending  # the report lists it among the hosts not fully probed
