"""Evaluate one requirement for one member on one date. Pure: no clock, no I/O.

How a verdict is reached (``docs/rules.md`` has the same with examples):

1. Completions dated after the as-of date ``D`` are ignored: the verdict is what was known on ``D``.
2. Each requirement kind defines ``satisfied(X)`` for any day ``X`` from those completions
   (see :mod:`peertrain.requirements` and :mod:`peertrain.windows`). For ``periodic`` windows,
   ``satisfied(X)`` holds when the last *ended* period before ``X`` was met, or the current
   period already is, or the last ended period did not bind the member (with a grace period,
   periods that end after it bind; without one, periods starting on or after the join date).
3. ``satisfied`` can change only on a few days: completion dates, the days completions age out of
   a rolling window, certificate expiry days, period boundaries. Scanning those days forward from
   ``D`` gives ``lapses_on`` (the first day it stops being met with no new training); scanning
   backward tells ``lapsed`` (was met before) from ``not_met`` (never met).
4. Status: ``exempt`` if a waiver is active on ``D``; else if satisfied, ``due_soon`` when
   ``lapses_on - D <= due_within`` days, otherwise ``met``; else ``grace`` while ``D`` is before the
   join date + grace months; else ``lapsed`` or ``not_met``.
"""

from __future__ import annotations

import datetime as dt
import functools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from attrs import evolve, field, frozen

from peertrain.catalog import Catalogue
from peertrain.model import Course, Delivery, Member, Waiver
from peertrain.requirements import (
    AllOf,
    AnyOf,
    Certificate,
    CourseFilter,
    Hours,
    NOf,
    Recurring,
    Requirement,
    RulePack,
    Topics,
)
from peertrain.verdict import MinimumShortfall, Shortfall, Status, Verdict
from peertrain.windows import ONE_DAY, AllTime, AnySpan, Periodic, Rolling, Span, add_months
from peertrain.windows import first_day_outside_rolling as _drop_day

__all__ = ["Credit", "Subject", "evaluate"]

ZERO = Decimal(0)

#: Whether :func:`evaluate` may take its shortcuts: closed forms of the timeline instead of a scan
#: of every change day, and bisection and running totals over date-ordered credits instead of
#: filtering and adding them up again (the same answers; the tests compare both ways).
SHORTCUTS = True


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


@frozen
class Subject:
    """One member as a rule sees them: their credits up to the as-of date, and when rules bind."""

    member: Member
    credits: tuple[Credit, ...]
    as_of: dt.date
    #: Whether ``credits`` are in date order (then a window's credits are found by bisection).
    ordered: bool = field(init=False, eq=False, repr=False)
    #: The credits grouped by what a filter looks at (course, provider, delivery): one of each
    #: group and the positions of all of them, so a filter is tried once per group.
    groups: tuple[tuple[Credit, tuple[int, ...]], ...] = field(init=False, eq=False, repr=False)
    #: Whether no credit is dated after ``as_of`` (then the timeline shortcuts apply).
    settled: bool = field(init=False, eq=False, repr=False)
    #: The credits with a data-quality note.
    noted: tuple[Credit, ...] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        credits = self.credits
        groups: dict[tuple[int, str, Delivery], tuple[Credit, list[int]]] = {}
        for i, c in enumerate(credits):
            groups.setdefault((id(c.course), c.provider, c.delivery), (c, []))[1].append(i)
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
    keep = _sieve(req.counts, ctx.pack.approved_providers, wanted)  # type: ignore[union-attr]
    subject = ctx.subject
    kept = [at for c, at in subject.groups if keep(c)]
    if len(kept) == len(subject.groups):
        return subject.credits
    if len(kept) == 1:
        return tuple(subject.credits[i] for i in kept[0])
    return tuple(subject.credits[i] for i in sorted(i for at in kept for i in at))


@functools.lru_cache(maxsize=1024)
def _sieve(
    flt: CourseFilter, approved: frozenset[str], wanted: frozenset[str] | None
) -> Callable[[Credit], bool]:
    """Whether a credit counts under ``flt`` (and is of a ``wanted`` course), remembered per
    course, provider and delivery: a roster's credits repeat few of them."""
    seen: dict[tuple[int, str, Delivery], tuple[Course, bool]] = {}

    def keep(credit: Credit) -> bool:
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


# -- the measure of a windowed requirement over one range of dates ---------------------------


def _measure(req: Requirement, credits: Sequence[Credit], ctx: _Ctx, span: Span | None) -> _Tally:
    evidence = tuple(c.id for c in credits)
    if isinstance(req, Hours):
        total = sum((c.hours for c in credits), ZERO)
        short = max(req.hours - total, ZERO)
        minimum_shorts = []
        parts = []
        for minimum in req.minimums:
            got = sum((c.hours for c in credits if _matches(minimum.counts, c, ctx.pack.approved_providers)), ZERO)
            parts.append(f"{minimum.label} {_fmt(got)} of {_fmt(minimum.hours)} h")
            if got < minimum.hours:
                minimum_shorts.append(MinimumShortfall(minimum.label, minimum.hours - got))
        needed = max(short, sum((m.hours for m in minimum_shorts), ZERO))
        detail = f"{_fmt(total)} of {_fmt(req.hours)} h"
        if parts:
            detail += " (" + "; ".join(parts) + ")"
        return _Tally(
            satisfied=needed == 0,
            detail=detail,
            shortfall=Shortfall(hours=needed, minimums=tuple(minimum_shorts)),
            evidence=evidence,
            hours_credited=total,
            hours_required=req.hours,
            span=span,
        )
    if isinstance(req, Topics):
        required = req.topics | _track_topics(req, ctx)
        covered = set().union(*(c.course.topics for c in credits)) & required
        missing = tuple(sorted(required - covered))
        return _Tally(
            satisfied=not missing,
            detail=f"{len(covered)} of {len(required)} topics covered"
            + (f", missing {', '.join(missing)}" if missing else ""),
            shortfall=Shortfall(topics=missing),
            evidence=tuple(c.id for c in credits if c.course.topics & required),
            span=span,
        )
    if isinstance(req, NOf):
        done = {c.course.id for c in credits}
        missing = tuple(course for course in dict.fromkeys(req.courses) if course not in done)
        count = len(done)
        return _Tally(
            satisfied=count >= req.n,
            detail=f"{count} of {req.n} courses from {', '.join(dict.fromkeys(req.courses))}",
            shortfall=Shortfall(count=max(req.n - count, 0), courses=missing if count < req.n else ()),
            evidence=evidence,
            span=span,
        )
    assert isinstance(req, Recurring)
    count = len(credits)
    return _Tally(
        satisfied=count >= req.sessions,
        detail=f"{count} of {req.sessions} session{'s' if req.sessions != 1 else ''}",
        shortfall=Shortfall(count=max(req.sessions - count, 0)),
        evidence=evidence,
        hours_credited=sum((c.hours for c in credits), ZERO),
        span=span,
    )


def _met(req: Requirement, credits: Sequence[Credit], ctx: _Ctx) -> bool:
    """``_measure(req, credits, ...).satisfied``, without composing what a verdict shows."""
    if isinstance(req, Hours):
        if sum((c.hours for c in credits), ZERO) < req.hours:
            return False
        return all(
            sum((c.hours for c in credits if _matches(m.counts, c, ctx.pack.approved_providers)), ZERO) >= m.hours
            for m in req.minimums
        )
    if isinstance(req, Topics):
        required = req.topics | _track_topics(req, ctx)
        return required <= set().union(*(c.course.topics for c in credits))
    if isinstance(req, NOf):
        return len({c.course.id for c in credits}) >= req.n
    assert isinstance(req, Recurring)
    return len(credits) >= req.sessions


def _track_topics(req: Topics, ctx: _Ctx) -> frozenset[str]:
    return ctx.catalogue.track(req.track).topics if req.track else frozenset()


# -- satisfied(X), what to show, and where it can change -------------------------------------


def _enforced(window: Periodic, index: int, ctx: _Ctx) -> bool:
    """Whether period ``index`` binds the member: with a grace period, every period that ends
    after the grace period does; without one, every period that starts on or after the join
    date; with no join date, every period."""
    if ctx.grace_end is not None:
        return window.start(index + 1) > ctx.grace_end
    return ctx.joined_on is None or window.start(index) >= ctx.joined_on


def _satisfied(req: Requirement, ctx: _Ctx, day: dt.date) -> bool:
    if isinstance(req, AllOf | AnyOf):
        results = [_satisfied(part, ctx, day) for part in _parts(req, ctx)]
        return all(results) if isinstance(req, AllOf) else any(results)
    credits = [c for c in _counted(req, ctx) if c.on <= day]
    if isinstance(req, Certificate):
        return any(_valid(req, c, day) for c in credits)
    window = req.window
    if isinstance(window, AnySpan):
        return any(
            _met(req, _within(credits, window.span(c.on), ctx.ordered), ctx) for c in credits
        )
    if isinstance(window, Periodic):
        index = window.index_of(day)
        if _met(req, _within(credits, window.period(index), ctx.ordered), ctx):
            return True
        if not _enforced(window, index - 1, ctx):
            return True
        return _met(req, _within(credits, window.period(index - 1), ctx.ordered), ctx)
    return _met(req, _within(credits, window.span(day), ctx.ordered), ctx)


def _expiry(req: Certificate, credit: Credit) -> dt.date | None:
    months = req.valid_months or credit.course.validity_months
    return None if months is None else add_months(credit.on, months)


def _valid(req: Certificate, credit: Credit, day: dt.date) -> bool:
    expiry = _expiry(req, credit)
    return credit.on <= day and (expiry is None or day < expiry)


def _change_days(req: Requirement, ctx: _Ctx) -> set[dt.date]:
    if isinstance(req, AllOf | AnyOf):
        return set().union(*(_change_days(part, ctx) for part in _parts(req, ctx)))
    credits = _counted(req, ctx)
    days = {c.on for c in credits}
    if isinstance(req, Certificate):
        days.update(e for c in credits if (e := _expiry(req, c)) is not None)
        return days
    window = req.window
    if isinstance(window, Rolling):
        days.update(_drop_day(c.on, window.months) for c in credits)
    elif isinstance(window, Periodic):
        as_of = ctx.subject.as_of
        bounds = [d for d in (ctx.grace_end, ctx.joined_on) if d is not None]
        low = min([as_of, *(c.on for c in credits), *bounds])
        high = max([as_of, *bounds])
        first, last = window.index_of(low) - 1, window.index_of(high) + 3
        days.update(window.start(i) for i in range(first, last + 1))
    return days


def _shown(req: Requirement, ctx: _Ctx, day: dt.date) -> _Tally:
    """The tally a verdict reports: the window or period that matters on ``day``."""
    credits = [c for c in _counted(req, ctx) if c.on <= day]
    if isinstance(req, Certificate):
        return _certificate_tally(req, credits, day, ctx)
    assert not isinstance(req, AllOf | AnyOf)
    window = req.window
    if isinstance(window, AnySpan):
        best: _Tally | None = None
        if day == ctx.subject.as_of and id(req) in ctx.spans:
            chosen = ctx.spans[id(req)]
        else:
            chosen = _best_span(req, credits, window, ctx)
        if chosen is not None:
            best = _measure(req, chosen[1], ctx, chosen[2])
            if credits_in := [c for c in credits if c.id in best.evidence]:
                first, last = credits_in[0].on, credits_in[-1].on
                dates = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
                return evolve(best, detail=f"{best.detail} {window.describe()}, completed {dates}")
            return evolve(best, detail=f"{best.detail} {window.describe()}")
    if isinstance(window, Periodic):
        index = window.index_of(day)
        current = _measure(req, _within(credits, window.period(index), ctx.ordered), ctx, window.period(index))
        if current.satisfied:
            return current
        if not _enforced(window, index - 1, ctx):
            first_due = index
            while not _enforced(window, first_due, ctx):
                first_due += 1
            which = "this period" if first_due == index else _show(window.period(first_due))
            return evolve(current, detail=f"{current.detail} this period; the first period due is {which}")
        previous = _measure(req, _within(credits, window.period(index - 1), ctx.ordered), ctx, None)
        word = "met" if previous.satisfied else "short"
        prior = window.period(index - 1)
        return evolve(
            current,
            detail=f"{current.detail} this period; the period {_show(prior)} was {word} "
            f"({previous.detail})",
            evidence=(*previous.evidence, *current.evidence) if previous.satisfied else current.evidence,
        )
    span = window.span(day)
    return _measure(req, _within(credits, span, ctx.ordered), ctx, span)


def _best_span(req: Requirement, credits: list[Credit], window: AnySpan, ctx: _Ctx) -> _Span | None:
    """The span ending on a credit's date that comes closest to satisfying ``req`` (the later
    one on a tie), with its progress and credits."""
    chosen: _Span | None = None
    if isinstance(req, Hours) and not req.minimums and ctx.ordered:
        # Hours alone decide: sum each span from running totals instead of adding it up again.
        ons = [c.on for c in credits]
        running = [ZERO]
        for c in credits:
            running.append(running[-1] + c.hours)
        for c in credits:
            span = window.span(c.on)
            low, high = bisect_left(ons, span[0]), bisect_left(ons, span[1])
            total = running[high] - running[low]
            progress = (total >= req.hours, total, high - low)
            if chosen is None or progress >= chosen[0]:
                chosen = (progress, credits[low:high], span)
        return chosen
    for c in credits:
        span = window.span(c.on)
        inside = _within(credits, span, ctx.ordered)
        progress = _quick_progress(req, inside, ctx)
        if chosen is None or progress >= chosen[0]:
            chosen = (progress, inside, span)
    return chosen


def _quick_progress(req: Requirement, credits: Sequence[Credit], ctx: _Ctx) -> tuple[bool, Decimal, int]:
    """How close ``credits`` come to satisfying ``req``, to pick the span worth showing (later
    spans win ties): satisfied, then hours credited, then how many completions count."""
    met = _met(req, credits, ctx)
    if isinstance(req, Hours | Recurring):
        return (met, sum((c.hours for c in credits), ZERO), len(credits))
    if isinstance(req, Topics):
        required = req.topics | _track_topics(req, ctx)
        return (met, ZERO, sum(1 for c in credits if c.course.topics & required))
    return (met, ZERO, len(credits))


def _titles(ids: Iterable[str], ctx: _Ctx) -> str:
    names = []
    for course_id in dict.fromkeys(ids):
        course = ctx.catalogue.courses.get(course_id)
        names.append(course.title if course else course_id)
    return " or ".join(names)


def _certificate_tally(req: Certificate, credits: Sequence[Credit], day: dt.date, ctx: _Ctx) -> _Tally:
    def rank(c: Credit) -> tuple[dt.date, dt.date]:
        expiry = _expiry(req, c)
        return (expiry or dt.date.max, c.on)

    current = sorted((c for c in credits if _valid(req, c, day)), key=rank)
    if current:
        best = current[-1]
        expiry = _expiry(req, best)
        until = f", valid until {(expiry - ONE_DAY).isoformat()}" if expiry else ", does not expire"
        return _Tally(
            satisfied=True,
            detail=f"{best.course.title} completed {best.on.isoformat()}{until}",
            evidence=(best.id,),
            span=(best.on, expiry or dt.date.max),
        )
    names = _titles(req.courses, ctx)
    if credits:
        last = sorted(credits, key=rank)[-1]
        expiry = _expiry(req, last)
        detail = f"{last.course.title} completed {last.on.isoformat()}"
        if expiry is not None:
            detail += f" expired {expiry.isoformat()}"
        detail += f"; needs a current {names}"
    else:
        detail = f"no {names} on record"
    shortfall = Shortfall(count=1, courses=tuple(dict.fromkeys(req.courses)))
    return _Tally(satisfied=False, detail=detail, shortfall=shortfall)


def _parts(req: AllOf | AnyOf, ctx: _Ctx) -> list[Requirement]:
    return [part for part in req.of if part.applies_to.matches(ctx.subject.member)]


# -- the timeline scan and the verdict -------------------------------------------------------


def _timeline(req: Requirement, ctx: _Ctx) -> tuple[bool, dt.date | None, dt.date | None]:
    """``(satisfied on D, lapses_on, last day satisfied before D)``."""
    as_of = ctx.subject.as_of
    if SHORTCUTS and ctx.subject.settled:  # no credit after D: the shortcuts below hold
        if isinstance(req, AllOf | AnyOf):
            # After D each part can only stop being met, and stops on its lapses_on.
            results = [_timeline(part, ctx) for part in _parts(req, ctx)]
            if isinstance(req, AllOf) and all(met for met, _lapse, _last in results):
                lapses = [lapse for _met, lapse, _last in results if lapse is not None]
                return True, min(lapses) if lapses else None, None
            kept = [lapse for met, lapse, _last in results if met]
            if isinstance(req, AnyOf) and kept:
                return True, None if None in kept else max(d for d in kept if d is not None), None
            # Not met on D. A part never met before D leaves an all_of never met; an any_of stopped
            # being met when the last of its parts did.
            if isinstance(req, AllOf) and (False, None, None) in results:
                return False, None, None
            if isinstance(req, AnyOf):
                stopped = [lapse for met, lapse, _last in results if not met and lapse is not None]
                if not stopped:
                    return False, None, None
                return False, max(stopped), max(stopped) - ONE_DAY
        else:
            counted = _counted(req, ctx)
            if isinstance(req, Certificate):
                return _certificate_timeline(req, counted, as_of)
            window = req.window
            if isinstance(window, AllTime):
                return _met(req, counted, ctx), None, None
            if isinstance(window, AnySpan):  # once met, met for good; not met, never was
                best = ctx.spans[id(req)] = _best_span(req, list(counted), window, ctx)
                return best is not None and best[0][0], None, None
            if isinstance(window, Rolling):
                return _rolling_timeline(req, window.months, counted, ctx)
            if _satisfied(req, ctx, as_of):  # periodic: only the next period starts can end it
                bounds = [d for d in (ctx.grace_end, ctx.joined_on) if d is not None]
                for index in range(window.index_of(as_of) + 1, window.index_of(max([as_of, *bounds])) + 4):
                    if not _satisfied(req, ctx, window.start(index)):
                        return True, window.start(index), None
                return True, None, None
            return _periodic_lapse(req, window, counted, ctx)
    days = sorted(_change_days(req, ctx))
    if _satisfied(req, ctx, as_of):
        for day in days:
            if day > as_of and not _satisfied(req, ctx, day):
                return True, day, None
        return True, None, None
    past = [day for day in days if day <= as_of]
    for i in range(len(past) - 1, -1, -1):
        if _satisfied(req, ctx, past[i]):
            for later in [*past[i + 1 :], as_of]:
                if not _satisfied(req, ctx, later):
                    return False, later, later - ONE_DAY
    return False, None, None


# The shortcuts give what the scan gives, for a requirement whose credits are all dated on or before D
# (as :func:`~peertrain.compliance.check_compliance` passes them), in time linear in the credits.


def _certificate_timeline(
    req: Certificate, credits: Sequence[Credit], as_of: dt.date
) -> tuple[bool, dt.date | None, dt.date | None]:
    """Each credit is valid on ``[on, expiry)``. Valid on D: it lapses when the longest-valid of
    those valid on D expires (never, if one does not expire). Not valid on D: the last expiry."""
    if not credits:
        return False, None, None
    expiries = [_expiry(req, c) for c in credits]
    current = [e for e in expiries if e is None or as_of < e]
    if current:
        if None in current:
            return True, None, None
        return True, max(e for e in current if e is not None), None
    last = max(e for e in expiries if e is not None)
    return False, last, last - ONE_DAY


def _periodic_lapse(
    req: Requirement, window: Periodic, credits: Sequence[Credit], ctx: _Ctx
) -> tuple[bool, dt.date | None, dt.date | None]:
    """A periodic requirement not met on D: when did it stop being met, if it ever was?

    Within a period, "met" can only become true (the period's credits add up, the previous period
    is fixed), so each period need only be tested on its last change day. Not met on D, nothing
    is met with no credits, so a period can be met only if it or the one before holds a credit, or
    if the one before does not bind the member: the latest of those is the first period due."""
    as_of = ctx.subject.as_of
    bounds = [d for d in (ctx.grace_end, ctx.joined_on) if d is not None]
    first = window.index_of(min([as_of, *(c.on for c in credits), *bounds])) - 1
    last_on: dict[int, dt.date] = {}
    for c in credits:
        index = window.index_of(c.on)
        last_on[index] = max(last_on.get(index, c.on), c.on)
    candidates = {*last_on, *(index + 1 for index in last_on)}
    if ctx.grace_end is not None:
        candidates.add(window.index_of(ctx.grace_end))
    elif ctx.joined_on is not None:
        joined = window.index_of(ctx.joined_on)
        candidates.add(joined if window.start(joined) >= ctx.joined_on else joined + 1)
    current = window.index_of(as_of)
    for index in sorted((i for i in candidates if first <= i < current), reverse=True):
        start = window.start(index)
        if _satisfied(req, ctx, max(start, last_on.get(index, start))):
            later = window.start(index + 1)
            return False, later, later - ONE_DAY
    return False, None, None


def _rolling_timeline(
    req: Requirement, months: int, credits: Sequence[Credit], ctx: _Ctx
) -> tuple[bool, dt.date | None, dt.date | None]:
    """A credit counts on ``[on, drop day)``, and "met" only grows with the credits that count.
    Met on D: it lapses on the first drop day after which what is left is not met. Not met on D:
    scan back over the change days to the last one on which it was met."""
    as_of = ctx.subject.as_of
    if ctx.ordered:
        return _ordered_rolling_timeline(req, months, credits, ctx)
    drops = [(c, _drop_day(c.on, months)) for c in credits]
    inside = [(c, d) for c, d in drops if as_of < d]
    if _met(req, [c for c, _d in inside], ctx):
        for day in sorted({d for _c, d in inside}):
            if not _met(req, [c for c, d in inside if d > day], ctx):
                return True, day, None
        return True, None, None
    past = sorted({day for c, d in drops for day in (c.on, d) if day <= as_of})
    for i in range(len(past) - 1, -1, -1):
        day = past[i]
        if _met(req, [c for c, d in drops if c.on <= day < d], ctx):
            later = past[i + 1] if i + 1 < len(past) else as_of
            return False, later, later - ONE_DAY
    return False, None, None


def _ordered_rolling_timeline(
    req: Requirement, months: int, credits: Sequence[Credit], ctx: _Ctx
) -> tuple[bool, dt.date | None, dt.date | None]:
    """:func:`_rolling_timeline` for credits in date order. The drop day grows with the date, so
    the credits counting on any day are a slice: from the first not yet dropped to the last done."""
    as_of = ctx.subject.as_of
    ons = [c.on for c in credits]
    drops = [_drop_day(on, months) for on in ons]
    first = bisect_right(drops, as_of)
    if _met(req, credits[first:], ctx):
        for i in range(first, len(drops)):
            if i + 1 < len(drops) and drops[i + 1] == drops[i]:
                continue
            if not _met(req, credits[i + 1 :], ctx):
                return True, drops[i], None
        return True, None, None
    past = sorted({day for day in (*ons, *drops[:first]) if day <= as_of})
    for i in range(len(past) - 1, -1, -1):
        day = past[i]
        if _met(req, credits[bisect_right(drops, day) : bisect_right(ons, day)], ctx):
            later = past[i + 1] if i + 1 < len(past) else as_of
            return False, later, later - ONE_DAY
    return False, None, None


def evaluate(
    pack: RulePack,
    req: Requirement,
    subject: Subject,
    *,
    catalogue: Catalogue,
    waivers: Sequence[Waiver] = (),
    due_within: int = 90,
    top_level: bool = True,
    grace_months: int | None = None,
) -> Verdict | None:
    """The verdict for ``req`` of ``pack`` for ``subject`` on ``subject.as_of``.

    ``None`` when the requirement does not apply to the member (by role or function).
    """
    member, as_of = subject.member, subject.as_of
    if not req.applies_to.matches(member):
        return None
    grace = pack.grace_for(req) if grace_months is None else grace_months
    grace_end = add_months(member.joined_on, grace) if member.joined_on and grace else None
    ctx = _Ctx(pack, catalogue, subject, grace_end, member.joined_on, SHORTCUTS and subject.ordered)
    citation = req.citation or pack.citation
    base = {
        "member": member.id,
        "pack": pack.id,
        "requirement": req.id,
        "title": req.title,
        "as_of": as_of,
        "citation": citation,
    }
    if top_level:
        for waiver in waivers:
            if (
                waiver.member == member.id
                and waiver.pack == pack.id
                and waiver.requirement == req.id
                and waiver.active_on(as_of)
            ):
                until = waiver.valid_until
                lapses = until + ONE_DAY if until else None
                return Verdict(
                    **base,  # type: ignore[arg-type]
                    status=Status.EXEMPT,
                    explanation=(
                        f"Exempt: {waiver.kind.value} granted by {waiver.granted_by} on "
                        f"{waiver.granted_on.isoformat()} ({waiver.reason})"
                        + (f", valid through {until.isoformat()}." if until else ".")
                    ),
                    evidence=waiver.evidence,
                    waiver=waiver,
                    lapses_on=lapses,
                    due_on=until,
                )

    satisfied, lapses_on, _last = _timeline(req, ctx)
    parts: tuple[Verdict, ...] = ()
    if isinstance(req, AllOf | AnyOf):
        if not _parts(req, ctx):
            return None
        found = (
            evaluate(
                pack, part, subject, catalogue=catalogue, due_within=due_within, top_level=False,
                grace_months=grace,
            )
            for part in _parts(req, ctx)
        )
        parts = tuple(v for v in found if v is not None)
        tally = _composite_tally(req, parts)
    else:
        tally = _shown(req, ctx, as_of)

    in_grace = grace_end is not None and as_of < grace_end
    if satisfied and in_grace and not tally.satisfied:
        # Satisfied only because a periodic rule does not bind the new member yet.
        status = Status.GRACE
        lapses_on = lapses_on or grace_end
    elif satisfied:
        due_soon = lapses_on is not None and (lapses_on - as_of).days <= due_within
        status = Status.DUE_SOON if due_soon else Status.MET
    elif in_grace:
        status, lapses_on = Status.GRACE, grace_end
    elif lapses_on is not None:
        status = Status.LAPSED
    else:
        status = Status.NOT_MET
    due_on = lapses_on - ONE_DAY if lapses_on else None
    if status is Status.NOT_MET and grace_end is not None:
        due_on = grace_end - ONE_DAY
    span = tally.span
    return Verdict(
        **base,  # type: ignore[arg-type]
        status=status,
        explanation=_explain(status, tally.detail, lapses_on, due_on, req),
        hours_credited=tally.hours_credited,
        hours_required=tally.hours_required,
        shortfall=tally.shortfall,
        due_on=due_on,
        lapses_on=lapses_on,
        evidence=tally.evidence,
        notes=tuple(c.note for c in subject.noted if c.note and c.id in tally.evidence),
        window_start=span[0] if span and span[0] != dt.date.min else None,
        window_end=span[1] - ONE_DAY if span and span[1] != dt.date.max else None,
        parts=parts,
    )


def _composite_tally(req: AllOf | AnyOf, parts: Sequence[Verdict]) -> _Tally:
    good = [p for p in parts if p.status in (Status.MET, Status.DUE_SOON, Status.EXEMPT)]
    bad = [p for p in parts if p not in good]
    if isinstance(req, AllOf):
        satisfied = not bad
        detail = f"{len(good)} of {len(parts)} parts met (all needed)"
        if bad:
            detail += "; not met: " + "; ".join(p.title for p in bad)
        hours = [p.shortfall.hours for p in parts if p.shortfall.hours]
        total: Decimal | None = sum(hours, ZERO) if hours else None
        short = [p for p in parts if not p.shortfall.empty]
        evidence = tuple(dict.fromkeys(e for p in parts for e in p.evidence))
    else:
        satisfied = bool(good)
        if good:
            detail = "satisfied by " + "; ".join(p.title for p in good)
        else:
            options = "; ".join(p.title for p in parts)
            detail = f"none of {len(parts)} options met (any one needed): {options}"
        hours = [p.shortfall.hours for p in parts if p.shortfall.hours]
        total = min(hours) if hours and not good else None
        short = [] if good else list(parts)
        evidence = tuple(dict.fromkeys(e for p in good for e in p.evidence))
    shortfall = Shortfall(
        hours=total,
        courses=tuple(dict.fromkeys(c for p in short for c in p.shortfall.courses)),
        topics=tuple(dict.fromkeys(t for p in short for t in p.shortfall.topics)),
    )
    return _Tally(satisfied=satisfied, detail=detail, shortfall=shortfall, evidence=evidence)


def _explain(
    status: Status, detail: str, lapses_on: dt.date | None, due_on: dt.date | None, req: Requirement
) -> str:
    where = ""
    window = getattr(req, "window", None)
    if window is not None and not isinstance(window, AllTime | Periodic | AnySpan):
        where = f" {window.describe()}"
    elif isinstance(window, Periodic):
        where = f" ({window.describe()})"
    text = f"{detail}{where}"
    if status is Status.MET:
        tail = f"; stays met through {due_on.isoformat()}" if due_on else ""
        return f"Met: {text}{tail}."
    if status is Status.DUE_SOON:
        assert lapses_on is not None
        assert due_on is not None
        return (
            f"Due soon: {text}; lapses on {lapses_on.isoformat()} "
            f"unless training is added by {due_on.isoformat()}."
        )
    if status is Status.GRACE:
        assert due_on is not None
        return f"Not met yet; new member, first due by {due_on.isoformat()}: {text}."
    if status is Status.LAPSED:
        assert lapses_on is not None
        return f"Lapsed on {lapses_on.isoformat()}: {text}."
    return f"Not met: {text}."
