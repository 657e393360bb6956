"""Exports of a stored sweep: the JSON report, JSON Lines for SIEMs, CSV, and the HTML audit report."""

from camscan.export.formats import FORMATS, render

__all__ = ["FORMATS", "render"]
