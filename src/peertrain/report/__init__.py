"""The compliance report: one content model, rendered as self-contained HTML, JSON or CSV.

>>> report = build_report(members, completions, packs, result, catalogue=catalogue)  # doctest: +SKIP
>>> Path("report.html").write_text(render_html(report), encoding="utf-8")  # doctest: +SKIP

:func:`build_report` is pure (records and verdicts in, a frozen :class:`Report` out); the
renderers never recompute anything, so the HTML, the JSON and the CSV show the same numbers.
``docs/reports.md`` says what each section means.
"""

from __future__ import annotations

from peertrain.report.build import build_report
from peertrain.report.formats import CSV_COLUMNS, render_csv, render_json, report_data
from peertrain.report.html import SECTION_IDS, render_html
from peertrain.report.model import (
    MEMBER_STATUSES,
    Glance,
    GroupCounts,
    MemberRow,
    MonthLapses,
    PackRequirement,
    PackRow,
    QuarterHours,
    Report,
    RequirementRow,
    Source,
    VerdictCounts,
    member_status,
)

__all__ = [
    "CSV_COLUMNS",
    "MEMBER_STATUSES",
    "SECTION_IDS",
    "Glance",
    "GroupCounts",
    "MemberRow",
    "MonthLapses",
    "PackRequirement",
    "PackRow",
    "QuarterHours",
    "Report",
    "RequirementRow",
    "Source",
    "VerdictCounts",
    "build_report",
    "member_status",
    "render_csv",
    "render_html",
    "render_json",
    "report_data",
]
