"""Training sessions as data: the schedule a calendar feed publishes.

A schedule is a TOML file (``curricula/demo/sessions.toml`` is an example; ``docs/calendars.md``
describes every key)::

    [schedule]
    id = "pine-lake-pd"                  # stable; part of every event's UID (not shown to anyone)
    name = "Pine Lake PD peer support team"
    timezone = "America/Chicago"         # IANA zone of the times below (a session may override it)

    [[sessions]]
    id = "inservice"                     # stable per session: the event's UID is derived from it
    course = "team-quarterly"            # a catalogue course id
    start = 2026-01-13T09:00:00          # local wall-clock time in the session's zone
    end = 2026-01-13T13:00:00
    rrule = "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"
    until = 2027-12-31                   # last local day a recurrence may fall on (or count = N)
    cancelled_dates = [2026-07-14]       # single occurrences withdrawn
    revision = 1                         # becomes SEQUENCE: raise it when you change the session
    updated = 2026-06-20T14:00:00Z       # when you last changed it: DTSTAMP and LAST-MODIFIED

A multi-day session gives ``days = [{start = ..., end = ...}, ...]`` instead of ``start``/``end``.

Everything is validated when read (:func:`peertrain.calendars.schedule.load_schedule`); a problem
is a :class:`~peertrain.errors.CatalogError` naming the file and the key
(``sessions[2].cancelled_dates[0]``). The models here do no I/O and read no
clock: ``updated`` and ``revision`` are the data's own.

The checks and conversions of the models' fields (ids, zones, times, counts, text) and the RRULE
subset a session may hold (:func:`parse_rrule`: FREQ DAILY to YEARLY, at most
:data:`MAX_OCCURRENCES` occurrences expanded) are in :mod:`peertrain.calendars._session_fields`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterable, Sequence
from typing import Any

from attrs import field, frozen
from dateutil import rrule as _rrule

from peertrain.calendars._session_fields import (
    _MAX_EXPANSION_YEARS,
    MAX_OCCURRENCES,
    SESSION_FREQS,
    _ident,
    _is_date,
    _local,
    _location,
    _non_negative,
    _opt_paragraphs,
    _opt_positive,
    _provider,
    _title,
    _utc,
    _whole_days,
    _zone,
    parse_rrule,
)
from peertrain.rules.model import refuse_control_characters

__all__ = [
    "MAX_OCCURRENCES",
    "SESSION_FREQS",
    "Cancellation",
    "DayBlock",
    "Schedule",
    "Session",
    "parse_rrule",
]

@frozen
class DayBlock:
    """One contiguous block of a session, in local wall-clock time of the session's zone."""

    start: dt.datetime = field(validator=_local)
    end: dt.datetime = field(validator=_local)

    @end.validator
    def _after_start(self, _attribute: Any, value: dt.datetime) -> None:
        if value <= self.start:
            raise ValueError(f"end {value.isoformat()} is not after start {self.start.isoformat()}")


def _blocks(value: Sequence[DayBlock]) -> tuple[DayBlock, ...]:
    return tuple(value)


def _dates(value: Sequence[dt.date]) -> tuple[dt.date, ...]:
    for day in value:
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise TypeError(f"expected dates (YYYY-MM-DD), got {day!r}")
    return tuple(sorted(set(value)))


def _opt_rrule(value: str | None) -> str | None:
    return None if value is None else parse_rrule(value)


def _a_date(value: Any) -> None:
    if not _is_date(value):
        raise TypeError(f"cancelled_dates: expected a date (YYYY-MM-DD), got {value!r}")


@frozen
class Cancellation:
    """When one of a session's ``cancelled_dates`` was cancelled: its own ``revision`` and
    ``updated`` (``sessions import-ics`` takes them from the provider's cancelled override).
    The cancelled occurrence's event has the later of these and the session's own, so that
    cancelling one date changes that date's event only, and editing the session still changes
    every event that shows it."""

    date: dt.date = field(validator=lambda _i, _a, value: _a_date(value))
    revision: int = field(validator=_non_negative)
    updated: dt.datetime = field(converter=_utc)


def _cancellations(value: Iterable[Cancellation]) -> tuple[Cancellation, ...]:
    out = tuple(sorted(value, key=lambda c: c.date))
    for earlier, later in itertools.pairwise(out):
        if earlier.date == later.date:
            raise ValueError(f"cancelled_dates: {later.date.isoformat()} is given twice")
    return out


@frozen
class Session:
    """A training session: one-off (one or more day blocks) or recurring (one block and an RRULE).

    Times are local wall-clock times in ``timezone``. An ``all_day`` session's blocks run from
    00:00 to 00:00 (of the day after its last day): its events are dates (``VALUE=DATE``), the
    same days in every zone, and its schedule gives ``start`` and ``end`` as dates. ``cancelled``
    withdraws the whole session; ``cancelled_dates`` single occurrences (local start dates).
    ``revision`` becomes the events' SEQUENCE and ``updated`` their DTSTAMP and LAST-MODIFIED:
    raise the one and set the other whenever the session changes.
    """

    id: str = field(validator=_ident)
    course: str = field(validator=_ident)
    timezone: str = field(validator=_zone)
    blocks: tuple[DayBlock, ...] = field(converter=_blocks)
    updated: dt.datetime = field(converter=_utc)
    title: str | None = field(default=None, converter=_title)
    location: str | None = field(default=None, converter=_location)
    provider: str | None = field(default=None, converter=_provider)
    description: str | None = field(default=None, converter=_opt_paragraphs)
    capacity: int | None = field(default=None, validator=_opt_positive)
    rrule: str | None = field(default=None, converter=_opt_rrule)
    until: dt.date | None = None
    count: int | None = field(default=None, validator=_opt_positive)
    cancelled: bool = False
    cancelled_dates: tuple[dt.date, ...] = field(default=(), converter=_dates)
    revision: int = field(default=0, validator=_non_negative)
    all_day: bool = False
    cancellations: tuple[Cancellation, ...] = field(default=(), converter=_cancellations)

    @blocks.validator
    def _check_blocks(self, _attribute: Any, value: tuple[DayBlock, ...]) -> None:
        if not value:
            raise ValueError("a session needs start and end, or at least one entry in days")
        for earlier, later in itertools.pairwise(value):
            if later.start < earlier.end:
                raise ValueError(
                    f"days must be in order and not overlap: {later.start.isoformat()} starts before "
                    f"{earlier.end.isoformat()} ends"
                )

    def __attrs_post_init__(self) -> None:
        for cancellation in self.cancellations:
            if cancellation.date not in self.cancelled_dates:
                raise ValueError(
                    f"cancelled_dates: {cancellation.date.isoformat()} has a revision but is not cancelled"
                )
        if self.all_day:
            _whole_days([(b.start, b.end) for b in self.blocks])
        if self.rrule is None:
            if self.until is not None or self.count is not None:
                raise ValueError("until and count need an rrule")
            days = {b.start.date() for b in self.blocks}
            for day in self.cancelled_dates:
                if day not in days:
                    raise ValueError(f"cancelled_dates: {day.isoformat()} is not one of the session's days")
            return
        if len(self.blocks) != 1:
            raise ValueError("days: a recurring session has one start and end (days cannot recur)")
        if self.until is not None and self.count is not None:
            raise ValueError("count: give until or count, not both")
        first = self.blocks[0].start
        if self.until is not None and self.until < first.date():
            raise ValueError(f"until {self.until.isoformat()} is before the first start {first.isoformat()}")
        if next(iter(self.recurrence()), None) != first:
            raise ValueError(f"start {first.isoformat()} is not an occurrence of the rrule {self.rrule}")
        starts = {o.date() for o in self.occurrences(until=self._horizon())}
        for day in self.cancelled_dates:
            if day not in starts:
                raise ValueError(f"cancelled_dates: {day.isoformat()} is not an occurrence of the rrule {self.rrule}")

    def stamp(self, day: dt.date | None = None) -> tuple[int, dt.datetime]:
        """The SEQUENCE and DTSTAMP of the event of ``day`` (an occurrence's or a day's local
        start date; ``None``: the session's own, a recurring session's master): the session's
        ``revision`` and ``updated``, or for a date with a :class:`Cancellation` the later of
        its and the session's, each on its own. So a date cancelled later changes its own event
        only, and SEQUENCE and DTSTAMP never go down when the session changes."""
        for cancellation in self.cancellations if day is not None else ():
            if cancellation.date == day:
                return max(self.revision, cancellation.revision), max(self.updated, cancellation.updated)
        return self.revision, self.updated

    def _horizon(self) -> dt.date:
        latest = max([self.blocks[0].start.date(), *self.cancelled_dates])
        return self.until or latest.replace(year=min(latest.year + 1, 9999))

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The session's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def duration(self) -> dt.timedelta:
        """The length of one occurrence of a recurring session (of the first block otherwise)."""
        return self.blocks[0].end - self.blocks[0].start

    def until_utc(self) -> dt.datetime | None:
        """RRULE's UNTIL: the last instant of the local ``until`` day, in UTC (RFC 5545 requires
        UTC when DTSTART has a TZID)."""
        if self.until is None:
            return None
        last = dt.datetime.combine(self.until, dt.time(23, 59, 59), tzinfo=self.zone)
        return last.astimezone(dt.UTC)

    def recurrence(self) -> _rrule.rrule:
        """The dateutil rule over local wall-clock start times (needs :attr:`rrule`)."""
        if self.rrule is None:
            raise ValueError(f"session {self.id!r} does not recur")
        start = self.blocks[0].start
        extra = ""
        if self.until is not None:
            extra = f";UNTIL={self.until.strftime('%Y%m%d')}T235959"
        elif self.count is not None:
            extra = f";COUNT={self.count}"
        rule = _rrule.rrulestr(self.rrule + extra, dtstart=start)
        if not isinstance(rule, _rrule.rrule):  # pragma: no cover - one RRULE, never a set
            raise TypeError(f"rrule {self.rrule!r} is not a single rule")
        return rule

    def occurrences(self, until: dt.date | None = None) -> list[dt.datetime]:
        """Local start times of the occurrences (cancelled ones included), through ``until``
        (needed for an open-ended rule; at most 50 years). Raises :class:`ValueError` when there
        are more than :data:`MAX_OCCURRENCES` of them."""
        if self.rrule is None:
            return [b.start for b in self.blocks]
        stop = until or self.until
        if stop is None and self.count is None:
            raise ValueError(f"session {self.id!r} recurs without end: give until")
        if stop is None:
            stop = self.blocks[0].start.date().replace(year=self.blocks[0].start.year + _MAX_EXPANSION_YEARS)
        limit = dt.datetime.combine(stop, dt.time(23, 59, 59))
        found: list[dt.datetime] = []
        for start in self.recurrence():
            if start > limit:
                break
            if len(found) == MAX_OCCURRENCES:
                raise ValueError(
                    f"rrule: more than {MAX_OCCURRENCES} occurrences through {stop.isoformat()}; peertrain "
                    "expands no more (give an earlier until, or cancelled dates nearer the start)"
                )
            found.append(start)
        return found


def _sessions(value: Iterable[Session]) -> tuple[Session, ...]:
    return tuple(value)


@frozen
class Schedule:
    """A team's training schedule: its stable id, display name, default zone and sessions."""

    id: str = field(validator=_ident)
    name: str = field()
    timezone: str = field(validator=_zone)
    sessions: tuple[Session, ...] = field(default=(), converter=_sessions)

    @name.validator
    def _named(self, _attribute: Any, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("name must not be blank")
        refuse_control_characters(value, "name")

    @sessions.validator
    def _unique(self, _attribute: Any, value: tuple[Session, ...]) -> None:
        seen: set[str] = set()
        for session in value:
            if session.id in seen:
                raise ValueError(f"two sessions have the id {session.id!r}")
            seen.add(session.id)


# -- reading ----------------------------------------------------------------------------------
