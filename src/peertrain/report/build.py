"""Building the report: a pure function of the records, the verdicts and the as-of date.

:func:`build_report` reads no files and no clock. The exact meaning of each section is in
``docs/reports.md``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from attrs import evolve
from dateutil.relativedelta import relativedelta

from peertrain.report.model import (
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
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import DUE_WITHIN_DAYS, ComplianceResult, credit_completions
from peertrain.rules.model import Completion, Function, Member, is_self_reported
from peertrain.rules.privacy import Privacy, redactor
from peertrain.rules.requirements import RulePack
from peertrain.rules.verdict import Status, Verdict

__all__ = ["HOURS_QUARTERS", "LAPSE_MONTHS", "NO_AGENCY", "NO_FUNCTION", "build_report"]

#: How many calendar quarters the hours chart covers (ending with the as-of date's quarter).
HOURS_QUARTERS = 8
#: How many calendar months the lapse chart covers (starting with the as-of date's month).
LAPSE_MONTHS = 12
#: The group of members without a function (in the counts and the hours).
NO_FUNCTION = "(none)"
#: The group of members whose agency is blank.
NO_AGENCY = "(no agency)"


def build_report(
    members: Sequence[Member],
    completions: Iterable[Completion],
    packs: Sequence[RulePack],
    result: ComplianceResult,
    *,
    catalogue: Catalogue,
    sources: Sequence[Source] = (),
    privacy: Privacy = Privacy.FULL,
    due_within: int = DUE_WITHIN_DAYS,
    title: str = "Peer support team training compliance",
) -> Report:
    """The report of ``result`` (the verdicts of ``members`` under ``packs`` as of its date).

    ``completions`` and ``catalogue`` give the hours chart; ``sources`` are listed as given;
    ``privacy`` decides what the per-member table shows of people (names are never in the charts
    or counts). Pure: nothing is read and no clock is consulted.
    """
    as_of = result.as_of
    by_member: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in result.verdicts:
        by_member[verdict.member].append(verdict)
    present = [m for m in members if m.joined_on is None or m.joined_on <= as_of]
    statuses = {m.id: member_status(by_member.get(m.id, ())) for m in present}
    completions = list(completions)
    self_reported = frozenset(c.id for c in completions if is_self_reported(c.source))
    return Report(
        title=title,
        as_of=as_of,
        privacy=privacy,
        due_within=due_within,
        compliant=result.compliant,
        glance=_glance(present, statuses, result),
        lapses=_lapses(result),
        hour_functions=_hour_functions(present),
        hours=_hours(present, completions, catalogue, as_of),
        members=tuple(
            _member_row(
                m, statuses[m.id], by_member.get(m.id, []), result=result, roster=members, privacy=privacy,
                self_reported=self_reported,
            )
            for m in present
        ),
        packs=tuple(_pack_row(p, result) for p in packs),
        sources=tuple(_shown_source(s, privacy) for s in sources),
        left_out=_left_out(members, present, completions, result, privacy),
        warnings=result.warnings,
    )


def _counts(group: str, people: Sequence[Member], statuses: dict[str, Status | None]) -> GroupCounts:
    tally: dict[str, int] = defaultdict(int)
    for member in people:
        status = statuses[member.id]
        tally[status.value if status else "no_requirements"] += 1
    return GroupCounts(group, len(people), **tally)


def _glance(present: Sequence[Member], statuses: dict[str, Status | None], result: ComplianceResult) -> Glance:
    by_function = [
        _counts(f.value, [m for m in present if f in m.functions], statuses) for f in Function
    ]
    bare = [m for m in present if not m.functions]
    if bare:
        by_function.append(_counts(NO_FUNCTION, bare, statuses))
    agencies = sorted({m.agency for m in present})
    by_agency = [_counts(a or NO_AGENCY, [m for m in present if m.agency == a], statuses) for a in agencies]
    counts = result.counts()
    verdicts = VerdictCounts(len(result.verdicts), **{s.value: counts[s] for s in Status})
    return Glance(_counts("all members", present, statuses), tuple(by_function), tuple(by_agency), verdicts)


def _lapses(result: ComplianceResult) -> tuple[MonthLapses, ...]:
    as_of = result.as_of
    first = as_of.replace(day=1)
    months = []
    for index in range(LAPSE_MONTHS):
        start = first + relativedelta(months=index)
        end = start + relativedelta(months=1, days=-1)
        start = max(start, as_of + dt.timedelta(days=1))
        hits = [
            v for v in result.verdicts
            if v.status.compliant and v.lapses_on is not None and start <= v.lapses_on <= end
        ]
        months.append(MonthLapses(start.strftime("%Y-%m"), start, end, len(hits), len({v.member for v in hits})))
    return tuple(months)


def _hour_functions(present: Sequence[Member]) -> tuple[str, ...]:
    bare = (NO_FUNCTION,) if any(not m.functions for m in present) else ()
    return (*(f.value for f in Function), *bare)


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _hours(
    present: Sequence[Member], completions: Sequence[Completion], catalogue: Catalogue, as_of: dt.date
) -> tuple[QuarterHours, ...]:
    ids = {m.id for m in present}
    credits, _warnings = credit_completions((c for c in completions if c.member in ids), catalogue)
    last = _quarter_start(as_of)
    names = _hour_functions(present)
    quarters = []
    for back in range(HOURS_QUARTERS - 1, -1, -1):
        start = last - relativedelta(months=3 * back)
        end = start + relativedelta(months=3, days=-1)
        sums = dict.fromkeys(names, Decimal(0))
        total = Decimal(0)
        for member in present:
            groups = [f.value for f in sorted(member.functions)] or [NO_FUNCTION]
            for credit in credits.get(member.id, ()):
                if not start <= credit.on <= min(end, as_of):
                    continue
                total += credit.hours
                for name in groups:
                    sums[name] += credit.hours
        label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        quarters.append(QuarterHours(label, start, end, tuple(sums[n] for n in names), total))
    return tuple(quarters)


def _member_row(
    member: Member, status: Status | None, verdicts: Sequence[Verdict], *, result: ComplianceResult,
    roster: Sequence[Member], privacy: Privacy, self_reported: frozenset[str] = frozenset(),
) -> MemberRow:
    redact = redactor(roster, privacy)
    rows = []
    for v in verdicts:
        explanation = v.explanation
        if v.waiver is not None and privacy is not Privacy.FULL:
            explanation = explanation.replace(f"({v.waiver.reason})", "(reason left out)")
        rows.append(RequirementRow(
            pack=v.pack, requirement=v.requirement, title=v.title, status=v.status, due_on=v.due_on,
            lapses_on=v.lapses_on, hours_credited=v.hours_credited, hours_required=v.hours_required,
            shortfall=v.shortfall, evidence=v.evidence, explanation=redact(explanation), citation=v.citation,
            self_reported=tuple(e for e in v.evidence if e in self_reported),
        ))
    outlook = next((f for f in result.forecasts if f.member == member.id), None)
    name = {Privacy.FULL: member.name, Privacy.INITIALS: member.initials}.get(privacy)
    return MemberRow(
        id=member.id,
        name=name,
        agency=None if privacy is Privacy.NONE else member.agency,
        roles=tuple(sorted(member.roles)),
        functions=tuple(sorted(member.functions)),
        status=status,
        next_lapse=outlook.lapses_on if outlook else None,
        requirements=tuple(rows),
    )


def _pack_row(pack: RulePack, result: ComplianceResult) -> PackRow:
    applied: dict[str, set[str]] = defaultdict(set)
    for verdict in result.verdicts:
        if verdict.pack == pack.id:
            applied[verdict.requirement].add(verdict.member)
    return PackRow(
        id=pack.id, version=pack.version, title=pack.title, citation=pack.citation, source=pack.source,
        read_on=pack.read_on,
        requirements=tuple(
            PackRequirement(r.id, r.title, r.citation or pack.citation, len(applied[r.id]))
            for r in pack.requirements
        ),
    )


#: What the data sources show instead of a file name at privacy ``none``.
NAME_WITHHELD = "file name withheld at privacy none"


def _shown_source(source: Source, privacy: Privacy) -> Source:
    """At privacy ``none`` no file name is shown (a file may be named after a person): only the
    bundled files' names stay."""
    if privacy is not Privacy.NONE or source.name == "bundled" or source.detail.startswith("bundled "):
        return source
    return evolve(source, name=f"({NAME_WITHHELD})")


def _left_out(
    roster: Sequence[Member], present: Sequence[Member], completions: Sequence[Completion],
    result: ComplianceResult, privacy: Privacy,
) -> tuple[str, ...]:
    notes = [
        "Peer support contacts and conversations: peertrain records training only, never who was "
        "supported, when or about what.",
        "Members' email addresses and portal user ids: used to match records, never shown.",
    ]
    if privacy is Privacy.INITIALS:
        notes.append("Member names: reduced to initials, in the member table and in recorded free text.")
    elif privacy is Privacy.NONE:
        notes.append("Member names and agencies: left out of the member table; members appear by id only, "
                     "and names in recorded free text are replaced by ids.")
        notes.append("File names of the data sources: withheld (a file may be named after a person).")
    if privacy is not Privacy.FULL and any(v.waiver for v in result.verdicts):
        notes.append("Reasons for exemptions and equivalencies: left out (shown only at privacy 'full').")
    notes.append("The parts of 'all of' / 'any of' requirements: summarised in the requirement's explanation; "
                 "'peertrain explain' shows each part and every completion considered.")
    later = len(roster) - len(present)
    if later:
        notes.append(f"Members who join after {result.as_of.isoformat()}: {later}, not evaluated.")
    ids = {m.id for m in roster}
    future = sum(1 for c in completions if c.member in ids and c.completed_on > result.as_of)
    if future:
        notes.append(f"Completions dated after {result.as_of.isoformat()}: {future}, not counted.")
    strangers = {c.member for c in completions if c.member not in ids}
    if strangers:
        notes.append(f"Completions of people not on the roster: {len(strangers)} people, not evaluated.")
    return tuple(notes)
