"""The report as JSON and as CSV, for other systems: the same content as the HTML.

JSON is the converter's shape of :class:`~peertrain.report.content.Report` (dates ISO, hours as
numbers, statuses as their values). CSV is one table in long form: a ``section`` column says what
each row is, so one file carries every section; every cell is made safe for spreadsheets with
:func:`peertrain.report.cells.safe_cell` (text starting with ``= + - @`` gets a leading ``'``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal

from peertrain.report.cells import safe_cell
from peertrain.report.model import MEMBER_STATUSES, GroupCounts, Report, RequirementRow, describe_shortfall
from peertrain.rules.convert import converter

__all__ = ["CSV_COLUMNS", "render_csv", "render_json", "report_data"]

#: The columns of the CSV form, in order (see ``docs/reports.md`` for what each section fills).
CSV_COLUMNS = (
    "section", "group", "item", "measure", "value",
    "member", "name", "agency", "roles", "functions", "member_status",
    "pack", "requirement", "title", "status", "due_on", "lapses_on", "hours_credited", "hours_required",
    "shortfall", "evidence", "citation", "explanation",
)


def _evidence(row: RequirementRow) -> str:
    """The evidence ids, ``;``-separated, an approved self-reported one marked."""
    return ";".join(f"{e} (self-reported)" if e in row.self_reported else e for e in row.evidence)


def report_data(report: Report) -> dict[str, object]:
    """The report as JSON-ready data (what :func:`render_json` writes)."""
    data: dict[str, object] = converter.unstructure(report, Report)
    return data


def render_json(report: Report) -> str:
    """The report as JSON text (2-space indent, keys in the classes' field order)."""
    return json.dumps(report_data(report), indent=2, ensure_ascii=False) + "\n"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _rows(report: Report) -> Iterator[Mapping[str, object]]:
    yield {"section": "report", "item": "title", "value": report.title}
    yield {"section": "report", "item": "as_of", "value": report.as_of}
    yield {"section": "report", "item": "privacy", "value": report.privacy.value}
    yield {"section": "report", "item": "due_within_days", "value": report.due_within}
    yield {"section": "report", "item": "compliant", "value": "yes" if report.compliant else "no"}
    glance = report.glance
    groups: list[tuple[str, GroupCounts]] = [("overall", glance.overall)]
    groups += [("function", g) for g in glance.by_function] + [("agency", g) for g in glance.by_agency]
    for kind, counts in groups:
        yield {"section": "at_a_glance", "group": kind, "item": counts.group, "measure": "members",
               "value": counts.members}
        for status in [*(s.value for s in MEMBER_STATUSES), "no_requirements"]:
            yield {"section": "at_a_glance", "group": kind, "item": counts.group, "measure": status,
                   "value": getattr(counts, status)}
    for status, count in converter.unstructure(glance.verdicts).items():
        yield {"section": "verdicts", "measure": status, "value": count}
    for month in report.lapses:
        for measure in ("requirements", "members"):
            yield {"section": "lapses", "item": month.month, "measure": measure, "value": getattr(month, measure)}
    for quarter in report.hours:
        for function, hours in zip(report.hour_functions, quarter.hours, strict=True):
            yield {"section": "hours", "group": function, "item": quarter.quarter, "measure": "hours", "value": hours}
        yield {"section": "hours", "group": "total", "item": quarter.quarter, "measure": "hours",
               "value": quarter.total}
    for member in report.members:
        person = {
            "member": member.id, "name": member.name, "agency": member.agency, "roles": ";".join(member.roles),
            "functions": ";".join(member.functions), "member_status": member.status.value if member.status else "",
        }
        yield {"section": "member", **person, "measure": "next_lapse", "value": member.next_lapse}
        for row in member.requirements:
            yield {
                "section": "verdict", **person, "pack": row.pack, "requirement": row.requirement,
                "title": row.title, "status": row.status.value, "due_on": row.due_on, "lapses_on": row.lapses_on,
                "hours_credited": row.hours_credited, "hours_required": row.hours_required,
                "shortfall": describe_shortfall(row.shortfall), "evidence": _evidence(row),
                "citation": row.citation, "explanation": row.explanation,
            }
    for pack in report.packs:
        yield {"section": "pack", "pack": pack.id, "title": pack.title, "citation": pack.citation,
               "item": pack.version, "measure": "read_on", "value": pack.read_on}
        for req in pack.requirements:
            yield {"section": "pack_requirement", "pack": pack.id, "requirement": req.id, "title": req.title,
                   "citation": req.citation, "measure": "members", "value": req.members}
    for source in report.sources:
        yield {"section": "source", "group": source.kind, "item": source.name, "value": source.detail}
    for text in report.left_out:
        yield {"section": "left_out", "value": text}
    for text in report.warnings:
        yield {"section": "warning", "value": text}


def render_csv(report: Report) -> str:
    """The report as one CSV table (``CSV_COLUMNS``; CRLF line ends; formula-safe cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in _rows(report):
        writer.writerow([safe_cell(_text(row.get(column))) for column in CSV_COLUMNS])
    return buffer.getvalue()
