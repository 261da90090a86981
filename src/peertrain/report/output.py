"""Rendering a compliance result as a text table, JSON or CSV.

JSON is a list of verdict objects (the converter's shape of :class:`~peertrain.rules.verdict.Verdict`);
CSV is one row per verdict with cells made safe for spreadsheets. Both identify members by id;
the only names they can carry are in free text a coordinator recorded (who granted an
exemption), which the privacy level reduces to initials or ids. The text table shows member
names as the privacy level allows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from attrs import evolve

from peertrain.report.cells import safe_cell
from peertrain.rules.compliance import ComplianceResult
from peertrain.rules.convert import converter
from peertrain.rules.model import Member
from peertrain.rules.privacy import Privacy, member_label, redactor
from peertrain.rules.requirements import RulePack
from peertrain.rules.stream import ComplianceStream
from peertrain.rules.verdict import Forecast, Status, Verdict

__all__ = ["CSV_COLUMNS", "to_csv", "to_json", "to_table", "write_stream"]


#: What an exemption's reason reads at privacy ``none``.
REASON_LEFT_OUT = "reason left out at privacy none"


def _private(verdict: Verdict, privacy: Privacy) -> Verdict:
    """``verdict`` as ``privacy`` may show it: at ``none``, an exemption's or equivalency's reason
    (free text that may say why a person is exempt) is left out, as the report leaves it out."""
    waiver = verdict.waiver
    if privacy is not Privacy.NONE or waiver is None:
        return verdict
    explanation = verdict.explanation.replace(f"({waiver.reason})", f"({REASON_LEFT_OUT})")
    return evolve(verdict, explanation=explanation, waiver=evolve(waiver, reason=REASON_LEFT_OUT))


def _redact_all(data: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, list):
        return [_redact_all(item, redact) for item in data]
    if isinstance(data, dict):
        return {key: _redact_all(value, redact) for key, value in data.items()}
    return data


def to_json(
    result: ComplianceResult, members: Sequence[Member] = (), *, privacy: Privacy = Privacy.FULL
) -> str:
    """The verdicts as a JSON array (2-space indent, keys in a fixed order).

    Members appear by id. Free text that names a roster member (who granted an exemption) is
    reduced to initials or ids at ``privacy`` ``initials`` or ``none``; at ``none`` the reasons
    of exemptions and equivalencies are left out (:data:`REASON_LEFT_OUT`).
    """
    data = converter.unstructure([_private(v, privacy) for v in result.verdicts], list[Verdict])
    return json.dumps(_redact_all(data, redactor(members, privacy)), indent=2, ensure_ascii=False) + "\n"


#: The columns of the CSV output, in order.
CSV_COLUMNS = (
    "member", "pack", "requirement", "title", "status", "as_of", "hours_credited", "hours_required",
    "shortfall_hours", "shortfall_count", "shortfall_courses", "shortfall_topics", "due_on",
    "lapses_on", "evidence", "citation", "explanation",
)


def to_csv(
    result: ComplianceResult, members: Sequence[Member] = (), *, privacy: Privacy = Privacy.FULL
) -> str:
    """One row per verdict; lists joined with ``;``; formula-like text neutralised; names in
    free text reduced as ``privacy`` asks (see :func:`to_json`)."""
    redact = redactor(members, privacy)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_row(_private(v, privacy), redact) for v in result.verdicts)
    return buffer.getvalue()


def _csv_row(v: Verdict, redact: Callable[[str], str]) -> list[Any]:
    row = [
        v.member, v.pack, v.requirement, v.title, v.status.value, v.as_of.isoformat(),
        _num(v.hours_credited), _num(v.hours_required), _num(v.shortfall.hours),
        "" if v.shortfall.count is None else v.shortfall.count,
        ";".join(v.shortfall.courses), ";".join(v.shortfall.topics),
        v.due_on.isoformat() if v.due_on else "", v.lapses_on.isoformat() if v.lapses_on else "",
        ";".join(v.evidence), v.citation, redact(v.explanation),
    ]
    return [safe_cell(cell) for cell in row]


def _num(value: object) -> str:
    return "" if value is None else f"{value:f}" if hasattr(value, "normalize") else str(value)


_LABEL = {
    Status.MET: "met",
    Status.DUE_SOON: "DUE SOON",
    Status.LAPSED: "LAPSED",
    Status.NOT_MET: "NOT MET",
    Status.GRACE: "grace",
    Status.EXEMPT: "exempt",
}


def to_table(
    result: ComplianceResult,
    members: Sequence[Member],
    packs: Sequence[RulePack],
    *,
    privacy: Privacy = Privacy.FULL,
    width: int = 100,
) -> str:
    """A plain-text report for a coordinator: each member's verdicts, then a summary."""
    lines = _table_head(result.as_of, packs)
    by_member: dict[str, list[Verdict]] = {}
    for verdict in result.verdicts:
        by_member.setdefault(verdict.member, []).append(verdict)
    forecasts = {f.member: f for f in result.forecasts}
    block = _member_block(members, privacy, width)
    for member in members:
        verdicts = by_member.get(member.id)
        if verdicts:
            lines.extend(block(member, verdicts, forecasts.get(member.id)))
    failing = sorted({v.member for v in result.verdicts if not v.status.compliant})
    lines.extend(_table_tail(len(by_member), result.counts(), len(result.verdicts), failing))
    return "\n".join(lines) + "\n"


def _table_head(as_of: dt.date, packs: Sequence[RulePack]) -> list[str]:
    return [
        f"peertrain compliance as of {as_of.isoformat()}",
        "Rule packs: " + "; ".join(f"{p.id} ({p.citation})" for p in packs),
        "",
    ]


def _member_block(
    members: Sequence[Member], privacy: Privacy, width: int
) -> Callable[[Member, Sequence[Verdict], Forecast | None], list[str]]:
    """A function giving the table's lines for one member."""
    redact = redactor(members, privacy)
    wrap = textwrap.TextWrapper(width=width, initial_indent=" " * 12, subsequent_indent=" " * 12)
    part_wrap = textwrap.TextWrapper(width=width, initial_indent=" " * 12, subsequent_indent=" " * 14)

    def block(member: Member, verdicts: Sequence[Verdict], outlook: Forecast | None) -> list[str]:
        about = [member.agency] if member.agency and privacy is not Privacy.NONE else []
        about.append(", ".join(sorted(member.roles)))
        if member.functions:
            about.append(", ".join(sorted(member.functions)))
        lines = [f"{member_label(member, privacy)}  ({'; '.join(about)})"]
        for verdict in (_private(v, privacy) for v in verdicts):
            when = ""
            if verdict.status in (Status.DUE_SOON, Status.GRACE) and verdict.due_on:
                when = f"due by {verdict.due_on.isoformat()}"
            elif verdict.status is Status.LAPSED and verdict.lapses_on:
                when = f"lapsed {verdict.lapses_on.isoformat()}"
            lines.append(f"  {_LABEL[verdict.status]:<9} {verdict.key:<45} {when}".rstrip())
            lines.extend(wrap.wrap(redact(verdict.explanation)))
            for part in verdict.parts:
                lines.extend(part_wrap.wrap(f"- {part.requirement}: {redact(part.explanation)}"))
        if outlook is not None and outlook.lapses_on is not None:
            lines.append(
                f"  next lapse: {outlook.lapses_on.isoformat()} ({', '.join(outlook.requirements)})"
            )
        lines.append("")
        return lines

    return block


def _table_tail(people: int, counts: dict[Status, int], total: int, failing: Sequence[str]) -> list[str]:
    summary = ", ".join(f"{counts[s]} {_LABEL[s].lower()}" for s in Status)
    lines = [
        f"Summary: {people} member{'s' if people != 1 else ''}, "
        f"{total} verdict{'s' if total != 1 else ''}: {summary}."
    ]
    if failing:
        lines.append(f"Out of compliance: {', '.join(failing)}.")
    else:
        lines.append("Everyone is in compliance.")
    return lines


def write_stream(
    out: TextIO,
    stream: ComplianceStream,
    packs: Sequence[RulePack],
    *,
    output_format: str = "table",
    privacy: Privacy = Privacy.FULL,
    width: int = 100,
) -> None:
    """Write a :class:`~peertrain.rules.stream.ComplianceStream` to ``out`` as it is evaluated, one
    member at a time, exactly as :func:`to_table`, :func:`to_json` or :func:`to_csv`
    (``output_format`` ``table``, ``json`` or ``csv``) would write the whole result."""
    members = stream.roster
    if output_format == "json":
        redact = redactor(members, privacy)
        first = True
        for result in stream:
            for verdict in result.verdicts:
                data = _redact_all(converter.unstructure(_private(verdict, privacy), Verdict), redact)
                text = json.dumps(data, indent=2, ensure_ascii=False).replace("\n", "\n  ")
                out.write(("[\n  " if first else ",\n  ") + text)
                first = False
        out.write("[]\n" if first else "\n]\n")
    elif output_format == "csv":
        redact = redactor(members, privacy)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for result in stream:
            writer.writerows(_csv_row(_private(v, privacy), redact) for v in result.verdicts)
    else:
        out.write("\n".join(_table_head(stream.as_of, packs)) + "\n")
        block = _member_block(members, privacy, width)
        for result in stream:
            out.write("\n".join(block(result.member, result.verdicts, result.forecast)) + "\n")
        tail = _table_tail(stream.members, stream.counts, stream.total, sorted(stream.failing))
        out.write("\n".join(tail) + "\n")
