"""Importing a provider's published ``.ics`` into training sessions (``peertrain.calendars.ics``).

Fixture files in ``tests/data/ics`` are shaped like real exports: Google Calendar (VTIMEZONE,
X-WR-TIMEZONE, a series with an EXDATE and a cancelled override), Outlook (Windows zone names,
a custom zone, a moved occurrence), a UTC-only feed, all-day events and a non-calendar file.
Kept rules are cross-checked against ``recurring-ical-events`` expanding the provider's file.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream

from peertrain import Catalogue
from peertrain.calendars import Feed, build_feed
from peertrain.calendars.ics import (
    DEFAULT_MAX_BYTES,
    CourseMap,
    IcsImport,
    load_mapping,
    parse_ics_sessions,
    parse_mapping,
    read_ics_sessions,
    resolve_tzid,
    schedule_toml,
    session_id,
)
from peertrain.calendars.schedule import load_schedule, parse_schedule
from peertrain.calendars.sessions import Cancellation, DayBlock, Schedule, Session
from peertrain.cli import main
from peertrain.errors import CatalogError, IcsError, PeertrainError

DATA = Path(__file__).parent / "data" / "ics"
PROVIDER = "Lakes Region CISM"
GOOGLE_SERIES = "3k9v0f7m2q1r8s5t6u4w@google.com"
OUTLOOK_SERIES = (
    "040000008200E00074C5B7101A82E008000000001A2B3C4D5E6FD901000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F90"
)


def t(text: str) -> dt.datetime:
    """A local wall-clock time from ISO text."""
    return dt.datetime.fromisoformat(text)


def utc(text: str) -> dt.datetime:
    """An aware UTC time from ISO text."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def spans(session: Session) -> list[tuple[str, str]]:
    """A session's blocks as ISO text pairs."""
    return [(b.start.isoformat(), b.end.isoformat()) for b in session.blocks]


def by_title(result: IcsImport) -> dict[str, list[Session]]:
    """The imported sessions grouped by title."""
    out: dict[str, list[Session]] = {}
    for session in result.sessions:
        out.setdefault(session.title or "", []).append(session)
    return out


def read(name: str, catalogue: Catalogue, **options: object) -> IcsImport:
    """Import one fixture file for the test provider."""
    return read_ics_sessions(DATA / name, catalogue, provider=PROVIDER, **options)  # type: ignore[arg-type]


def round_trip(result: IcsImport, catalogue: Catalogue, tmp_path: Path) -> Schedule:
    """Write the import as a sessions TOML file and read it back with ``load_schedule``."""
    schedule = result.schedule("imported", "Imported")
    path = tmp_path / "sessions.toml"
    path.write_text(schedule_toml(schedule, comments=["a comment\nwith a line break"]), encoding="utf-8")
    again = load_schedule(path, catalogue)
    assert again == schedule
    return again


# -- Google export ----------------------------------------------------------------------------


def test_google_export_gives_the_exact_sessions(catalogue):
    """A Google export: a quarterly series kept as one rule (EXDATE and cancelled override as
    cancelled dates), a timed class with a TZID, a UTC class shown in the X-WR-TIMEZONE, and an
    unmatched event reported with its line and reason."""
    result = read("google-export.ics", catalogue)
    assert result.timezone == "America/Chicago"
    assert result.name == "Lakes Region CISM Team training"
    series, gci, rps = result.sessions
    assert series == Session(
        id=session_id(PROVIDER, GOOGLE_SERIES), course="team-quarterly", timezone="America/Chicago",
        blocks=[DayBlock(t("2026-01-13T09:00"), t("2026-01-13T13:00"))],
        rrule="FREQ=MONTHLY;BYDAY=2TU;BYMONTH=1,4,7,10", until=dt.date(2027, 12, 31),
        cancelled_dates=[dt.date(2026, 7, 14), dt.date(2027, 4, 13)],
        title="Quarterly Peer Team Training", location="Pine Lake PD, Community Room, 210 Lake St, Pine Lake",
        provider=PROVIDER, description="Bring your agency ID.",
        revision=2, updated=utc("2026-06-02T15:30:00"),  # the master's SEQUENCE and LAST-MODIFIED
        # the cancelled override's own (the EXDATE's date has the master's)
        cancellations=[Cancellation(dt.date(2026, 7, 14), 3, utc("2026-07-01T12:00:00"))],
    )
    assert (gci.course, gci.timezone, spans(gci)) == (
        "icisf-gci", "America/Chicago", [("2027-02-16T08:00:00", "2027-02-16T17:00:00")]
    )
    assert gci.description == (
        "Day 1 of 2. Register at the link below.\n\nDetails: https://lakes-cism.example.org/gci-2027"
    )
    assert gci.location == "Cedar County Emergency Operations Center, 400 County Rd 12, Cedar Falls"
    assert (gci.revision, gci.updated) == (0, utc("2026-10-20T18:00:00"))  # LAST-MODIFIED, not Google's DTSTAMP
    assert (rps.course, spans(rps)) == ("cop2cop-rps", [("2027-03-09T08:30:00", "2027-03-09T16:30:00")])
    assert (rps.revision, rps.updated) == (1, utc("2026-11-02T16:45:00"))
    [lunch] = result.skipped
    assert (lunch.uid, lunch.title, lunch.line) == ("lunch-0001@google.com", "Holiday lunch", 84)
    assert "no course matches the title 'Holiday lunch'" in lunch.reason
    assert str(lunch).startswith("line 84, event 'lunch-0001@google.com' ('Holiday lunch', 2026-12-08T11:30:00")


def test_kept_rule_matches_the_providers_own_expansion(catalogue):
    """The kept series has exactly the occurrences recurring-ical-events finds in the provider's
    file, across both 2026 and 2027 daylight-saving changes; its cancelled dates are the ones the
    provider excluded or cancelled."""
    [series] = [s for s in read("google-export.ics", catalogue).sessions if s.rrule]
    calendar = icalendar.Calendar.from_ical((DATA / "google-export.ics").read_bytes())
    theirs = [
        o for o in recurring_ical_events.of(calendar).between(dt.date(2026, 1, 1), dt.date(2028, 1, 1))
        if str(o["UID"]) == GOOGLE_SERIES
    ]
    live = {o.start.replace(tzinfo=None) for o in theirs if o.get("STATUS") != "CANCELLED"}
    ours = set(series.occurrences())
    assert {o for o in ours if o.date() not in series.cancelled_dates} == live
    assert len(ours) == 8
    assert all(o.time() == dt.time(9) for o in ours)


def test_feed_from_an_imported_schedule(catalogue):
    """An imported schedule makes a feed: the kept series is one RRULE event with cancelled
    overridden instances for the excluded and cancelled dates."""
    schedule = read("google-export.ics", catalogue).schedule("lakes-region-cism", "Lakes Region CISM")
    calendar = build_feed(Feed.parse("team"), catalogue=catalogue, schedule=schedule)
    events = calendar.walk("VEVENT")
    assert len(events) == 5
    cancelled = sorted(e["RECURRENCE-ID"].dt.date() for e in events if "RECURRENCE-ID" in e)
    assert cancelled == [dt.date(2026, 7, 14), dt.date(2027, 4, 13)]
    assert all(e["STATUS"] == "CANCELLED" for e in events if "RECURRENCE-ID" in e)


# -- Outlook export ---------------------------------------------------------------------------


def test_outlook_export_windows_zones_moved_occurrence_and_mapping(catalogue):
    """Outlook: "Central Standard Time" becomes America/Chicago; a series with a moved occurrence
    is expanded into one session per occurrence (ids from UID and RECURRENCE-ID); a custom zone
    is converted through its VTIMEZONE (with a note); the mapping finds a course by UID and
    ignores an event by title (still reported)."""
    mapping = load_mapping(DATA / "outlook-map.toml", catalogue)
    result = read("outlook-export.ics", catalogue, mapping=mapping)
    assert result.timezone == "America/Chicago"
    titles = by_title(result)
    quarterly = titles["Peer Support Quarterly"]
    assert [spans(s) for s in quarterly] == [
        [("2026-10-22T09:00:00", "2026-10-22T13:00:00")],
        [("2026-10-29T13:00:00", "2026-10-29T17:00:00")],  # moved
        [("2026-11-05T09:00:00", "2026-11-05T13:00:00")],  # after the DST change: still 09:00
    ]
    assert [s.id for s in quarterly] == [
        session_id(PROVIDER, OUTLOOK_SERIES, key)
        for key in ("20261022T140000Z", "20261029T140000Z", "20261105T150000Z")
    ]
    assert {s.course for s in quarterly} == {"team-quarterly"}
    assert [(s.revision, s.updated) for s in quarterly] == [
        (0, utc("2026-10-01T15:00:00")), (1, utc("2026-10-15T10:00:00")), (0, utc("2026-10-01T15:00:00"))
    ]
    [asist] = titles["ASIST"]
    assert (asist.course, asist.timezone, spans(asist)) == (
        "asist", "America/Chicago", [("2026-11-10T09:00:00", "2026-11-10T17:00:00")]
    )
    [refresher] = titles["Lakes Region CISM – GCI refresher"]
    assert refresher.course == "icisf-gci"
    [lunch] = result.skipped
    assert lunch.title == "Peer Support Lunch & Learn"
    assert lunch.reason == "ignored by the mapping ([titles])"
    assert any("moved or changed" in n for n in result.notes)
    assert any("'(UTC-07:00) Mountain Time (US & Canada)' is not an IANA or Windows zone" in n for n in result.notes)


def test_outlook_without_mapping_reports_what_it_cannot_match(catalogue):
    """Without a mapping the refresher and the lunch are skipped with reasons naming the fix."""
    result = read("outlook-export.ics", catalogue)
    reasons = {s.title: s.reason for s in result.skipped}
    assert set(reasons) == {"Lakes Region CISM – GCI refresher", "Peer Support Lunch & Learn"}
    assert all("add it to the mapping under [titles] or [uids]" in r for r in reasons.values())


def test_mapping_timezones_keep_a_custom_zone(catalogue):
    """A [timezones] entry names the IANA zone of a TZID the file invents: the session keeps it."""
    mapping = CourseMap(timezones={"(UTC-07:00) Mountain Time (US & Canada)": "America/Denver"})
    [asist] = by_title(read("outlook-export.ics", catalogue, mapping=mapping))["ASIST"]
    assert (asist.timezone, spans(asist)) == ("America/Denver", [("2026-11-10T08:00:00", "2026-11-10T16:00:00")])


@pytest.mark.parametrize(
    ("tzid", "zone"),
    [
        ("America/Chicago", "America/Chicago"),
        ("Central Standard Time", "America/Chicago"),
        ("Mountain Standard Time", "America/Denver"),
        ("US Mountain Standard Time", "America/Phoenix"),
        ("/freeassociation.sourceforge.net/Tzfile/America/Denver", "America/Denver"),
        ("UTC", "UTC"),
        ("(UTC-06:00) Central Time (US & Canada)", None),
        ("Nowhere/Special", None),
    ],
)
def test_resolve_tzid(tzid, zone):
    """IANA names, Windows names and globally unique TZIDs resolve; invented names do not."""
    assert resolve_tzid(tzid) == zone


# -- UTC feed ---------------------------------------------------------------------------------


def test_utc_feed_needs_a_zone(catalogue):
    """A feed of UTC times with no X-WR-TIMEZONE cannot say where its sessions are: asked for."""
    with pytest.raises(IcsError, match=r"utc-feed\.ics: give the time zone of the sessions \(--timezone\)"):
        read("utc-feed.ics", catalogue)


def test_utc_feed_in_a_local_zone(catalogue):
    """UTC times are shown in the given zone: a weekly class across the autumn change is expanded
    (09:00 CDT, then 08:00 CST), one within a season is kept as a rule, DURATION gives the end,
    SEQUENCE and LAST-MODIFIED the revision; a series without end that cannot be kept is skipped."""
    result = read("utc-feed.ics", catalogue, timezone="America/Chicago")
    titles = by_title(result)
    assert [spans(s) for s in titles["Psychological First Aid"]] == [
        [("2026-10-20T09:00:00", "2026-10-20T12:00:00")],
        [("2026-10-27T09:00:00", "2026-10-27T12:00:00")],
        [("2026-11-03T08:00:00", "2026-11-03T11:00:00")],
    ]
    [qpr] = titles["QPR"]
    assert (qpr.rrule, qpr.count, spans(qpr)) == ("FREQ=WEEKLY", 2, [("2026-12-01T09:00:00", "2026-12-01T11:00:00")])
    [cit] = titles["CIT 40 Hour"]
    assert (cit.course, spans(cit), cit.revision, cit.updated) == (
        "cit-40", [("2026-12-07T08:00:00", "2026-12-07T16:00:00")], 4, utc("2026-10-01T00:00:00")
    )
    [psab] = result.skipped
    assert psab.uid == "psab-monthly@board.example.gov"
    assert "recurs without end" in psab.reason
    assert "--expand-until" in psab.reason


def test_expand_until_expands_a_series_without_end(catalogue):
    """With ``expand_until`` the open-ended UTC series becomes one session per month through
    that day, following the UTC time (10:00 local once daylight time starts), with a note."""
    result = read("utc-feed.ics", catalogue, timezone="America/Chicago", expand_until=dt.date(2027, 4, 30))
    assert not result.skipped
    psab = by_title(result)["PSAB Quarterly Training"]
    assert [s.blocks[0].start for s in psab] == [
        t("2027-01-15T09:00"), t("2027-02-15T09:00"), t("2027-03-15T10:00"), t("2027-04-15T10:00")
    ]
    assert {s.course for s in psab} == {"mn-pasb-quarterly"}
    assert any("later occurrences after 2027-04-30 not imported" in n for n in result.notes)


# -- all-day events ---------------------------------------------------------------------------


def test_all_day_events_are_whole_day_sessions(catalogue):
    """A two-day all-day event is two 00:00-00:00 blocks in the file's zone; a date-only DTSTART
    is one day; STATUS:CANCELLED withdraws the session."""
    mhfa, qpr = read("all-day.ics", catalogue).sessions
    assert (mhfa.course, mhfa.timezone, spans(mhfa)) == ("mhfa-ps", "America/Denver", [
        ("2026-09-15T00:00:00", "2026-09-16T00:00:00"), ("2026-09-16T00:00:00", "2026-09-17T00:00:00")
    ])
    assert (qpr.course, spans(qpr), qpr.cancelled, qpr.revision) == (
        "qpr", [("2026-10-06T00:00:00", "2026-10-07T00:00:00")], True, 1
    )


def test_all_day_classes_stay_all_day_end_to_end(catalogue, tmp_path):
    """An all-day class is an all-day session, written to the schedule as dates (first and last
    day) and published as dates (VALUE=DATE, DTEND the day after), with no VTIMEZONE: never a
    midnight-to-midnight timed block that subscribers in another zone would see shifted."""
    result = read("all-day.ics", catalogue)
    assert [s.all_day for s in result.sessions] == [True, True]
    text = schedule_toml(result.schedule("academy", "Academy"))
    assert "  { start = 2026-09-15, end = 2026-09-15 },\n  { start = 2026-09-16, end = 2026-09-16 },\n" in text
    assert "start = 2026-10-06\nend = 2026-10-06\n" in text
    schedule = round_trip(result, catalogue, tmp_path)
    assert schedule.sessions == result.sessions
    data = build_feed(Feed.parse("team"), catalogue=catalogue, schedule=schedule).to_ical().decode()
    lines = data.replace("\r\n ", "").split("\r\n")
    assert [x for x in lines if x.startswith(("DTSTART", "DTEND"))] == [
        "DTSTART;VALUE=DATE:20260915", "DTEND;VALUE=DATE:20260916",
        "DTSTART;VALUE=DATE:20260916", "DTEND;VALUE=DATE:20260917",
        "DTSTART;VALUE=DATE:20261006", "DTEND;VALUE=DATE:20261007",
    ]
    assert "BEGIN:VTIMEZONE" not in lines
    assert len(vobject.readOne(data).vevent_list) == 3
    strict = IcsCalendarStream.calendar_from_ics(data)
    assert [e.dtstart for e in strict.events] == [dt.date(2026, 9, 15), dt.date(2026, 9, 16), dt.date(2026, 10, 6)]


def test_recurring_all_day_series_is_a_dated_rule(catalogue):
    """A weekly all-day series kept as a rule has a DATE DTSTART, a DATE UNTIL and its cancelled
    occurrence as a DATE RECURRENCE-ID; recurring-ical-events expands it to dates."""
    data = CALENDAR.format(
        "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:QPR\r\n"
        "DTSTART;VALUE=DATE:20260105\r\nRRULE:FREQ=WEEKLY;UNTIL=20260126\r\nEXDATE;VALUE=DATE:20260112\r\n"
        "END:VEVENT\r\n"
    ).encode()
    (session,) = parse_ics_sessions(data, catalogue, provider=PROVIDER, timezone="America/Chicago").sessions
    assert session.all_day
    assert (session.rrule, session.until, session.cancelled_dates) == (
        "FREQ=WEEKLY", dt.date(2026, 1, 26), (dt.date(2026, 1, 12),)
    )
    schedule = Schedule(id="t", name="T", timezone="America/Chicago", sessions=[session])
    feed = build_feed(Feed.parse("team"), catalogue=catalogue, schedule=schedule).to_ical()
    lines = feed.decode().replace("\r\n ", "").split("\r\n")
    assert "DTSTART;VALUE=DATE:20260105" in lines
    assert "RRULE:FREQ=WEEKLY;UNTIL=20260126" in lines
    assert "RECURRENCE-ID;VALUE=DATE:20260112" in lines
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(feed)).between(
        dt.date(2026, 1, 1), dt.date(2026, 2, 28)
    )
    assert [(e["DTSTART"].dt, str(e.get("STATUS"))) for e in found] == [
        (dt.date(2026, 1, 5), "CONFIRMED"), (dt.date(2026, 1, 12), "CANCELLED"), (dt.date(2026, 1, 19), "CONFIRMED"),
        (dt.date(2026, 1, 26), "CONFIRMED"),
    ]


def test_all_day_sessions_in_the_schedule_file(catalogue, write):
    """``start`` and ``end`` given as dates make an all-day session (end: its last day); mixing
    dates and date-times, or an end before the start, is refused with the key."""
    head = '[schedule]\nid = "t"\nname = "T"\ntimezone = "America/Chicago"\n[[sessions]]\nid = "s"\n' \
           'course = "qpr"\nupdated = 2026-01-01T00:00:00Z\n'
    schedule = load_schedule(write("ok.toml", head + "start = 2026-03-02\nend = 2026-03-03\n"), catalogue)
    (session,) = schedule.sessions
    assert session.all_day
    assert spans(session) == [("2026-03-02T00:00:00", "2026-03-04T00:00:00")]
    with pytest.raises(CatalogError, match=r"sessions\[0\]: give start and end both as dates"):
        load_schedule(write("mixed.toml", head + "start = 2026-03-02\nend = 2026-03-02T17:00:00\n"), catalogue)
    with pytest.raises(CatalogError, match=r"sessions\[0\].end: end 2026-03-01 is before start 2026-03-02"):
        load_schedule(write("back.toml", head + "start = 2026-03-02\nend = 2026-03-01\n"), catalogue)


# -- refusing files that are not calendars ----------------------------------------------------


def test_non_calendar_file_is_refused(catalogue):
    """An HTML page (a login page served instead of the feed) is refused naming file and line."""
    with pytest.raises(IcsError) as caught:
        read("not-a-calendar.ics", catalogue)
    assert isinstance(caught.value, PeertrainError)
    assert caught.value.line == 1
    assert str(caught.value) == (
        f"{DATA / 'not-a-calendar.ics'}, line 1: is not an iCalendar file: it starts with '<!DOCTYPE html>' "
        "(expected BEGIN:VCALENDAR)"
    )


def test_oversized_file_is_refused_before_reading(catalogue, tmp_path):
    """A file larger than the cap is refused by its size; so are bytes over a smaller cap."""
    big = tmp_path / "big.ics"
    with big.open("wb") as handle:
        handle.truncate(DEFAULT_MAX_BYTES + 1)
    with pytest.raises(IcsError, match=r"big\.ics: is 10,485,761 bytes, more than the 10,485,760 this reads"):
        read_ics_sessions(big, catalogue, provider=PROVIDER)
    data = (DATA / "google-export.ics").read_bytes()
    with pytest.raises(IcsError, match="more than the 1,000 bytes"):
        parse_ics_sessions(data, catalogue, provider=PROVIDER, max_bytes=1000)


CALENDAR = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n{}END:VCALENDAR\r\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"\x00\x01\x02BEGIN:VCALENDAR", "is binary"),
        (CALENDAR.format("BEGIN:VEVENT\r\nSUMMARY:caf\xe9\r\n").encode("latin-1"), "line 5: is not UTF-8 text"),
        (CALENDAR.format("BEGIN:VEVENT\r\nUID:a\r\n").encode(), "END:VCALENDAR where END:VEVENT was expected"),
        (CALENDAR.format("").encode()[:-15], "ends inside VCALENDAR"),
        (CALENDAR.format("this line is not a property\r\n").encode(), "line 4: is not a valid iCalendar content line"),
        (CALENDAR.format("").encode() * 2, "line 5: holds more than one VCALENDAR"),
        (b"BEGIN:VCARD\r\nFN:Dana\r\nEND:VCARD\r\n", "it starts with 'BEGIN:VCARD'"),
        (CALENDAR.format("").encode() + b"X-EXTRA:1\r\n", "content after END:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-A:\xe2\x80\xa8\r\nBAD LINE\r\n", "line 4: is not a valid"),
    ],
)
def test_malformed_files_name_the_problem(catalogue, data, message):
    """Empty, binary, non-UTF-8, unbalanced, truncated, garbled and doubled files are refused."""
    with pytest.raises(IcsError, match=r"^feed\.ics") as caught:
        parse_ics_sessions(data, catalogue, provider=PROVIDER, source="feed.ics", timezone="America/Chicago")
    assert message in str(caught.value)


def event(body: str, uid: str | None = "u1", summary: str = "QPR") -> str:
    """A VEVENT with a DTSTAMP and the given lines."""
    head = (f"UID:{uid}\r\n" if uid else "") + f"SUMMARY:{summary}\r\nDTSTAMP:20260101T000000Z\r\n"
    return f"BEGIN:VEVENT\r\n{head}{body}END:VEVENT\r\n"


def test_events_that_cannot_be_sessions_are_reported(catalogue):
    """Broken or incomplete events are skipped with their UID, line and a reason; duplicates of a
    UID keep the latest version; the good event still imports."""
    body = "".join([
        event("DTSTART:garbage\r\nDTEND:20260301T100000Z\r\n", uid="broken"),
        event("DTSTART:20260301T090000Z\r\nDTEND:20260301T100000Z\r\n", uid=None),
        event("DTSTART:20260301T090000Z\r\n", uid="no-end"),
        event("DTSTART:20260301T090000Z\r\nDTEND:20260301T080000Z\r\n", uid="backwards"),
        event("DTSTART;TZID=Nowhere/Special:20260301T090000\r\nDURATION:PT1H\r\n", uid="zone"),
        event("DTSTART:20260301T150000Z\r\nDTEND:20260301T160000Z\r\nSEQUENCE:1\r\n", uid="dup"),
        event("DTSTART:20260302T150000Z\r\nDTEND:20260302T160000Z\r\nSEQUENCE:2\r\n", uid="dup"),
    ])
    result = parse_ics_sessions(
        CALENDAR.format(body).encode(), catalogue, provider=PROVIDER, timezone="America/Chicago"
    )
    reasons = {(s.uid, s.line): s.reason for s in result.skipped}
    assert reasons == {
        ("broken", 4): "DTSTART cannot be read: Expected time, got: garbage",
        (None, 11): "has no UID, so a re-import could not update it",
        ("no-end", 17): "has no DTEND or DURATION: a session needs an end",
        ("backwards", 23): "ends (2026-03-01T02:00:00) at or before it starts (2026-03-01T03:00:00)",
        ("zone", 30): "unknown time zone 'Nowhere/Special' (no VTIMEZONE for it): map it to an IANA zone under "
        "[timezones]",
        ("dup", 37): "another event has the same UID and a later SEQUENCE/LAST-MODIFIED",
    }
    [dup] = result.sessions
    assert (dup.id, spans(dup), dup.revision) == (
        session_id(PROVIDER, "dup"), [("2026-03-02T09:00:00", "2026-03-02T10:00:00")], 2
    )


# -- re-importing -----------------------------------------------------------------------------


def test_reimport_is_idempotent_and_updates_the_same_sessions(catalogue):
    """Importing the same bytes twice gives equal results; an updated file (a class moved, its
    SEQUENCE raised) updates the session with the same id instead of adding one."""
    data = (DATA / "google-export.ics").read_bytes()
    first = parse_ics_sessions(data, catalogue, provider=PROVIDER)
    assert parse_ics_sessions(data, catalogue, provider=PROVIDER) == first
    moved = (
        data.replace(b"20270216T080000", b"20270223T080000").replace(b"20270216T170000", b"20270223T170000")
        .replace(b"LAST-MODIFIED:20261020T180000Z", b"LAST-MODIFIED:20261121T090000Z")  # only the GCI class's
        .replace(b"SEQUENCE:0\r\nSTATUS:CONFIRMED\r\nSUMMARY:ICISF", b"SEQUENCE:1\r\nSTATUS:CONFIRMED\r\nSUMMARY:ICISF")
    )
    second = parse_ics_sessions(moved, catalogue, provider=PROVIDER)
    assert [s.id for s in second.sessions] == [s.id for s in first.sessions]
    before = {s.id: s for s in first.sessions}
    changed = [s for s in second.sessions if s != before[s.id]]
    [gci] = changed
    assert (spans(gci), gci.revision, gci.updated) == (
        [("2027-02-23T08:00:00", "2027-02-23T17:00:00")], 1, utc("2026-11-21T09:00:00")
    )


def test_session_ids_are_stable_and_valid():
    """Ids are the provider's slug and 16 hex digits of the UID's hash: fixed values, valid ids."""
    assert session_id("Lakes Region CISM", "7a1b2c3d4e5f@google.com") == "lakes-region-cism-b470c4358e342a82"
    assert session_id("ICISF", "x", "20260101") != session_id("ICISF", "x")
    assert session_id("★ ★", "x").startswith("ics-")
    assert len(session_id("A" * 100, "x" * 500)) <= 64


# -- writing the schedule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("google-export.ics", {}),
        ("all-day.ics", {}),
        ("outlook-export.ics", {"mapping": CourseMap(titles={"Lakes Region CISM – GCI refresher": "icisf-gci"})}),
        ("utc-feed.ics", {"timezone": "America/Chicago", "expand_until": dt.date(2027, 6, 30)}),
    ],
)
def test_written_schedule_loads_back_to_equal_sessions(catalogue, tmp_path, name, options):
    """Every fixture's sessions, written with ``schedule_toml``, load back equal with ``load_schedule``."""
    result = read(name, catalogue, **options)
    assert result.sessions
    round_trip(result, catalogue, tmp_path)


text = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(str.strip)
paragraphs = st.text(
    st.one_of(st.characters(exclude_categories=("Cs", "Cc")), st.sampled_from("\n\t")), min_size=1, max_size=80
).filter(str.strip)


@given(title=text, description=paragraphs, location=text)
def test_any_text_round_trips_through_the_toml(catalogue, title, description, location):
    """Quotes, backslashes, newlines and tabs (in a description) and emoji survive the TOML file.
    (Other control characters are refused by the session itself.)"""
    session = Session(
        id="s1", course="qpr", timezone="America/Chicago",
        blocks=[DayBlock(t("2026-03-01T09:00"), t("2026-03-01T10:00"))],
        updated=utc("2026-01-01T00:00:00"), title=title, description=description, location=location,
    )
    schedule = Schedule(id="x", name=title, timezone="America/Chicago", sessions=[session])
    data = tomllib.loads(schedule_toml(schedule, comments=[title]), parse_float=Decimal)
    assert parse_schedule(data, catalogue) == schedule


def test_mapping_file_errors_name_the_key(catalogue):
    """A mapping to an unknown course (with a hint), a bad zone or an unknown table is refused."""
    with pytest.raises(CatalogError, match=r'map\.toml: titles\."Lunch": unknown course id \'QPR\''):
        parse_mapping({"titles": {"Lunch": "QPR"}}, catalogue, source="map.toml")
    with pytest.raises(CatalogError, match=r"did you mean the id 'qpr'"):
        parse_mapping({"uids": {"x": "QPR Gatekeeper Training"}}, catalogue, source="map.toml")
    with pytest.raises(CatalogError, match=r'timezones\."Custom": \'Mars/Olympus\' is not an IANA'):
        parse_mapping({"timezones": {"Custom": "Mars/Olympus"}}, catalogue, source="map.toml")
    with pytest.raises(CatalogError, match="courses: unknown table"):
        parse_mapping({"courses": {}}, catalogue, source="map.toml")


# -- the command ------------------------------------------------------------------------------


def test_cli_import_ics_writes_a_schedule_that_loads(tmp_path, capsys, catalogue):
    """``peertrain sessions import-ics`` writes a sessions TOML file ``load_schedule`` reads back,
    lists skipped events on standard error and in the file, and writes the same bytes twice."""
    out, again = tmp_path / "sessions.toml", tmp_path / "again.toml"
    argv = ["sessions", "import-ics", str(DATA / "google-export.ics"), "--provider", PROVIDER]
    assert main([*argv, "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "peertrain: warning: skipped line 84, event 'lunch-0001@google.com'" in err
    assert f"Wrote {out} (3 sessions; 1 event skipped)." in err
    schedule = load_schedule(out, catalogue)
    assert (schedule.id, schedule.name, schedule.timezone) == (
        "lakes-region-cism", "Lakes Region CISM Team training", "America/Chicago"
    )
    assert schedule.sessions == read("google-export.ics", catalogue).sessions
    assert "# skipped: line 84, event 'lunch-0001@google.com'" in out.read_text(encoding="utf-8")
    assert main([*argv, "-o", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()
    assert main([*argv, "--strict", "-o", str(again)]) == 1


def test_cli_import_ics_options(tmp_path, capsys, catalogue):
    """--map, --timezone, --expand-until, --schedule-id and --name reach the import; without -o
    the TOML goes to standard output."""
    argv = ["sessions", "import-ics", str(DATA / "outlook-export.ics"), "--provider", "Lakes Region CISM",
            "--map", str(DATA / "outlook-map.toml"), "--schedule-id", "lakes", "--name", "Lakes classes"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    data = parse_schedule(tomllib.loads(printed, parse_float=Decimal), catalogue)
    assert (data.id, data.name, len(data.sessions)) == ("lakes", "Lakes classes", 5)
    out = tmp_path / "utc.toml"
    argv = ["sessions", "import-ics", str(DATA / "utc-feed.ics"), "--provider", "Board", "--timezone",
            "America/Chicago", "--expand-until", "2027-02-28", "-o", str(out)]
    assert main(argv) == 0
    assert len(load_schedule(out, catalogue).sessions) == 7  # 3 PFA, QPR, CIT, PSAB in January and February


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([str(DATA / "not-a-calendar.ics")], "not-a-calendar.ics, line 1: is not an iCalendar file"),
        ([str(DATA / "utc-feed.ics")], "give the time zone of the sessions (--timezone)"),
        ([str(DATA / "missing.ics")], "missing.ics: no such file"),
        ([str(DATA / "google-export.ics"), "--map", str(DATA / "missing.toml")], "missing.toml: no such file"),
        ([str(DATA / "google-export.ics"), "--expand-until", "soon"], "'soon' is not a date"),
        ([str(DATA / "google-export.ics"), "--schedule-id", "no spaces"], "--schedule-id: id must be"),
        ([str(DATA / "google-export.ics"), "--provider", " "], "the provider's name must not be blank"),
    ],
)
def test_cli_errors_are_one_line_with_status_2(capsys, argv, message):
    """Non-calendars, a missing zone, missing files and bad options exit 2 with one line."""
    try:
        status = main(["sessions", "import-ics", *argv, "--provider", PROVIDER])
    except SystemExit as exc:  # usage errors exit from argparse
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 or "warning" in err


# -- change signals ---------------------------------------------------------------------------

SERIES_UID = "weekly-in-service@academy.example.org"
ALL_DAY_UID = "qpr-mondays@academy.example.org"


def _override(uid: str, start: str, *, all_day: bool, sequence: int, modified: str, status: str) -> str:
    """A VEVENT overriding one occurrence (``start`` as the file writes it)."""
    if all_day:
        day = dt.date.fromisoformat(f"{start[:4]}-{start[4:6]}-{start[6:8]}")
        times = (f"DTSTART;VALUE=DATE:{start}\r\nDTEND;VALUE=DATE:{(day + dt.timedelta(days=1)):%Y%m%d}\r\n"
                 f"RECURRENCE-ID;VALUE=DATE:{start}\r\n")
        summary = "QPR"
    else:
        end = start[:9] + "1300" + start[13:]
        times = (f"DTSTART;TZID=America/Chicago:{start}\r\nDTEND;TZID=America/Chicago:{end}\r\n"
                 f"RECURRENCE-ID;TZID=America/Chicago:{start}\r\n")
        summary = "Quarterly Peer Team Training\r\nLOCATION:Room 1"
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\n{times}DTSTAMP:20261123T101500Z\r\nLAST-MODIFIED:{modified}\r\n"
        f"SEQUENCE:{sequence}\r\nSTATUS:{status}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"
    )


def provider_file(cancelled: dict[int, tuple[int, str]], *, master_sequence: int = 0,
                  master_modified: str = "20260101T120000Z", location: str = "Room 1") -> bytes:
    """A provider's file: a weekly timed series of 8 Tuesdays (an EXDATE on the 3rd, an override
    of the 4th that changes nothing, and a STATUS:CANCELLED override for each week in
    ``cancelled``: its SEQUENCE and LAST-MODIFIED), a weekly all-day series (an EXDATE and a
    cancelled override) and a one-off two-day all-day class."""
    weeks = [dt.date(2026, 3, 3) + dt.timedelta(weeks=i) for i in range(8)]
    overrides = "".join(
        _override(SERIES_UID, f"{weeks[i]:%Y%m%d}T090000", all_day=False, sequence=seq, modified=mod,
                  status="CANCELLED")
        for i, (seq, mod) in sorted(cancelled.items())
    )
    body = (
        f"BEGIN:VEVENT\r\nUID:{SERIES_UID}\r\nDTSTAMP:20261123T101500Z\r\nLAST-MODIFIED:{master_modified}\r\n"
        f"SEQUENCE:{master_sequence}\r\nDTSTART;TZID=America/Chicago:20260303T090000\r\n"
        "DTEND;TZID=America/Chicago:20260303T130000\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\n"
        f"EXDATE;TZID=America/Chicago:{weeks[2]:%Y%m%d}T090000\r\nSUMMARY:Quarterly Peer Team Training\r\n"
        f"LOCATION:{location}\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\n"
        + _override(SERIES_UID, f"{weeks[3]:%Y%m%d}T090000", all_day=False, sequence=1,
                    modified="20260110T000000Z", status="CONFIRMED").replace("Room 1", location)
        + overrides
        + f"BEGIN:VEVENT\r\nUID:{ALL_DAY_UID}\r\nDTSTAMP:20261123T101500Z\r\nLAST-MODIFIED:20260105T000000Z\r\n"
        "SEQUENCE:1\r\nDTSTART;VALUE=DATE:20260105\r\nRRULE:FREQ=WEEKLY;UNTIL=20260202\r\n"
        "EXDATE;VALUE=DATE:20260112\r\nSUMMARY:QPR\r\nEND:VEVENT\r\n"
        + _override(ALL_DAY_UID, "20260126", all_day=True, sequence=4, modified="20260120T083000Z",
                    status="CANCELLED")
        + "BEGIN:VEVENT\r\nUID:asist-2026@academy.example.org\r\nDTSTAMP:20261123T101500Z\r\n"
        "LAST-MODIFIED:20260201T000000Z\r\nDTSTART;VALUE=DATE:20260915\r\nDTEND;VALUE=DATE:20260917\r\n"
        "SUMMARY:ASIST\r\nEND:VEVENT\r\n"
    )
    return CALENDAR.format("X-WR-TIMEZONE:America/Chicago\r\n" + body).encode()


def feed_events(data: bytes, catalogue: Catalogue) -> dict[tuple[str, str], list[str]]:
    """The team feed of a provider file (imported, written as TOML, read back), as each event's
    unfolded content lines, keyed by its UID and RECURRENCE-ID."""
    schedule = parse_ics_sessions(data, catalogue, provider=PROVIDER).schedule("academy", "Academy")
    schedule = parse_schedule(tomllib.loads(schedule_toml(schedule)), catalogue)
    text = build_feed(Feed.parse("team"), catalogue=catalogue, schedule=schedule).to_ical().decode()
    out: dict[tuple[str, str], list[str]] = {}
    for chunk in text.replace("\r\n ", "").split("BEGIN:VEVENT\r\n")[1:]:
        lines = chunk.split("END:VEVENT")[0].strip().split("\r\n")
        props = {x.partition(":")[0].partition(";")[0]: x for x in lines}
        key = (props["UID"], props.get("RECURRENCE-ID", ""))
        assert key not in out
        out[key] = lines
    return out


def signals(lines: list[str]) -> tuple[str, ...]:
    """An event's SEQUENCE, DTSTAMP and LAST-MODIFIED lines."""
    return tuple(x for x in lines if x.startswith(("SEQUENCE:", "DTSTAMP:", "LAST-MODIFIED:")))


FIRST_CANCEL = {4: (1, "20260210T090000Z")}  # the 5th Tuesday, 2026-03-31, cancelled by an override


def test_reimporting_the_same_file_gives_the_same_bytes(tmp_path, capsys):
    """Importing the same provider file again (a series with an EXDATE, an override that changes
    nothing and a cancelled override; an all-day series with both kinds of cancellation; a
    two-day all-day class) and regenerating the feed gives byte-identical TOML and feed."""
    source = tmp_path / "academy.ics"
    source.write_bytes(provider_file(FIRST_CANCEL))
    made = []
    for run in ("a", "b"):
        toml, ics = tmp_path / f"{run}.toml", tmp_path / f"{run}.ics"
        assert main(["sessions", "import-ics", str(source), "--provider", PROVIDER, "-o", str(toml)]) == 0
        assert main(["calendar", "--feed", "team", "--sessions", str(toml), "-o", str(ics)]) == 0
        made.append((toml.read_bytes(), ics.read_bytes()))
    capsys.readouterr()
    assert made[0] == made[1]
    toml_text, feed = made[0][0].decode(), made[0][1].decode()
    assert "  2026-03-17,\n  { date = 2026-03-31, revision = 1, updated = 2026-02-10T09:00:00Z },\n" in toml_text
    assert feed.count("BEGIN:VEVENT") == 8  # 2 masters, 2 + 2 cancelled instances, 2 days of the one-off
    assert feed.count("RRULE:") == 2


def test_a_new_cancellation_changes_only_its_own_event(catalogue):
    """A cancellation added to the provider file adds one cancelled instance, with the override's
    SEQUENCE and LAST-MODIFIED; the master and the other cancelled occurrences keep theirs, and
    every other event is byte for byte the same."""
    before = feed_events(provider_file(FIRST_CANCEL), catalogue)
    after = feed_events(provider_file({**FIRST_CANCEL, 6: (2, "20260301T150000Z")}), catalogue)
    series = next(uid for uid, rid in before if rid == "RECURRENCE-ID;TZID=America/Chicago:20260331T090000")
    new = (series, "RECURRENCE-ID;TZID=America/Chicago:20260414T090000")
    assert set(after) - set(before) == {new}
    assert {key for key in before if before[key] != after[key]} == set()
    assert signals(after[new]) == ("DTSTAMP:20260301T150000Z", "SEQUENCE:2", "LAST-MODIFIED:20260301T150000Z")
    assert "STATUS:CANCELLED" in after[new]
    assert signals(after[(series, "")]) == ("DTSTAMP:20260101T120000Z", "SEQUENCE:0", "LAST-MODIFIED:20260101T120000Z")
    assert signals(after[(series, "RECURRENCE-ID;TZID=America/Chicago:20260317T090000")]) == (  # the EXDATE
        "DTSTAMP:20260101T120000Z", "SEQUENCE:0", "LAST-MODIFIED:20260101T120000Z"
    )
    assert signals(after[(series, "RECURRENCE-ID;TZID=America/Chicago:20260331T090000")]) == (
        "DTSTAMP:20260210T090000Z", "SEQUENCE:1", "LAST-MODIFIED:20260210T090000Z"
    )
    day = {rid.rpartition(":")[2]: signals(lines) for (_, rid), lines in after.items() if "VALUE=DATE" in rid}
    assert day == {  # the all-day series: its EXDATE has the master's, its cancelled override its own
        "20260112": ("DTSTAMP:20260105T000000Z", "SEQUENCE:1", "LAST-MODIFIED:20260105T000000Z"),
        "20260126": ("DTSTAMP:20260120T083000Z", "SEQUENCE:4", "LAST-MODIFIED:20260120T083000Z"),
    }


def test_an_edited_series_never_lowers_a_sequence(catalogue):
    """The provider moves the series to another room (its master's SEQUENCE 0 -> 3): every event
    that shows the room changes, the master's and each cancelled instance's SEQUENCE and DTSTAMP
    rise (a cancelled override's SEQUENCE 1 becomes the master's 3, never less than it had), and
    the events of the other UIDs stay the same."""
    before = feed_events(provider_file(FIRST_CANCEL), catalogue)
    after = feed_events(
        provider_file(FIRST_CANCEL, master_sequence=3, master_modified="20260220T100000Z", location="Room 2"), catalogue
    )
    assert set(after) == set(before)
    series = next(uid for uid, rid in before if rid.endswith("20260331T090000"))
    for key in before:
        if key[0] != series:
            assert after[key] == before[key]
            continue
        assert "LOCATION:Room 2" in after[key]
        assert signals(after[key]) == ("DTSTAMP:20260220T100000Z", "SEQUENCE:3", "LAST-MODIFIED:20260220T100000Z")


def test_an_expanded_override_never_lowers_a_sequence(catalogue):
    """A series that must be expanded (a moved occurrence): an occurrence the provider cancels
    with an override of a lower SEQUENCE than the master's keeps at least the master's SEQUENCE,
    which it had before, with the override's later LAST-MODIFIED."""
    data = provider_file({4: (0, "20260210T090000Z")}, master_sequence=2).replace(
        b"DTSTART;TZID=America/Chicago:20260324T090000\r\nDTEND;TZID=America/Chicago:20260324T130000",
        b"DTSTART;TZID=America/Chicago:20260325T090000\r\nDTEND;TZID=America/Chicago:20260325T130000",
    )
    sessions = parse_ics_sessions(data, catalogue, provider=PROVIDER).sessions
    stamps = {(s.blocks[0].start.date(), s.cancelled): (s.revision, s.updated) for s in sessions if s.rrule is None}
    assert stamps[(dt.date(2026, 3, 31), True)] == (2, utc("2026-02-10T09:00:00"))  # not 0: the master's 2
    assert stamps[(dt.date(2026, 3, 25), False)] == (2, utc("2026-01-10T00:00:00"))  # the moved one
    assert stamps[(dt.date(2026, 3, 17), True)] == (2, utc("2026-01-01T12:00:00"))  # the EXDATE: the master's
    assert stamps[(dt.date(2026, 3, 10), False)] == (2, utc("2026-01-01T12:00:00"))


@settings(max_examples=25, deadline=None)
@given(
    cancelled=st.dictionaries(st.sampled_from([0, 1, 4, 5, 6, 7]), st.integers(0, 5), max_size=5),
    added=st.sampled_from([0, 1, 4, 5, 6, 7]),
    sequence=st.integers(0, 5),
)
def test_cancellations_touch_only_their_own_events(catalogue, cancelled, added, sequence):
    """For any set of cancelled occurrences, cancelling one more changes exactly one event (the
    new cancelled instance, added; or, for an occurrence cancelled already, its stamp): every
    other event keeps its SEQUENCE, DTSTAMP and bytes, and no SEQUENCE goes down."""
    def stamped(found: dict[int, int]) -> dict[int, tuple[int, str]]:
        return {week: (seq, f"202602{week + 10:02d}T09{seq:02d}00Z") for week, seq in found.items()}

    grown = {**cancelled, added: max(sequence, cancelled.get(added, 0))}
    before = feed_events(provider_file(stamped(cancelled)), catalogue)
    after = feed_events(provider_file(stamped(grown)), catalogue)
    assert set(before) <= set(after)
    changed = {key for key in after if before.get(key) != after[key]}
    assert len(changed) <= 1
    assert all(key[1].endswith(f"{dt.date(2026, 3, 3) + dt.timedelta(weeks=added):%Y%m%d}T090000") for key in changed)
    for key in before:
        old, new = (int(next(x for x in v[key] if x.startswith("SEQUENCE:"))[9:]) for v in (before, after))
        assert new >= old


def test_cancelled_dates_with_their_own_revision_in_the_schedule_file(catalogue):
    """``cancelled_dates`` holds dates (as before: the session's revision and updated) or
    ``{ date, revision, updated }`` tables; a table's event has the later of its and the
    session's. Mistakes name the key."""
    head = (
        '[schedule]\nid = "t"\nname = "T"\ntimezone = "America/Chicago"\n[[sessions]]\nid = "s"\n'
        'course = "qpr"\nstart = 2026-03-03T09:00:00\nend = 2026-03-03T10:00:00\nrrule = "FREQ=WEEKLY"\n'
        "count = 6\nrevision = 2\nupdated = 2026-01-01T00:00:00Z\n"
    )
    old = parse_schedule(tomllib.loads(head + "cancelled_dates = [2026-03-10, 2026-03-10]\n"), catalogue)
    assert (old.sessions[0].cancelled_dates, old.sessions[0].cancellations) == ((dt.date(2026, 3, 10),), ())
    data = head + (
        "cancelled_dates = [2026-03-10, { date = 2026-03-17, revision = 1, updated = 2026-02-01T08:00:00-06:00 },"
        " { date = 2026-03-24, revision = 5, updated = 2025-12-01T00:00:00Z }]\n"
    )
    [session] = parse_schedule(tomllib.loads(data), catalogue).sessions
    assert session.cancelled_dates == (dt.date(2026, 3, 10), dt.date(2026, 3, 17), dt.date(2026, 3, 24))
    assert session.stamp() == (2, utc("2026-01-01T00:00:00"))
    assert session.stamp(dt.date(2026, 3, 10)) == (2, utc("2026-01-01T00:00:00"))
    assert session.stamp(dt.date(2026, 3, 17)) == (2, utc("2026-02-01T14:00:00"))
    assert session.stamp(dt.date(2026, 3, 24)) == (5, utc("2026-01-01T00:00:00"))
    schedule = Schedule(id="t", name="T", timezone="America/Chicago", sessions=[session])
    assert parse_schedule(tomllib.loads(schedule_toml(schedule)), catalogue) == schedule
    for entry, key in [
        ("{ date = 2026-03-17, revision = 1 }", "cancelled_dates[0].updated"),
        ("{ date = 2026-03-17, revision = 1, updated = 2026-02-01T00:00:00Z, x = 1 }", "cancelled_dates[0].x"),
        ("{ date = 2026-03-17, revision = -1, updated = 2026-02-01T00:00:00Z }", "cancelled_dates[0].revision"),
        ("{ date = 2026-03-17, revision = 1, updated = 2026-02-01T00:00:00 }", "cancelled_dates[0].updated"),
        ("{ date = 2026-03-18, revision = 1, updated = 2026-02-01T00:00:00Z }", "cancelled_dates"),
        ("2026-03-17, { date = 2026-03-17, revision = 1, updated = 2026-02-01T00:00:00Z }", "cancelled_dates"),
    ]:
        with pytest.raises(CatalogError, match=rf"sessions\[0\]\.{re.escape(key)}"):
            parse_schedule(tomllib.loads(head + f"cancelled_dates = [{entry}]\n"), catalogue)
