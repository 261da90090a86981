"""Training calendars: sessions TOML, RFC 5545 feeds, stability, privacy, and the ``calendar`` command.

Feeds are checked property by property on the serialised bytes, re-read with icalendar and with
two independent parsers (``ical``, strict; ``vobject``, lenient), and recurring sessions are
expanded with ``recurring-ical-events`` across the 2026 daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
import vobject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream

from demo_team import Demo
from peertrain import (
    Catalogue,
    ComplianceResult,
    Course,
    Member,
    Shortfall,
    Status,
    Verdict,
    check_compliance,
    load_bundled_catalogue,
    load_pack,
    read_waivers,
)
from peertrain.calendars import (
    NAMESPACE,
    Feed,
    FeedKind,
    FeedOptions,
    build_feed,
    clean_text,
    member_stamps,
    session_events,
)
from peertrain.calendars.schedule import load_schedule, parse_schedule
from peertrain.calendars.sessions import DayBlock, Schedule, Session
from peertrain.cli import main
from peertrain.errors import CatalogError
from peertrain.rules.loading import curricula_dir
from peertrain.rules.model import find_control_character
from peertrain.rules.privacy import Privacy

DATA = Path(__file__).parent / "data" / "calendars"
DEMO = curricula_dir() / "demo"
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
Write = Callable[..., Path]


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Demo:
    """The demo team, loaded once."""
    return Demo()


def unfold(data: bytes) -> list[str]:
    """The content lines of a serialised calendar, unfolded (RFC 5545 §3.1)."""
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")


def events_by_uid(data: bytes) -> dict[tuple[str, str], list[str]]:
    """Each VEVENT's unfolded lines, keyed by (UID, RECURRENCE-ID or "")."""
    result: dict[tuple[str, str], list[str]] = {}
    current: list[str] | None = None
    depth = 0
    for line in unfold(data):
        if line == "BEGIN:VEVENT":
            current, depth = [], 0
            continue
        if current is None:
            continue
        if line.startswith("BEGIN:"):
            depth += 1
        if line == "END:VEVENT" and depth == 0:
            uid = next(x for x in current if x.startswith("UID:"))[4:]
            rid = next((x for x in current if x.startswith("RECURRENCE-ID")), "")
            result[(uid, rid)] = current
            current = None
            continue
        if line.startswith("END:"):
            depth -= 1
        current.append(line)
    return result


def schedule_feed(path: Path, feed: str = "team") -> bytes:
    """A sessions-only feed of a schedule file."""
    catalogue = load_bundled_catalogue()
    data: bytes = build_feed(Feed.parse(feed), catalogue=catalogue, schedule=load_schedule(path, catalogue)).to_ical()
    return data


# -- sessions.toml ----------------------------------------------------------------------------


def test_demo_schedule_has_the_promised_sessions(demo):
    """The demo schedule: a quarterly in-service with one cancelled occurrence, a two-day ICISF GCI
    class and a regional RPS class, all in Central time."""
    sessions = {s.id: s for s in demo.schedule.sessions}
    assert demo.schedule.timezone == "America/Chicago"
    inservice = sessions["team-inservice"]
    assert inservice.rrule == "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"
    assert [o.date() for o in inservice.occurrences()] == [
        dt.date(2026, 1, 13), dt.date(2026, 4, 14), dt.date(2026, 7, 14), dt.date(2026, 10, 13),
        dt.date(2027, 1, 12), dt.date(2027, 4, 13), dt.date(2027, 7, 13), dt.date(2027, 10, 12),
    ]
    assert inservice.cancelled_dates == (dt.date(2027, 4, 13),)
    gci = sessions["icisf-gci-2027-02"]
    assert gci.course == "icisf-gci"
    assert [b.start.date() for b in gci.blocks] == [dt.date(2027, 2, 16), dt.date(2027, 2, 17)]
    assert sessions["rps-regional-2027-03"].course == "cop2cop-rps"


def test_bymonth_and_interval_forms_give_the_same_dates():
    """``BYMONTH=1,4,7,10;BYDAY=2TU`` and ``INTERVAL=3;BYDAY=2TU`` from a January start are the
    same quarterly second Tuesdays."""
    updated = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    block = DayBlock(dt.datetime(2026, 1, 13, 9), dt.datetime(2026, 1, 13, 13))

    def dates(rule: str) -> list[dt.datetime]:
        session = Session(id="s", course="team-quarterly", timezone="America/Chicago", blocks=[block],
                          updated=updated, rrule=rule, until=dt.date(2027, 12, 31))
        return session.occurrences()

    assert dates("FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=2TU") == dates("FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU")


def test_until_is_the_end_of_the_local_day_in_utc():
    """RRULE's UNTIL is the last second of the local ``until`` day, in UTC (RFC 5545 §3.3.10)."""
    session = load_schedule(DATA / "sessions.toml", load_bundled_catalogue()).sessions[0]
    assert session.until_utc() == dt.datetime(2027, 1, 1, 5, 59, 59, tzinfo=dt.UTC)


SESSION = """
[schedule]
id = "t"
name = "T"
timezone = "America/Chicago"

[[sessions]]
id = "s1"
course = "team-quarterly"
updated = 2026-01-01T00:00:00Z
"""


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ('start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\ncourse_typo = 1', "sessions[0].course_typo",
         "unknown key"),
        ("start = 2026-01-13T09:00:00", "sessions[0].end", "required key missing"),
        ("start = 2026-01-13T09:00:00\nend = 2026-01-13T08:00:00", "sessions[0].end", "is not after start"),
        ("start = 2026-01-13T09:00:00-06:00\nend = 2026-01-13T13:00:00", "sessions[0].start", "without an offset"),
        ('start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\ntimezone = "Central"', "sessions[0].timezone",
         "not an IANA time zone"),
        ('start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\nrrule = "FREQ=MONTHLY;COUNT=3"',
         "sessions[0].rrule", "'count' key"),
        ('start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\nrrule = "FREQ=MONTHLY;BYDAY=3TU"\n'
         "until = 2026-12-31", "sessions[0].start", "not an occurrence"),
        ('start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\nrrule = "FREQ=MONTHLY;BYDAY=2TU"\n'
         "until = 2026-12-31\ncancelled_dates = [2026-02-11]", "sessions[0].cancelled_dates", "2026-02-11"),
        ("start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\ncancelled_dates = [2026-01-14]",
         "sessions[0].cancelled_dates", "not one of the session's days"),
        ('start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\ncancelled = "yes"', "sessions[0].cancelled",
         "true or false"),
        ("start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\ncapacity = 0", "sessions[0].capacity", "> 0"),
        ("days = [{start = 2026-01-13T09:00:00, end = 2026-01-13T17:00:00}, "
         "{start = 2026-01-14T09:00:00, end = 2026-01-14T08:00:00}]", "sessions[0].days[1].end", "not after"),
    ],
)
def test_bad_sessions_name_file_and_key(write: Write, extra: str, key: str, message: str):
    """Every invalid session is a CatalogError naming the file and the key at fault."""
    path = write("sessions.toml", SESSION + extra + "\n")
    with pytest.raises(CatalogError) as caught:
        load_schedule(path, load_bundled_catalogue())
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert message in caught.value.message


def test_unknown_course_is_refused_with_a_hint(write: Write):
    """A course that is not a catalogue id is refused; a title that names one gets a hint."""
    text = SESSION.replace('"team-quarterly"', '"Group Crisis Intervention"')
    path = write("s.toml", text + "start = 2026-01-13T09:00:00\nend = 2026-01-13T13:00:00\n")
    hint = r"sessions\[0\]\.course: unknown course id .*did you mean the id 'icisf-gci'"
    with pytest.raises(CatalogError, match=hint):
        load_schedule(path, load_bundled_catalogue())


def test_duplicate_session_ids_and_missing_schedule_table():
    """Two sessions with one id, and a file without [schedule], are refused with their keys."""
    catalogue = load_bundled_catalogue()
    one = {"id": "a", "course": "qpr", "start": dt.datetime(2026, 1, 1, 9), "end": dt.datetime(2026, 1, 1, 10),
           "updated": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    header = {"id": "t", "name": "T", "timezone": "UTC"}
    with pytest.raises(CatalogError, match=r"sessions\[1\]\.id: duplicate session id 'a'"):
        parse_schedule({"schedule": header, "sessions": [one, one]}, catalogue, source="x.toml")
    with pytest.raises(CatalogError, match=r"x\.toml: schedule: missing"):
        parse_schedule({"sessions": [one]}, catalogue, source="x.toml")


# -- calendar and event properties ------------------------------------------------------------


def test_calendar_properties_rfc5545_and_rfc7986(demo):
    """PRODID, VERSION, NAME and X-WR-CALNAME, REFRESH-INTERVAL with VALUE=DURATION, and
    X-PUBLISHED-TTL as a duration; no METHOD (so DTSTAMP means LAST-MODIFIED)."""
    lines = unfold(demo.feed("team"))
    header = lines[: lines.index("BEGIN:VTIMEZONE")]
    assert header[0] == "BEGIN:VCALENDAR"
    assert "VERSION:2.0" in header
    assert "PRODID:-//peertrain//peertrain calendar feed//EN" in header
    assert "NAME:Pine Lake PD peer support team: training" in header
    assert "X-WR-CALNAME:Pine Lake PD peer support team: training" in header
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT12H" in header
    assert "X-PUBLISHED-TTL:PT12H" in header
    assert not any(line.startswith("METHOD") for line in lines)
    custom = unfold(demo.feed("team", refresh=dt.timedelta(days=1)))
    assert "REFRESH-INTERVAL;VALUE=DURATION:P1D" in custom
    assert "X-PUBLISHED-TTL:P1D" in custom


def test_recurring_session_event(demo):
    """The in-service is one timed VEVENT with TZID, an RRULE whose UNTIL is UTC, SEQUENCE from
    the revision and DTSTAMP = LAST-MODIFIED = the session's ``updated``; its zone has a VTIMEZONE."""
    data = demo.feed("team")
    master = next(
        lines for (_, rid), lines in events_by_uid(data).items()
        if not rid and "SUMMARY:Peer support team quarterly in-service" in lines
    )
    assert "DTSTART;TZID=America/Chicago:20260113T090000" in master
    assert "DTEND;TZID=America/Chicago:20260113T130000" in master
    assert "RRULE:FREQ=MONTHLY;UNTIL=20280101T055959Z;INTERVAL=3;BYDAY=2TU" in master
    assert "SEQUENCE:1" in master
    assert "DTSTAMP:20260602T153000Z" in master
    assert "LAST-MODIFIED:20260602T153000Z" in master
    assert "STATUS:CONFIRMED" in master
    assert "LOCATION:Pine Lake PD\\, Community Room\\, 210 Lake St\\, Pine Lake" in master
    assert "TZID:America/Chicago" in unfold(data)
    assert not any(line.startswith("EXDATE") for line in unfold(data))


def test_cancelled_occurrence_is_an_overridden_cancelled_instance(demo):
    """A cancelled date is a RECURRENCE-ID instance with the master's UID and STATUS:CANCELLED."""
    events = events_by_uid(demo.feed("team"))
    (uid, rid), lines = next((k, v) for k, v in events.items() if k[1])
    assert rid == "RECURRENCE-ID;TZID=America/Chicago:20270413T090000"
    assert (uid, "") in events
    assert "STATUS:CANCELLED" in lines
    assert "DTSTART;TZID=America/Chicago:20270413T090000" in lines
    assert "SUMMARY:Cancelled: Peer support team quarterly in-service" in lines
    assert "SEQUENCE:1" in lines


def test_multi_day_and_withdrawn_sessions():
    """A two-day class is one event per day (own UIDs, "(day n of 2)"); a withdrawn session keeps
    its event with STATUS:CANCELLED; a session in another zone gets its own VTIMEZONE."""
    data = schedule_feed(DATA / "sessions.toml")
    events = events_by_uid(data)
    gci = [lines for lines in events.values() if any("Group Crisis Intervention (day" in x for x in lines)]
    assert len(gci) == 2
    assert "SUMMARY:Group Crisis Intervention (day 1 of 2)" in gci[0]
    assert "DTSTART;TZID=America/Chicago:20261102T080000" in gci[0]
    assert "DTSTAMP:20260901T143000Z" in gci[0]  # 09:30-05:00
    withdrawn = next(lines for lines in events.values() if "SUMMARY:Cancelled: QPR Gatekeeper Training" in lines)
    assert "STATUS:CANCELLED" in withdrawn
    assert "SEQUENCE:2" in withdrawn
    lines = unfold(data)
    assert "TZID:America/Denver" in lines
    assert "DTSTART;TZID=America/Denver:20260310T080000" in lines


def test_deadline_events_are_all_day_transparent_with_alarms(demo):
    """A deadline is an all-day event (VALUE=DATE, DTEND the next day, TRANSP:TRANSPARENT), named
    "<what> lapses — <who>", listing the courses that would satisfy it, with alarms at 90, 30 and
    7 days before."""
    events = events_by_uid(demo.feed("member:PL-01"))
    lines = next(v for v in events.values() if "ICISF Group Crisis Intervention" in " ".join(v))
    assert "SUMMARY:ICISF Group Crisis Intervention\\, current within 36 months lapses — Dana Whitfield" in lines
    assert "DTSTART;VALUE=DATE:20270521" in lines
    assert "DTEND;VALUE=DATE:20270522" in lines
    assert "TRANSP:TRANSPARENT" in lines
    assert "SEQUENCE:0" in lines
    description = next(x for x in lines if x.startswith("DESCRIPTION:"))
    assert "Train by: 2027-05-20" in description
    assert "Courses that would satisfy it:\\n- Group Crisis Intervention (icisf-gci\\; ICISF\\, 14 h)" in description
    assert [x for x in lines if x.startswith("TRIGGER")] == ["TRIGGER:-P90D", "TRIGGER:-P30D", "TRIGGER:-P7D"]
    # PL-01's latest completion on or before the as-of date stamps every one of their deadlines.
    as_of = demo.result.as_of
    latest = max(c.completed_on for c in demo.completions if c.member == "PL-01" and c.completed_on <= as_of)
    assert f"DTSTAMP:{latest:%Y%m%d}T000000Z" in lines
    assert f"LAST-MODIFIED:{latest:%Y%m%d}T000000Z" in lines


def test_lapsed_and_overdue_requirements_are_items_on_the_as_of_date(demo):
    """A lapsed or never-met requirement is not an event on a past date but one all-day item on
    the as-of date, "Overdue: <what> (since <day>) — <who>", listing the shortfall's courses, with
    DTSTAMP the as-of date, PRIORITY:1 and a 09:00 alarm; its UID is the member's and the
    requirement's alone."""
    events = events_by_uid(demo.feed("team"))
    lapsed = next(v for v in events.values() if any(x.endswith("(since 2026-06-12) — Erin Lindqvist") for x in v))
    assert "SUMMARY:Overdue: Postvention members: current ICISF group crisis intervention or PFA " \
           "(since 2026-06-12) — Erin Lindqvist" in lapsed
    assert "DTSTART;VALUE=DATE:20261115" in lapsed
    assert "DTEND;VALUE=DATE:20261116" in lapsed
    assert "DTSTAMP:20261115T000000Z" in lapsed
    assert "LAST-MODIFIED:20261115T000000Z" in lapsed
    assert "SEQUENCE:0" in lapsed
    assert "PRIORITY:1" in lapsed
    assert "TRANSP:TRANSPARENT" in lapsed
    assert "CATEGORIES:Training overdue" in lapsed
    assert [x for x in lapsed if x.startswith("TRIGGER")] == ["TRIGGER:PT9H"]
    assert any("Psychological First Aid (RAPID) (jh-pfa" in x for x in lapsed)
    assert any(x.startswith("DESCRIPTION:Overdue since 2026-06-12 (156 days as of 2026-11-15).") for x in lapsed)
    overdue = next(v for v in events.values() if any(x.endswith("(since 2023-08-13) — Tom Baker") for x in v))
    assert "DTSTART;VALUE=DATE:20261115" in overdue
    assert not any(line.startswith("DTSTART;VALUE=DATE:2023") for line in unfold(demo.feed("team")))
    uid = next(x for x in overdue if x.startswith("UID:"))[4:]
    assert uid == str(uuid.uuid5(NAMESPACE, "pine-lake-pd\x1foverdue\x1fPL-04\x1fexample-agency/rps"))


def _mn_only_feed(demo: Demo, as_of: dt.date, privacy: Privacy = Privacy.FULL) -> bytes:
    packs = [load_pack("mn-181-9731", demo.catalogue)]
    waivers = read_waivers(DEMO / "exemptions.csv", demo.members)
    result = check_compliance(demo.members, demo.completions, packs, as_of, catalogue=demo.catalogue, waivers=waivers)
    return bytes(build_feed(
        Feed.parse("team"), catalogue=demo.catalogue, schedule=demo.schedule, result=result, members=demo.members,
        packs=packs, completions=demo.completions, options=FeedOptions(privacy=privacy),
    ).to_ical())


def test_not_met_members_without_a_due_date_are_in_view(demo):
    """With mn-181-9731 alone, the members who have not met it (a not-met verdict with no due
    date) each get "Not met: ..." on the as-of date, in the week anyone looking ahead sees."""
    as_of = dt.date(2026, 11, 15)
    events = events_by_uid(_mn_only_feed(demo, as_of))
    items = {
        next(x for x in v if x.startswith("SUMMARY:")): v for v in events.values() if "CATEGORIES:Training overdue" in v
    }
    title = "30 hours of standardized peer support training\\, 16 in person\\, within one year"
    by_id = {m.id: m.name for m in demo.members}
    assert sorted(items) == sorted(f"SUMMARY:Not met: {title} — {by_id[i]}" for i in ("PL-05", "CC-01"))
    for lines in items.values():
        assert "DTSTART;VALUE=DATE:20261115" in lines
        assert any(x.startswith("DESCRIPTION:Not met as of 2026-11-15 (the rule sets no date") for x in lines)


def test_overdue_items_keep_their_uids_from_day_to_day(demo):
    """Feeds for consecutive as-of dates hold the same overdue UIDs, each item moved to the new
    date; a feed for a given as-of date is byte-identical when made again."""
    first = events_by_uid(_mn_only_feed(demo, dt.date(2026, 11, 15)))
    second = events_by_uid(_mn_only_feed(demo, dt.date(2026, 11, 16)))

    def overdue(events: dict[tuple[str, str], list[str]]) -> dict[str, list[str]]:
        return {uid: v for (uid, _), v in events.items() if "CATEGORIES:Training overdue" in v}

    assert overdue(first).keys() == overdue(second).keys()
    assert all("DTSTART;VALUE=DATE:20261116" in v for v in overdue(second).values())
    assert all("DTSTAMP:20261116T000000Z" in v for v in overdue(second).values())
    assert _mn_only_feed(demo, dt.date(2026, 11, 16)) == _mn_only_feed(demo, dt.date(2026, 11, 16))


@pytest.mark.parametrize("privacy", [Privacy.INITIALS, Privacy.NONE])
def test_overdue_items_follow_the_privacy_level(demo, privacy):
    """An overdue item names its member as the privacy level says, and its description names nobody."""
    data = _mn_only_feed(demo, dt.date(2026, 11, 15), privacy)
    items = [v for v in events_by_uid(data).values() if "CATEGORIES:Training overdue" in v]
    assert items
    text = "\n".join(x for v in items for x in v)
    for member in demo.members:
        for part in member.name.split():
            assert not re.search(rf"\b{re.escape(part)}\b", text), (member.id, part)
    if privacy is Privacy.NONE:
        assert all(any(x.startswith("SUMMARY:") and x.rpartition(" — ")[2] in {m.id for m in demo.members} for x in v)
                   for v in items)


def test_alarm_offsets_and_reminder_events(demo):
    """Alarm offsets are configurable (none at all, too); each can also be its own all-day
    "Reminder:" event, offset days before the deadline."""
    assert b"BEGIN:VALARM" not in demo.feed("member:PL-01", alarm_days=())
    events = events_by_uid(demo.feed("member:PL-01", alarm_days=(14,), reminder_events=True))
    reminder = next(v for v in events.values() if any(x.startswith("SUMMARY:Reminder: ICISF") for x in v))
    assert "SUMMARY:Reminder: ICISF Group Crisis Intervention\\, current within 36 months lapses in 14 days — " \
           "Dana Whitfield" in reminder
    assert "DTSTART;VALUE=DATE:20270507" in reminder
    assert "TRANSP:TRANSPARENT" in reminder
    with pytest.raises(ValueError, match="alarm_days"):
        FeedOptions(alarm_days=(0,))


# -- feeds ------------------------------------------------------------------------------------


def test_member_feed_has_only_that_members_deadlines(demo):
    """member:PL-03 shows PL-03's deadlines only, and the sessions for a postvention member (the
    in-service and the GCI class, not the RPS class)."""
    data = demo.feed("member:PL-03")
    summaries = [x for x in unfold(data) if x.startswith("SUMMARY:")]
    people = {x.rpartition(" — ")[2] for x in summaries if " — " in x}
    assert people == {"Erin Lindqvist"}
    assert any("Group Crisis Intervention (day 1 of 2)" in x for x in summaries)
    assert not any("Reciprocal Peer Support" in x for x in summaries)
    assert "NAME:Pine Lake PD peer support team: training for Erin Lindqvist" in unfold(data)


def test_function_feed(demo):
    """function:intervention shows the sessions whose course serves intervention and the deadlines
    of members with that function."""
    summaries = [x for x in unfold(demo.feed("function:intervention")) if x.startswith("SUMMARY:")]
    assert any("Reciprocal Peer Support (day 1 of 2)" in x for x in summaries)
    assert not any("Group Crisis Intervention (day" in x for x in summaries)
    people = {x.rpartition(" — ")[2] for x in summaries if " — " in x}
    intervention = {m.name for m in demo.members if "intervention" in m.functions}
    assert people <= intervention
    assert intervention - people == {"Kim Osei"}  # exempt from RPS: no deadline at all


@pytest.mark.parametrize("text", ["everyone", "member:", "function:swimming", "team:x"])
def test_bad_feed_names(text):
    """Feed names other than team, member:ID and function:NAME are refused."""
    with pytest.raises(ValueError, match=r"feed|function"):
        Feed.parse(text)


def test_feed_names_parse():
    """The three feed forms parse and print back."""
    assert Feed.parse("team") == Feed(FeedKind.TEAM)
    assert str(Feed.parse(" member:PL-01 ")) == "member:PL-01"
    assert Feed.parse("function:postvention").value == "postvention"


# -- stability --------------------------------------------------------------------------------


def test_generating_twice_is_byte_identical(demo):
    """The same data gives the same bytes (no clock, no random UID), for every feed and option."""
    for feed in ("team", "member:PL-05", "function:postvention"):
        for privacy in Privacy:
            first = demo.feed(feed, privacy=privacy, reminder_events=True)
            assert Demo().feed(feed, privacy=privacy, reminder_events=True) == first


def test_uids_are_stable_uuid5s_without_personal_data(demo):
    """Every UID is a version-5 UUID (a one-way hash) that shows no member id, name or email, and
    only a recurring session's overridden instance shares its master's UID."""
    data = demo.feed("team", reminder_events=True)
    keys = list(events_by_uid(data))
    uids = [uid for uid, _ in keys]
    for uid in uids:
        assert uuid.UUID(uid).version == 5
    assert len(set(keys)) == len(keys)
    assert len(uids) - len(set(uids)) == sum(1 for _, rid in keys if rid)
    text = "\n".join(uids)
    for member in demo.members:
        assert member.id not in text
        assert member.name.split()[0] not in text


def test_editing_one_session_changes_only_that_event():
    """Editing one session (a new room, revision + 1, a new updated) changes that session's events
    only: their SEQUENCE, DTSTAMP, LAST-MODIFIED and the edited property; every other event and
    every UID stay the same."""
    before = events_by_uid(schedule_feed(DATA / "sessions.toml"))
    after = events_by_uid(schedule_feed(DATA / "sessions-edited.toml"))
    assert before.keys() == after.keys()
    changed = {key for key in before if before[key] != after[key]}
    assert len(changed) == 2  # the two days of the GCI class
    for key in changed:
        old, new = set(before[key]), set(after[key])
        assert {x.partition(":")[0] for x in old ^ new} == {"SEQUENCE", "DTSTAMP", "LAST-MODIFIED", "LOCATION"}
        assert "SEQUENCE:0" in old
        assert "SEQUENCE:1" in new
        assert "LAST-MODIFIED:20261005T160000Z" in new


def test_deadline_stamps_follow_the_record_not_the_as_of_date(demo):
    """Evaluating a month later changes no upcoming deadline event whose member has no new
    completion: DTSTAMP comes from the member's record, not the date of the run."""
    later = check_compliance(
        demo.members, demo.completions, demo.packs, dt.date(2026, 11, 30), catalogue=demo.catalogue
    )

    def deadlines(result: ComplianceResult) -> dict[tuple[str, str], list[str]]:
        calendar = build_feed(Feed.parse("member:PL-01"), catalogue=demo.catalogue, result=result,
                              members=demo.members, packs=demo.packs, completions=demo.completions)
        return events_by_uid(calendar.to_ical())

    assert deadlines(demo.result) == deadlines(later)
    stamps = member_stamps(demo.members, demo.completions, demo.result.as_of)
    assert stamps["PL-05"] <= demo.result.as_of


# -- independent parsers and recurrence -------------------------------------------------------


@pytest.mark.parametrize("feed", ["team", "member:PL-02", "function:prevention"])
def test_independent_parsers_read_every_feed(demo, feed):
    """The strict ``ical`` parser and lenient ``vobject`` read each feed, finding every event."""
    data = demo.feed(feed, reminder_events=True)
    count = len(events_by_uid(data))
    strict = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    assert len(strict.events) == count
    lenient = vobject.readOne(data.decode("utf-8"))
    assert len(lenient.vevent_list) == count
    assert {str(e.uid) for e in strict.events} == {e.uid.value for e in lenient.vevent_list}


def test_vobject_reads_every_transition_of_the_embedded_zone(demo):
    """Each VTIMEZONE transition is an RDATE of its own: vobject (and Radicale, which stores zones
    through it) keeps only the first value of a comma-separated RDATE, and put the April 2027
    in-service at 09:00 standard time, an hour off."""
    data = demo.feed("team")
    assert not [line for line in unfold(data) if line.startswith("RDATE") and "," in line]
    zone = vobject.readOne(data.decode("utf-8")).vtimezone.gettzinfo()
    for day, utc_hour in ((dt.date(2026, 4, 14), 14), (dt.date(2027, 1, 12), 15), (dt.date(2027, 4, 13), 14),
                          (dt.date(2027, 10, 12), 14)):
        local = dt.datetime.combine(day, dt.time(9), tzinfo=zone)
        assert local.astimezone(dt.UTC).hour == utc_hour, day


def test_recurring_session_expands_across_dst_changes():
    """recurring-ical-events expands the quarterly in-service to 09:00 Central on each second
    Tuesday of Jan/Apr/Jul/Oct: 15:00 UTC in winter, 14:00 UTC in summer; the cancelled July
    occurrence comes back STATUS:CANCELLED."""
    calendar = icalendar.Calendar.from_ical(schedule_feed(DATA / "sessions.toml"))
    found = [
        e for e in recurring_ical_events.of(calendar).between(dt.date(2026, 1, 1), dt.date(2027, 1, 1))
        if "in-service" in str(e["SUMMARY"])
    ]
    starts = [e["DTSTART"].dt for e in found]
    assert [s.date() for s in starts] == [dt.date(2026, 1, 13), dt.date(2026, 4, 14), dt.date(2026, 7, 14),
                                          dt.date(2026, 10, 13)]
    assert all((s.hour, s.minute) == (9, 0) for s in starts)
    assert [s.astimezone(dt.UTC).hour for s in starts] == [15, 14, 14, 14]
    assert [e.get("STATUS") for e in found] == ["CONFIRMED", "CONFIRMED", "CANCELLED", "CONFIRMED"]
    assert all(e["DTEND"].dt - e["DTSTART"].dt == dt.timedelta(hours=4) for e in found)


def test_two_day_class_across_the_autumn_dst_change():
    """The GCI class on 2 and 3 November 2026 (after DST ends on 1 November) is at 08:00 CST."""
    calendar = icalendar.Calendar.from_ical(schedule_feed(DATA / "sessions.toml"))
    found = recurring_ical_events.of(calendar).between(dt.date(2026, 11, 1), dt.date(2026, 11, 4))
    assert sorted(e["DTSTART"].dt.astimezone(dt.UTC) for e in found) == [
        dt.datetime(2026, 11, 2, 14, tzinfo=dt.UTC), dt.datetime(2026, 11, 3, 14, tzinfo=dt.UTC)
    ]


# -- text: escaping, folding, round trips -----------------------------------------------------

#: Titles and names with what breaks naive writers: , ; \ : newlines, emoji, and length.
awkward_text = st.text(
    st.one_of(
        st.sampled_from([",", ";", "\\", ":", "\n", "\r", '"', "🚓", "🧠", "é", "—", "ß", " "]),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    min_size=1,
    max_size=300,
).map(str.strip).filter(lambda s: bool(s) and bool(clean_text(s).strip()))


#: The same without control characters: what a name or a course title may hold (the boundary
#: refuses line breaks and other control characters in them).
plain_awkward_text = awkward_text.filter(lambda s: find_control_character(s) is None)


def _round_trip_feed(course_title: str, member_name: str, requirement: str = "Req") -> tuple[bytes, str, str]:
    """A feed with one session of a course titled ``course_title`` and one deadline (of the
    requirement titled ``requirement``) of a member named ``member_name``; returns the bytes and
    the two summaries expected."""
    catalogue = Catalogue([Course(id="c1", title=course_title, provider="P", hours=2)])
    session = Session(
        id="s1", course="c1", timezone="America/Chicago",
        blocks=[DayBlock(dt.datetime(2026, 3, 3, 9), dt.datetime(2026, 3, 3, 11))],
        updated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), location=course_title,
    )
    schedule = Schedule(id="t", name="T", timezone="America/Chicago", sessions=[session])
    member = Member(id="M-1", name=member_name)
    verdict = Verdict(
        member="M-1", pack="p", requirement="r", title=requirement, status=Status.DUE_SOON, as_of=dt.date(2026, 3, 1),
        explanation="", citation="", shortfall=Shortfall(), due_on=dt.date(2026, 4, 30),
        lapses_on=dt.date(2026, 5, 1),
    )
    result = ComplianceResult(as_of=dt.date(2026, 3, 1), verdicts=(verdict,), forecasts=())
    data = build_feed(Feed.parse("team"), catalogue=catalogue, schedule=schedule, result=result,
                      members=[member]).to_ical()
    return data, clean_text(course_title), clean_text(f"{requirement} lapses — {member_name}")


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(course_title=plain_awkward_text, member_name=plain_awkward_text, requirement=awkward_text)
def test_titles_and_names_round_trip(course_title, member_name, requirement):
    """Any course title and member name (commas, semicolons, backslashes, colons, emoji, 300
    characters) and any requirement title (newlines and other control characters too) comes back
    unchanged from icalendar, ical and vobject, in lines of at most 75 octets (line ends
    normalised to LF; control characters, which iCalendar cannot hold, dropped)."""
    data, session_summary, deadline_summary = _round_trip_feed(course_title, member_name, requirement)
    assert all(len(line.encode()) <= 75 for line in data.decode().split("\r\n"))
    parsed = icalendar.Calendar.from_ical(data)
    assert [str(e["SUMMARY"]) for e in parsed.events] == [session_summary, deadline_summary]
    assert str(parsed.events[0]["LOCATION"]) == session_summary
    strict = IcsCalendarStream.calendar_from_ics(data.decode())
    assert [e.summary for e in strict.events] == [session_summary, deadline_summary]
    lenient = vobject.readOne(data.decode())
    assert [e.summary.value for e in lenient.vevent_list] == [session_summary, deadline_summary]


@pytest.mark.parametrize(
    ("course_title", "member_name", "requirement"),
    [("a\\N b", "\\N", "Req"), ("C:\\new\\Notes; x, y", "O\\Neil \\n", "Req\n\\n")],
)
def test_backslash_n_is_not_a_line_break(course_title, member_name, requirement):
    """A literal backslash followed by ``N`` or ``n`` stays text (icalendar's own escaping would
    turn ``\\N`` into a line break); found by the round-trip property."""
    data, session_summary, deadline_summary = _round_trip_feed(course_title, member_name, requirement)
    parsed = icalendar.Calendar.from_ical(data)
    assert [str(e["SUMMARY"]) for e in parsed.events] == [session_summary, deadline_summary]
    assert "\n" not in session_summary
    strict = IcsCalendarStream.calendar_from_ics(data.decode())
    assert [e.summary for e in strict.events] == [session_summary, deadline_summary]
    lenient = vobject.readOne(data.decode())
    assert [e.summary.value for e in lenient.vevent_list] == [session_summary, deadline_summary]


def test_clean_text():
    """CR LF and CR become LF; control characters (C0, DEL, C1) go; everything else stays."""
    assert clean_text("a\r\nb\rc\nd\te\x07f\x7fg\x85h\x9b") == "a\nb\nc\nd\tefgh"
    assert clean_text("Peer, support; \\ 🚓") == "Peer, support; \\ 🚓"


# -- privacy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("privacy", [Privacy.INITIALS, Privacy.NONE])
@pytest.mark.parametrize("feed", ["team", "member:PL-01", "function:postvention"])
def test_reduced_privacy_leaks_no_names(demo, privacy, feed):
    """At privacy ``initials`` or ``none`` no member's first name, last name or email appears
    anywhere in the feed (summaries, alarms, descriptions, the calendar's name)."""
    text = b"\n".join(line.encode() for line in unfold(demo.feed(feed, privacy=privacy, reminder_events=True)))
    decoded = text.decode()
    for member in demo.members:
        for part in member.name.split():
            assert not re.search(rf"\b{re.escape(part)}\b", decoded), (member.id, part)
        assert member.email is None or member.email not in decoded
    if privacy is Privacy.NONE:
        assert "— D. W." not in decoded
        assert "— PL-01" in decoded
    else:
        assert "— D. W." in decoded


# -- the command ------------------------------------------------------------------------------


def test_cli_writes_the_same_feed_twice(tmp_path, capsys):
    """``peertrain calendar --demo --feed team -o FILE`` writes a feed the library would, and the
    same bytes on a second run."""
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    assert main(["calendar", "--demo", "--feed", "team", "-o", str(first)]) == 0
    assert main(["calendar", "--demo", "--feed", "team", "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == Demo().feed("team")
    assert "Wrote" in capsys.readouterr().err


def test_cli_options(tmp_path, capsys):
    """--privacy, --alarms, --reminder-events and --refresh-hours reach the feed; --sessions alone
    makes a sessions-only feed on standard output."""
    out = tmp_path / "m.ics"
    args = ["calendar", "--demo", "--feed", "member:PL-01", "--privacy", "initials", "--alarms", "10",
            "--reminder-events", "--refresh-hours", "6", "-o", str(out)]
    assert main(args) == 0
    lines = unfold(out.read_bytes())
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT6H" in lines
    assert "TRIGGER:-P10D" in lines
    assert any(x.startswith("SUMMARY:Reminder:") and x.endswith("— D. W.") for x in lines)
    capsys.readouterr()
    assert main(["calendar", "--feed", "function:postvention", "--sessions", str(DATA / "sessions.toml")]) == 0
    printed = capsys.readouterr().out
    assert "SUMMARY:Group Crisis Intervention (day 1 of 2)" in printed
    assert "Reciprocal" not in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--demo", "--feed", "member:NOPE"], "no member with the id 'NOPE'"),
        (["--demo", "--feed", "crew"], "is not a feed"),
        (["--feed", "team"], "give --sessions"),
        (["--demo", "--feed", "team", "--alarms", "30,-1"], "days > 0"),
        (["--demo", "--feed", "team", "--sessions", "missing.toml"], "missing.toml: no such file"),
    ],
)
def test_cli_errors_are_one_line_with_status_2(capsys, argv, message):
    """Bad feeds, bad options and missing files exit 2 with one line on standard error."""
    try:
        status = main(["calendar", *argv])
    except SystemExit as exc:  # usage errors exit from argparse
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 or "warning" in err


def test_session_events_api_defaults_to_every_session():
    """``session_events`` alone gives every session's events in file order."""
    catalogue = load_bundled_catalogue()
    schedule = load_schedule(DATA / "sessions.toml", catalogue)
    events = session_events(schedule, catalogue)
    assert [str(e["SUMMARY"]) for e in events] == [
        "Peer support team quarterly in-service", "Cancelled: Peer support team quarterly in-service",
        "Group Crisis Intervention (day 1 of 2)", "Group Crisis Intervention (day 2 of 2)",
        "Reciprocal Peer Support", "Cancelled: QPR Gatekeeper Training",
    ]
    assert events[0]["DTSTART"].dt == dt.datetime(2026, 1, 13, 9, tzinfo=CHICAGO)


def test_session_events_match_the_recorded_output():
    """The events of ``sessions.toml`` are exactly the recorded ``sessions-team-events.txt``
    (folded lines as written): proof that nothing in them comes from the clock or chance. (The
    VTIMEZONE is left out: icalendar writes it, and may word it differently in another version.
    A change to the bundled catalogue's titles or hours changes this file.)"""
    lines = schedule_feed(DATA / "sessions.toml").decode("utf-8").split("\r\n")
    events = lines[lines.index("BEGIN:VEVENT"): lines.index("END:VCALENDAR")]
    expected = (DATA / "sessions-team-events.txt").read_text(encoding="utf-8").splitlines()
    assert events == expected


def test_ical_timeline_expands_the_demo_in_service(demo):
    """The independent ``ical`` parser's own recurrence expansion gives the same eight quarterly
    occurrences at 09:00 Central (UNTIL honoured: none in 2028), the April 2027 one cancelled."""
    calendar = IcsCalendarStream.calendar_from_ics(demo.feed("team").decode("utf-8"))
    timeline = calendar.timeline_tz(CHICAGO)
    found = [
        e for e in timeline.overlapping(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2029, 1, 1, tzinfo=dt.UTC))
        if "in-service" in e.summary
    ]
    assert [(e.dtstart.date(), e.dtstart.hour) for e in found] == [
        (dt.date(2026, 1, 13), 9), (dt.date(2026, 4, 14), 9), (dt.date(2026, 7, 14), 9), (dt.date(2026, 10, 13), 9),
        (dt.date(2027, 1, 12), 9), (dt.date(2027, 4, 13), 9), (dt.date(2027, 7, 13), 9), (dt.date(2027, 10, 12), 9),
    ]
    assert [e.summary.startswith("Cancelled:") for e in found] == [False] * 5 + [True, False, False]


def test_grace_deadline_is_due_at_the_end_of_grace(demo):
    """A new member within a grace period gets "<what> due" on the day the grace ends."""
    events = events_by_uid(demo.feed("member:PL-05"))
    due = [v for v in events.values() if any(x.endswith(" due — Sarah Nguyen") for x in v)]
    assert due
    assert all("DTSTART;VALUE=DATE:20270203" in v for v in due)


@pytest.mark.parametrize(
    ("extra", "rrule"),
    [
        ({}, "RRULE:FREQ=WEEKLY;BYDAY=TU"),
        ({"count": 3}, "RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=TU"),
        ({"cancelled_dates": [dt.date(2030, 1, 15)]}, "RRULE:FREQ=WEEKLY;BYDAY=TU"),
    ],
)
def test_open_ended_and_counted_recurrences(extra, rrule):
    """A recurrence without until (or with count instead) is written without UNTIL, with COUNT as
    given; a cancelled occurrence far ahead of an open-ended rule is still found."""
    session = Session(
        id="weekly", course="qpr", timezone="America/Chicago",
        blocks=[DayBlock(dt.datetime(2026, 1, 6, 18), dt.datetime(2026, 1, 6, 19))],
        updated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), rrule="FREQ=WEEKLY;BYDAY=TU", **extra,
    )
    schedule = Schedule(id="t", name="T", timezone="America/Chicago", sessions=[session])
    lines = unfold(build_feed(Feed.parse("team"), catalogue=load_bundled_catalogue(), schedule=schedule).to_ical())
    assert rrule in lines
    assert "TZID:America/Chicago" in lines
    assert sum(1 for x in lines if x.startswith("RECURRENCE-ID")) == len(extra.get("cancelled_dates", []))


def test_vtimezones_are_in_zone_order_whatever_the_hash_seed():
    """A feed with sessions in two zones lists its VTIMEZONEs in zone-name order, and the bytes do
    not depend on Python's string hashing (two runs with different PYTHONHASHSEED agree)."""
    import os
    import subprocess
    import sys

    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.append(subprocess.run(
            [sys.executable, "-m", "peertrain", "calendar", "--feed", "team",
             "--sessions", str(DATA / "sessions.toml")],
            capture_output=True, check=True, env=env,
        ).stdout)
    assert outputs[0] == outputs[1]
    assert re.findall(rb"^TZID:(.+)\r$", outputs[0], flags=re.MULTILINE) == [b"America/Chicago", b"America/Denver"]
    assert outputs[0] == schedule_feed(DATA / "sessions.toml")


def test_same_instant_in_two_zones_keeps_each_zone():
    """Shared property values must not mix up zones: 09:00 Chicago and 10:00 New York are the same
    instant (equal in Python) but each event keeps its own TZID."""
    from icalendar import Event

    from peertrain.calendars.feed import _put

    chicago = dt.datetime(2026, 3, 3, 9, 0, tzinfo=zoneinfo.ZoneInfo("America/Chicago"))
    new_york = dt.datetime(2026, 3, 3, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert chicago == new_york
    first, second = Event(), Event()
    _put(first, "dtstart", chicago)
    _put(second, "dtstart", new_york)
    assert b"DTSTART;TZID=America/Chicago:20260303T090000" in first.to_ical()
    assert b"DTSTART;TZID=America/New_York:20260303T100000" in second.to_ical()


# -- identity through edits -------------------------------------------------------------------


def _edited(session: Session, shift_days: int, shift_minutes: int, stretch: int, location: str, bump: int) -> Session:
    """``session`` moved by ``shift_days`` days and ``shift_minutes`` minutes (a recurring one by
    the minutes only: its dates follow its rule), each block ``stretch`` minutes longer, at
    ``location``, with ``bump`` added to its revision and a later ``updated``."""
    import attrs

    days = 0 if session.rrule else shift_days
    delta = dt.timedelta(days=days, minutes=shift_minutes)
    blocks = [DayBlock(b.start + delta, b.end + delta + dt.timedelta(minutes=stretch)) for b in session.blocks]
    return attrs.evolve(
        session, blocks=blocks, location=location, revision=session.revision + bump,
        updated=session.updated + dt.timedelta(days=1 + bump),
        cancelled_dates=[d + dt.timedelta(days=days) for d in session.cancelled_dates],
    )


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    index=st.integers(0, 3),
    shift_days=st.integers(-400, 400),
    shift_minutes=st.integers(-6 * 60, 6 * 60).map(lambda m: m - m % 15),
    stretch=st.integers(0, 120),
    location=st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs")), min_size=1, max_size=30).map(
        str.strip).filter(bool),
    bump=st.integers(0, 3),
)
def test_any_edit_of_one_session_keeps_every_uid_and_changes_only_its_events(
    index, shift_days, shift_minutes, stretch, location, bump
):
    """Moving a session (by days and minutes), lengthening it, changing its place and its
    revision never changes a UID, of that session's events or of any other's; every other
    session's events stay byte for byte the same."""
    catalogue = load_bundled_catalogue()
    schedule = load_schedule(DATA / "sessions.toml", catalogue)
    sessions = list(schedule.sessions)
    sessions[index] = _edited(sessions[index], shift_days, shift_minutes, stretch, location, bump)
    edited = Schedule(id=schedule.id, name=schedule.name, timezone=schedule.timezone, sessions=sessions)

    def uids(s: Schedule) -> list[tuple[str, list[str]]]:
        return [(str(e["UID"]), e.to_ical().decode().split("\r\n")) for e in session_events(s, catalogue)]

    before, after = uids(schedule), uids(edited)
    assert [u for u, _ in before] == [u for u, _ in after]
    own = {str(e["UID"]) for e in session_events(schedule, catalogue, [schedule.sessions[index]])}
    for (uid, old), (_, new) in zip(before, after, strict=True):
        if uid not in own:
            assert old == new


def test_moving_a_two_day_session_by_a_week_keeps_both_uids():
    """Day 1 of a multi-day session has the session's own UID, day 2 one made from the session id
    and the day's number, never from its date: moving the class by a week keeps both."""
    catalogue = load_bundled_catalogue()
    schedule = load_schedule(DATA / "sessions.toml", catalogue)
    gci = next(s for s in schedule.sessions if s.id == "gci")
    moved = _edited(gci, 7, 0, 0, "EOC", 1)
    first = [str(e["UID"]) for e in session_events(schedule, catalogue, [gci])]
    second = [str(e["UID"]) for e in session_events(schedule, catalogue, [moved])]
    assert first == second == [
        str(uuid.uuid5(NAMESPACE, "test-team\x1fsession\x1fgci")),
        str(uuid.uuid5(NAMESPACE, "test-team\x1fsession\x1fgci\x1fday\x1f2")),
    ]


def test_embedded_time_zone_covers_an_open_ended_rule_past_2037():
    """A rule with no end embeds a VTIMEZONE whose transitions reach 50 years past its start: a
    client that uses only the embedded zone puts the 2037-04-14 and 2070-04-08 occurrences at
    09:00 CDT (14:00 UTC), not an hour off."""
    session = Session(
        id="quarterly", course="team-quarterly", timezone="America/Chicago",
        blocks=[DayBlock(dt.datetime(2026, 1, 13, 9), dt.datetime(2026, 1, 13, 13))],
        updated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), rrule="FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU",
    )
    schedule = Schedule(id="t", name="T", timezone="America/Chicago", sessions=[session])
    calendar = icalendar.Calendar.from_ical(
        build_feed(Feed.parse("team"), catalogue=load_bundled_catalogue(), schedule=schedule).to_ical()
    )
    (vtimezone,) = calendar.walk("VTIMEZONE")
    embedded = vtimezone.to_tz(lookup_tzid=False)
    for day in (dt.date(2037, 4, 14), dt.date(2070, 4, 8)):
        local = dt.datetime.combine(day, dt.time(9), tzinfo=embedded)
        assert local.astimezone(dt.UTC) == dt.datetime.combine(day, dt.time(14), tzinfo=dt.UTC), day
    assert dt.datetime(2037, 1, 13, 9, tzinfo=embedded).astimezone(dt.UTC).hour == 15
