"""Verdicts: what peertrain concludes for one member, one requirement, one date."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from attrs import field, frozen

from peertrain.rules.model import Member, Waiver

__all__ = ["Forecast", "MemberVerdicts", "MinimumShortfall", "Shortfall", "Status", "Verdict"]


class Status(enum.StrEnum):
    """The state of one requirement for one member on the as-of date.

    ``met``, ``due_soon``, ``grace`` and ``exempt`` are compliant; ``lapsed`` and ``not_met``
    are not.
    """

    #: Satisfied, and stays so for longer than the due-soon horizon.
    MET = "met"
    #: Satisfied today, but lapses within the horizon (default 90 days) if nothing is added.
    DUE_SOON = "due_soon"
    #: Was satisfied, is no longer (a certificate expired, hours aged out, a period ended short).
    LAPSED = "lapsed"
    #: Never satisfied, and no grace period covers the member.
    NOT_MET = "not_met"
    #: Not satisfied yet, but the member is a new member within the rule's grace period.
    GRACE = "grace"
    #: Set aside for this member by a recorded exemption or equivalency.
    EXEMPT = "exempt"

    @property
    def compliant(self) -> bool:
        """Whether this status counts as in compliance."""
        return self not in (Status.LAPSED, Status.NOT_MET)


@frozen
class MinimumShortfall:
    """Hours still missing from one minimum of an ``hours`` requirement."""

    label: str
    hours: Decimal


@frozen
class Shortfall:
    """What is missing for a requirement to be met (all empty when nothing is missing).

    - ``hours``: credited hours still needed (at least the sum of ``minimums``);
    - ``minimums``: hours still needed for each minimum that is short;
    - ``count``: how many more courses (``n_of``) or sessions (``recurring``) are needed;
    - ``courses``: course ids that would close the gap (any one of them, for a certificate);
    - ``topics``: topics not yet covered.
    """

    hours: Decimal | None = None
    minimums: tuple[MinimumShortfall, ...] = ()
    count: int | None = None
    courses: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether nothing is missing."""
        return not (self.hours or self.minimums or self.count or self.courses or self.topics)


@frozen
class Verdict:
    """The verdict for one member, one requirement of one rule pack, as of one date.

    - ``due_on``: the last day on which training can be added to stay (or become) compliant;
      for a lapsed verdict, the last day it was still met;
    - ``lapses_on``: the first day the requirement is (or was, for ``lapsed``) no longer met if no
      training is added; ``None`` if it never lapses or was never met;
    - ``evidence``: ids of the completions that counted;
    - ``parts``: the verdicts of an ``all_of`` / ``any_of`` requirement's parts.
    """

    member: str
    pack: str
    requirement: str
    title: str
    status: Status
    as_of: dt.date
    explanation: str
    citation: str
    hours_credited: Decimal | None = None
    hours_required: Decimal | None = None
    shortfall: Shortfall = field(factory=Shortfall)
    due_on: dt.date | None = None
    lapses_on: dt.date | None = None
    evidence: tuple[str, ...] = ()
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    waiver: Waiver | None = None
    notes: tuple[str, ...] = ()
    parts: tuple[Verdict, ...] = field(default=())

    @property
    def key(self) -> str:
        """``pack/requirement``: the requirement's id across packs."""
        return f"{self.pack}/{self.requirement}"


@frozen
class Forecast:
    """For one member: the next day something lapses if no training is added.

    ``lapses_on`` is ``None`` when nothing currently met will ever lapse; ``requirements`` lists
    the ``pack/requirement`` keys that lapse that day.
    """

    member: str
    as_of: dt.date
    lapses_on: dt.date | None
    requirements: tuple[str, ...] = ()


@frozen
class MemberVerdicts:
    """One member's verdicts (pack order, then requirement order) and forecast."""

    member: Member
    verdicts: tuple[Verdict, ...]
    #: The next lapse (``lapses_on`` is ``None`` when nothing will lapse).
    forecast: Forecast
