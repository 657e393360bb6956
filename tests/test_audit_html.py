"""The HTML audit report, rendered by headless Chromium: the counts an auditor reads are the sweep's own."""

from __future__ import annotations

from pathlib import Path

from camscan.export import render
from camscan.history.database import open_engine, parse_target
from tests.chromekit import Page, chromium, require_chromium
from tests.historykit import device, record, recorded, variant

COUNTS = (
    "Object.fromEntries([...document.querySelectorAll('[data-count]')]"
    ".map(e => [e.dataset.count, e.innerText]))"
)
SECTIONS = "[...document.querySelectorAll('section[data-device]')].map(e => e.dataset.device)"
MAKERS = "document.querySelectorAll('table[data-table=makers] tr').length - 1"
STATUS = "document.querySelector('[data-field=status]').innerText"
SCRIPTS = "document.scripts.length"


def test_the_audit_report_renders_in_chromium_with_the_sweeps_counts(tmp_path: Path) -> None:
    require_chromium()
    engine = open_engine(parse_target(str(tmp_path / "h.sqlite")), create=True)
    report = recorded()
    hik = device(report, "DS-2CD2142")
    evil = {"model": '<img src=x onerror="document.title=\'owned\'"><script>document.title="owned"</script>'}
    record(engine, "hq", variant(report, drop=["127.201.7.6"]))
    latest = record(
        engine,
        "hq",
        variant(report, change={hik["ip"]: evil}),
        {hik["ip"]: ["watchlisted on 127.201.7.0/30"]},
    )
    page_path = tmp_path / "audit.html"
    page_path.write_text(render(engine, latest, "html"))
    with chromium() as page:
        page.open(page_path.as_uri())
        shot = page.screenshot("audit-report.png")
        _check(page, [d["ip"] for d in report["devices"] if d["watchlisted"]])
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    print(f"audit report screenshot: {shot}")


def _check(page: Page, watchlisted: list[str]) -> None:
    counts = page.evaluate(COUNTS)
    assert counts == {
        "addresses": "6", "alive": "6", "probed": "6", "cameras": "4", "watchlisted": "3", "violations": "1",
        "unidentified": "1",
    }  # fmt: skip
    assert page.evaluate(SECTIONS) == watchlisted
    assert page.evaluate(MAKERS) == 6  # axis, dahua, hikvision/ezviz, hikvision, hp, unknown
    assert "3 watchlisted device(s) and 1 placement violation(s) found" in page.evaluate(STATUS)
    assert (
        page.evaluate(SCRIPTS) == 0 and page.evaluate("document.title") != "owned"
    )  # device strings stay text
    assert "1 new" in page.evaluate("document.body.innerText")  # the printer is back since the previous sweep
