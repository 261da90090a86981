"""The VEVENTs of training sessions, for :mod:`peertrain.calendars.feed` (which re-exports
:func:`session_events`): one event per day block of a one-off session; a master event with an
RRULE and one cancelled instance per cancelled date for a recurring one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Event, vRecur

from peertrain.calendars._ical_props import _hours, _put, _stamp, _uid, clean_text
from peertrain.calendars.sessions import Schedule, Session
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Course


def _session_description(session: Session, course: Course) -> str:
    lines = [f"Course: {course.title} ({course.id})" + (f", {_hours(course.hours)} h" if course.hours else "")]
    lines.append(f"Provider: {session.provider or course.provider}")
    if session.capacity is not None:
        lines.append(f"Capacity: {session.capacity} seats")
    if session.description:
        lines.append("")
        lines.append(session.description)
    return clean_text("\n".join(lines))


def _session_event(
    session: Session, course: Course, uid: str, summary: str, span: tuple[dt.datetime, dt.datetime], *,
    cancelled: bool, day: dt.date | None = None,
) -> Event:
    """One event of ``session``; ``day`` (a cancelled occurrence's or a day's date) picks its
    SEQUENCE and DTSTAMP (:meth:`~peertrain.calendars.sessions.Session.stamp`)."""
    start, end = span
    event = Event()
    _put(event, "uid", uid)
    revision, updated = session.stamp(day)
    _stamp(event, updated, revision)
    _put(event, "summary", clean_text(f"Cancelled: {summary}" if cancelled else summary))
    if session.all_day:  # dates: the same days in every zone, never a 24-hour busy block
        _put(event, "dtstart", start.date())
        _put(event, "dtend", end.date())
    else:
        _put(event, "dtstart", start.replace(tzinfo=session.zone))
        _put(event, "dtend", end.replace(tzinfo=session.zone))
    if session.location:
        _put(event, "location", clean_text(session.location))
    _put(event, "description", _session_description(session, course))
    _put(event, "status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def session_uid(schedule_id: str, session_id: str, day: int = 1) -> str:
    """The UID of day ``day`` (1, 2, ...) of a session: from the schedule's and the session's ids
    and the day's place in the session only, never its date, time or place, so that moving a
    session (every day of it) keeps its events. Day 1 has the session's own UID, the one a
    single-day or recurring session has, so a session that gains a day keeps its first event."""
    if day == 1:
        return _uid(schedule_id, "session", session_id)
    return _uid(schedule_id, "session", session_id, "day", str(day))


def session_events(
    schedule: Schedule, catalogue: Catalogue, sessions: Iterable[Session] | None = None
) -> list[Event]:
    """The VEVENTs of ``sessions`` (default: all of the schedule's), in schedule order.

    A one-off session is one event per day block (``(day 1 of 2)`` in the summary when there are
    several); a recurring one is a master event with an RRULE, followed by one overridden,
    ``STATUS:CANCELLED`` instance per cancelled date.
    """
    events: list[Event] = []
    for session in schedule.sessions if sessions is None else sessions:
        course = catalogue.course(session.course)
        title = session.title or course.title
        if session.rrule is None:
            count = len(session.blocks)
            for i, block in enumerate(session.blocks, start=1):
                day = block.start.date()
                uid = session_uid(schedule.id, session.id, i)
                summary = title if count == 1 else f"{title} (day {i} of {count})"
                cancelled = session.cancelled or day in session.cancelled_dates
                span = (block.start, block.end)
                events.append(_session_event(session, course, uid, summary, span, cancelled=cancelled, day=day))
            continue
        uid = session_uid(schedule.id, session.id)
        block = session.blocks[0]
        master = _session_event(session, course, uid, title, (block.start, block.end), cancelled=session.cancelled)
        rule = vRecur.from_ical(session.rrule)
        until = session.until if session.all_day else session.until_utc()
        if until is not None:  # a DATE when DTSTART is one, else UTC (RFC 5545 3.3.10)
            rule["UNTIL"] = [until]
        if session.count is not None:
            rule["COUNT"] = [session.count]
        master.add("rrule", rule)
        events.append(master)
        if session.cancelled:
            continue
        if not session.cancelled_dates:
            continue
        length = session.duration
        starts = {o.date(): o for o in session.occurrences(until=max(session.cancelled_dates))}
        for day in session.cancelled_dates:
            start = starts[day]
            instance = _session_event(session, course, uid, title, (start, start + length), cancelled=True, day=day)
            instance.add("recurrence-id", start.date() if session.all_day else start.replace(tzinfo=session.zone))
            events.append(instance)
    return events
