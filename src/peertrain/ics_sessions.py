"""Reading a provider's published iCalendar (``.ics``) file into training sessions.

A training provider (ICISF, a regional academy, a neighbouring team) publishes its classes as an
``.ics`` file or feed. :func:`read_ics_sessions` turns its VEVENTs into
:class:`~peertrain.sessions.Session` objects for a :class:`~peertrain.sessions.Schedule`, and
:func:`schedule_toml` writes a schedule as the TOML that :func:`~peertrain.sessions.load_schedule`
reads back. ``docs/calendars.md`` ("Importing a provider's calendar") explains the choices:

- **Safety**: at most :data:`DEFAULT_MAX_BYTES` are read; a file that is not UTF-8 iCalendar
  text (an HTML login page, JSON, a vCard) is refused with an :class:`~peertrain.errors.IcsError`
  naming the file and, where possible, the line.
- **Courses**: an event's course is the caller's mapping (event UID, then SUMMARY, to a course
  id: :class:`CourseMap`), else the catalogue course whose title or alias is the SUMMARY
  (:meth:`~peertrain.catalog.Catalogue.find`). An event with no course is *skipped and reported*
  (:class:`SkippedEvent`), never dropped silently; so is any event peertrain cannot represent.
- **Times**: an event with a ``TZID`` keeps its zone (IANA names as they are; Windows names such
  as ``Central Standard Time`` mapped to IANA; other names through the mapping's
  ``[timezones]``, else converted from the file's VTIMEZONE to the import's zone); UTC times are
  converted to the import's zone and floating times taken in it. All-day events become sessions
  from 00:00 to 00:00 of the next day (one block per day for a multi-day one-off event).
- **Recurrence**: a recurring event is kept as one session with an RRULE when a session can say
  exactly the same (one RRULE of parts sessions support, no RDATE, overrides that only cancel an
  occurrence): its occurrences are compared with those ``recurring-ical-events`` computes from
  the provider's event, and EXDATEs and cancelled overrides become ``cancelled_dates``. Any
  other series is expanded (up to :data:`MAX_OCCURRENCES`, through ``expand_until`` for one
  without end) into one session per occurrence.
- **Stable ids**: a session's id is a hash of the event's UID (and of the occurrence's
  RECURRENCE-ID for an expanded occurrence), so re-importing an updated file updates the same
  sessions. ``revision`` is the event's SEQUENCE, ``updated`` its LAST-MODIFIED (else DTSTAMP):
  nothing reads the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import recurring_ical_events  # type: ignore[import-untyped]
from attrs import evolve, field, frozen
from icalendar import Calendar, Component, Event, vDDDLists, vRecur

from peertrain.catalog import Catalogue, normalise_name
from peertrain.errors import CatalogError, IcsError
from peertrain.loading import read_toml
from peertrain.sessions import DayBlock, Schedule, Session, parse_rrule

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
#: The most occurrences a recurring event is expanded into (or compared over, to keep its rule).
MAX_OCCURRENCES = 1000
_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_NAME = re.compile(r"[A-Za-z0-9-]+")
_SLUG = re.compile(r"[^a-z0-9]+")

try:  # the CLDR table icalendar ships (icalendar >= 6)
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON as _WINDOWS
except ImportError:  # pragma: no cover - older icalendar: the North American zones
    _WINDOWS = {
        "Alaskan Standard Time": "America/Anchorage",
        "Central Standard Time": "America/Chicago",
        "Eastern Standard Time": "America/New_York",
        "Hawaiian Standard Time": "Pacific/Honolulu",
        "Mountain Standard Time": "America/Denver",
        "Pacific Standard Time": "America/Los_Angeles",
        "US Mountain Standard Time": "America/Phoenix",
    }


# -- the caller's mapping ---------------------------------------------------------------------


def _title_keys(titles: Mapping[str, str | None]) -> dict[str, str | None]:
    return {normalise_name(k): v for k, v in titles.items()}


@frozen
class CourseMap:
    """What the caller says about a provider's events.

    ``uids`` and ``titles`` (keys compared like catalogue titles: case-folded, spaces collapsed)
    give a course id, or ``None`` to ignore such events on purpose (they are still reported);
    ``timezones`` maps a TZID the file uses to an IANA zone.
    """

    uids: Mapping[str, str | None] = field(factory=dict)
    titles: Mapping[str, str | None] = field(factory=dict, converter=_title_keys)
    timezones: Mapping[str, str] = field(factory=dict)


def load_mapping(path: Path, catalogue: Catalogue) -> CourseMap:
    """The mapping in a TOML file (``[uids]``, ``[titles]``, ``[timezones]``), checked against
    ``catalogue``."""
    return parse_mapping(read_toml(path), catalogue, source=str(path))


def parse_mapping(data: Mapping[str, Any], catalogue: Catalogue, *, source: str = "<mapping>") -> CourseMap:
    """A :class:`CourseMap` from TOML data: each course id must be in ``catalogue`` (``false``
    ignores the events on purpose); each zone must be an IANA zone."""
    for key in sorted(set(data) - {"uids", "titles", "timezones"}):
        raise CatalogError(source, key, "unknown table; expected [uids], [titles] and [timezones]")
    tables: dict[str, dict[str, str | None]] = {}
    for table in ("uids", "titles"):
        raw = data.get(table, {})
        if not isinstance(raw, Mapping):
            raise CatalogError(source, table, "must be a table of \"provider name\" = \"course-id\"")
        entries: dict[str, str | None] = {}
        for name, course in raw.items():
            key = f"{table}.{json.dumps(name, ensure_ascii=False)}"
            if course is False:
                entries[name] = None
                continue
            if not isinstance(course, str) or course not in catalogue.courses:
                found = catalogue.find(course) if isinstance(course, str) else None
                hint = f" (did you mean the id {found.id!r}?)" if found is not None else ""
                raise CatalogError(source, key, f"unknown course id {course!r}{hint}; or false to ignore")
            entries[name] = course
        tables[table] = entries
    zones = data.get("timezones", {})
    if not isinstance(zones, Mapping):
        raise CatalogError(source, "timezones", "must be a table of \"TZID\" = \"IANA zone\"")
    for name, zone in zones.items():
        if not isinstance(zone, str) or not _is_zone(zone):
            raise CatalogError(
                source, f"timezones.{json.dumps(name, ensure_ascii=False)}",
                f"{zone!r} is not an IANA time zone such as America/Chicago",
            )
    return CourseMap(uids=tables["uids"], titles=tables["titles"], timezones=dict(zones))


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


# -- time zones -------------------------------------------------------------------------------


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def resolve_tzid(tzid: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """The IANA zone a TZID means: ``overrides`` first, then the name itself, a Windows zone name
    (``Central Standard Time`` → ``America/Chicago``, Unicode CLDR table), or the IANA suffix of a
    "globally unique" ``/vendor/Area/City``; ``None`` when it names no known zone."""
    if overrides and tzid in overrides:
        return overrides[tzid]
    name = tzid.strip().strip('"')
    if ("/" in name.strip("/") or name == "UTC") and _is_zone(name.strip("/")):
        return name.strip("/")
    if name in _WINDOWS:
        return _WINDOWS[name]
    if name.startswith("/"):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts)):
            if _is_zone("/".join(parts[i:])):
                return "/".join(parts[i:])
    return None


# -- reading the file -------------------------------------------------------------------------


class _SkipError(Exception):
    """This event cannot become a session (the message says why)."""


def read_ics_sessions(
    path: Path,
    catalogue: Catalogue,
    *,
    provider: str,
    timezone: str | None = None,
    mapping: CourseMap | None = None,
    expand_until: dt.date | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> IcsImport:
    """The sessions in an ``.ics`` file (see :func:`parse_ics_sessions`)."""
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


def _decode(data: bytes, source: str, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise IcsError(source, f"is more than the {max_bytes:,} bytes this reads")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise IcsError(source, f"is not valid UTF-16 text: {exc.reason} at byte {exc.start}") from None
    if b"\x00" in data:
        raise IcsError(source, "is binary, not an iCalendar text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IcsError(source, f"is not UTF-8 text ({exc.reason} at byte {exc.start})", line=line) from None


def _check_structure(text: str, source: str) -> list[int]:
    """Check the file is one VCALENDAR of well-formed content lines; the line of each top-level
    ``BEGIN:VEVENT``."""
    stack: list[str] = []
    events: list[int] = []
    seen_calendar = False
    calendars = 0
    # Split on line feeds only: str.splitlines() would also break text at U+2028, FF, VT, ...
    for number, line in enumerate((raw.rstrip("\r") for raw in text.split("\n")), start=1):
        if not line.strip() or line[0] in " \t":
            continue  # blank, or the continuation of a folded line
        name = re.split(r"[;:]", line, maxsplit=1)[0]
        if not seen_calendar:
            if line.strip().upper() != "BEGIN:VCALENDAR":
                shown = line.strip()[:40]
                raise IcsError(
                    source, f"is not an iCalendar file: it starts with {shown!r} (expected BEGIN:VCALENDAR)",
                    line=number,
                )
            seen_calendar = True
        if ":" not in line or not _NAME.fullmatch(name):
            raise IcsError(source, f"is not a valid iCalendar content line: {line[:60]!r}", line=number)
        value = line.split(":", 1)[1].strip().upper()
        if name.upper() == "BEGIN":
            if not stack and value != "VCALENDAR":
                raise IcsError(source, f"BEGIN:{value} outside the VCALENDAR", line=number)
            calendars += not stack
            if value == "VCALENDAR" and (stack or calendars > 1):
                raise IcsError(source, "holds more than one VCALENDAR (give one calendar per file)", line=number)
            if stack == ["VCALENDAR"] and value == "VEVENT":
                events.append(number)
            stack.append(value)
        elif name.upper() == "END":
            if not stack or stack[-1] != value:
                expected = f"END:{stack[-1]}" if stack else "nothing"
                raise IcsError(source, f"END:{value} where {expected} was expected", line=number)
            stack.pop()
        elif not stack:
            raise IcsError(source, f"content after END:VCALENDAR: {line[:60]!r}", line=number)
    if not seen_calendar:
        raise IcsError(source, "is empty, not an iCalendar file (expected BEGIN:VCALENDAR)")
    if stack:
        raise IcsError(source, f"ends inside {stack[-1]} (missing END:{stack[-1]}; a truncated download?)")
    return events


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


# -- one event's fields -----------------------------------------------------------------------

_CHECKED = ("UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "SEQUENCE",
            "LAST-MODIFIED", "DTSTAMP", "STATUS", "SUMMARY")


def _broken(event: Component) -> str | None:
    for name, message in getattr(event, "errors", []) or []:
        if str(name).upper() in _CHECKED:
            return f"{name} cannot be read: {message}"
    for name in ("UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "SEQUENCE", "SUMMARY"):
        if isinstance(event.get(name), list):
            return f"{name} is given more than once"
    if "DTEND" in event and "DURATION" in event:
        return "has both DTEND and DURATION"
    return None


def _text(component: Component, name: str) -> str | None:
    value = component.get(name)
    if value is None or isinstance(value, list):
        return None
    return str(value).strip() or None


def _version(event: Component) -> tuple[int, dt.datetime]:
    return (_sequence(event), _stamp(event) or dt.datetime.min.replace(tzinfo=dt.UTC))


def _sequence(event: Component) -> int:
    value = event.get("SEQUENCE")
    try:
        number = int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0
    return max(number, 0)


def _stamp(event: Component) -> dt.datetime | None:
    """LAST-MODIFIED, else DTSTAMP (Google's DTSTAMP is the time of the export), in UTC."""
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        value = _dt(event.get(name))
        if isinstance(value, dt.datetime):
            return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    return None


def _dt(prop: Any) -> Any:
    """A property's value (``None`` when missing, repeated or broken)."""
    try:
        return getattr(prop, "dt", None) if not isinstance(prop, list) else None
    except Exception:  # icalendar raises BrokenCalendarProperty for a value it could not read
        return None


def _start_text(event: Component) -> str | None:
    value = _dt(event.get("DTSTART"))
    return value.isoformat() if isinstance(value, dt.date) else None


def _skipped(
    event: Component, reason: str, where: Mapping[int, int], *, uid: str | None, recurrence: str | None = None
) -> SkippedEvent:
    return SkippedEvent(
        reason=reason, uid=uid, title=_text(event, "SUMMARY"), start=_start_text(event),
        line=where.get(id(event)), recurrence_id=recurrence,
    )


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
            description=fields.description, cancelled=fields.cancelled, revision=fields.revision, **extra,
        )
    except (ValueError, TypeError) as exc:
        raise _SkipError(f"cannot be a session: {exc}") from None


# -- series -----------------------------------------------------------------------------------

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
    stamps = [(fields.revision, fields.updated)]
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
            cancelled.add(recurrence.date())
            stamps.append((changed.revision, changed.updated))
            continue
        same = (changed.start, changed.end) == (recurrence, recurrence + (fields.end - fields.start))
        shown = (changed.summary, changed.location, changed.description)
        if not same or shown != (fields.summary, fields.location, fields.description):
            return f"its occurrence of {recurrence.isoformat()} was moved or changed"
    course = _course(uid, fields.summary, ctx)
    revision = max(r for r, _ in stamps)
    updated = max(u for _, u in stamps)
    kept = evolve(fields, revision=revision, updated=updated)
    try:
        session = _session(session_id(ctx.provider, uid), course, kept, ctx, cancelled_dates=sorted(cancelled), **extra)
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


# -- writing a schedule -----------------------------------------------------------------------


def _toml_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _comment(text: str) -> str:
    return "# " + " ".join(text.translate(dict.fromkeys(range(32), " ")).replace("\x7f", " ").split())


def _local_text(value: dt.datetime) -> str:
    return value.isoformat()


def schedule_toml(schedule: Schedule, *, comments: Iterable[str] = ()) -> str:
    """A schedule as the TOML :func:`~peertrain.sessions.load_schedule` reads (keys in the order
    ``docs/calendars.md`` lists them; a session's ``timezone`` only when it differs from the
    schedule's), after ``comments`` as ``#`` lines."""
    out = [_comment(c) for c in comments]
    if out:
        out.append("")
    out += [
        "[schedule]",
        f"id = {_toml_text(schedule.id)}",
        f"name = {_toml_text(schedule.name)}",
        f"timezone = {_toml_text(schedule.timezone)}",
    ]
    for s in schedule.sessions:
        out += ["", "[[sessions]]", f"id = {_toml_text(s.id)}", f"course = {_toml_text(s.course)}"]
        if s.timezone != schedule.timezone:
            out.append(f"timezone = {_toml_text(s.timezone)}")
        for name in ("title", "location", "provider", "description"):
            value = getattr(s, name)
            if value is not None:
                out.append(f"{name} = {_toml_text(value)}")
        if len(s.blocks) == 1:
            out += [f"start = {_local_text(s.blocks[0].start)}", f"end = {_local_text(s.blocks[0].end)}"]
        else:
            out.append("days = [")
            out += [f"  {{ start = {_local_text(b.start)}, end = {_local_text(b.end)} }}," for b in s.blocks]
            out.append("]")
        if s.rrule is not None:
            out.append(f"rrule = {_toml_text(s.rrule)}")
        if s.until is not None:
            out.append(f"until = {s.until.isoformat()}")
        if s.count is not None:
            out.append(f"count = {s.count}")
        if s.cancelled:
            out.append("cancelled = true")
        if s.cancelled_dates:
            out.append(f"cancelled_dates = [{', '.join(d.isoformat() for d in s.cancelled_dates)}]")
        if s.capacity is not None:
            out.append(f"capacity = {s.capacity}")
        out.append(f"revision = {s.revision}")
        out.append(f"updated = {s.updated.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return "\n".join(out) + "\n"
