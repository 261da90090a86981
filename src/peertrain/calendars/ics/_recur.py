"""Recurring events, for :mod:`peertrain.calendars.ics`: a series kept as one session with an
RRULE when a session can say exactly the same (its occurrences compared with those
``recurring-ical-events`` computes), else expanded into one session per occurrence.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import recurring_ical_events  # type: ignore[import-untyped]
from attrs import evolve, field, frozen
from icalendar import Calendar, Component, Event, vDDDLists, vRecur

from peertrain.calendars.ics._event import _Context, _course, _Fields, _fields, _local, _session, _SkipError, session_id
from peertrain.calendars.sessions import MAX_OCCURRENCES, SESSION_FREQS, Cancellation, Session, parse_rrule

# MAX_OCCURRENCES (the most occurrences a recurring event is expanded into, or compared over to
# keep its rule) and the frequencies a session may have are those of peertrain.calendars.sessions: one bound.
_FREQS = SESSION_FREQS

_Lost = tuple[Component, str, str | None]


def _recurrence_key(prop: Any) -> str:
    """An occurrence's RECURRENCE-ID as stable text: UTC for a zoned time, else as written."""
    value = prop.dt
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return str(value.strftime("%Y%m%d"))


def _series(
    uid: str, master: Event | None, overrides: Sequence[Event], ctx: _Context
) -> tuple[list[Session], list[_Lost]]:
    """The sessions of one UID: a one-off event, a kept or expanded series, or lone overrides."""
    recurs = master is not None and ("RRULE" in master or "RDATE" in master)
    if master is not None and not recurs:
        fields = _fields(master, ctx)
        made = [_session(session_id(ctx.provider, uid), _course(uid, fields.summary, ctx), fields, ctx)]
        lost: list[_Lost] = [(o, "has a RECURRENCE-ID but its event does not recur", None) for o in overrides]
        return made, lost
    if master is None:  # occurrences of a series the file does not contain
        made, lost = [], []
        for override in overrides:
            key = _recurrence_key(override["RECURRENCE-ID"])
            try:
                fields = _fields(override, ctx)
                sid = session_id(ctx.provider, uid, key)
                made.append(_session(sid, _course(uid, fields.summary, ctx), fields, ctx))
            except _SkipError as exc:
                lost.append((override, str(exc), key))
        return made, lost
    fields = _fields(master, ctx)
    kept = _keep(uid, master, fields, overrides, ctx)
    if isinstance(kept, Session):
        return [kept], []
    return _expand(uid, master, fields, overrides, ctx, why=kept)


def _mini_calendar(ctx: _Context, *components: Component) -> Calendar:
    calendar = Calendar()
    for timezone in ctx.timezones:
        calendar.add_component(timezone)
    for component in components:
        calendar.add_component(component)
    return calendar


def _without(event: Event, *names: str) -> Event:
    copy = Event()
    for name, value in event.items():
        if name.upper() not in names:
            copy[name] = value
    return copy


@frozen
class _Value:
    """A bare date or date-time where a property value is expected (an RRULE's UNTIL)."""

    dt: dt.date | dt.datetime
    params: Mapping[str, str] = field(factory=dict)


def _occurrences(calendar: Calendar) -> Iterator[Component]:
    try:
        yield from recurring_ical_events.of(calendar).all()
    except Exception as exc:  # recurring-ical-events raises many kinds for a bad rule
        raise _SkipError(f"its recurrence cannot be expanded: {exc}") from None


def _values(event: Component, name: str) -> list[Any]:
    raw = event.get(name)
    out: list[Any] = []
    for item in raw if isinstance(raw, list) else [raw] if raw is not None else []:
        out += list(item.dts) if isinstance(item, vDDDLists) else [item]
    return out


def _rule(master: Event) -> tuple[str, vRecur] | str:
    """The master's RRULE as a session's ``rrule`` text (and the whole rule), or why it cannot be."""
    rules = master.get("RRULE")
    if isinstance(rules, list):
        return "it has several RRULEs"
    if "RDATE" in master or "EXRULE" in master:
        return "it has RDATEs" if "RDATE" in master else "it has an EXRULE"
    if not isinstance(rules, vRecur):
        return "its RRULE cannot be read"
    rule = vRecur({k: v for k, v in rules.items() if k.upper() not in ("UNTIL", "COUNT")})
    if [str(f).upper() for f in rule.get("FREQ", [])] not in ([f] for f in _FREQS):
        return "its FREQ is not DAILY, WEEKLY, MONTHLY or YEARLY"
    try:
        text = parse_rrule(rule.to_ical().decode())  # type: ignore[no-untyped-call]
    except ValueError as exc:
        return f"its rule is not one a session can hold: {exc}"
    return text, rules


def _keep(uid: str, master: Event, fields: _Fields, overrides: Sequence[Event], ctx: _Context) -> Session | str:
    """The series as one session with an RRULE, or why a session cannot say the same."""
    found = _rule(master)
    if isinstance(found, str):
        return found
    text, rules = found
    unequal = "its local start times follow no local-time rule, as UTC times across a daylight-saving change do not"
    zone = fields.zone
    provider = list(itertools.islice(_occurrences(_mini_calendar(ctx, _without(master, "EXDATE"))), MAX_OCCURRENCES))
    spans = [(_local(o["DTSTART"], zone, ctx), _local(o["DTEND"], zone, ctx)) for o in provider if "DTEND" in o]
    if not spans or len(spans) != len(provider):
        return unequal
    starts = {start: start for start, _ in spans}
    extra: dict[str, Any] = {"rrule": text}
    if "COUNT" in rules:
        extra["count"] = int(rules["COUNT"][0])
    if "UNTIL" in rules:
        last = _local(_Value(rules["UNTIL"][0]), zone, ctx)
        if isinstance(rules["UNTIL"][0], dt.datetime) and last.time() < fields.start.time():
            last -= dt.timedelta(days=1)
        extra["until"] = last.date()
    cancelled: set[dt.date] = set()
    # Each cancelled override keeps its own SEQUENCE and LAST-MODIFIED, for its own event; the
    # session (the master event, and every date an EXDATE cancels) keeps the master's.
    stamps: dict[dt.date, Cancellation] = {}
    for exdate in _values(master, "EXDATE"):
        local = _local(exdate, zone, ctx)
        if local in starts or (fields.all_day and dt.datetime.combine(local.date(), dt.time()) in starts):
            cancelled.add(local.date())
        else:
            ctx.note(f"event {uid!r}: EXDATE {local.isoformat()} is not an occurrence; ignored")
    for override in overrides:
        recurrence = _local(override["RECURRENCE-ID"], zone, ctx)
        if recurrence not in starts:
            return f"RECURRENCE-ID {recurrence.isoformat()} is not an occurrence"
        try:
            changed = _fields(override, ctx, zone)
        except _SkipError as exc:
            return f"its occurrence {recurrence.isoformat()} {exc}"
        if changed.cancelled:
            day = recurrence.date()
            cancelled.add(day)
            stamps[day] = Cancellation(day, changed.revision, changed.updated)
            continue
        same = (changed.start, changed.end) == (recurrence, recurrence + (fields.end - fields.start))
        shown = (changed.summary, changed.location, changed.description)
        if not same or shown != (fields.summary, fields.location, fields.description):
            return f"its occurrence of {recurrence.isoformat()} was moved or changed"
    course = _course(uid, fields.summary, ctx)
    try:
        session = _session(
            session_id(ctx.provider, uid), course, fields, ctx, cancelled_dates=sorted(cancelled),
            cancellations=list(stamps.values()), **extra,
        )
    except _SkipError as exc:
        return str(exc)
    ours = list(itertools.islice(session.recurrence(), MAX_OCCURRENCES))
    if ours != [start for start, _ in spans] or any(end - start != session.duration for start, end in spans):
        return unequal
    return session


def _expand(
    uid: str, master: Event, fields: _Fields, overrides: Sequence[Event], ctx: _Context, *, why: str
) -> tuple[list[Session], list[_Lost]]:
    """One session per occurrence (EXDATEs as cancelled occurrences)."""
    rules = master.get("RRULE")
    rules_list = rules if isinstance(rules, list) else [rules] if rules is not None else []
    endless = any("UNTIL" not in r and "COUNT" not in r for r in rules_list)
    if endless and ctx.expand_until is None:
        raise _SkipError(
            f"recurs without end and cannot be kept as one session's rule ({why}): give a last day to expand "
            "it through (--expand-until)"
        )
    zone = fields.zone
    excluded = {_local(v, zone, ctx) for v in _values(master, "EXDATE")}
    changed = {_recurrence_key(o["RECURRENCE-ID"]) for o in overrides}
    calendar = _mini_calendar(ctx, _without(master, "EXDATE"), *overrides)
    made: list[Session] = []
    lost: list[_Lost] = []
    later = 0
    for count, occurrence in enumerate(_occurrences(calendar)):
        start = _local(occurrence["DTSTART"], zone, ctx)
        if ctx.expand_until is not None and start.date() > ctx.expand_until:
            later += 1
            if endless or later > MAX_OCCURRENCES:
                break
            continue
        if count >= MAX_OCCURRENCES:
            raise _SkipError(f"has more than {MAX_OCCURRENCES} occurrences: give an earlier --expand-until")
        key = _recurrence_key(occurrence["RECURRENCE-ID"])
        try:
            one = _fields(occurrence, ctx, zone)
            if key not in changed:  # the master's own occurrence: its revision and stamp
                one = evolve(one, revision=fields.revision, updated=fields.updated)
            else:  # an override: its own, but never below the master's, which the occurrence had before
                one = evolve(one, revision=max(one.revision, fields.revision), updated=max(one.updated, fields.updated))
            if _local(occurrence["RECURRENCE-ID"], zone, ctx) in excluded:
                one = evolve(one, cancelled=True)
            course = _course(uid, one.summary, ctx)
            made.append(_session(session_id(ctx.provider, uid, key), course, one, ctx))
        except _SkipError as exc:
            lost.append((occurrence, str(exc), key))
    if later:
        more = "later occurrences" if endless else f"{later} later occurrence{'s' if later > 1 else ''}"
        ctx.note(f"event {uid!r}: {more} after {ctx.expand_until} not imported (--expand-until)")
    ctx.note(f"event {uid!r} ({fields.summary or 'untitled'}) was expanded into one session per occurrence: {why}")
    return made, lost
