"""Importing exports into the ledger: nothing lost, nothing counted twice.

Every row of an export ends as exactly one of imported, duplicate, rejected (file, row, field,
reason) or held as unmatched; re-imports and overlapping exports change nothing already there; only
completed statuses count; held rows count once the roster or catalogue learns them; a file that
fails halfway leaves nothing behind. Expected values are read off the sample exports by hand
(``integrations/samples/make_samples.py`` writes them) and the demo roster, not off the code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from peertrain import Member, load_bundled_catalogue, load_catalogue, read_roster
from peertrain.errors import PeertrainError
from peertrain.imports.exports import ExportError
from peertrain.imports.exports.values import clean_text
from peertrain.imports.importer import ImportResult, import_file, rematch
from peertrain.imports.profiles import Profile, load_profile, profiles_dir
from peertrain.ledger import BatchCounts, Ledger, Outcome, Record, RejectedRow, open_ledger
from peertrain.ledger.sqlite import SQLiteLedger
from peertrain.rules.loading import curricula_dir, data_dir

SAMPLES = data_dir() / "integrations" / "samples"
DATA = Path(__file__).parent / "data" / "imports"
ROSTER = read_roster(curricula_dir() / "demo" / "roster.csv")
CATALOGUE = load_bundled_catalogue()
COPS = load_profile("cops-portal-csv")
COPS_XLSX = load_profile("cops-portal-xlsx")
MOODLE = load_profile("moodle-completion-csv")
XML = load_profile("xml-transcript")
DAYFIRST = load_profile(DATA / "dayfirst-ceu.toml")
GCI = CATALOGUE.courses["icisf-gci"]
NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)
COPS_HEADER = [
    "Learner Name", "Email", "Agency", "Course Title", "Course ID", "Enrollment Date",
    "Completion Date", "Status", "Credit Hours", "Certificate Number",
]
US_FORMATS = "'%m/%d/%Y', '%m/%d/%Y %I:%M %p', '%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %H:%M'"
#: Jordan Pike of Riverbend PD: in the COPS sample, not on the demo roster.
JORDAN = Member(id="RB-01", name="Jordan Pike", agency="Riverbend PD", email="jordan.pike@riverbend.example")


def new_ledger(path: Path | str, roster: list[Member] = ROSTER, timezone: str = "America/Chicago") -> Ledger:
    """A fresh ledger file for an agency in ``timezone``, holding ``roster``."""
    ledger = open_ledger(path, create_timezone=timezone)
    ledger.put_members(roster)
    return ledger


@pytest.fixture
def ledger(new_location: Callable[..., Path | str]) -> Iterator[Ledger]:
    """A fresh ledger in America/Chicago holding the demo roster, of each backend."""
    opened = new_ledger(new_location())
    yield opened
    opened.close()


def run_import(ledger: Ledger, profile: Profile, path: Path, **kwargs: object) -> ImportResult:
    """``import_file`` with the bundled catalogue and a fixed clock."""
    return import_file(ledger, profile, path, CATALOGUE, now=NOW, **kwargs)  # type: ignore[arg-type]


def counts(batch_counts: BatchCounts) -> tuple[int, int, int, int, int, int]:
    """(rows_read, imported, not_completed, duplicates, rejected, unmatched), checking they add up."""
    c = batch_counts
    assert c.imported + c.duplicates + c.rejected + c.unmatched == c.rows_read
    assert 0 <= c.not_completed <= c.imported
    return (c.rows_read, c.imported, c.not_completed, c.duplicates, c.rejected, c.unmatched)


def record_ids(ledger: Ledger) -> list[str]:
    """Ids of every record (any status), in id order."""
    return [record.id for record, _ in ledger.records()]


def by_id(ledger: Ledger) -> dict[str, Record]:
    """Every record by its id."""
    return {record.id: record for record, _ in ledger.records()}


def held_rows(ledger: Ledger) -> list[tuple[str, str]]:
    """(origin, reason) of every held row, oldest first."""
    return [(h.origin, h.reason) for h in ledger.held()]


def snapshot(ledger: Ledger) -> tuple[list[tuple[Record, int]], list[object]]:
    """Everything an import must not change: the records with their batches, and the held rows."""
    return list(ledger.records()), list(ledger.held())


def cops_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8-sig") -> Path:
    """Write a COPS-portal CSV export (header plus ``rows``) as Excel writes it, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COPS_HEADER)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def cops_row(
    name: str = "Tom Baker",
    email: str = "tom.baker@pinelake.example",
    title: str = "QPR",
    completed: str = "02/03/2025",
    status: str = "Completed",
    hours: str = "1",
    *,
    agency: str = "Pine Lake PD",
    enrolled: str = "",
    course_id: str = "PS-X",
) -> list[str]:
    """One COPS export row, Tom Baker's QPR completion unless told otherwise."""
    return [name, email, agency, title, course_id, enrolled, completed, status, hours, ""]


# -- each bundled sample, with its profile, into a fresh ledger -----------------------------------


def test_cops_csv_sample(ledger: Ledger) -> None:
    """The COPS CSV sample: 16 data rows (two blank trailing rows not counted) = 12 imported (4 of
    them in progress or failed) + 1 repeated row + 3 held (Jordan Pike is not on the roster; Kim
    Osei's seminar and Tom Baker's firearms course are not in the catalogue)."""
    result = run_import(ledger, COPS, SAMPLES / "cops-portal-transcript.csv")
    assert counts(result.batch.counts) == (16, 12, 4, 1, 0, 3)
    assert result.same_file_as is None
    batch = result.batch
    assert (batch.id, batch.source, batch.profile) == (1, "cops-training-portal", "cops-portal-csv")
    assert (result.batch.file_name, result.batch.imported_at) == ("cops-portal-transcript.csv", NOW)
    assert record_ids(ledger) == [
        "CC-01/icisf-gci/2024-10-02",
        "CC-02/mhfa-ps/2024-06-04",
        "PL-01/icisf-gci/2024-05-21",
        "PL-02/icisf-gci/2025-06-02/in_progress",
        "PL-02/mhfa-ps/2023-12-05",
        "PL-03/icisf-aic/2025-01-23",
        "PL-04/qpr/2025-02-03",
        "PL-05/cop2cop-rps/2025-03-01/in_progress",
        "PL-06/icisf-agci/2025-04-14/failed",
        "PL-08/asist/2024-09-09/failed",
        "PL-09/cit-40/2024-10-11",
        "PL-10/jh-pfa/2024-10-15",
    ]
    records = by_id(ledger)
    # " Dana.Whitfield@PineLake.example " matched; 3:45 PM New York is 2:45 PM the same day in Chicago.
    dana = records["PL-01/icisf-gci/2024-05-21"]
    assert (dana.hours, dana.origin, dana.record_id) == (Decimal(14), "cops-portal-transcript.csv:2", None)
    # The title with a line break inside its quotes is one row (row 8) and matches the catalogue.
    assert records["PL-09/cit-40/2024-10-11"].origin == "cops-portal-transcript.csv:8"
    assert str(records["PL-03/icisf-aic/2025-01-23"].hours) == "14.0"
    # A failed enrolment without a completion date is dated by its enrolment and carries no hours.
    jake = records["PL-08/asist/2024-09-09/failed"]
    assert (jake.on, jake.status, jake.hours) == (dt.date(2024, 9, 9), "failed", None)
    assert held_rows(ledger) == [
        ("cops-portal-transcript.csv:12", "unknown person 'jordan.pike@riverbend.example'"),
        ("cops-portal-transcript.csv:13", "unknown course 'Officer Wellness and Resilience Seminar'"),
        ("cops-portal-transcript.csv:15", "unknown course 'Firearms Qualification - Handgun'"),
    ]
    assert ledger.rejected() == []


def test_cops_csv_1252_sample(ledger: Ledger) -> None:
    """The Windows-1252 sample: 5 rows = 3 imported + 2 held (José Peña and Zoë Ramírez are not on
    the roster), their accented names decoded and kept for a later match."""
    result = run_import(ledger, COPS, SAMPLES / "cops-portal-transcript-1252.csv")
    assert counts(result.batch.counts) == (5, 3, 0, 0, 0, 2)
    assert record_ids(ledger) == [
        "CC-01/icisf-aic/2025-01-23",
        "CC-02/asist/2024-09-10",
        "PL-01/team-quarterly/2025-01-14",
    ]
    assert held_rows(ledger) == [
        ("cops-portal-transcript-1252.csv:2", "unknown person 'jose.pena@cedarcounty.example'"),
        ("cops-portal-transcript-1252.csv:3", "unknown person 'zoe.ramirez@riverbend.example'"),
    ]
    assert [h.values["name"] for h in ledger.held()] == ["José Peña", "Zoë Ramírez"]
    assert [(h.values["status"], h.values["on"]) for h in ledger.held()] == [
        ("completed", "2024-10-02"),
        ("in_progress", "2025-01-08"),
    ]


def test_cops_xlsx_sample(ledger: Ledger) -> None:
    """The workbook: 11 rows (two blank rows skipped), all matched; a completion stored as the bare
    Excel serial 45597 is 2024-11-01, a date typed as text '03/04/2025' is 4 March (month first)."""
    result = run_import(ledger, COPS_XLSX, SAMPLES / "cops-portal-transcript.xlsx")
    assert counts(result.batch.counts) == (11, 11, 2, 0, 0, 0)
    assert record_ids(ledger) == [
        "CC-01/icisf-gci/2024-10-02",
        "CC-02/mhfa-ps/2024-06-04",
        "PL-01/icisf-gci/2024-05-21",
        "PL-02/mhfa-ps/2023-12-05",
        "PL-03/icisf-aic/2025-01-23",
        "PL-04/qpr/2025-02-03",
        "PL-05/cop2cop-rps/2025-03-01/in_progress",
        "PL-07/qpr/2024-11-01",
        "PL-08/asist/2024-09-09/failed",
        "PL-10/jh-pfa/2024-10-15",
        "PL-10/team-quarterly/2025-03-04",
    ]
    records = by_id(ledger)
    kim = records["PL-07/qpr/2024-11-01"]
    assert (kim.on, kim.hours, kim.origin) == (dt.date(2024, 11, 1), Decimal(1), "cops-portal-transcript.xlsx:11")
    chris = records["PL-10/team-quarterly/2025-03-04"]
    assert (chris.hours, chris.origin) == (Decimal(4), "cops-portal-transcript.xlsx:12")
    assert ledger.held() == []


def test_moodle_sample(ledger: Ledger) -> None:
    """The Moodle report, one course (GCI) named by the importer: 10 rows = 8 imported (3 not
    complete: no 'Course complete' date, so in progress and undated) + 2 held (not on the roster)."""
    result = run_import(ledger, MOODLE, SAMPLES / "moodle" / "completion-gci.csv", course=GCI)
    assert counts(result.batch.counts) == (10, 8, 3, 0, 0, 2)
    assert result.batch.source == "moodle"
    assert record_ids(ledger) == [
        "CC-01/icisf-gci/2025-02-05",
        "CC-02/icisf-gci/undated/in_progress",
        "PL-01/icisf-gci/2025-02-04",
        "PL-02/icisf-gci/2025-02-04",
        "PL-03/icisf-gci/undated/in_progress",
        "PL-04/icisf-gci/2025-02-04",
        "PL-08/icisf-gci/undated/in_progress",
        "PL-09/icisf-gci/2025-02-04",
    ]
    # Tom Baker finished at 11:50 PM, Chicago time, in a Chicago agency: the same day.
    tom = by_id(ledger)["PL-04/icisf-gci/2025-02-04"]
    assert (tom.on, tom.hours, tom.origin) == (dt.date(2025, 2, 4), None, "completion-gci.csv:5")
    assert [c.id for c in ledger.completions()] == [
        "CC-01/icisf-gci/2025-02-05",
        "PL-01/icisf-gci/2025-02-04",
        "PL-02/icisf-gci/2025-02-04",
        "PL-04/icisf-gci/2025-02-04",
        "PL-09/icisf-gci/2025-02-04",
    ]
    assert held_rows(ledger) == [
        ("completion-gci.csv:10", "unknown person 'alex.moreno@riverbend.example'"),
        ("completion-gci.csv:11", "unknown person 'priya.shah@riverbend.example'"),
    ]


def test_xml_sample(ledger: Ledger) -> None:
    """The XML transcript: 10 course records = 8 imported (one in progress, one failed) + 2 held.
    CEUs become hours (x10, exact); UTC timestamps become Chicago dates; record ids, delivery and
    provider are kept."""
    result = run_import(ledger, XML, SAMPLES / "transcript.xml")
    assert counts(result.batch.counts) == (10, 8, 2, 0, 0, 2)
    assert record_ids(ledger) == [
        "CC-01/mhfa-ps/2024-11-19",
        "CC-02/cit-40/2024-03-08",
        "PL-01/icisf-gci/2024-05-21",
        "PL-01/nctsn-pfa-online/2025-03-04",
        "PL-03/cop2cop-rps/2025-04-02/in_progress",
        "PL-03/icisf-aic/2025-01-23",
        "PL-08/asist/2024-09-09/failed",
        "PL-08/qpr/2025-01-20",
    ]
    records = by_id(ledger)
    # 2025-03-05T02:30:00Z is 8:30 PM on 4 March in Chicago; 0.6 CEU is 6 hours.
    pfa = records["PL-01/nctsn-pfa-online/2025-03-04"]
    assert (pfa.on, str(pfa.hours), pfa.delivery, pfa.provider, pfa.record_id) == (
        dt.date(2025, 3, 4), "6.0", "online", "NCTSN", "TR-2025-000412",
    )
    gci = records["PL-01/icisf-gci/2024-05-21"]
    assert (str(gci.hours), gci.delivery, gci.provider, gci.origin) == (
        "14.0", "in_person", "ICISF", "transcript.xml:1",
    )
    assert str(records["PL-08/qpr/2025-01-20"].hours) == "1.0"
    assert str(records["CC-02/cit-40/2024-03-08"].hours) == "40.0"
    assert str(records["PL-08/asist/2024-09-09/failed"].hours) == "15.0"
    assert held_rows(ledger) == [
        ("transcript.xml:8", "unknown course 'Tactical Emergency Casualty Care'"),
        ("transcript.xml:9", "unknown person 'sam.okafor@northfield.example'"),
    ]
    assert [c.id for c in ledger.completions()] == [
        "CC-01/mhfa-ps/2024-11-19",
        "CC-02/cit-40/2024-03-08",
        "PL-01/icisf-gci/2024-05-21",
        "PL-01/nctsn-pfa-online/2025-03-04",
        "PL-03/icisf-aic/2025-01-23",
        "PL-08/qpr/2025-01-20",
    ]


def test_timestamps_become_dates_in_the_ledgers_zone(new_location: Callable[..., Path | str], tmp_path: Path) -> None:
    """The same XML in a UTC agency: 2025-03-05T02:30:00Z stays on 5 March (it is 4 March in
    Chicago); 2025-01-23T22:15:00-05:00 moves to 24 January."""
    with closing(new_ledger(new_location("utc.db"), timezone="UTC")) as ledger:
        run_import(ledger, XML, SAMPLES / "transcript.xml")
        ids = record_ids(ledger)
    assert "PL-01/nctsn-pfa-online/2025-03-05" in ids
    assert "PL-03/icisf-aic/2025-01-24" in ids
    assert "PL-01/nctsn-pfa-online/2025-03-04" not in ids


def test_custom_day_first_ceu_profile(ledger: Ledger) -> None:
    """A profile written by a coordinator (tests/data/imports): semicolons, day-first dates never
    read month-first, CEUs, London times, the portal's enrolment id, people by email only."""
    result = run_import(ledger, DAYFIRST, DATA / "dayfirst.csv")
    assert counts(result.batch.counts) == (8, 4, 1, 0, 3, 1)
    assert record_ids(ledger) == [
        "CC-02/asist/2024-09-10/failed",
        "PL-01/icisf-gci/2024-12-25",
        "PL-04/qpr/2025-04-03",
        "PL-10/jh-pfa/2025-03-04",
    ]
    records = by_id(ledger)
    assert (str(records["PL-01/icisf-gci/2024-12-25"].hours), records["PL-01/icisf-gci/2024-12-25"].record_id) == (
        "14.0", "E-1",
    )
    # 05/03/2025 01:30 in London is 4 March, 7:30 PM in Chicago.
    assert (records["PL-10/jh-pfa/2025-03-04"].origin, str(records["PL-10/jh-pfa/2025-03-04"].hours)) == (
        "dayfirst.csv:9", "6.0",
    )
    assert [row for _, row in ledger.rejected()] == [
        RejectedRow(
            "dayfirst.csv", 3, "completed_on",
            "'12.25.2024' is not a date in ISO 8601 or any format the profile declares ('%d/%m/%Y', '%d/%m/%Y %H:%M')",
            ("E-2", "Tom Baker", "Pine Lake PD", "tom.baker@pinelake.example", "QPR", "12.25.2024", "Pass", "0.1"),
        ),
        RejectedRow(
            "dayfirst.csv", 6, "hours", "'1,5' is not a number of hours (write decimals with a point: 1.5)",
            ("E-4", "Erin Lindqvist", "Pine Lake PD", "erin.lindqvist@pinelake.example", "ASIST", "10/09/2024",
             "Fail", "1,5"),
        ),
        RejectedRow(
            "dayfirst.csv", 7, "completed_on", "is empty but the row says the course was completed",
            ("E-5", "Maria Santos", "Pine Lake PD", "maria.santos@pinelake.example", "Crisis Intervention\r\nTeam",
             "", "Pass", "4"),
        ),
    ]
    # No email, and this profile matches people by email only: held, not matched by name.
    assert held_rows(ledger) == [("dayfirst.csv:8", "unknown person 'Dana Whitfield'")]


# -- re-imports and overlapping exports -----------------------------------------------------------

SAMPLE_IMPORTS = [
    pytest.param(COPS, "cops-portal-transcript.csv", None, id="cops-csv"),
    pytest.param(COPS, "cops-portal-transcript-1252.csv", None, id="cops-1252"),
    pytest.param(COPS_XLSX, "cops-portal-transcript.xlsx", None, id="cops-xlsx"),
    pytest.param(MOODLE, "moodle/completion-gci.csv", GCI, id="moodle"),
    pytest.param(XML, "transcript.xml", None, id="xml"),
    pytest.param(DAYFIRST, DATA / "dayfirst.csv", None, id="dayfirst"),
]


@pytest.mark.parametrize(("profile", "name", "course"), SAMPLE_IMPORTS)
def test_reimporting_the_same_file_changes_nothing(ledger: Ledger, profile: Profile, name: str, course: object) -> None:
    """The same file again: every row that was imported, repeated or held is now a duplicate (the
    rejected ones are rejected again), the records and held rows are exactly as they were, and the
    result names the batch that imported the same bytes."""
    path = name if isinstance(name, Path) else SAMPLES / name
    first = run_import(ledger, profile, path, course=course)
    before = snapshot(ledger)
    again = run_import(ledger, profile, path, course=course)
    c = first.batch.counts
    assert counts(again.batch.counts) == (
        c.rows_read, 0, 0, c.imported + c.duplicates + c.unmatched, c.rejected, 0,
    )
    assert again.same_file_as == first.batch.id == 1
    assert again.batch.id == 2
    assert snapshot(ledger) == before


def test_overlapping_later_export_imports_only_the_new_rows(ledger: Ledger, tmp_path: Path) -> None:
    """June's export repeats May's rows (and its held row) and adds two completions: only those two
    are imported; the repeats are duplicates, the repeated held row is not held twice."""
    may = [
        cops_row(),
        cops_row("Dana Whitfield", "dana.whitfield@pinelake.example", "GCI", "05/21/2024", hours="14"),
        cops_row("Jordan Pike", "jordan.pike@riverbend.example", "QPR", "02/03/2025", agency="Riverbend PD"),
    ]
    june = [
        *may,
        cops_row("Erin Lindqvist", "erin.lindqvist@pinelake.example", "ASIST", "06/10/2025", hours="15"),
        cops_row("Tom Baker", "TOM.BAKER@pinelake.example ", "QPR Gatekeeper Training", "06/11/2025"),
    ]
    first = run_import(ledger, COPS, cops_csv(tmp_path / "may.csv", may))
    assert counts(first.batch.counts) == (3, 2, 0, 0, 0, 1)
    second = run_import(ledger, COPS, cops_csv(tmp_path / "june.csv", june))
    assert counts(second.batch.counts) == (5, 2, 0, 3, 0, 0)
    assert second.same_file_as is None
    assert [(r.id, batch) for r, batch in ledger.records()] == [
        ("PL-01/icisf-gci/2024-05-21", 1),
        ("PL-03/asist/2025-06-10", 2),
        ("PL-04/qpr/2025-02-03", 1),
        ("PL-04/qpr/2025-06-11", 2),
    ]
    assert held_rows(ledger) == [("may.csv:4", "unknown person 'jordan.pike@riverbend.example'")]


def test_csv_and_xlsx_of_the_same_transcript_give_the_same_records(
    new_location: Callable[..., Path | str], tmp_path: Path
) -> None:
    """The workbook holds 9 of the CSV's rows and 2 more: imported after the CSV, those 9 are
    duplicates and only the 2 are new; imported alone, its 9 records equal the CSV's exactly
    (date, status, hours) though the CSV has text dates and the workbook date cells."""
    with closing(new_ledger(new_location("both.db"))) as both:
        run_import(both, COPS, SAMPLES / "cops-portal-transcript.csv")
        xlsx = run_import(both, COPS_XLSX, SAMPLES / "cops-portal-transcript.xlsx")
        assert counts(xlsx.batch.counts) == (11, 2, 0, 9, 0, 0)
        assert [r.id for r, batch in both.records() if batch == xlsx.batch.id] == [
            "PL-07/qpr/2024-11-01",
            "PL-10/team-quarterly/2025-03-04",
        ]
    with (
        closing(new_ledger(new_location("csv.db"))) as only_csv,
        closing(new_ledger(new_location("xlsx.db"))) as only_xlsx,
    ):
        run_import(only_csv, COPS, SAMPLES / "cops-portal-transcript.csv")
        run_import(only_xlsx, COPS_XLSX, SAMPLES / "cops-portal-transcript.xlsx")

        def facts(ledger: Ledger) -> dict[str, tuple[object, ...]]:
            """Each record's facts by id (its origin, file and row, left out)."""
            return {r.id: (r.member, r.course, r.on, r.status, r.hours) for r, _ in ledger.records()}

        from_csv, from_xlsx = facts(only_csv), facts(only_xlsx)
    shared = sorted(set(from_csv) & set(from_xlsx))
    assert len(shared) == 9
    assert {i: from_csv[i] for i in shared} == {i: from_xlsx[i] for i in shared}
    assert sorted(set(from_xlsx) - set(from_csv)) == ["PL-07/qpr/2024-11-01", "PL-10/team-quarterly/2025-03-04"]


# -- statuses -------------------------------------------------------------------------------------


def test_only_completed_statuses_count(ledger: Ledger, tmp_path: Path) -> None:
    """In-progress and failed enrolments are records with their status, dated by enrolment (or
    undated), without credit; only completed rows become completions. Status words match ignoring
    case and spacing."""
    path = cops_csv(
        tmp_path / "statuses.csv",
        [
            cops_row(status="  PASSED ", completed="01/10/2025"),
            cops_row(status="In Progress", completed="", enrolled="02/01/2025", title="ASIST", hours=""),
            cops_row(status="incomplete", completed="03/02/2025", enrolled="03/01/2025", title="GCI", hours="14"),
            cops_row(status="Enrolled", completed="", enrolled="", title="Reciprocal Peer Support"),
            cops_row(status="Failed", completed="04/05/2025", title="MHFA-PS"),
        ],
    )
    result = run_import(ledger, COPS, path)
    assert counts(result.batch.counts) == (5, 5, 4, 0, 0, 0)
    assert [(r.id, r.status, r.on) for r, _ in ledger.records()] == [
        ("PL-04/asist/2025-02-01/in_progress", "in_progress", dt.date(2025, 2, 1)),
        ("PL-04/cop2cop-rps/undated/in_progress", "in_progress", None),
        ("PL-04/icisf-gci/2025-03-01/failed", "failed", dt.date(2025, 3, 1)),
        ("PL-04/mhfa-ps/2025-04-05/failed", "failed", dt.date(2025, 4, 5)),
        ("PL-04/qpr/2025-01-10", "completed", dt.date(2025, 1, 10)),
    ]
    assert [(c.id, c.hours) for c in ledger.completions()] == [("PL-04/qpr/2025-01-10", Decimal(1))]


def test_unknown_and_empty_status_are_rejected_naming_the_field(ledger: Ledger, tmp_path: Path) -> None:
    """A status the profile does not list, or none at all, rejects the row with field 'status'."""
    path = cops_csv(tmp_path / "odd.csv", [cops_row(status="Cancelled"), cops_row(status=" ")])
    result = run_import(ledger, COPS, path)
    assert counts(result.batch.counts) == (2, 0, 0, 0, 2, 0)
    assert [(r.file, r.row, r.field, r.reason) for _, r in ledger.rejected()] == [
        ("odd.csv", 2, "status", "'Cancelled' is not a status the profile lists"),
        ("odd.csv", 3, "status", "is empty"),
    ]
    assert record_ids(ledger) == []


# -- rejections name file, row and field ----------------------------------------------------------


def test_rejections_name_file_row_field_and_reason(ledger: Ledger, tmp_path: Path) -> None:
    """Each bad value rejects its row only, naming the file, the row a spreadsheet shows (blank rows
    and the header counted), the field and why; the good rows around them are imported."""
    path = cops_csv(
        tmp_path / "messy.csv",
        [
            cops_row(),  # row 2: fine
            cops_row(completed="25.12.2024"),  # 3: a layout the profile does not declare
            ["", "", "", "", "", "", "", "", "", ""],  # 4: blank, skipped but counted
            cops_row(completed="12/25/2024", hours="1,5"),  # 5
            cops_row(completed="12/26/2024", hours="-2"),  # 6
            cops_row(completed="12/27/2024", hours="2 h"),  # 7
            cops_row(completed="", status="Completed"),  # 8
            cops_row(completed="", status="In Progress", enrolled="2024-13-01"),  # 9: bad enrolment date
            cops_row(name="", email=" ", agency=""),  # 10
            cops_row(title=" ", course_id=""),  # 11
            cops_row(completed="12/29/2024"),  # 12: fine
        ],
    )
    result = run_import(ledger, COPS, path)
    assert counts(result.batch.counts) == (10, 2, 0, 0, 8, 0)
    assert record_ids(ledger) == ["PL-04/qpr/2024-12-29", "PL-04/qpr/2025-02-03"]
    assert [(r.file, r.row, r.field, r.reason) for _, r in ledger.rejected()] == [
        ("messy.csv", 3, "completed_on",
         f"'25.12.2024' is not a date in ISO 8601 or any format the profile declares ({US_FORMATS})"),
        ("messy.csv", 5, "hours", "'1,5' is not a number of hours (write decimals with a point: 1.5)"),
        ("messy.csv", 6, "hours", "'-2': hours cannot be negative"),
        ("messy.csv", 7, "hours", "'2 h' is not a number of hours (digits and a decimal point only)"),
        ("messy.csv", 8, "completed_on", "is empty but the row says the course was completed"),
        ("messy.csv", 9, "enrolled_on",
         f"'2024-13-01' is not a date in ISO 8601 or any format the profile declares ({US_FORMATS})"),
        ("messy.csv", 10, "email", "nothing identifies the person"),
        ("messy.csv", 11, "course_id", "nothing identifies the course"),
    ]
    (_, first) = ledger.rejected()[0]
    assert first.raw == ("Tom Baker", "tom.baker@pinelake.example", "Pine Lake PD", "QPR", "PS-X", "",
                         "25.12.2024", "Completed", "1", "")


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:00:00-05:00", "0001-01-01T01:00:00+05:00", "12/31/9999 11:00 PM"],
)
def test_a_timestamp_out_of_the_range_of_dates_is_rejected_not_a_crash(
    ledger: Ledger, tmp_path: Path, value: str
) -> None:
    """A time that would leave the years 1 to 9999 when moved to the agency's zone rejects the row
    (field completed_on); the import does not crash and the other row is imported."""
    path = cops_csv(tmp_path / "far.csv", [cops_row(completed=value), cops_row()])
    result = run_import(ledger, COPS, path)
    assert counts(result.batch.counts) == (2, 1, 0, 0, 1, 0)
    ((_, rejected),) = ledger.rejected()
    assert (rejected.row, rejected.field) == (2, "completed_on")
    assert rejected.reason == f"{value!r} is out of the range of dates"


def test_absurd_hours_in_a_workbook_are_rejected_and_the_ledger_stays_usable(ledger: Ledger, tmp_path: Path) -> None:
    """A number cell of 1e30 hours (a typo text hours cannot make) rejects its row: stored, it would
    make every later ``completions()`` (and so ``check --ledger``) fail."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(COPS_HEADER)
    sheet.append(["Tom Baker", "tom.baker@pinelake.example", "Pine Lake PD", "QPR", "X", None, "2025-01-02",
                  "Completed", 1e30, None])
    sheet.append(["Tom Baker", "tom.baker@pinelake.example", "Pine Lake PD", "QPR", "X", None, "2025-01-03",
                  "Completed", 1.5, None])
    workbook.save(tmp_path / "hours.xlsx")
    result = run_import(ledger, COPS_XLSX, tmp_path / "hours.xlsx")
    assert counts(result.batch.counts) == (2, 1, 0, 0, 1, 0)
    ((_, rejected),) = ledger.rejected()
    assert (rejected.row, rejected.field, rejected.reason) == (
        2, "hours", "1e+30 is more hours than a record can carry (at most 99,999,999)",
    )
    assert [(c.id, c.hours) for c in ledger.completions()] == [("PL-04/qpr/2025-01-03", Decimal("1.5"))]


# -- unmatched rows: held, then counted once the roster or catalogue learns them ------------------


def test_held_person_is_counted_once_the_roster_learns_them(ledger: Ledger) -> None:
    """Jordan Pike's row is held; once he is on the roster, a rematch imports it into its original
    batch and the held list shrinks; a second rematch changes nothing."""
    batch = run_import(ledger, COPS, SAMPLES / "cops-portal-transcript.csv").batch
    assert "RB-01/qpr/2025-02-03" not in [c.id for c in ledger.completions()]
    assert ledger.put_members([JORDAN]) == (1, 0)
    assert rematch(ledger, CATALOGUE) == {Outcome.IMPORTED: 1, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 2}
    jordan = [(c.id, c.hours, c.source) for c in ledger.completions() if c.member == "RB-01"]
    assert jordan == [("RB-01/qpr/2025-02-03", Decimal(1), "cops-portal-transcript.csv:12")]
    assert [b for r, b in ledger.records() if r.member == "RB-01"] == [batch.id]
    assert held_rows(ledger) == [
        ("cops-portal-transcript.csv:13", "unknown course 'Officer Wellness and Resilience Seminar'"),
        ("cops-portal-transcript.csv:15", "unknown course 'Firearms Qualification - Handgun'"),
    ]
    before = snapshot(ledger)
    assert rematch(ledger, CATALOGUE) == {Outcome.IMPORTED: 0, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 2}
    assert snapshot(ledger) == before


def test_held_course_is_counted_once_the_catalogue_learns_it(ledger: Ledger, tmp_path: Path) -> None:
    """Kim Osei's seminar is not in the bundled catalogue; with a local catalogue that has it, a
    rematch imports her completion (hours from the export) and leaves the firearms course held."""
    run_import(ledger, COPS, SAMPLES / "cops-portal-transcript.csv")
    local = tmp_path / "local.toml"
    local.write_text(
        '[[courses]]\nid = "owr-seminar"\ntitle = "Officer Wellness and Resilience Seminar"\n'
        'provider = "Agency"\nhours = 4\n',
        encoding="utf-8",
    )
    catalogue = CATALOGUE.merged(load_catalogue([local]))
    assert rematch(ledger, catalogue) == {Outcome.IMPORTED: 1, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 2}
    assert by_id(ledger)["PL-07/owr-seminar/2024-11-12"].hours == Decimal(4)
    assert [origin for origin, _ in held_rows(ledger)] == [
        "cops-portal-transcript.csv:12",
        "cops-portal-transcript.csv:15",
    ]


def test_rematch_of_a_row_imported_meanwhile_is_a_duplicate(ledger: Ledger, tmp_path: Path) -> None:
    """Held in May; in June Jordan is on the roster and the same completion comes in directly; the
    rematch then finds it already there: a duplicate, removed from the held rows, counted once."""
    row = cops_row("Jordan Pike", "jordan.pike@riverbend.example", "QPR", "02/03/2025", agency="Riverbend PD")
    run_import(ledger, COPS, cops_csv(tmp_path / "may.csv", [row]))
    ledger.put_members([JORDAN])
    june = run_import(ledger, COPS, cops_csv(tmp_path / "june.csv", [row, cops_row()]))
    assert counts(june.batch.counts) == (2, 2, 0, 0, 0, 0)
    assert rematch(ledger, CATALOGUE) == {Outcome.IMPORTED: 0, Outcome.DUPLICATE: 1, Outcome.UNMATCHED: 0}
    assert ledger.held() == []
    assert [(r.id, b) for r, b in ledger.records()] == [("PL-04/qpr/2025-02-03", 2), ("RB-01/qpr/2025-02-03", 2)]


def test_a_held_moodle_row_gets_the_course_the_importer_named(ledger: Ledger) -> None:
    """A Moodle report has no course column: held rows keep the course given at import, so Alex
    Moreno's completion becomes a GCI completion once the roster knows his portal user id."""
    run_import(ledger, MOODLE, SAMPLES / "moodle" / "completion-gci.csv", course=GCI)
    ledger.put_members([Member(id="RB-02", name="Alex Moreno", agency="Riverbend PD", portal_user_id="30555")])
    assert rematch(ledger, CATALOGUE) == {Outcome.IMPORTED: 1, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 1}
    assert [c.id for c in ledger.completions() if c.member == "RB-02"] == ["RB-02/icisf-gci/2025-02-04"]


def test_rematch_matches_as_the_profile_says_people_are_matched(ledger: Ledger) -> None:
    """The day-first profile matches people by email only: a held row without an email stays held
    on rematch, although its name and agency are a roster member's."""
    run_import(ledger, DAYFIRST, DATA / "dayfirst.csv")
    assert rematch(ledger, CATALOGUE) == {Outcome.IMPORTED: 0, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 1}
    assert "PL-01/cop2cop-rps/2025-02-01" not in record_ids(ledger)
    assert held_rows(ledger) == [("dayfirst.csv:8", "unknown person 'Dana Whitfield'")]


def test_rematch_matches_courses_as_the_import_would_have(
    new_location: Callable[..., Path | str], tmp_path: Path
) -> None:
    """The COPS profile matches courses by title before id. A row titled 'GCI Online' with the
    portal id 'GCI' (an alias of classroom GCI) is the online course whether the person was known
    at import or only learned later: held-then-rematched gives the same record as a direct import."""
    newcomer = Member(id="NW-01", name="New Person", agency="X PD", email="new.person@x.example")
    row = cops_row("New Person", "new.person@x.example", "GCI Online", "01/05/2025", agency="X PD", course_id="GCI")
    path = cops_csv(tmp_path / "gci.csv", [row])
    with closing(new_ledger(new_location("direct.db"), [*ROSTER, newcomer])) as direct:
        run_import(direct, COPS, path)
        direct_ids = record_ids(direct)
    with closing(new_ledger(new_location("later.db"))) as later:
        assert run_import(later, COPS, path).batch.counts.unmatched == 1
        later.put_members([newcomer])
        assert rematch(later, CATALOGUE)[Outcome.IMPORTED] == 1
        later_ids = record_ids(later)
    assert direct_ids == later_ids == ["NW-01/icisf-gci-online/2025-01-05"]


# -- a file that fails halfway leaves nothing ----------------------------------------------------


def _good_rows(count: int) -> str:
    """``count`` distinct, valid COPS rows: Tom Baker's QPR completions on ``count`` different days."""
    return "".join(
        f"Tom Baker,tom.baker@pinelake.example,Pine Lake PD,QPR,PS-QPR,,{1 + i // 28 % 12:02d}/{1 + i % 28:02d}/"
        f"{2000 + i // 336},Completed,1,\r\n"
        for i in range(count)
    )


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (
            "Tom Baker,tom\x00baker@pinelake.example,Pine Lake PD,QPR,X,,01/02/2025,Completed,1,\r\n",
            ", row 6002: contains a NUL character: not a text CSV file",
        ),
        ("x" * (1024 * 1024 + 10) + "\r\n", ": a line is longer than 1,048,576 characters: not a CSV export"),
    ],
    ids=["nul-byte", "over-long-line"],
)
def test_an_export_failing_halfway_stores_no_batch_and_no_records(
    ledger: Ledger, tmp_path: Path, tail: str, message: str
) -> None:
    """6,000 good rows (more than one storage chunk), then a row that makes the file unreadable: the
    import raises ExportError naming the file, and the ledger holds no batch and no record; the next
    good import then works, as batch 1 on SQLite (PostgreSQL's sequences are not rolled back: a
    failed import leaves a gap in the batch numbers there)."""
    path = tmp_path / "broken.csv"
    path.write_text(",".join(COPS_HEADER) + "\r\n" + _good_rows(6000) + tail, encoding="utf-8", newline="")
    with pytest.raises(ExportError) as info:
        run_import(ledger, COPS, path)
    assert str(info.value).startswith(f"{path}{message}")
    assert ledger.batches() == []
    assert record_ids(ledger) == []
    assert ledger.held() == []
    assert ledger.rejected() == []
    good = cops_csv(tmp_path / "good.csv", [cops_row()])
    batch = run_import(ledger, COPS, good).batch
    assert [b.id for b in ledger.batches()] == [batch.id]
    assert batch.id == 1 or not isinstance(ledger, SQLiteLedger)


# -- properties (Hypothesis) ----------------------------------------------------------------------

#: Known people (roster members) and strangers, as (key, name, email, agency).
KNOWN = [(m.id, m.name, m.email or "", m.agency) for m in ROSTER if m.id in {"PL-01", "PL-04", "CC-01"}]
STRANGERS = [
    ("ghost-1", "Jordan Pike", "jordan.pike@riverbend.example", "Riverbend PD"),
    ("ghost-2", "Ann Nobody", "ann.nobody@pinelake.example", "Pine Lake PD"),
]
TITLES = [
    "Group Crisis Intervention", "ICISF GCI", "Group Crisis\nIntervention", "  qpr ", "QPR Gatekeeper Training",
    "Mental Health First Aid - Public Safety", "Reciprocal Peer Support (RPS)",
    "Underwater Basket Weaving", "Firearms Qualification", "",
]
STATUSES = [
    "Completed", "complete", " PASSED ", "In Progress", "enrolled", "Not Started", "Failed", "Withdrawn",
    "Cancelled", "", "Done?",
]
HOURS = ["", "1", "14", "2.5", ".5", "1,5", "-3", "abc", "1e3"]
DAYS = [dt.date(2024, 1, 2), dt.date(2024, 6, 30), dt.date(2025, 2, 3)]
TIMES = ["12:30 AM", "11:45 PM", "09:00 AM"]

#: Text that may be anything a file can hold (no NUL, no surrogates), including line breaks.
junk = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@st.composite
def person_cells(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(person key, name, email, agency) as an export writes them: a known member (by an email in
    any case and spacing, or by 'Last, First' name plus agency with no email) or a stranger."""
    key, name, email, agency = draw(st.sampled_from(KNOWN + STRANGERS))
    how = draw(st.sampled_from(["email", "upper", "spaced", "name"]))
    if how == "upper":
        email = email.upper()
    elif how == "spaced":
        email = f"  {email} "
    elif how == "name":
        first, _, last = name.partition(" ")
        email, name = "", f"{last}, {first}"
    return key, name, email, agency


@st.composite
def date_cells(draw: st.DrawFn) -> str:
    """A date cell: month-first, month-first with a time (some cross midnight into another Chicago
    day), ISO, ISO UTC, day-first with dots (invalid here), nonsense, empty, or junk. Day-first with
    slashes is not drawn: it refuses the whole file (see test_import_dates.py)."""
    day = draw(st.sampled_from(DAYS))
    kind = draw(st.sampled_from(["us", "us-time", "iso", "iso-z", "day-first", "nonsense", "empty", "junk"]))
    if kind == "us":
        return f"{day:%m/%d/%Y}"
    if kind == "us-time":
        return f"{day:%m/%d/%Y} {draw(st.sampled_from(TIMES))}"
    if kind == "iso":
        return day.isoformat()
    if kind == "iso-z":
        return f"{day.isoformat()}T03:00:00Z"
    if kind == "day-first":  # in a layout the profile does not declare (slashes would refuse the file)
        return f"{day:%d.%m.%Y}"
    if kind == "nonsense":
        return draw(st.sampled_from(["2024-02-30", "next week", "13/13/2024"]))
    if kind == "empty":
        return ""
    return draw(junk)


def course_key(title: str) -> str:
    """What a title identifies: the catalogue course, else the cleaned title itself."""
    text = clean_text(title)
    course = CATALOGUE.find(text) if text else None
    return course.id if course is not None else f"?{text}"


def status_key(text: str) -> str:
    """What a status cell means to the profile (the text itself when it means nothing)."""
    status = COPS.status_of(clean_text(text), True)
    return status.value if status is not None else f"?{text}"


def consistent_hours(person: str, title: str, status: str) -> str:
    """Hours as one consistent source reports them: always the same for one person, course and
    status (the first import of conflicting facts would win, by design)."""
    key = f"{person}|{course_key(title)}|{status_key(status)}"
    return HOURS[zlib.crc32(key.encode()) % len(HOURS)]


@st.composite
def export_rows(draw: st.DrawFn, consistent: bool = False) -> list[str]:
    """One row of a COPS export: mostly plausible, sometimes corrupt (junk cells, cut short or
    overlong), sometimes blank. With ``consistent``, hours follow from person, course and status."""
    kind = draw(st.sampled_from(["row"] * 8 + ["blank", "junk"]))
    if kind == "blank":
        return draw(st.sampled_from([[], [""] * 10, [" ", "", "\t", "", "", "", "", "", "", "  "]]))
    if kind == "junk" and not consistent:
        return draw(st.lists(junk, max_size=12))
    key, name, email, agency = draw(person_cells())
    title = draw(st.sampled_from(TITLES) | junk) if not consistent else draw(st.sampled_from(TITLES))
    status = draw(st.sampled_from(STATUSES) | junk) if not consistent else draw(st.sampled_from(STATUSES))
    hours = consistent_hours(key, title, status) if consistent else draw(st.sampled_from(HOURS) | junk)
    cells = [
        name, email, agency, title, draw(st.sampled_from(["PS-1", "PS-2", ""])),
        draw(date_cells()), draw(date_cells()), status, hours, draw(st.sampled_from(["", "CERT-1"])),
    ]
    if not consistent:
        cut = draw(st.sampled_from([10, 10, 10, 9, 6, 12]))
        cells = cells[:cut] + ["extra"] * max(0, cut - 10)
    return cells


def write_export(path: Path, rows: list[list[str]], bom: bool = True) -> int:
    """Write rows as a COPS CSV export; returns how many of them are not blank."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COPS_HEADER)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig" if bom else "utf-8"))
    return sum(1 for row in rows if "".join(row).strip())


@given(rows=st.lists(export_rows(), max_size=25), bom=st.booleans())
def test_every_row_of_any_export_ends_as_exactly_one_outcome(rows: list[list[str]], bom: bool) -> None:
    """For any generated export (known and unknown people and courses, valid and invalid dates,
    statuses and hours, junk cells, short and long rows, blank rows, quoted line breaks):
    imported + duplicate + rejected + unmatched == rows read == the non-blank rows written, and each
    count is what the ledger really holds."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        written = write_export(path, rows, bom)
        with closing(new_ledger(Path(folder) / "ledger.db")) as ledger:
            c = run_import(ledger, COPS, path).batch.counts
            assert c.imported + c.duplicates + c.rejected + c.unmatched == c.rows_read == written
            records = [r for r, _ in ledger.records()]
            assert c.imported == len(records)
            assert c.not_completed == sum(1 for r in records if r.status != "completed")
            assert c.unmatched == len(ledger.held())
            rejected = [r for _, r in ledger.rejected()]
            assert c.rejected == len(rejected)
            assert all(r.file == "export.csv" and r.field in COPS.fields and r.reason for r in rejected)
            assert len({r.row for r in rejected}) == len(rejected)


def ledger_state(ledger: Ledger) -> tuple[set[tuple[object, ...]], list[str]]:
    """The facts of a ledger independent of import order: records without their origin, and the
    held rows' values."""
    records = {(r.id, r.member, r.course, r.on, r.status, r.hours, r.record_id) for r, _ in ledger.records()}
    held = sorted(json.dumps(h.values, sort_keys=True) for h in ledger.held())
    return records, held


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.lists(export_rows(consistent=True), max_size=15),
    second=st.lists(export_rows(consistent=True), max_size=15),
)
def test_import_order_and_repetition_do_not_change_the_ledger(first: list[list[str]], second: list[list[str]]) -> None:
    """Two consistent overlapping exports imported A, B, A, B or B, A, B, A give the same records
    and the same held rows, none held twice; the second round imports and holds nothing new."""
    with tempfile.TemporaryDirectory() as folder:
        a, b = Path(folder) / "a.csv", Path(folder) / "b.csv"
        write_export(a, first)
        write_export(b, second, bom=False)

        def build(name: str, order: list[Path]) -> tuple[set[tuple[object, ...]], list[str]]:
            """A new ledger with the files imported in ``order``, twice over; its state."""
            with closing(new_ledger(Path(folder) / name)) as ledger:
                for round_number, path in enumerate(order + order):
                    c = run_import(ledger, COPS, path).batch.counts
                    assert c.imported + c.duplicates + c.rejected + c.unmatched == c.rows_read
                    if round_number >= len(order):
                        assert (c.imported, c.unmatched) == (0, 0)
                state = ledger_state(ledger)
                assert len(set(state[1])) == len(state[1]), "a row is held twice"
                return state

        assert build("ab.db", [a, b]) == build("ba.db", [b, a])


ALL_PROFILES = [COPS, COPS_XLSX, MOODLE, XML, DAYFIRST]
SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "xml": ".xml"}
#: Each sample with its own profile, so that most corruptions still reach value parsing and matching.
SAMPLE_BYTES = [
    ((SAMPLES / name).read_bytes(), profile)
    for name, profile in (
        ("cops-portal-transcript.csv", COPS),
        ("cops-portal-transcript-1252.csv", COPS),
        ("cops-portal-transcript.xlsx", COPS_XLSX),
        ("transcript.xml", XML),
        ("moodle/completion-gci.csv", MOODLE),
    )
] + [((DATA / "dayfirst.csv").read_bytes(), DAYFIRST)]


@pytest.fixture(scope="module")
def fuzz_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, Path]]:
    """One ledger and folder for the fuzz tests (module-scoped: Hypothesis reruns the test body)."""
    folder = tmp_path_factory.mktemp("fuzz")
    ledger = new_ledger(folder / "ledger.db")
    yield ledger, folder
    ledger.close()


def import_fuzz(ledger: Ledger, path: Path, profile: Profile) -> None:
    """Import a fuzzed file: a consistent batch, or a PeertrainError and no batch at all."""
    before = ledger.batches()
    records = record_ids(ledger)
    try:
        result = import_file(ledger, profile, path, CATALOGUE, course=GCI if profile is MOODLE else None, now=NOW)
    except PeertrainError as exc:
        event(f"refused: {type(exc).__name__}")
        assert ledger.batches() == before
        assert record_ids(ledger) == records
        return
    event(f"imported {profile.format.value}: {'rows' if result.batch.counts.rows_read else 'no rows'}")
    counts(result.batch.counts)
    assert ledger.batches()[-1] == result.batch


@given(data=st.binary(max_size=3000), profile=st.sampled_from(ALL_PROFILES))
def test_arbitrary_bytes_as_an_export_raise_only_peertrain_errors(
    fuzz_ledger: tuple[Ledger, Path], data: bytes, profile: Profile
) -> None:
    """Any bytes as .csv, .xlsx or .xml, imported with any bundled profile: an import whose counts
    add up, or a PeertrainError with no batch stored; never another exception."""
    ledger, folder = fuzz_ledger
    path = folder / f"export{SUFFIX[profile.format.value]}"
    path.write_bytes(data)
    import_fuzz(ledger, path, profile)


@given(
    sample=st.sampled_from(SAMPLE_BYTES),
    cuts=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    truncate=st.none() | st.integers(0, 10**6),
)
def test_corrupted_samples_raise_only_peertrain_errors(
    fuzz_ledger: tuple[Ledger, Path], sample: tuple[bytes, Profile], cuts: list[tuple[int, int]], truncate: int | None
) -> None:
    """Real samples with bytes flipped or cut short, read with their own profile, reach the value
    parsing and matching: an import whose counts add up, or a PeertrainError with no batch stored."""
    data, profile = bytearray(sample[0]), sample[1]
    for position, value in cuts:
        data[position % len(data)] = value
    if truncate is not None:
        del data[truncate % len(data) :]
    ledger, folder = fuzz_ledger
    path = folder / f"mutated{SUFFIX[profile.format.value]}"
    path.write_bytes(bytes(data))
    import_fuzz(ledger, path, profile)


def test_the_bundled_profiles_are_the_ones_fuzzed() -> None:
    """The fuzz tests cover every bundled profile (a new one must be added to them)."""
    bundled = sorted(p.stem for p in profiles_dir().glob("*.toml"))
    assert bundled == sorted(p.id for p in ALL_PROFILES if p is not DAYFIRST)
