"""One VEVENT (or one occurrence) as a session, for :mod:`peertrain.calendars.ics`.

The state of one import (:class:`_Context`), an event's times as local wall-clock times in a
zone, its end (DTEND or DURATION), its course (the caller's mapping, else the catalogue), and
the stable session ids (:func:`provider_slug`, :func:`session_id`, re-exported by
:mod:`peertrain.calendars.ics`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zoneinfo
from typing import Any

from attrs import frozen
from icalendar import Calendar, Component

from peertrain.calendars.ics._mapping import CourseMap
from peertrain.calendars.ics._read import _sequence, _stamp, _text, resolve_tzid
from peertrain.calendars.sessions import DayBlock, Session
from peertrain.rules.catalog import Catalogue, normalise_name

_SLUG = re.compile(r"[^a-z0-9]+")


def provider_slug(provider: str) -> str:
    """A provider's name as an id: lower-case letters, digits and ``-``, at most 24 (``ics`` when
    nothing is left)."""
    return _SLUG.sub("-", provider.casefold()).strip("-")[:24].strip("-") or "ics"


def session_id(provider: str, uid: str, recurrence: str | None = None) -> str:
    """A session's id: the provider's name as a short slug and 16 hex digits of SHA-256 over the
    event's UID (and the occurrence's RECURRENCE-ID, for one occurrence of an expanded series).
    The same UID always gives the same id, so re-importing updates sessions in place."""
    slug = provider_slug(provider)
    key = uid if recurrence is None else f"{uid}\x1f{recurrence}"
    return f"{slug}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


class _SkipError(Exception):
    """This event cannot become a session (the message says why)."""


class _Context:
    """The state of one import."""

    def __init__(
        self, calendar: Calendar, catalogue: Catalogue, *, provider: str, zone: str, mapping: CourseMap,
        expand_until: dt.date | None,
    ) -> None:
        self.calendar = calendar
        self.catalogue = catalogue
        self.provider = provider
        self.zone = zone
        self.mapping = mapping
        self.expand_until = expand_until
        self.notes: list[str] = []
        self.timezones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@frozen
class _Fields:
    """What a session needs from one VEVENT (or occurrence), times local in ``zone``."""

    zone: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool
    summary: str | None
    location: str | None
    description: str | None
    cancelled: bool
    revision: int
    updated: dt.datetime


def _event_zone(event: Component, ctx: _Context) -> str:
    prop = event.get("DTSTART")
    tzid = prop.params.get("TZID") if prop is not None else None
    if tzid and isinstance(prop.dt, dt.datetime):
        resolved = resolve_tzid(str(tzid), ctx.mapping.timezones)
        if resolved:
            return resolved
    return ctx.zone


def _local(prop: Any, zone: str, ctx: _Context) -> dt.datetime:
    """A DATE / DATE-TIME value as a local wall-clock time in ``zone`` (a date: its 00:00)."""
    value = prop.dt
    if isinstance(value, tuple):  # an RDATE period: its start
        value = value[0]
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
    if tzid:
        resolved = resolve_tzid(str(tzid), ctx.mapping.timezones)
        if resolved == zone:
            return value.replace(tzinfo=None)  # the wall clock the file gives
        if resolved is not None:
            value = value.replace(tzinfo=zoneinfo.ZoneInfo(resolved))
        elif value.tzinfo is None:
            raise _SkipError(
                f"unknown time zone {tzid!r} (no VTIMEZONE for it): map it to an IANA zone under [timezones]"
            )
        else:
            ctx.note(
                f"TZID {tzid!r} is not an IANA or Windows zone name: its times were converted from the file's "
                f"VTIMEZONE to {zone} (map it under [timezones] to keep it)"
            )
    if value.tzinfo is None:
        return value  # floating: taken in the import's zone
    return value.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


def _end(event: Component, start: dt.datetime, zone: str, all_day: bool, ctx: _Context) -> dt.datetime:
    if "DTEND" in event:
        prop: Any = event["DTEND"]
        if isinstance(prop.dt, dt.datetime) == all_day:
            raise _SkipError("DTSTART and DTEND are not both dates or both date-times")
        return _local(prop, zone, ctx)
    duration = getattr(event.get("DURATION"), "dt", None)
    if isinstance(duration, dt.timedelta):
        # Days and weeks are nominal (wall-clock) days; hours, minutes and seconds exact (RFC 5545).
        days = dt.timedelta(days=duration.days)
        exact = duration - days
        end = start + days
        if exact and not all_day:
            aware = end.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC) + exact
            end = aware.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)
        else:
            end += exact
        return end
    if all_day:
        return start + dt.timedelta(days=1)
    raise _SkipError("has no DTEND or DURATION: a session needs an end")


def _description(event: Component) -> str | None:
    parts = [_text(event, "DESCRIPTION")]
    url = _text(event, "URL")
    if url and url not in (parts[0] or ""):
        parts.append(f"Details: {url}")
    return "\n\n".join(p for p in parts if p) or None


def _fields(event: Component, ctx: _Context, zone: str | None = None) -> _Fields:
    prop = event.get("DTSTART")
    if prop is None:
        raise _SkipError("has no DTSTART")
    all_day = not isinstance(prop.dt, dt.datetime)
    zone = zone or _event_zone(event, ctx)
    start = _local(prop, zone, ctx)
    end = _end(event, start, zone, all_day, ctx)
    if end <= start:
        raise _SkipError(f"ends ({end.isoformat()}) at or before it starts ({start.isoformat()})")
    updated = _stamp(event)
    if updated is None:
        raise _SkipError("has no LAST-MODIFIED or DTSTAMP to date it by")
    return _Fields(
        zone=zone, start=start, end=end, all_day=all_day, summary=_text(event, "SUMMARY"),
        location=_text(event, "LOCATION"), description=_description(event),
        cancelled=(_text(event, "STATUS") or "").upper() == "CANCELLED", revision=_sequence(event),
        updated=updated,
    )


def _course(uid: str, summary: str | None, ctx: _Context) -> str:
    if uid in ctx.mapping.uids:
        course = ctx.mapping.uids[uid]
        if course is None:
            raise _SkipError("ignored by the mapping ([uids])")
        return course
    if summary is not None:
        key = normalise_name(summary)
        if key in ctx.mapping.titles:
            course = ctx.mapping.titles[key]
            if course is None:
                raise _SkipError("ignored by the mapping ([titles])")
            return course
        found = ctx.catalogue.find(summary)
        if found is not None:
            return found.id
        raise _SkipError(f"no course matches the title {summary!r}: add it to the mapping under [titles] or [uids]")
    raise _SkipError("has no SUMMARY to match a course by: map its UID under [uids]")


def _blocks(fields: _Fields, *, split_days: bool) -> list[DayBlock]:
    if not (fields.all_day and split_days):
        return [DayBlock(fields.start, fields.end)]
    days = (fields.end - fields.start).days
    return [DayBlock(fields.start + dt.timedelta(days=i), fields.start + dt.timedelta(days=i + 1)) for i in range(days)]


def _session(sid: str, course: str, fields: _Fields, ctx: _Context, **extra: Any) -> Session:
    split = "rrule" not in extra
    try:
        return Session(
            id=sid, course=course, timezone=fields.zone, blocks=_blocks(fields, split_days=split),
            updated=fields.updated, title=fields.summary, location=fields.location, provider=ctx.provider,
            description=fields.description, cancelled=fields.cancelled, revision=fields.revision,
            all_day=fields.all_day, **extra,
        )
    except (ValueError, TypeError) as exc:
        raise _SkipError(f"cannot be a session: {exc}") from None
