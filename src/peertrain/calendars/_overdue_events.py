"""What a feed shows for a requirement that needs action now, for :mod:`peertrain.calendars`.

A lapsed or never-met requirement (:attr:`~peertrain.rules.verdict.Status.compliant` false) has no
deadline ahead: its date, if it has one, is in the past (an RPS "overdue" since 2023-08-13), and a
``not_met`` verdict may have no date at all. Such a verdict becomes one all-day item on the
**as-of date**, where anyone looking at this week sees it, "Overdue: <what> (since <day>) — <who>"
or "Not met: <what> — <who>":

- its UID comes from the team, the member and ``pack/requirement`` only, so the same item is
  updated in place as days pass (it moves to each new as-of date) and as training is recorded
  (its description follows); it leaves the feed when the requirement is met again;
- its DTSTAMP and LAST-MODIFIED are 00:00 UTC of the as-of date (the item changes with it, and
  a calendar compares DTSTAMP when SEQUENCE is equal); its SEQUENCE is 0. The same data and as-of
  date give the same bytes;
- it is ``TRANSP:TRANSPARENT`` (never busy time), ``PRIORITY:1``, in the category "Training
  overdue", with one display alarm at 09:00 of that day when the feed has alarms.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Alarm, Event

from peertrain.calendars._deadline_events import _all_day
from peertrain.calendars._ical_props import _put, _uid, clean_text
from peertrain.rules.verdict import Status, Verdict

#: The alarm of an overdue item: 09:00 (floating) on the as-of date.
OVERDUE_ALARM = dt.timedelta(hours=9)


def overdue_since(verdict: Verdict) -> dt.date | None:
    """The first day a non-compliant verdict was out of compliance, when the verdict says: the
    day it lapsed, or the day after a never-met requirement was due; ``None`` for neither."""
    if verdict.status is Status.LAPSED:
        return verdict.lapses_on
    if verdict.status is Status.NOT_MET and verdict.due_on is not None:
        return verdict.due_on + dt.timedelta(days=1)
    return None


def overdue_uid(team_id: str, member_id: str, key: str) -> str:
    """The one UID of the overdue item of member ``member_id`` and requirement ``key``."""
    return _uid(team_id, "overdue", member_id, key)


def overdue_event(
    verdict: Verdict, *, team_id: str, who: str, description: str, as_of: dt.date, alarms: bool
) -> Event:
    """The all-day item of a non-compliant verdict on ``as_of`` (see the module)."""
    since = overdue_since(verdict)
    title = clean_text(verdict.title)
    if since is not None:
        summary = f"Overdue: {title} (since {since.isoformat()}) — {who}"
        first = f"Overdue since {since.isoformat()} ({(as_of - since).days} days as of {as_of.isoformat()})."
    else:
        summary = f"Not met: {title} — {who}"
        first = f"Not met as of {as_of.isoformat()} (the rule sets no date by which it was due)."
    text = clean_text(f"{first}\nShown on each evaluation date until it is met.\n{description}")
    stamp = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)
    uid = overdue_uid(team_id, verdict.member, verdict.key)
    event = _all_day(uid, as_of, summary, text, stamp, category="Training overdue")
    _put(event, "priority", 1)
    if alarms:
        alarm = Alarm()
        _put(alarm, "action", "DISPLAY")
        _put(alarm, "trigger", OVERDUE_ALARM)
        _put(alarm, "description", clean_text(summary))
        event.add_component(alarm)
    return event
