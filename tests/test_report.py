"""Report writers: JSON that validates, CSV that spreadsheets cannot run, a table safe to print."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from camscan.models import Verdict
from camscan.report import load_schema, render_csv, render_json, render_table, write_atomic
from tests.reportkit import sample_report


def validate(doc: object) -> None:
    jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker()).validate(doc)


def test_json_report_follows_the_schema_contract() -> None:
    doc = json.loads(render_json(sample_report()))
    validate(doc)
    assert doc["schema_version"] == 1
    dev = doc["devices"][0]
    assert (dev["manufacturer"], dev["brand"], dev["watchlisted"]) == ("hikvision", "ezviz", True)
    assert dev["watchlist"][0]["reason"].startswith("manufacturer hikvision")


def test_schema_rejects_a_report_that_breaks_the_contract() -> None:
    doc = json.loads(render_json(sample_report()))
    doc["devices"][0]["confidence"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)
    doc = json.loads(render_json(sample_report()))
    del doc["devices"][0]["watchlisted"]
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_csv_neutralises_formulas_from_device_strings() -> None:
    report = sample_report()
    dev = replace(report.devices[0], verdict=Verdict(manufacturer="hikvision", model="=cmd|' /C calc'!A0"))
    rows = list(csv.DictReader(io.StringIO(render_csv(replace(report, devices=(dev,))))))
    assert rows[0]["model"].startswith("'=")
    assert rows[0]["ip"] == "10.0.0.5"


def test_table_never_prints_control_characters_from_devices() -> None:
    report = sample_report()
    model = "\x1b]0;owned\x07CS-C6N\x1b[2J"
    verdict = Verdict(manufacturer="hikvision", brand="ezviz", model=model, is_camera=True)
    dev = replace(report.devices[0], verdict=verdict)
    console = Console(file=io.StringIO(), width=200, color_system=None)
    render_table(replace(report, devices=(dev,)), console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in text and "\x07" not in text
    assert "CS-C6N" in text and "us-fcc-covered" in text


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "site.json"
    target.write_text("old")
    write_atomic(str(target), "new report\n")
    assert target.read_text() == "new report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["site.json"]


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "site.json"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_atomic(str(target), 12345)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site.json"]
