"""Run reports: the evidence of one run as JSON, text and a self-contained HTML page.

The engine fills a `RunReportBuilder` as the run goes and calls `build()`; `write_reports`
stores the JSON and HTML beside the run's audit log; `render` turns a report into any format.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from dncsync.audit import RunFiles, write_private
from dncsync.report.builder import RunReportBuilder, TargetReportBuilder
from dncsync.report.codec import dumps, loads, to_plain
from dncsync.report.html import render_html
from dncsync.report.model import (
    AccountingEvidence,
    AuditReference,
    BatchRecord,
    BatchStatus,
    FailedNumber,
    Freshness,
    LateEntry,
    PlanSample,
    PlanSummary,
    PushSummary,
    RateLimitWait,
    ReportWarning,
    RunReport,
    RunStatus,
    TargetReport,
    Timeliness,
    Verification,
    VerificationStatus,
    WarningsReference,
)
from dncsync.report.text import render_text
from dncsync.report.verdict import Verdict, verdict


class ReportFormat(StrEnum):
    """The formats a report renders to."""

    JSON = "json"
    TEXT = "text"
    HTML = "html"


def render(report: RunReport, fmt: ReportFormat | str = ReportFormat.TEXT) -> str:
    """The report in one format."""
    match ReportFormat(fmt):
        case ReportFormat.JSON:
            return dumps(report)
        case ReportFormat.HTML:
            return render_html(report)
        case ReportFormat.TEXT:
            return render_text(report)


def write_reports(report: RunReport, files: RunFiles) -> tuple[Path, Path]:
    """Write the JSON and HTML reports into the run's folder (mode 0600); returns their paths."""
    files.create_directory()
    write_private(files.report_json, dumps(report).encode())
    write_private(files.report_html, render_html(report).encode())
    return files.report_json, files.report_html


def load_report(path: Path) -> RunReport:
    """Read a stored JSON report."""
    return loads(path.read_text(encoding="utf-8"))


__all__ = [
    "AccountingEvidence",
    "AuditReference",
    "BatchRecord",
    "BatchStatus",
    "FailedNumber",
    "Freshness",
    "LateEntry",
    "PlanSample",
    "PlanSummary",
    "PushSummary",
    "RateLimitWait",
    "ReportFormat",
    "ReportWarning",
    "RunReport",
    "RunReportBuilder",
    "RunStatus",
    "TargetReport",
    "TargetReportBuilder",
    "Timeliness",
    "Verdict",
    "Verification",
    "VerificationStatus",
    "WarningsReference",
    "dumps",
    "load_report",
    "loads",
    "render",
    "render_html",
    "render_text",
    "to_plain",
    "verdict",
    "write_reports",
]
