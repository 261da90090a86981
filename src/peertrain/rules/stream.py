"""Compliance for a whole ledger, streamed member by member in bounded memory.

:func:`stream_compliance` gives the same verdicts, forecasts and warnings as
:func:`~peertrain.rules.compliance.check_compliance` over ``ledger.members()`` and
``ledger.completions()``, in the same order, but reads the ledger one member at a time
(:meth:`~peertrain.ledger.Ledger.completions_by_member`) and hands each member's verdicts over
before it reads the next. What it reads is :class:`CompletionsByMember`, defined here, in the
domain: the ledger provides it (any :class:`~peertrain.ledger.Ledger` is one) without the domain
importing the ledger. Memory holds the roster, one member's records and verdicts, and the
running counts, however many completions the ledger has.

    stream = stream_compliance(ledger, packs, as_of, catalogue=catalogue)
    for result in stream:              # one MemberVerdicts per member with verdicts
        for verdict in result.verdicts:
            ...
    stream.counts, stream.failing, stream.warnings   # complete once the loop has ended
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Protocol

from attrs import frozen

from peertrain.errors import InputError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import DUE_WITHIN_DAYS, forecast
from peertrain.rules.engine import Credit, Subject, evaluate
from peertrain.rules.model import Course, Delivery, Member, Waiver, is_self_reported, to_hours
from peertrain.rules.requirements import RulePack
from peertrain.rules.verdict import Forecast, Status, Verdict

__all__ = ["CompletionRow", "CompletionsByMember", "ComplianceStream", "MemberVerdicts", "stream_compliance"]

ZERO = Decimal(0)

#: One completed record as :meth:`CompletionsByMember.completions_by_member` gives it, without
#: building a :class:`~peertrain.rules.model.Completion`: ``(id, course, date as YYYY-MM-DD, hours as text
#: or None, delivery or None, provider or None, origin)``.
CompletionRow = tuple[str, str, str, str | None, str | None, str | None, str]


class CompletionsByMember(Protocol):
    """What :func:`stream_compliance` reads: a roster and its completed records grouped by member.
    :class:`~peertrain.ledger.Ledger` provides it."""

    def members(self) -> list[Member]:
        """The roster, in id order."""
        ...

    def completions_by_member(self) -> Iterator[tuple[str, list[CompletionRow]]]:
        """``(member id, that member's completed rows in id order)``, each member once, members in
        increasing order of ``member id + "/"``; only one member's rows need be in memory at a time."""
        ...


@frozen
class MemberVerdicts:
    """One member's verdicts (pack order, then requirement order) and forecast."""

    member: Member
    verdicts: tuple[Verdict, ...]
    #: The next lapse (``lapses_on`` is ``None`` when nothing will lapse).
    forecast: Forecast


class ComplianceStream:
    """The verdicts of a ledger as an iterable of :class:`MemberVerdicts`, in roster order.

    It can be iterated once. The running totals (:attr:`counts`, :attr:`members`,
    :attr:`failing`, :attr:`warnings`) are complete when the iteration has ended.
    """

    def __init__(
        self,
        ledger: CompletionsByMember,
        packs: Sequence[RulePack],
        as_of: dt.date,
        *,
        catalogue: Catalogue,
        waivers: Sequence[Waiver] = (),
        due_within: int = DUE_WITHIN_DAYS,
        members: Sequence[Member] | None = None,
    ) -> None:
        if due_within < 0:
            raise ValueError(f"due_within must be 0 or more days, got {due_within}")
        self.as_of = as_of
        self._ledger = ledger
        self._packs = tuple(packs)
        self._catalogue = catalogue
        self._due_within = due_within
        self._roster = list(ledger.members() if members is None else members)
        if len({m.id for m in self._roster}) != len(self._roster):
            raise ValueError("members must have different ids")
        self._waivers: dict[str, list[Waiver]] = defaultdict(list)
        for waiver in waivers:
            self._waivers[waiver.member].append(waiver)
        self._started = False
        #: How many verdicts have each status so far (every status present).
        self.counts: dict[Status, int] = dict.fromkeys(Status, 0)
        #: How many members had at least one verdict so far.
        self.members = 0
        #: Ids of the members with a ``lapsed`` or ``not_met`` verdict so far, in roster order.
        self.failing: list[str] = []
        self._warnings: set[str] = set()
        self._credits = _CreditMaker(catalogue)

    @property
    def roster(self) -> list[Member]:
        """The members to evaluate (those who join after the as-of date get no verdicts)."""
        return self._roster

    @property
    def warnings(self) -> tuple[str, ...]:
        """Data warnings so far, sorted (as :attr:`ComplianceResult.warnings`)."""
        return tuple(sorted(self._warnings | self._credits.warnings))

    @property
    def total(self) -> int:
        """How many verdicts so far."""
        return sum(self.counts.values())

    @property
    def compliant(self) -> bool:
        """True when no verdict so far is ``not_met`` or ``lapsed``."""
        return not self.failing

    def __iter__(self) -> Iterator[MemberVerdicts]:
        if self._started:
            raise RuntimeError("a compliance stream can be iterated only once")
        self._started = True
        return self._run()

    def _run(self) -> Iterator[MemberVerdicts]:
        """Evaluate in the ledger's order (member id + "/"), hand back in roster order: a result
        waits only while a member before it in the roster has not been evaluated yet."""
        position = {m.id: i for i, m in enumerate(self._roster)}
        waiting: dict[int, MemberVerdicts | None] = {}
        following = 0
        for member, result in self._merge(sorted(self._roster, key=lambda m: m.id + "/")):
            waiting[position[member.id]] = result
            while following in waiting:
                ready = waiting.pop(following)
                following += 1
                if ready is not None:
                    self._tally(ready)
                    yield ready

    def _tally(self, result: MemberVerdicts) -> None:
        failing = False
        for verdict in result.verdicts:
            self.counts[verdict.status] += 1
            failing = failing or not verdict.status.compliant
        self.members += 1
        if failing:
            self.failing.append(result.member.id)

    def _merge(self, roster: list[Member]) -> Iterator[tuple[Member, MemberVerdicts | None]]:
        """Walk the roster and the ledger's per-member records together, both in ledger order."""
        groups = self._ledger.completions_by_member()
        pending = next(groups, None)
        for member in roster:
            key = member.id + "/"
            rows: list[CompletionRow] = []
            while pending is not None and pending[0] + "/" <= key:
                if pending[0] == member.id:
                    rows = pending[1]
                else:
                    self._stray(pending)
                pending = next(groups, None)
            yield member, self._evaluate(member, self._credits.make(rows))
        while pending is not None:
            self._stray(pending)
            pending = next(groups, None)

    def _stray(self, group: tuple[str, list[CompletionRow]]) -> None:
        self._credits.make(group[1])  # unknown courses and hour mismatches are reported all the same
        self._warnings.add(f"member {group[0]!r} has completions but is not on the roster; not evaluated")

    def _evaluate(self, member: Member, credits: list[Credit]) -> MemberVerdicts | None:
        as_of = self.as_of
        if member.joined_on is not None and member.joined_on > as_of:
            return None
        history = tuple(sorted((c for c in credits if c.on <= as_of), key=lambda c: (c.on, c.id)))
        subject = Subject(member=member, credits=history, as_of=as_of)
        waivers = self._waivers.get(member.id, ())
        verdicts = []
        for pack in self._packs:
            for req in pack.requirements:
                verdict = evaluate(
                    pack, req, subject, catalogue=self._catalogue, waivers=waivers, due_within=self._due_within
                )
                if verdict is not None:
                    verdicts.append(verdict)
        if not verdicts:
            return None
        (outlook,) = forecast(verdicts, as_of)
        return MemberVerdicts(member, tuple(verdicts), outlook)


class _CreditMaker:
    """Ledger rows to :class:`Credit` as :func:`~peertrain.rules.compliance.credit_completions` makes
    them from :class:`~peertrain.rules.model.Completion`, with the parsing of repeated dates and hours
    remembered."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._courses: dict[str, Course] = {}
        self._dates: dict[str, dt.date] = {}
        self._hours: dict[str, Decimal] = {}
        self.warnings: set[str] = set()

    def make(self, rows: list[CompletionRow]) -> list[Credit]:
        credits = []
        for cid, course_id, day, hours_text, delivery, given_provider, origin in rows:
            course = self._courses.get(course_id)
            if course is None:
                try:
                    course = self._courses[course_id] = self._catalogue.course(course_id)
                except KeyError:
                    raise InputError(
                        origin or "completions", f"completion {cid!r}: unknown course {course_id!r}", field="course"
                    ) from None
            on = self._dates.get(day)
            if on is None:
                on = self._dates[day] = dt.date.fromisoformat(day)
            note = None
            if hours_text is None:
                hours = course.hours
                if hours is None:
                    hours = ZERO
                    note = (
                        f"completion {cid} ({course.id}): no hours on the record and none "
                        "in the catalogue; counted as 0 h"
                    )
            else:
                record_hours = self._hours.get(hours_text)
                if record_hours is None:
                    record_hours = self._hours[hours_text] = to_hours(Decimal(hours_text))
                hours = record_hours
                if course.hours is not None and hours != course.hours:
                    note = (
                        f"completion {cid} ({course.id}): the record says {hours} h, the "
                        f"catalogue {course.hours} h; the record's hours were used"
                    )
            if note:
                self.warnings.add(note)
            provider = given_provider.strip() if given_provider else None
            credits.append(
                Credit(
                    id=cid,
                    course=course,
                    on=on,
                    hours=hours,
                    delivery=Delivery(delivery) if delivery else course.delivery,
                    provider=provider or course.provider,
                    note=note,
                    self_reported=is_self_reported(origin),
                )
            )
        return credits


def stream_compliance(
    ledger: CompletionsByMember,
    packs: Sequence[RulePack],
    as_of: dt.date,
    *,
    catalogue: Catalogue,
    waivers: Sequence[Waiver] = (),
    due_within: int = DUE_WITHIN_DAYS,
    members: Sequence[Member] | None = None,
) -> ComplianceStream:
    """Every verdict for the ledger's roster (or ``members``) under ``packs`` as of ``as_of``,
    streamed one member at a time; see :class:`ComplianceStream`.

    The verdicts, forecasts and warnings are those of :func:`~peertrain.rules.compliance.check_compliance`
    given ``ledger.members()`` and ``ledger.completions()``.
    """
    return ComplianceStream(
        ledger, packs, as_of, catalogue=catalogue, waivers=waivers, due_within=due_within, members=members
    )
