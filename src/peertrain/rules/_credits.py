"""Credits (completions with the catalogue applied) and which of them a requirement counts.

Internal to :mod:`peertrain.rules.engine`, which re-exports :class:`Credit` and :class:`Subject`."""

from __future__ import annotations

import datetime as dt
import functools
from bisect import bisect_left
from collections.abc import Callable, Sequence
from decimal import Decimal

from attrs import field, frozen

from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Course, Delivery, Member
from peertrain.rules.requirements import (
    Certificate,
    CourseFilter,
    NOf,
    Requirement,
    RulePack,
)
from peertrain.rules.verdict import Shortfall
from peertrain.rules.windows import ONE_DAY, Span

ZERO = Decimal(0)


@frozen
class Credit:
    """A completion with the catalogue applied: the hours, delivery and provider that count."""

    id: str
    course: Course
    on: dt.date
    hours: Decimal
    delivery: Delivery
    provider: str
    #: A data-quality note (hours disagreeing with the catalogue, no hours known), if any.
    note: str | None = None
    #: Whether it is an approved self-reported submission (see :func:`peertrain.rules.model.is_self_reported`).
    self_reported: bool = False


@frozen
class Subject:
    """One member as a rule sees them: their credits up to the as-of date, and when rules bind."""

    member: Member
    credits: tuple[Credit, ...]
    as_of: dt.date
    #: Whether ``credits`` are in date order (then a window's credits are found by bisection).
    ordered: bool = field(init=False, eq=False, repr=False)
    #: The credits grouped by what a filter looks at (course, provider, delivery, self-reported): one of each
    #: group and the positions of all of them, so a filter is tried once per group.
    groups: tuple[tuple[Credit, tuple[int, ...]], ...] = field(init=False, eq=False, repr=False)
    #: Whether no credit is dated after ``as_of`` (then the timeline shortcuts apply).
    settled: bool = field(init=False, eq=False, repr=False)
    #: The credits with a data-quality note.
    noted: tuple[Credit, ...] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        credits = self.credits
        groups: dict[tuple[int, str, Delivery, bool], tuple[Credit, list[int]]] = {}
        for i, c in enumerate(credits):
            groups.setdefault((id(c.course), c.provider, c.delivery, c.self_reported), (c, []))[1].append(i)
        ordered = all(credits[i].on <= credits[i + 1].on for i in range(len(credits) - 1))
        object.__setattr__(self, "ordered", ordered)
        object.__setattr__(self, "settled", all(c.on <= self.as_of for c in credits))
        object.__setattr__(self, "noted", tuple(c for c in credits if c.note))
        object.__setattr__(self, "groups", tuple((c, tuple(at)) for c, at in groups.values()))


@frozen
class _Tally:
    satisfied: bool
    detail: str
    shortfall: Shortfall = field(factory=Shortfall)
    evidence: tuple[str, ...] = ()
    hours_credited: Decimal | None = None
    hours_required: Decimal | None = None
    span: Span | None = None


#: A span of an any-span window: how close it comes (satisfied, hours, completions), its credits
#: and its dates.
_Span = tuple[tuple[bool, Decimal, int], Sequence[Credit], Span]


@frozen
class _Ctx:
    pack: RulePack
    catalogue: Catalogue
    subject: Subject
    #: The first day after the member's grace period (``None``: no grace period).
    grace_end: dt.date | None
    #: The member's join date (``None``: unknown, so every period binds).
    joined_on: dt.date | None
    #: Whether the subject's credits are in date order (then windows are found by bisection).
    ordered: bool = False
    #: The credits each requirement counts (by ``id`` of the requirement), computed once.
    counted: dict[int, tuple[Credit, ...]] = field(factory=dict, eq=False)
    #: The best span of an any-span requirement on D (by ``id``), once the timeline found it.
    spans: dict[int, _Span | None] = field(factory=dict, eq=False)


# -- matching ---------------------------------------------------------------------------------


def _matches(flt: CourseFilter, credit: Credit, approved: frozenset[str]) -> bool:
    course = credit.course
    if flt.courses and course.id not in flt.courses:
        return False
    if flt.topics and not (flt.topics & course.topics):
        return False
    if flt.functions and not (flt.functions & course.functions):
        return False
    if flt.providers and credit.provider not in flt.providers:
        return False
    if flt.delivery and credit.delivery not in flt.delivery:
        return False
    return not (flt.approved_providers_only and credit.provider not in approved)


def _counted(req: Requirement, ctx: _Ctx) -> tuple[Credit, ...]:
    found = ctx.counted.get(id(req))
    if found is None:
        found = ctx.counted[id(req)] = _count(req, ctx)
    return found


def _count(req: Requirement, ctx: _Ctx) -> tuple[Credit, ...]:
    wanted = frozenset(req.courses) if isinstance(req, Certificate | NOf) else None
    keep = _sieve(req.counts, ctx.pack.approved_providers, wanted, req.self_reported)  # type: ignore[union-attr]
    subject = ctx.subject
    kept = [at for c, at in subject.groups if keep(c)]
    if len(kept) == len(subject.groups):
        return subject.credits
    if len(kept) == 1:
        return tuple(subject.credits[i] for i in kept[0])
    return tuple(subject.credits[i] for i in sorted(i for at in kept for i in at))


@functools.lru_cache(maxsize=1024)
def _sieve(
    flt: CourseFilter, approved: frozenset[str], wanted: frozenset[str] | None, self_reported: bool = True
) -> Callable[[Credit], bool]:
    """Whether a credit counts under ``flt`` (and is of a ``wanted`` course; and, unless
    ``self_reported``, is not self-reported), remembered per course, provider, delivery and
    self-reporting: a roster's credits repeat few of them. Every kind counts through here, so
    every kind honours a requirement's ``self_reported = false``."""
    seen: dict[tuple[int, str, Delivery], tuple[Course, bool]] = {}

    def keep(credit: Credit) -> bool:
        if credit.self_reported and not self_reported:
            return False
        course = credit.course
        key = (id(course), credit.provider, credit.delivery)
        found = seen.get(key)
        if found is None:
            if len(seen) > 4096:
                seen.clear()
            # The course is kept with the answer, so its id() is not reused while the key exists.
            found = seen[key] = (
                course, (wanted is None or course.id in wanted) and _matches(flt, credit, approved)
            )
        return found[1]

    return keep


def _within(credits: Sequence[Credit], span: Span, ordered: bool = False) -> list[Credit]:
    """The credits dated in ``span``; by bisection when they are in date order."""
    if ordered:
        low = bisect_left(credits, span[0], key=_on)
        return list(credits[low : bisect_left(credits, span[1], lo=low, key=_on)])
    return [c for c in credits if span[0] <= c.on < span[1]]


def _on(credit: Credit) -> dt.date:
    return credit.on


def _fmt(hours: Decimal) -> str:
    return f"{hours.normalize():f}"


def _show(span: Span) -> str:
    return f"{span[0].isoformat()} to {(span[1] - ONE_DAY).isoformat()}"


