"""What one deadline event says, for :mod:`peertrain.calendars.feed`: the deadline a verdict shows
(its verb and day), what lapses, the courses that would satisfy it, and the all-day event.
:func:`~peertrain.calendars.feed.deadline_events` chooses the deadlines and adds alarms.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Event

from peertrain.calendars._ical_props import _hours, _put, _stamp, clean_text
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Course
from peertrain.rules.requirements import AllOf, AnyOf, Certificate, NOf, Requirement
from peertrain.rules.verdict import Status, Verdict


def _deadline(verdict: Verdict) -> tuple[str, dt.date] | None:
    """``(verb, day)`` of the deadline a verdict shows, or ``None`` when it has none."""
    if verdict.status is Status.LAPSED:
        return ("lapsed", verdict.lapses_on) if verdict.lapses_on else None
    if verdict.status is Status.NOT_MET:
        return ("overdue", verdict.due_on + dt.timedelta(days=1)) if verdict.due_on else None
    if verdict.lapses_on is None:
        return None
    return ("due" if verdict.status is Status.GRACE else "lapses", verdict.lapses_on)


def _subject(verdict: Verdict, verb: str) -> str:
    """What lapses: the part of a compound requirement that lapses that day, else its title."""
    for part in verdict.parts if verb == "lapses" else ():
        if part.lapses_on is not None and part.lapses_on == verdict.lapses_on and part.status.compliant:
            return part.title
    return verdict.title


def _requirement_courses(req: Requirement) -> list[str]:
    ids: list[str] = []
    if isinstance(req, AllOf | AnyOf):
        for part in req.of:
            ids += _requirement_courses(part)
        return ids
    if isinstance(req, Certificate | NOf):
        ids += req.courses
    ids += sorted(req.counts.courses)
    return ids


def _course_line(course: Course) -> str:
    hours = f", {_hours(course.hours)} h" if course.hours else ""
    return f"- {course.title} ({course.id}; {course.provider}{hours})"


def _deadline_description(verdict: Verdict, verb: str, req: Requirement | None, catalogue: Catalogue) -> str:
    lines = [f"Requirement: {verdict.key}: {verdict.title}"]
    if verb in ("lapses", "due") and verdict.due_on is not None:
        lines.append(f"Train by: {verdict.due_on.isoformat()}")
    ids = list(verdict.shortfall.courses) if not verdict.status.compliant else []
    if not ids and req is not None:
        ids = _requirement_courses(req)
    courses = [catalogue.courses[i] for i in dict.fromkeys(ids) if i in catalogue.courses]
    if courses:
        lines.append("Courses that would satisfy it:")
        lines += [_course_line(c) for c in courses]
    if verdict.citation:
        lines.append(f"Source: {verdict.citation}")
    return clean_text("\n".join(lines))


def _all_day(
    uid: str, day: dt.date, summary: str, description: str, stamp: dt.datetime, *,
    category: str = "Training deadline",
) -> Event:
    event = Event()
    _put(event, "uid", uid)
    _stamp(event, stamp, 0)
    _put(event, "summary", clean_text(summary))
    _put(event, "dtstart", day)
    _put(event, "dtend", day + dt.timedelta(days=1))
    _put(event, "description", description)
    _put(event, "transp", "TRANSPARENT")
    event.add("categories", [category])
    return event
