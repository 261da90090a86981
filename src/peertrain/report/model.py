"""The report's content as data: frozen values, one per section (see ``docs/reports.md``).

:func:`peertrain.report.build.build_report` makes a :class:`Report`; the renderers
(:mod:`.html`, :mod:`.formats`) only format it, so every format shows the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from attrs import field, frozen

from peertrain.rules.privacy import Privacy
from peertrain.rules.verdict import Shortfall, Status, Verdict

__all__ = [
    "MEMBER_STATUSES",
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
    "describe_shortfall",
    "member_status",
]

#: Member-level statuses, worst first: a member's status is the worst of their verdicts, where
#: ``exempt`` counts as ``met`` (the requirement is set aside) and ``grace`` sits between
#: ``due_soon`` and ``met`` (not done yet, but not late either).
MEMBER_STATUSES = (Status.NOT_MET, Status.LAPSED, Status.DUE_SOON, Status.GRACE, Status.MET)
_RANK = {status: rank for rank, status in enumerate(MEMBER_STATUSES)} | {Status.EXEMPT: len(MEMBER_STATUSES) - 1}



@frozen
class GroupCounts:
    """How many members of one group have each member-level status.

    ``members`` is the sum of the five status counts and ``no_requirements`` (members to whom no
    requirement of the chosen packs applies).
    """

    group: str
    members: int
    met: int = 0
    due_soon: int = 0
    grace: int = 0
    lapsed: int = 0
    not_met: int = 0
    no_requirements: int = 0


@frozen
class VerdictCounts:
    """How many verdicts have each status (the summary line of ``peertrain check``)."""

    total: int
    met: int
    due_soon: int
    lapsed: int
    not_met: int
    grace: int
    exempt: int


@frozen
class Glance:
    """The team at a glance: member-level status counts overall, by function and by agency.

    A member with several functions counts once under each of them; members without a function
    count under ``(none)``. ``verdicts`` counts the verdicts themselves.
    """

    overall: GroupCounts
    by_function: tuple[GroupCounts, ...]
    by_agency: tuple[GroupCounts, ...]
    verdicts: VerdictCounts


@frozen
class MonthLapses:
    """Requirements that lapse in one calendar month if no training is added.

    ``start`` and ``end`` are the first and last day counted (the as-of month starts the day after
    the as-of date). ``requirements`` counts verdicts, ``members`` the different members among them.
    """

    month: str
    start: dt.date
    end: dt.date
    requirements: int
    members: int


@frozen
class QuarterHours:
    """Credited training hours completed in one calendar quarter, per function of the members.

    ``hours`` has one entry per name of :attr:`Report.hour_functions`, in that order: the hours of
    the members who serve that function (``(none)``: members without a function). A member with
    several functions counts under each, so the entries can add up to more than ``total``, which
    counts each completion once.
    """

    quarter: str
    start: dt.date
    end: dt.date
    hours: tuple[Decimal, ...]
    total: Decimal


@frozen
class RequirementRow:
    """One verdict of one member, as the report shows it."""

    pack: str
    requirement: str
    title: str
    status: Status
    due_on: dt.date | None
    lapses_on: dt.date | None
    hours_credited: Decimal | None
    hours_required: Decimal | None
    shortfall: Shortfall
    evidence: tuple[str, ...]
    explanation: str
    citation: str
    #: The ids in ``evidence`` that are approved self-reported submissions (marked in the report).
    self_reported: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``pack/requirement``."""
        return f"{self.pack}/{self.requirement}"


@frozen
class MemberRow:
    """One member: who (as far as the privacy level allows), their status and verdicts.

    ``name`` is the full name, the initials or ``None``; ``agency`` is ``None`` at privacy
    ``none``. ``next_lapse`` is the forecast: the next day something lapses if nothing is added.
    """

    id: str
    name: str | None
    agency: str | None
    roles: tuple[str, ...]
    functions: tuple[str, ...]
    status: Status | None
    next_lapse: dt.date | None
    requirements: tuple[RequirementRow, ...]


@frozen
class PackRequirement:
    """One requirement of a pack, with the citation that applies to it."""

    id: str
    title: str
    citation: str
    members: int


@frozen
class PackRow:
    """A rule pack that was applied, with its citation and requirements."""

    id: str
    version: str
    title: str
    citation: str
    source: str | None
    read_on: dt.date | None
    requirements: tuple[PackRequirement, ...]


@frozen
class Source:
    """Where the report's data came from: a file, a ledger, an import batch.

    ``kind`` is e.g. ``roster``, ``completions``, ``exemptions``, ``catalogue``, ``ledger`` or
    ``import batch``; ``name`` the file name; ``detail`` one line of what it held.
    """

    kind: str
    name: str
    detail: str = ""


@frozen
class Report:
    """Everything the compliance report shows, as data (see ``docs/reports.md``)."""

    title: str
    as_of: dt.date
    privacy: Privacy
    due_within: int
    compliant: bool
    glance: Glance
    lapses: tuple[MonthLapses, ...]
    hour_functions: tuple[str, ...]
    hours: tuple[QuarterHours, ...]
    members: tuple[MemberRow, ...]
    packs: tuple[PackRow, ...]
    sources: tuple[Source, ...]
    left_out: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())


def member_status(verdicts: Iterable[Verdict]) -> Status | None:
    """A member's status: the worst of their verdicts (``exempt`` counts as ``met``), or ``None``
    when no requirement applies to them."""
    ranks = [_RANK[v.status] for v in verdicts]
    return MEMBER_STATUSES[min(ranks)] if ranks else None


def describe_shortfall(shortfall: Shortfall) -> str:
    """What is missing, in a few words (empty when nothing is)."""
    parts = []
    if shortfall.hours:
        parts.append(f"{shortfall.hours} h")
    parts.extend(f"{m.label} {m.hours} h" for m in shortfall.minimums)
    if shortfall.count:
        parts.append(f"{shortfall.count} more")
    if shortfall.courses:
        parts.append("one of " + ", ".join(shortfall.courses))
    if shortfall.topics:
        parts.append("topics " + ", ".join(shortfall.topics))
    return "; ".join(parts)
