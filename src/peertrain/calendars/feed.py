"""RFC 5545 calendars of training sessions and compliance deadlines (the feeds people subscribe to).

Three kinds of feed (:class:`Feed`): ``team`` (every session and every deadline), ``member:ID``
(that member's deadlines and the sessions that serve them) and ``function:NAME`` (sessions whose
course serves that function and the deadlines of members who have it).

Rules that keep a subscribed calendar in sync (``docs/calendars.md`` explains each):

- **UIDs** are ``uuid5`` over stable keys: the schedule id and session id (plus the day's
  number, 2, 3, ..., for the later days of a multi-day session; never a date), or the
  schedule id, member id, ``pack/requirement``, kind and date of a deadline. A UID is a
  one-way hash: it shows no name or id.
- **Nothing reads the clock.** A session's DTSTAMP and LAST-MODIFIED are its ``updated`` and its
  SEQUENCE its ``revision``. A deadline's DTSTAMP and LAST-MODIFIED are 00:00 UTC of the day the
  member's record last changed as the verdicts saw it: the member's latest completion on or
  before the as-of date, else the day they joined, else 2000-01-01 (:func:`member_stamps`); its
  SEQUENCE is 0, because everything the event shows is part of its UID or fixed by it (a lapse
  that moves is a new event and the old one leaves the feed). A lapsed or never-met requirement
  is one overdue item on the as-of date, one UID per member and requirement, stamped with the
  as-of date (:mod:`peertrain.calendars._overdue_events`). The same data therefore gives byte-identical output.
- **Cancellations**: a withdrawn session keeps its events with ``STATUS:CANCELLED``; a withdrawn
  occurrence of a recurring session is an overridden instance (same UID, RECURRENCE-ID) with
  ``STATUS:CANCELLED``, not an EXDATE, so that a calendar that already shows it learns it was
  cancelled instead of silently losing it. Summaries of cancelled events start with
  ``Cancelled:`` for the clients that show cancelled events like any other.
- **Times**: sessions are timed events with a TZID and a VTIMEZONE; an RRULE's UNTIL is in UTC.
  Deadlines are all-day (``VALUE=DATE``; DTEND the next day) and ``TRANSP:TRANSPARENT``.
- **Text** is stored as given, except that CR LF and CR become LF and other control characters
  (which RFC 5545 TEXT cannot hold) are dropped; it is escaped as RFC 5545 says (a literal
  backslash-N stays text) and folded.

This module holds the feeds (:class:`Feed`, :class:`FeedOptions`), the deadlines a feed shows and
:func:`build_feed`; beside it are :mod:`peertrain.calendars._ical_props` (writing properties: text, UIDs,
the shared property-value cache), :mod:`peertrain.calendars._session_events` (the sessions' events) and
:mod:`peertrain.calendars._deadline_events` (what one deadline event says).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attrs import field, frozen
from icalendar import Alarm, Calendar, Event, Timezone, vDDDLists, vDuration

from peertrain.calendars._deadline_events import (
    _all_day,
    _deadline,
    _deadline_description,
    _requirement_courses,
    _subject,
)
from peertrain.calendars._ical_props import NAMESPACE, _put, _uid, clean_text
from peertrain.calendars._overdue_events import overdue_event, overdue_uid
from peertrain.calendars._session_events import session_events, session_uid
from peertrain.calendars._session_fields import _MAX_EXPANSION_YEARS
from peertrain.calendars.sessions import Schedule, Session
from peertrain.errors import InputError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import ComplianceResult
from peertrain.rules.model import Completion, Function, Member
from peertrain.rules.privacy import Privacy
from peertrain.rules.requirements import RulePack
from peertrain.rules.verdict import Status

__all__ = [
    "DEFAULT_ALARM_DAYS",
    "DEFAULT_REFRESH",
    "NAMESPACE",
    "PRODID",
    "Feed",
    "FeedKind",
    "FeedOptions",
    "build_feed",
    "clean_text",
    "deadline_events",
    "member_stamps",
    "overdue_uid",
    "person_label",
    "session_events",
    "session_uid",
]

PRODID = "-//peertrain//peertrain calendar feed//EN"
#: Alarm and reminder offsets, in days before a deadline.
DEFAULT_ALARM_DAYS: tuple[int, ...] = (90, 30, 7)
#: How often subscribers are asked to refresh (REFRESH-INTERVAL and X-PUBLISHED-TTL).
DEFAULT_REFRESH = dt.timedelta(hours=12)
#: The stamp of a deadline whose member has no completion and no join date.
_FALLBACK_STAMP = dt.date(2000, 1, 1)


# -- feeds ------------------------------------------------------------------------------------


class FeedKind(enum.StrEnum):
    """What a feed covers."""

    TEAM = "team"
    MEMBER = "member"
    FUNCTION = "function"


@frozen
class Feed:
    """A feed: ``team``, ``member:ID`` or ``function:NAME`` (:meth:`parse` reads these)."""

    kind: FeedKind = field(converter=FeedKind)
    value: str | None = field(default=None)

    @value.validator
    def _check(self, _attribute: Any, value: str | None) -> None:
        if self.kind is FeedKind.TEAM:
            if value is not None:
                raise ValueError("the team feed takes no value")
            return
        if not value:
            raise ValueError(f"the {self.kind} feed needs a value ({self.kind}:...)")
        if self.kind is FeedKind.FUNCTION and value not in {f.value for f in Function}:
            raise ValueError(
                f"unknown function {value!r}; expected one of: {', '.join(f.value for f in Function)}"
            )

    @classmethod
    def parse(cls, text: str) -> Feed:
        """``"team"``, ``"member:PL-01"`` or ``"function:postvention"`` as a :class:`Feed`."""
        kind, sep, value = text.strip().partition(":")
        if kind not in {k.value for k in FeedKind}:
            raise ValueError(f"{text!r} is not a feed; expected team, member:ID or function:NAME")
        return cls(kind, value.strip() if sep else None)

    def __str__(self) -> str:
        return self.kind.value if self.value is None else f"{self.kind.value}:{self.value}"


@frozen
class FeedOptions:
    """How a feed is rendered.

    - ``privacy``: how people appear in summaries: full names, initials, or (``none``) only the
      member's agency id;
    - ``alarm_days``: VALARM offsets in days before each upcoming deadline (empty for none);
    - ``reminder_events``: also add each offset as its own all-day "Reminder:" event (subscribed
      calendars often drop alarms);
    - ``refresh``: REFRESH-INTERVAL and X-PUBLISHED-TTL.
    """

    privacy: Privacy = field(default=Privacy.FULL, converter=Privacy)
    alarm_days: tuple[int, ...] = field(default=DEFAULT_ALARM_DAYS, converter=tuple)
    reminder_events: bool = False
    refresh: dt.timedelta = field(default=DEFAULT_REFRESH)

    @alarm_days.validator
    def _days(self, _attribute: Any, value: tuple[int, ...]) -> None:
        for days in value:
            if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
                raise ValueError(f"alarm_days must be whole numbers of days > 0, got {days!r}")

    @refresh.validator
    def _refresh(self, _attribute: Any, value: dt.timedelta) -> None:
        if value < dt.timedelta(minutes=1):
            raise ValueError(f"refresh must be at least a minute, got {value}")


def person_label(member: Member, privacy: Privacy) -> str:
    """How a feed names a member: ``Dana Whitfield`` / ``D. W.`` / ``PL-01``."""
    if privacy is Privacy.FULL:
        return clean_text(member.name)
    if privacy is Privacy.INITIALS:
        return member.initials
    return member.id


# -- deadlines --------------------------------------------------------------------------------


def member_stamps(members: Iterable[Member], completions: Iterable[Completion], as_of: dt.date) -> dict[str, dt.date]:
    """For each member, the day their record last changed as the verdicts saw it: their latest
    completion on or before ``as_of``, else the day they joined, else 2000-01-01."""
    latest: dict[str, dt.date] = {}
    for completion in completions:
        if completion.completed_on <= as_of and completion.completed_on > latest.get(completion.member, dt.date.min):
            latest[completion.member] = completion.completed_on
    return {m.id: latest.get(m.id) or m.joined_on or _FALLBACK_STAMP for m in members}


def deadline_events(
    result: ComplianceResult,
    members: Sequence[Member],
    packs: Sequence[RulePack],
    catalogue: Catalogue,
    *,
    team_id: str,
    options: FeedOptions = FeedOptions(),
    stamps: Mapping[str, dt.date] | None = None,
    member_ids: Iterable[str] | None = None,
) -> list[Event]:
    """All-day VEVENTs for the verdicts' deadlines (of ``member_ids`` only, when given).

    A compliant verdict gives one event: "<what> lapses" on its ``lapses_on`` (met, due soon,
    exempt) or "<what> due" at the end of a grace period. A lapsed or never-met one gives its
    overdue item on the as-of date, "Overdue: <what> (since <day>)" or "Not met: <what>", with one
    UID per member and requirement (:mod:`peertrain.calendars._overdue_events`). Upcoming ones (after the as-of
    date) carry a VALARM per ``options.alarm_days`` and, with ``options.reminder_events``, one
    all-day "Reminder:" event per offset. ``stamps`` gives each member's DTSTAMP day (see
    :func:`member_stamps`; default: 2000-01-01 for all).
    """
    by_id = {m.id: m for m in members}
    wanted = None if member_ids is None else set(member_ids)
    requirements = {f"{p.id}/{r.id}": r for p in packs for r in p.requirements}
    events: list[Event] = []
    for verdict in result.verdicts:
        member = by_id.get(verdict.member)
        if member is None or (wanted is not None and member.id not in wanted):
            continue
        who = person_label(member, options.privacy)
        if not verdict.status.compliant:
            verb = "overdue" if verdict.status is Status.NOT_MET else "lapsed"
            events.append(overdue_event(
                verdict, team_id=team_id, who=who, as_of=result.as_of, alarms=bool(options.alarm_days),
                description=_deadline_description(verdict, verb, requirements.get(verdict.key), catalogue),
            ))
            continue
        deadline = _deadline(verdict)
        if deadline is None:
            continue
        verb, day = deadline
        stamp_day = (stamps or {}).get(member.id, _FALLBACK_STAMP)
        stamp = dt.datetime.combine(stamp_day, dt.time(), tzinfo=dt.UTC)
        what = clean_text(_subject(verdict, verb))
        key = (team_id, "deadline", member.id, verdict.key, verb, day.isoformat())
        description = _deadline_description(verdict, verb, requirements.get(verdict.key), catalogue)
        event = _all_day(_uid(*key), day, f"{what} {verb} — {who}", description, stamp)
        upcoming = day > result.as_of
        if upcoming:
            for days in sorted(set(options.alarm_days), reverse=True):
                alarm = Alarm()
                _put(alarm, "action", "DISPLAY")
                _put(alarm, "trigger", dt.timedelta(days=-days))
                _put(alarm, "description", clean_text(f"{what} {verb} in {days} days — {who}"))
                event.add_component(alarm)
        events.append(event)
        if upcoming and options.reminder_events:
            for days in sorted(set(options.alarm_days), reverse=True):
                events.append(
                    _all_day(
                        _uid(*key, "reminder", str(days)),
                        day - dt.timedelta(days=days),
                        f"Reminder: {what} {verb} in {days} days — {who}",
                        description,
                        stamp,
                    )
                )
    return events


# -- the calendar -----------------------------------------------------------------------------


def _feed_sessions(
    feed: Feed, schedule: Schedule | None, catalogue: Catalogue, *, members: Sequence[Member],
    result: ComplianceResult | None, packs: Sequence[RulePack],
) -> list[Session]:
    if schedule is None:
        return []
    if feed.kind is FeedKind.TEAM:
        return list(schedule.sessions)
    if feed.kind is FeedKind.FUNCTION:
        function = Function(str(feed.value))
        return [s for s in schedule.sessions if function in catalogue.courses[s.course].functions]
    member = next(m for m in members if m.id == feed.value)
    if not member.functions:
        return list(schedule.sessions)
    requirements = {f"{p.id}/{r.id}": r for p in packs for r in p.requirements}
    useful: set[str] = set()
    for verdict in result.for_member(member.id) if result else ():
        useful |= set(verdict.shortfall.courses)
        if verdict.key in requirements:
            useful |= set(_requirement_courses(requirements[verdict.key]))
    return [
        s for s in schedule.sessions
        if s.course in useful or catalogue.courses[s.course].functions & member.functions
    ]


def build_feed(
    feed: Feed,
    *,
    catalogue: Catalogue,
    schedule: Schedule | None = None,
    result: ComplianceResult | None = None,
    members: Sequence[Member] = (),
    packs: Sequence[RulePack] = (),
    completions: Iterable[Completion] = (),
    options: FeedOptions = FeedOptions(),
    team_id: str | None = None,
    team_name: str | None = None,
) -> Calendar:
    """The calendar of one feed: the schedule's sessions and the deadlines of ``result``.

    ``team_id`` (default: the schedule's id, else ``"team"``) goes into every UID; ``team_name``
    (default: the schedule's name) into the calendar's name. ``completions`` date the deadlines
    (:func:`member_stamps`). Raises :class:`~peertrain.errors.InputError` for a member feed of
    someone not in ``members``.
    """
    if feed.kind is FeedKind.MEMBER and not any(m.id == feed.value for m in members):
        raise InputError("--feed", f"no member with the id {feed.value!r} on the roster")
    team_id = team_id or (schedule.id if schedule else "team")
    team_name = team_name or (schedule.name if schedule else "Peer support team")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = clean_text(_calendar_name(feed, team_name, members, options.privacy))
    _put(calendar, "name", name)
    _put(calendar, "x-wr-calname", name)
    calendar.add("uid", _uid(team_id, "feed", str(feed)))
    calendar.add("refresh-interval", vDuration(options.refresh), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(options.refresh))
    feed_sessions = _feed_sessions(feed, schedule, catalogue, members=members, result=result, packs=packs)
    events = session_events(schedule, catalogue, feed_sessions) if schedule else []
    if result is not None:
        if feed.kind is FeedKind.TEAM:
            ids: list[str] | None = None
        elif feed.kind is FeedKind.MEMBER:
            ids = [str(feed.value)]
        else:
            ids = [m.id for m in members if Function(str(feed.value)) in m.functions]
        stamps = member_stamps(members, completions, result.as_of)
        events += deadline_events(
            result, members, packs, catalogue, team_id=team_id, options=options, stamps=stamps, member_ids=ids
        )
    for event in events:
        calendar.add_component(event)
    starts = [s.blocks[0].start.date() for s in (schedule.sessions if schedule else ())]
    if starts:
        # The zones of the feed's sessions, in name order (the VTIMEZONEs that
        # Calendar.add_missing_timezones would add, without scanning every event, and in an order
        # that does not depend on string hashing, so that the bytes are the same in every run).
        first = min(starts) - dt.timedelta(days=366)
        last = _last_session_day(schedule) + dt.timedelta(days=366)
        zones = [_one_rdate_per_line(Timezone.from_tzid(key, first_date=first, last_date=last))
                 for key in sorted({s.zone.key for s in feed_sessions if not s.all_day})]
        calendar.subcomponents[0:0] = zones
    return calendar


def _one_rdate_per_line(timezone: Timezone) -> Timezone:
    """``timezone`` with each of its observances' RDATEs as a property of its own.

    icalendar lists an observance's transitions as one comma-separated ``RDATE``. RFC 5545 allows
    that, but vobject (0.9.9) keeps only the first value of such a list, and with it Radicale, which
    stores the zone so truncated and places every event after the first year an hour off (found by
    ``tests/test_caldav.py``). One ``RDATE`` per transition means the same to every parser."""
    for observance in timezone.subcomponents:
        rdates = observance.get("RDATE")
        if rdates is None:
            continue
        lists = rdates if isinstance(rdates, list) else [rdates]
        observance["RDATE"] = [vDDDLists([moment.dt]) for dates in lists for moment in dates.dts]
    return timezone


def _last_session_day(schedule: Schedule | None) -> dt.date:
    """The last day the VTIMEZONEs must cover: the end of the last session, the last occurrence
    of a counted one, and for one without end as far as peertrain ever expands a rule (50 years),
    so that a client that uses only the embedded zones (no zone database of its own) places every
    occurrence right, past 2037 too."""
    days = []
    for session in schedule.sessions if schedule else ():
        if session.rrule is None or session.until is not None:
            days.append(session.until or session.blocks[-1].end.date())
            continue
        start = session.blocks[0].start.date()
        endless = start.replace(year=min(start.year + _MAX_EXPANSION_YEARS, 9999))
        if session.count is None:
            days.append(endless)
            continue
        try:
            days.append(session.occurrences()[-1].date() + session.duration + dt.timedelta(days=1))
        except ValueError:  # more occurrences than peertrain expands
            days.append(endless)
    return max(days)


def _calendar_name(feed: Feed, team: str, members: Sequence[Member], privacy: Privacy) -> str:
    if feed.kind is FeedKind.TEAM:
        return f"{team}: training"
    if feed.kind is FeedKind.FUNCTION:
        return f"{team}: {feed.value} training"
    member = next(m for m in members if m.id == feed.value)
    return f"{team}: training for {person_label(member, privacy)}"
