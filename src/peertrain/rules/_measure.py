"""What a requirement measures over a range of dates, ``satisfied(X)``, and the days it can change.

Internal to :mod:`peertrain.rules.engine`."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from decimal import Decimal

from attrs import evolve

from peertrain.rules._credits import (
    ZERO,
    Credit,
    _counted,
    _Ctx,
    _fmt,
    _matches,
    _show,
    _Span,
    _Tally,
    _within,
)
from peertrain.rules.requirements import (
    AllOf,
    AnyOf,
    Certificate,
    Hours,
    NOf,
    Recurring,
    Requirement,
    Topics,
)
from peertrain.rules.verdict import MinimumShortfall, Shortfall
from peertrain.rules.windows import ONE_DAY, AnySpan, Periodic, Rolling, Span, add_months
from peertrain.rules.windows import first_day_outside_rolling as _drop_day

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
            parts.append(f"{_fmt(got)} h {minimum.label}, {_fmt(minimum.hours)} needed")
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


