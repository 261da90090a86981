"""Evaluate one requirement for one member on one date. Pure: no clock, no I/O.

How a verdict is reached (``docs/rules.md`` has the same with examples):

1. Completions dated after the as-of date ``D`` are ignored: the verdict is what was known on ``D``.
2. Each requirement kind defines ``satisfied(X)`` for any day ``X`` from those completions
   (see :mod:`peertrain.rules.requirements` and :mod:`peertrain.rules.windows`). For ``periodic`` windows,
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
from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal

from peertrain.rules._credits import (
    ZERO,
    Credit,
    Subject,
    _counted,
    _Ctx,
    _Tally,
)
from peertrain.rules._measure import (
    _best_span,
    _change_days,
    _expiry,
    _met,
    _parts,
    _satisfied,
    _shown,
)
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Waiver
from peertrain.rules.requirements import (
    AllOf,
    AnyOf,
    Certificate,
    Requirement,
    RulePack,
)
from peertrain.rules.verdict import Shortfall, Status, Verdict
from peertrain.rules.windows import ONE_DAY, AllTime, AnySpan, Periodic, Rolling, add_months
from peertrain.rules.windows import first_day_outside_rolling as _drop_day

__all__ = ["Credit", "Subject", "evaluate"]

#: Whether :func:`evaluate` may take its shortcuts: closed forms of the timeline instead of a scan
#: of every change day, and bisection and running totals over date-ordered credits instead of
#: filtering and adding them up again (the same answers; the tests compare both ways).
SHORTCUTS = True


# -- the timeline scan and the verdict -------------------------------------------------------


def _timeline(req: Requirement, ctx: _Ctx) -> tuple[bool, dt.date | None, dt.date | None]:
    """``(satisfied on D, lapses_on, last day satisfied before D)``."""
    as_of = ctx.subject.as_of
    if SHORTCUTS and ctx.subject.settled:  # no credit after D: the shortcuts below hold
        if isinstance(req, AllOf | AnyOf):
            combined = combine_timelines(req, [_timeline(part, ctx) for part in _parts(req, ctx)])
            if combined is not None:
                return combined
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


Timeline = tuple[bool, dt.date | None, dt.date | None]


def combine_timelines(req: AllOf | AnyOf, results: Sequence[Timeline]) -> Timeline | None:
    """A composite's timeline from its parts' (all settled), or ``None`` where only a scan of the
    change days tells (an all_of not met on D whose unmet parts were all met once)."""
    # After D each part can only stop being met, and stops on its lapses_on.
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
    return None


# The shortcuts give what the scan gives, for a requirement whose credits are all dated on or before D
# (as :func:`~peertrain.rules.compliance.check_compliance` passes them), in time linear in the credits.


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

    status, lapses_on, due_on = decide(satisfied, lapses_on, tally.satisfied, grace_end, as_of, due_within)
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


def decide(  # noqa: PLR0917 - the engine's own inputs to step 4, by position as it computes them
    satisfied: bool,
    lapses_on: dt.date | None,
    tally_satisfied: bool,
    grace_end: dt.date | None,
    as_of: dt.date,
    due_within: int,
) -> tuple[Status, dt.date | None, dt.date | None]:
    """``(status, lapses_on, due_on)`` from the timeline on D (``satisfied``, ``lapses_on``), whether
    the tally shown is satisfied, and the member's grace period (step 4 of the module's summary)."""
    in_grace = grace_end is not None and as_of < grace_end
    if satisfied and in_grace and not tally_satisfied:
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
    return status, lapses_on, due_on


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
