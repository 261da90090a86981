"""Reading a provider's published iCalendar (``.ics``) file into training sessions.

A training provider (ICISF, a regional academy, a neighbouring team) publishes its classes as an
``.ics`` file or feed. :func:`read_ics_sessions` turns its VEVENTs into
:class:`~peertrain.calendars.sessions.Session` objects for a :class:`~peertrain.calendars.sessions.Schedule`, and
:func:`schedule_toml` writes a schedule as the TOML that :func:`~peertrain.calendars.sessions.load_schedule`
reads back. ``docs/calendars.md`` ("Importing a provider's calendar") explains the choices:

- **Safety**: at most :data:`DEFAULT_MAX_BYTES` are read; a file that is not UTF-8 iCalendar
  text (an HTML login page, JSON, a vCard) is refused with an :class:`~peertrain.errors.IcsError`
  naming the file and, where possible, the line.
- **Courses**: an event's course is the caller's mapping (event UID, then SUMMARY, to a course
  id: :class:`CourseMap`), else the catalogue course whose title or alias is the SUMMARY
  (:meth:`~peertrain.rules.catalog.Catalogue.find`). An event with no course is *skipped and reported*
  (:class:`SkippedEvent`), never dropped silently; so is any event peertrain cannot represent.
- **Times**: an event with a ``TZID`` keeps its zone (IANA names as they are; Windows names such
  as ``Central Standard Time`` mapped to IANA; other names through the mapping's
  ``[timezones]``, else converted from the file's VTIMEZONE to the import's zone); UTC times are
  converted to the import's zone and floating times taken in it. All-day events become all-day
  sessions (``all_day``: one block per day for a multi-day one-off event), published as dates.
- **Recurrence**: a recurring event is kept as one session with an RRULE when a session can say
  exactly the same (one RRULE of parts sessions support, no RDATE, overrides that only cancel an
  occurrence): its occurrences are compared with those ``recurring-ical-events`` computes from
  the provider's event, and EXDATEs and cancelled overrides become ``cancelled_dates``. Any
  other series is expanded (up to :data:`MAX_OCCURRENCES`, through ``expand_until`` for one
  without end) into one session per occurrence.
- **Stable ids**: a session's id is a hash of the event's UID (and of the occurrence's
  RECURRENCE-ID for an expanded occurrence), so re-importing an updated file updates the same
  sessions. ``revision`` is the event's SEQUENCE, ``updated`` its LAST-MODIFIED (else DTSTAMP);
  a kept series' cancelled override keeps its own with its date
  (:class:`~peertrain.calendars.sessions.Cancellation`), so a new cancellation changes only its own event
  in a feed: nothing reads the clock.

This module holds the public entry points and the results; the work is in private modules beside
it: :mod:`peertrain.calendars.ics._mapping` (the caller's mapping), :mod:`peertrain.calendars.ics._read` (checking
the file, time-zone names, reading properties), :mod:`peertrain.calendars.ics._event` (one event as a
session, stable ids), :mod:`peertrain.calendars.ics._recur` (series kept or expanded) and
:mod:`peertrain.calendars.ics._write` (the TOML).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from attrs import frozen
from icalendar import Calendar, Component, Event

from peertrain._types import StrPath
from peertrain.calendars.ics._event import _Context, _SkipError, provider_slug, session_id
from peertrain.calendars.ics._mapping import CourseMap, load_mapping, parse_mapping
from peertrain.calendars.ics._read import (
    _broken,
    _check_structure,
    _decode,
    _dt,
    _is_zone,
    _start_text,
    _text,
    _version,
    resolve_tzid,
)
from peertrain.calendars.ics._recur import _series
from peertrain.calendars.ics._write import schedule_toml
from peertrain.calendars.sessions import MAX_OCCURRENCES, Schedule, Session
from peertrain.errors import IcsError
from peertrain.rules.catalog import Catalogue

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_OCCURRENCES",
    "CourseMap",
    "IcsImport",
    "SkippedEvent",
    "load_mapping",
    "parse_ics_sessions",
    "parse_mapping",
    "provider_slug",
    "read_ics_sessions",
    "resolve_tzid",
    "schedule_toml",
    "session_id",
]

#: The largest file read (10 MiB): a provider's calendar is a few hundred kilobytes.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# -- results ----------------------------------------------------------------------------------


@frozen
class SkippedEvent:
    """An event (or one occurrence of a recurring event) that did not become a session, and why.

    ``line`` is the line of its ``BEGIN:VEVENT`` in the file (when known); ``start`` its start
    as the file gives it (ISO text); ``recurrence_id`` the occurrence's, for a single occurrence.
    """

    reason: str
    uid: str | None = None
    title: str | None = None
    start: str | None = None
    line: int | None = None
    recurrence_id: str | None = None

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.uid is not None:
            where.append(f"event {self.uid!r}")
        if self.recurrence_id is not None:
            where.append(f"occurrence {self.recurrence_id}")
        what = ", ".join(x for x in (repr(self.title) if self.title else None, self.start) if x)
        return f"{', '.join(where) or 'event'}{f' ({what})' if what else ''}: {self.reason}"


@frozen
class IcsImport:
    """What an ``.ics`` file gave: sessions (ordered by start, then id), the events skipped with
    their reasons, notes about choices made (zones converted, EXDATEs that matched nothing, ...),
    the import's zone and the calendar's own name (``X-WR-CALNAME`` or ``NAME``), if any."""

    source: str
    timezone: str
    sessions: tuple[Session, ...]
    skipped: tuple[SkippedEvent, ...] = ()
    notes: tuple[str, ...] = ()
    name: str | None = None

    def schedule(self, schedule_id: str, name: str) -> Schedule:
        """The sessions as a schedule (``ValueError`` for a bad id or name)."""
        return Schedule(id=schedule_id, name=name, timezone=self.timezone, sessions=self.sessions)


def read_ics_sessions(
    path: StrPath,
    catalogue: Catalogue,
    *,
    provider: str,
    timezone: str | None = None,
    mapping: CourseMap | None = None,
    expand_until: dt.date | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> IcsImport:
    """The sessions in an ``.ics`` file (see :func:`parse_ics_sessions`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IcsError(str(path), f"is {size:,} bytes, more than the {max_bytes:,} this reads")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise IcsError(str(path), "no such file") from None
    except IsADirectoryError:
        raise IcsError(str(path), "is a folder, not an .ics file") from None
    except OSError as exc:
        raise IcsError(str(path), f"cannot be read: {exc.strerror}") from None
    return parse_ics_sessions(
        data, catalogue, provider=provider, source=str(path), timezone=timezone, mapping=mapping,
        expand_until=expand_until, max_bytes=max_bytes,
    )


def parse_ics_sessions(
    data: bytes,
    catalogue: Catalogue,
    *,
    provider: str,
    source: str = "<ics>",
    timezone: str | None = None,
    mapping: CourseMap | None = None,
    expand_until: dt.date | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> IcsImport:
    """The sessions in the bytes of an ``.ics`` file.

    ``provider`` names the provider (each session's ``provider``, and the prefix of its id);
    ``timezone`` is the IANA zone UTC and floating times are shown in (default: the file's
    ``X-WR-TIMEZONE``, else the one zone its events use); ``mapping`` maps events to courses;
    ``expand_until`` is the last day a series without end is expanded through when it cannot be
    kept as a rule. Raises :class:`~peertrain.errors.IcsError` for a file that is not a calendar;
    problems with single events are returned as :attr:`IcsImport.skipped`.
    """
    if not provider.strip():
        raise ValueError("provider must not be blank")
    mapping = mapping or CourseMap()
    text = _decode(data, source, max_bytes)
    lines = _check_structure(text, source)
    try:
        calendar = Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError) as exc:
        raise IcsError(source, f"cannot be read as iCalendar: {exc}") from None
    if not isinstance(calendar, Calendar):  # pragma: no cover - the structure check found one VCALENDAR
        raise IcsError(source, "is not one VCALENDAR")
    events = [c for c in calendar.subcomponents if isinstance(c, Event)]
    where = dict(zip((id(e) for e in events), lines, strict=False)) if len(events) == len(lines) else {}
    zone = _import_zone(calendar, events, timezone, mapping, source)
    ctx = _Context(
        calendar, catalogue, provider=provider.strip(), zone=zone, mapping=mapping, expand_until=expand_until
    )
    sessions: list[Session] = []
    skipped: list[SkippedEvent] = []
    masters: dict[str, list[Event]] = {}
    overrides: dict[str, list[Event]] = {}
    for event in events:
        uid = _text(event, "UID")
        problem = _broken(event)
        if uid is None or problem:
            reason = problem or "has no UID, so a re-import could not update it"
            skipped.append(_skipped(event, reason, where, uid=uid))
            continue
        (overrides if "RECURRENCE-ID" in event else masters).setdefault(uid, []).append(event)
    for uid in dict.fromkeys([*masters, *overrides]):
        candidates = masters.get(uid, [])
        master = None
        if candidates:
            master = max(candidates, key=_version)
            skipped += [
                _skipped(e, "another event has the same UID and a later SEQUENCE/LAST-MODIFIED", where, uid=uid)
                for e in candidates if e is not master
            ]
        try:
            made, lost = _series(uid, master, overrides.get(uid, []), ctx)
        except _SkipError as exc:
            skipped.append(_skipped(master or overrides[uid][0], str(exc), where, uid=uid))
            continue
        sessions += made
        for component, reason, recurrence in lost:
            skipped.append(_skipped(component, reason, where, uid=uid, recurrence=recurrence))
    seen: dict[str, Session] = {}
    for session in sessions:
        if session.id in seen:  # pragma: no cover - a 64-bit hash collision
            raise IcsError(source, f"two events give the session id {session.id!r}")
        seen[session.id] = session
    sessions.sort(key=lambda s: (s.blocks[0].start, s.id))
    if not events:
        ctx.note("the file has no events (VEVENT)")
    name = _text(calendar, "X-WR-CALNAME") or _text(calendar, "NAME")
    return IcsImport(
        source=source, timezone=zone, sessions=tuple(sessions), skipped=tuple(skipped), notes=tuple(ctx.notes),
        name=name,
    )


def _import_zone(
    calendar: Calendar, events: Sequence[Event], timezone: str | None, mapping: CourseMap, source: str
) -> str:
    if timezone is not None:
        if not _is_zone(timezone):
            raise IcsError(source, f"the time zone {timezone!r} is not an IANA zone such as America/Chicago")
        return timezone
    declared = _text(calendar, "X-WR-TIMEZONE")
    if declared:
        resolved = resolve_tzid(declared, mapping.timezones)
        if resolved:
            return resolved
    used: Counter[str] = Counter()
    unzoned = 0
    for event in events:
        if _broken(event):
            continue
        prop = event.get("DTSTART")
        value = _dt(prop)
        tzid = prop.params.get("TZID") if isinstance(value, dt.datetime) else None
        resolved = resolve_tzid(str(tzid), mapping.timezones) if tzid else None
        if resolved:
            used[resolved] += 1
        else:
            unzoned += 1
    if len(used) == 1 or (used and not unzoned):
        # Every event keeps its own zone: the schedule's is the one most of them use.
        return sorted(used.items(), key=lambda item: (-item[1], item[0]))[0][0]
    found = f"its events use {', '.join(sorted(used))}" if used else "it names no zone"
    raise IcsError(source, f"give the time zone of the sessions (--timezone): {found}")


def _skipped(
    event: Component, reason: str, where: Mapping[int, int], *, uid: str | None, recurrence: str | None = None
) -> SkippedEvent:
    return SkippedEvent(
        reason=reason, uid=uid, title=_text(event, "SUMMARY"), start=_start_text(event),
        line=where.get(id(event)), recurrence_id=recurrence,
    )
