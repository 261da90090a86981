"""The report as one self-contained HTML file: no scripts, fonts, images or styles from elsewhere.

It prints on US letter paper (``@page { size: letter }``): tables repeat their header row on each
page and rows do not split; the charts are inline SVG that scale to the page. Every chart has a
title, a description and a table with the same numbers beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape

from peertrain._version import __version__
from peertrain.report.charts import hours_chart, lapses_chart
from peertrain.report.model import (
    MEMBER_STATUSES,
    GroupCounts,
    MemberRow,
    PackRow,
    Report,
    describe_shortfall,
)
from peertrain.rules.verdict import Status

__all__ = ["SECTION_IDS", "render_html"]

#: The ``id`` of each ``<section>``, in order.
SECTION_IDS = (
    "at-a-glance", "upcoming-lapses", "training-hours", "members", "rule-packs", "sources", "left-out",
)

_LABEL = {
    Status.MET: "met", Status.DUE_SOON: "due soon", Status.LAPSED: "lapsed", Status.NOT_MET: "not met",
    Status.GRACE: "grace", Status.EXEMPT: "exempt",
}

_CSS = """
@page { size: letter; margin: 0.55in 0.5in 0.6in 0.5in; }
html { font: 9pt/1.35 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; color: #111; }
body { margin: 0 auto; max-width: 7.5in; }
@media screen { body { padding: 0.5in 0.25in; } }
h1 { font-size: 16pt; margin: 0 0 0.1in; }
h2 { font-size: 12.5pt; margin: 0.25in 0 0.08in; border-bottom: 1.5px solid #1b6ca8; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 0.14in 0 0.04in; break-after: avoid; }
p { margin: 0.04in 0; }
.meta { color: #333; }
table { border-collapse: collapse; width: 100%; margin: 0.05in 0 0.1in; }
thead { display: table-header-group; }
tr, figure, .member-head { break-inside: avoid; }
th, td { border: 0.75px solid #aaa; padding: 1.5px 4px; vertical-align: top; text-align: left;
  overflow-wrap: break-word; }
.nowrap { white-space: nowrap; }
th { background: #eef2f6; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
table.verdicts { table-layout: fixed; font-size: 8pt; }
table.verdicts col.c-req { width: 22%; } table.verdicts col.c-status { width: 8.5%; }
table.verdicts col.c-date { width: 13.5%; } table.verdicts col.c-evidence { width: 12%; }
table.verdicts col.c-short { width: 11%; } table.verdicts col.c-expl { width: 33%; }
table.wide { font-size: 7.5pt; }
table.wide th, table.wide td { white-space: nowrap; padding: 1.5px 3px; }
table.counts { table-layout: fixed; } table.counts th:first-child { width: 24%; }
figure { margin: 0.05in 0; }
svg { display: block; max-width: 100%; height: auto; }
.status { font-weight: 600; white-space: nowrap; }
.s-lapsed, .s-not_met { color: #a1261b; } .s-due_soon, .s-grace { color: #8a5a00; }
.s-met, .s-exempt { color: #23623a; }
.small { font-size: 8pt; color: #333; }
ul { margin: 0.04in 0; padding-left: 0.25in; }
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _num(value: Decimal | int) -> str:
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, table_id: str = "", css: str = "",
    caption: str = "", numeric_from: int = 1,
) -> str:
    """A table of already escaped cells; columns from ``numeric_from`` on are right-aligned."""
    attrs = (f' id="{table_id}"' if table_id else "") + (f' class="{css}"' if css else "")
    num = ' class="num"'
    head = "".join(
        f'<th scope="col"{num if i >= numeric_from else ""}>{h}</th>' for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = [f'<th scope="row">{row[0]}</th>'] + [
            f'<td{num if i >= numeric_from else ""}>{cell}</td>' for i, cell in enumerate(row[1:], 1)
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{caption}</caption>" if caption else ""
    return f"<table{attrs}>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _glance(report: Report) -> str:
    glance = report.glance
    statuses = [*(s.value for s in MEMBER_STATUSES), "no_requirements"]
    headers = ["Group", "Members", *(_LABEL[s] for s in MEMBER_STATUSES), "none apply"]

    def row(counts: GroupCounts) -> list[str]:
        return [_e(counts.group), str(counts.members), *(str(getattr(counts, s)) for s in statuses)]

    verdicts = glance.verdicts
    verdict_row = [["Verdicts", str(verdicts.total), *(str(getattr(verdicts, s.value)) for s in Status)]]
    return (
        '<section id="at-a-glance"><h2>The team at a glance</h2>'
        "<p>Each member counts once, under the worst status among their requirements, worst first: not met, "
        "lapsed, due soon, grace, met. An exempt requirement counts as met. A member with several functions "
        "counts under each of them. <em>None apply</em>: members to whom no requirement applies.</p>"
        + _table(["Everyone", *headers[1:]], [row(glance.overall)], table_id="glance-overall", css="counts")
        + _table(["Function", *headers[1:]], map(row, glance.by_function), table_id="glance-function", css="counts")
        + _table(["Agency", *headers[1:]], map(row, glance.by_agency), table_id="glance-agency", css="counts")
        + "<p>The verdicts behind these counts, one per member per requirement that applies:</p>"
        + _table(["", "Total", *(_LABEL[s] for s in Status)], verdict_row, table_id="verdict-counts", css="counts")
        + "</section>"
    )


def _lapses(report: Report) -> str:
    months = [m.month for m in report.lapses]
    counts = [m.requirements for m in report.lapses]
    title = "Requirements lapsing per month, next 12 months"
    description = "Bar chart. " + "; ".join(f"{m}: {c}" for m, c in zip(months, counts, strict=True)) + "."
    first, last = report.lapses[0].start, report.lapses[-1].end
    rows = [
        ["Requirements", *(str(m.requirements) for m in report.lapses)],
        ["Members", *(str(m.members) for m in report.lapses)],
    ]
    return (
        '<section id="upcoming-lapses"><h2>Upcoming lapses</h2>'
        f"<p>Requirements met today (met, due soon, grace or exempt) that lapse from {first.isoformat()} to "
        f"{last.isoformat()} unless training is added, by the month they lapse in; the members row counts "
        "the different members among them.</p>"
        f"<figure>{lapses_chart(months, counts, title, description)}</figure>"
        + _table(["Month", *months], rows, table_id="lapses-table", css="wide")
        + "</section>"
    )


def _hours(report: Report) -> str:
    quarters = [q.quarter for q in report.hours]
    title = "Credited training hours by function, per quarter"
    description = "Grouped bar chart. " + "; ".join(
        f"{q.quarter}: " + ", ".join(
            f"{f} {_num(h)} h" for f, h in zip(report.hour_functions, q.hours, strict=True)
        )
        for q in report.hours
    ) + "."
    rows = [
        [_e(f), *(_num(q.hours[i]) for q in report.hours)] for i, f in enumerate(report.hour_functions)
    ] + [["All courses", *(_num(q.total) for q in report.hours)]]
    chart = hours_chart(quarters, report.hour_functions, [q.hours for q in report.hours], title, description)
    return (
        '<section id="training-hours"><h2>Training hours</h2>'
        f"<p>Credited hours of training completed by the members in each calendar quarter from "
        f"{report.hours[0].start.isoformat()} to {report.as_of.isoformat()}, by the function of the member "
        "(a member with several functions counts under each; (none): members without a function). The last "
        "row counts each completion once.</p>"
        f"<figure>{chart}</figure>"
        + _table(["Function", *quarters], rows, table_id="hours-table", css="wide")
        + "</section>"
    )


def _ids(ids: Sequence[str], self_reported: Sequence[str] = ()) -> str:
    """Completion ids, comma-separated; a short id is kept on one line (not split at its hyphen);
    an approved self-reported one is marked."""
    mark = ' <span class="small">(self-reported)</span>'
    return ", ".join(
        (f'<span class="nowrap">{_e(i)}</span>' if len(i) <= 12 else _e(i)) + (mark if i in self_reported else "")
        for i in ids
    )


def _member(member: MemberRow) -> str:
    who = _e(member.id) + (f" {_e(member.name)}" if member.name else "")
    facts = [f"agency: {_e(member.agency)}"] if member.agency else []
    facts.append("roles: " + _e(", ".join(member.roles)))
    facts.append("functions: " + (_e(", ".join(member.functions)) or "none"))
    status = member.status
    facts.append(
        f'status: <span class="status s-{status.value}">{_LABEL[status]}</span>' if status
        else "status: no requirement applies"
    )
    if member.next_lapse:
        facts.append(f"next lapse: {member.next_lapse.isoformat()}")
    rows = []
    for row in member.requirements:
        when = ""
        if row.status is Status.LAPSED and row.lapses_on:
            when = f"lapsed<br>{row.lapses_on.isoformat()}"
        elif row.status in (Status.MET, Status.EXEMPT) and row.lapses_on:
            when = f"lapses<br>{row.lapses_on.isoformat()}"
        elif row.due_on:
            when = f"due<br>{row.due_on.isoformat()}"
        rows.append(
            f'<tr data-requirement="{_e(row.key)}" data-status="{row.status.value}">'
            f'<td>{_e(row.key)}<br><span class="small">{_e(row.title)}</span></td>'
            f'<td><span class="status s-{row.status.value}">{_LABEL[row.status]}</span></td>'
            f'<td class="nowrap">{when}</td><td>{_ids(row.evidence, row.self_reported)}</td>'
            f"<td>{_e(describe_shortfall(row.shortfall))}</td><td>{_e(row.explanation)}</td></tr>"
        )
    cols = "".join(f'<col class="c-{c}">' for c in ("req", "status", "date", "evidence", "short", "expl"))
    head = "".join(
        f'<th scope="col">{h}</th>'
        for h in ("Requirement", "Status", "Date", "Evidence", "Shortfall", "Explanation")
    )
    table = (
        f'<table class="verdicts"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>" if rows else "<p>No requirement of these packs applies.</p>"
    )
    return (
        f'<section class="member" data-member="{_e(member.id)}"><div class="member-head"><h3>{who}</h3>'
        f'<p class="small">{"; ".join(facts)}</p></div>{table}</section>'
    )


def _pack(pack: PackRow) -> str:
    lines = [f"citation: {_e(pack.citation)}"]
    if pack.source:
        lines.append(f"source: {_e(pack.source)}")
    if pack.read_on:
        lines.append(f"source read on: {pack.read_on.isoformat()}")
    rows = [[_e(r.id), _e(r.title), _e(r.citation), str(r.members)] for r in pack.requirements]
    return (
        f'<section class="pack" data-pack="{_e(pack.id)}"><h3>{_e(pack.title)} ({_e(pack.id)}, version '
        f'{_e(pack.version)})</h3><p class="small">{"<br>".join(lines)}</p>'
        + _table(["Requirement", "Title", "Citation", "Members"], rows, numeric_from=3)
        + "</section>"
    )


def render_html(report: Report) -> str:
    """The report as a complete HTML document (UTF-8 text, no external resources)."""
    state = (
        "Everyone is in compliance." if report.compliant
        else "Not everyone is in compliance: see the members with status lapsed or not met."
    )
    sources = _table(
        ["Kind", "Name", "Detail"], ([_e(s.kind), _e(s.name), _e(s.detail)] for s in report.sources),
        table_id="sources-table", numeric_from=3,
    ) if report.sources else "<p>No sources were named.</p>"
    warnings = "".join(f"<li>{_e(w)}</li>" for w in report.warnings)
    left_out = "".join(f"<li>{_e(text)}</li>" for text in report.left_out)
    body = (
        f'<header id="report-header"><h1>{_e(report.title)}</h1>'
        f'<p class="meta">As of <time datetime="{report.as_of.isoformat()}">{report.as_of.isoformat()}</time>'
        f" &middot; due soon: within {report.due_within} days &middot; privacy: {report.privacy.value}"
        f" &middot; peertrain {_e(__version__)}</p><p><strong>{state}</strong></p></header>"
        + _glance(report) + _lapses(report) + _hours(report)
        + '<section id="members"><h2>Members</h2><p>Each requirement that applies to the member: its status, '
        "the day it is due or lapses, the completions that counted (evidence), what is missing (shortfall) "
        "and why.</p>" + "".join(_member(m) for m in report.members) + "</section>"
        + '<section id="rule-packs"><h2>Rule packs and citations</h2><p>The requirements evaluated, the '
        "source each one cites, and how many members it applied to.</p>"
        + "".join(_pack(p) for p in report.packs) + "</section>"
        + f'<section id="sources"><h2>Data sources</h2><p>Evaluated as of {report.as_of.isoformat()}.</p>'
        + sources
        + (f"<h3>Data warnings</h3><ul>{warnings}</ul>" if warnings else "<p>No data warnings.</p>")
        + "</section>"
        + f'<section id="left-out"><h2>What this report leaves out</h2><ul>{left_out}</ul></section>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="peertrain {_e(__version__)}">'
        f"<title>{_e(report.title)}, as of {report.as_of.isoformat()}</title>"
        f"<style>{_CSS}</style></head>\n<body>{body}</body></html>\n"
    )
