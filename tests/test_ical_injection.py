"""A line break or other control character in a name never breaks or injects iCalendar
(security issue, item 8).

Two defences, each tested on its own: the boundary refuses control characters (C0 including TAB,
LF and CR; DEL; C1) in roster cells, member and course fields and schedule names and titles, with
a typed error naming file, row or key, and field; and every TEXT property a feed holds (NAME and
X-WR-CALNAME included) is escaped as RFC 5545 §3.3.11 says, so even text that reaches the writer
unchecked (a rule pack's requirement title, a team name given from Python) stays one property.
Feeds are re-read with icalendar and the strict ``ical`` parser: exactly the expected properties.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from peertrain import Catalogue, ComplianceResult, Course, Member, Shortfall, Status, Verdict
from peertrain.calendars import Feed, FeedOptions, build_feed
from peertrain.calendars.schedule import load_schedule
from peertrain.calendars.sessions import DayBlock, Schedule, Session
from peertrain.cli import main
from peertrain.errors import CatalogError
from peertrain.rules.loading import load_bundled_catalogue

INJECTION = "Eve Fox\r\nATTENDEE:mailto:evil@example.com"
#: Names with every kind of control character: CR LF (the injection), LF, CR, C0 (VT, ESC),
#: DEL and C1 (NEL, CSI).
BAD_NAMES = {
    "crlf": INJECTION,
    "lf": "Eve\nFox",
    "cr": "Eve\rFox",
    "vt": "Eve\x0bFox",
    "esc": "Eve\x1b[31mFox",
    "tab": "Eve\tFox",
    "del": "Eve\x7fFox",
    "nel": "Eve\x85Fox",
    "csi": "Eve\x9bFox",
}
CALENDAR_PROPERTIES = {
    "PRODID", "VERSION", "CALSCALE", "NAME", "X-WR-CALNAME", "UID", "REFRESH-INTERVAL", "X-PUBLISHED-TTL",
}
DEADLINE_PROPERTIES = {
    "UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "SUMMARY", "DTSTART", "DTEND", "DESCRIPTION", "TRANSP",
    "CATEGORIES",
}
SESSION_PROPERTIES = {
    "UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "SUMMARY", "DTSTART", "DTEND", "LOCATION", "DESCRIPTION",
    "STATUS",
}


def write_team(folder: Path, name: str) -> tuple[Path, Path]:
    """A roster of one member called ``name`` (CSV, quoted) and one completion."""
    roster = folder / "roster.csv"
    quoted = name.replace('"', '""')
    roster.write_bytes(
        ("member_id,name,agency,functions,joined_on\r\n"
         f'X-1,"{quoted}",Lake PD,intervention,2024-01-01\r\n').encode()
    )
    completions = folder / "completions.csv"
    completions.write_text("member_id,course,completed_on\nX-1,qpr,2025-01-05\n", encoding="utf-8")
    return roster, completions


def calendar_argv(roster: Path, completions: Path, *extra: str) -> list[str]:
    return ["calendar", "--roster", str(roster), "--completions", str(completions), "--rules", "example-agency",
            "--as-of", "2026-11-15", "--feed", "member:X-1", *extra]


@pytest.mark.parametrize("kind", sorted(BAD_NAMES))
def test_a_control_character_in_a_roster_name_is_one_error_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``calendar --feed member:X`` with such a roster name exits 2 with one line naming the
    file, the row and the field; nothing is written to standard output."""
    roster, completions = write_team(tmp_path, BAD_NAMES[kind])
    status = main(calendar_argv(roster, completions))
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"peertrain: error: {roster}, row 2, field 'name': contains the control character U+")


@pytest.mark.parametrize("optimise", ["-O", "-OO"])
def test_the_injection_is_refused_under_python_optimise_too(optimise: str, tmp_path: Path) -> None:
    """Under ``python -O`` (assertions off, as icalendar's own check was one) the calendar
    command still refuses the name: exit 2, one line, no traceback, no ``ATTENDEE`` anywhere."""
    roster, completions = write_team(tmp_path, INJECTION)
    out = tmp_path / "x.ics"
    run = subprocess.run(
        [sys.executable, optimise, "-m", "peertrain", *calendar_argv(roster, completions, "-o", str(out))],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"peertrain: error: {roster}, row 2, field 'name': ")
    assert "ATTENDEE" not in run.stdout
    assert not out.exists()


@pytest.mark.parametrize(
    ("column", "value"),
    [("agency", "Lake\nPD"), ("email", "a@b.example\r\nX"), ("member_id", "X\x01-1"), ("portal_user_id", "1\x852")],
)
def test_other_roster_cells_refuse_control_characters(
    column: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every cell of a roster is checked, and the error names that cell's column."""
    roster = tmp_path / "roster.csv"
    cells = {"member_id": "X-1", "name": "Eve Fox", "agency": "", "email": "", "portal_user_id": ""}
    cells[column] = value
    roster.write_bytes((",".join(cells) + "\r\n" + ",".join(f'"{v}"' for v in cells.values()) + "\r\n").encode())
    completions = tmp_path / "completions.csv"
    completions.write_text("member_id,course,completed_on\n", encoding="utf-8")
    status = main(["check", "--roster", str(roster), "--completions", str(completions), "--rules", "example-agency"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"peertrain: error: {roster}, row 2, field '{column}': contains the control character")


def test_an_exemption_reason_with_a_line_break_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Recorded free text (an exemption's reason) is a cell like any other."""
    roster, completions = write_team(tmp_path, "Eve Fox")
    exemptions = tmp_path / "exemptions.csv"
    exemptions.write_text(
        "member_id,pack,requirement,kind,granted_by,granted_on,reason\n"
        'X-1,example-agency,rps,exemption,Coordinator,2025-01-01,"Clinician\nATTENDEE:x"\n', encoding="utf-8",
    )
    status = main(["check", "--roster", str(roster), "--completions", str(completions), "--exemptions",
                   str(exemptions), "--rules", "example-agency", "--as-of", "2026-11-15"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"peertrain: error: {exemptions}, row 2, field 'reason': contains the control character")


@pytest.mark.parametrize(
    ("field", "value"), [("name", "Eve\nFox"), ("id", "X\r1"), ("agency", "A\x7f"), ("email", "a@b\x0b")]
)
def test_the_model_refuses_control_characters(field: str, value: str) -> None:
    """A Member made from Python refuses them too (with a ValueError naming the field)."""
    values = {"id": "X-1", "name": "Eve Fox", field: value}
    with pytest.raises(ValueError, match="control character U\\+00"):
        Member(**values)
    with pytest.raises(ValueError, match="control character"):
        Course(id="c", title="Line\nbreak", provider="P")


SCHEDULE = """
[schedule]
id = "t"
name = {name}
timezone = "America/Chicago"

[[sessions]]
id = "s1"
course = "qpr"
title = {title}
start = 2026-03-03T09:00:00
end = 2026-03-03T11:00:00
updated = 2026-01-01T00:00:00Z
"""


@pytest.mark.parametrize(
    ("name", "title", "key"),
    [('"T\\r\\nATTENDEE:x"', '"QPR"', "schedule.name"), ('"T"', '"QPR\\nX-INJECTED:1"', "sessions[0].title"),
     ('"T\\u0085"', '"QPR"', "schedule.name")],
)
def test_a_schedule_refuses_control_characters_in_names_and_titles(
    name: str, title: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sessions TOML file whose schedule name or session title holds a control character is a
    CatalogError naming file and key; the calendar command exits 2 with that one line."""
    path = tmp_path / "sessions.toml"
    path.write_text(SCHEDULE.format(name=name, title=title), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_schedule(path, load_bundled_catalogue())
    assert info.value.key.startswith(key)
    assert "control character" in info.value.message
    assert main(["calendar", "--sessions", str(path), "--feed", "team"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"peertrain: error: {path}: {key}")


# -- the writer escapes whatever reaches it -------------------------------------------------------


def _feed(team_name: str, requirement_title: str) -> bytes:
    catalogue = Catalogue([Course(id="c1", title="Course", provider="P", hours=2)])
    session = Session(
        id="s1", course="c1", timezone="America/Chicago",
        blocks=[DayBlock(dt.datetime(2026, 3, 3, 9), dt.datetime(2026, 3, 3, 11))],
        updated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), location="Room 1",
    )
    schedule = Schedule(id="t", name="T", timezone="America/Chicago", sessions=[session])
    verdict = Verdict(
        member="M-1", pack="p", requirement="r", title=requirement_title, status=Status.DUE_SOON,
        as_of=dt.date(2026, 3, 1), explanation="", citation=requirement_title, shortfall=Shortfall(),
        due_on=dt.date(2026, 4, 30), lapses_on=dt.date(2026, 5, 1),
    )
    result = ComplianceResult(as_of=dt.date(2026, 3, 1), verdicts=(verdict,), forecasts=())
    return bytes(build_feed(
        Feed.parse("member:M-1"), catalogue=catalogue, schedule=schedule, result=result,
        members=[Member(id="M-1", name="Eve Fox")], team_name=team_name,
        options=FeedOptions(alarm_days=()),
    ).to_ical())


TIMEZONE_LINES = {"BEGIN", "END", "TZID", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME", "RDATE", "COMMENT", ""}


def cleaned(text: str) -> str:
    """``text`` as a calendar holds it: CR LF and CR as LF, other control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\t\n" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F))


def escaped(text: str) -> str:
    """RFC 5545 §3.3.11 TEXT escaping."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


ESCAPE_CASES = [
    ("Team\r\nATTENDEE:mailto:evil@example.com", "Req\r\nATTENDEE:mailto:evil@example.com"),
    ("Team\nX-INJECTED:1", "Req\rX-INJECTED:1"),
    ("Team;a,b\\c\x0b\x7f\x85", "Req\x00\x1b[0m;,\\"),
]


@pytest.mark.parametrize(("team", "title"), ESCAPE_CASES)
def test_every_text_property_is_escaped_exactly(team: str, title: str) -> None:
    """A team name (NAME, X-WR-CALNAME) and a requirement title (SUMMARY, DESCRIPTION) with CR,
    LF, other control characters and the TEXT specials add no property: icalendar and ical read
    exactly the expected properties, and the values come back as the text with CR LF and CR as
    LF and the other control characters dropped."""
    data = _feed(team, title)
    known = CALENDAR_PROPERTIES | DEADLINE_PROPERTIES | SESSION_PROPERTIES | TIMEZONE_LINES
    for line in data.replace(b"\r\n ", b"").split(b"\r\n"):
        name = line.split(b":", 1)[0].split(b";", 1)[0].decode()
        assert name in known, line
    parsed = icalendar.Calendar.from_ical(data)
    assert set(parsed) == CALENDAR_PROPERTIES
    # icalendar does not unescape NAME and X-WR-CALNAME (it does not know them as TEXT).
    assert str(parsed["NAME"]) == str(parsed["X-WR-CALNAME"]) == escaped(cleaned(f"{team}: training for Eve Fox"))
    deadline, session = (e for e in parsed.events if "TRANSP" in e), (e for e in parsed.events if "STATUS" in e)
    deadline_event, session_event = next(deadline), next(session)
    assert set(deadline_event) == DEADLINE_PROPERTIES
    assert set(session_event) == SESSION_PROPERTIES
    assert str(deadline_event["SUMMARY"]) == cleaned(f"{title} lapses — Eve Fox")
    assert str(deadline_event["DESCRIPTION"]).startswith(cleaned(f"Requirement: p/r: {title}\n"))
    strict = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    assert len(strict.events) == 2
    assert {e.summary for e in strict.events} == {str(deadline_event["SUMMARY"]), str(session_event["SUMMARY"])}
    assert all(not e.attendees for e in strict.events)


def test_serve_refuses_a_roster_with_an_injected_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``serve`` with such a roster stops at start with the one-line error (it used to answer 500)."""
    roster, completions = write_team(tmp_path, INJECTION)
    secret = tmp_path / "secret"
    secret.write_text("Zq3v9Lr0Xk2Pw7Mn5Bt8Yc4Hd6Jf1Gs0Qa9Ue2Wi7Ro", encoding="utf-8")
    secret.chmod(0o600)
    status = main(["serve", "--roster", str(roster), "--completions", str(completions), "--rules",
                   "example-agency", "--secret-file", str(secret), "--print-urls"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"peertrain: error: {roster}, row 2, field 'name': contains the control character")

