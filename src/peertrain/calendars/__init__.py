"""Training calendars, taking data out as iCalendar: the schedule of sessions (:mod:`.sessions`),
the feeds of sessions and compliance deadlines people subscribe to (:mod:`.feed`, re-exported
here), reading a provider's published ``.ics`` (:mod:`.ics`), the options of the feed-writing
commands (:mod:`.options`) and the feed server (:mod:`.serve`).

It imports the domain (:mod:`peertrain.rules`) and what brings data in (imports, ledger), never
the report or the command line. ``docs/architecture.md`` draws the layers.
"""

from __future__ import annotations

from peertrain.calendars.feed import (
    DEFAULT_ALARM_DAYS,
    DEFAULT_REFRESH,
    NAMESPACE,
    PRODID,
    Feed,
    FeedKind,
    FeedOptions,
    build_feed,
    clean_text,
    deadline_events,
    member_stamps,
    person_label,
    session_events,
)

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
    "person_label",
    "session_events",
]
