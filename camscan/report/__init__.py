"""Render a Report: JSON (the contract), CSV, terminal table; files are written atomically."""

from camscan.report.atomic import write_atomic
from camscan.report.csv import render_csv
from camscan.report.json import SCHEMA_VERSION, load_schema, render_json, report_to_dict
from camscan.report.table import render_table

__all__ = [
    "SCHEMA_VERSION",
    "load_schema",
    "render_csv",
    "render_json",
    "render_table",
    "report_to_dict",
    "write_atomic",
]
