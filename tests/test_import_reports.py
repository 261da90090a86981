"""What real users bring: Moodle's own completion report, a report's course per file, and files
whose dates are in the other day/month order.

Moodle's ``report/completion/index.php`` writes ID, Name, identity fields, two columns per activity
criterion, one per other criterion, and "Course complete", every date as ``%d/%m/%y, %H:%M`` (day
without its leading zero), in a file named ``completion-<short name>.csv``; its "Excel-compatible"
download is UTF-16LE with a BOM and tabs. The samples in ``integrations/samples/moodle/`` are made
that way (``make_samples.py``); the expected values below are read off them and the demo roster.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
from contextlib import closing
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils.datetime import CALENDAR_MAC_1904

import peertrain.imports.importer
from peertrain.cli import main
from peertrain.errors import InputError
from peertrain.imports.exports import ExportError
from peertrain.imports.importer import course_of_report, courses_of_reports, import_file, moodle_file_name
from peertrain.ledger import open_ledger
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Course
from test_import import CATALOGUE, COPS, COPS_HEADER, COPS_XLSX, MOODLE, NOW, SAMPLES, counts, new_ledger, record_ids

MOODLE_SAMPLES = SAMPLES / "moodle"
GCI, AIC = CATALOGUE.courses["icisf-gci"], CATALOGUE.courses["icisf-aic"]


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """``peertrain argv...`` in-process: (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def ledger_facts(path: Path) -> tuple[list[tuple[str, str, str, dt.date | None, str]], list[tuple[str, str]], int]:
    """Records (origin, member, course, date, status), held rows (origin, reason) and batches."""
    with closing(open_ledger(path)) as ledger:
        records = sorted((r.origin, r.member, r.course, r.on, r.status) for r, _ in ledger.records())
        held = sorted((h.origin, h.reason) for h in ledger.held())
        return records, held, len(ledger.batches())


# -- Moodle's report, as Moodle writes it -----------------------------------------------------------


def test_moodle_reports_of_two_courses_in_one_command(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both downloads (CSV for GCI, Excel-compatible UTF-16 for AIC) in one command, no --course:
    each file's course comes from its name, dates are read day first in the report's zone, an
    empty "Course complete" is an enrolment without credit, a learner not on the roster is held;
    the counts add up, and importing both again changes nothing."""
    gci, aic = MOODLE_SAMPLES / "completion-gci.csv", MOODLE_SAMPLES / "completion-aic.csv"
    status, out, err = run(capsys, "import", "--profile", "moodle-completion-csv", "--ledger", ledger_file, gci, aic)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "completion-gci.csv: course icisf-gci (Group Crisis Intervention)",
        "completion-gci.csv: batch 1: 10 rows read = 8 imported (3 not completed, recorded without credit) "
        "+ 0 duplicate + 0 rejected + 2 held as unmatched.",
        "completion-aic.csv: course icisf-aic (Assisting Individuals in Crisis)",
        "completion-aic.csv: batch 2: 4 rows read = 3 imported (1 not completed, recorded without credit) "
        "+ 0 duplicate + 0 rejected + 1 held as unmatched.",
    ]
    records, held, _ = ledger_facts(ledger_file)
    completed = [(o, m, c, on) for o, m, c, on, s in records if s == "completed"]
    assert completed == [
        ("completion-aic.csv:2", "PL-10", "icisf-aic", dt.date(2025, 3, 11)),
        ("completion-aic.csv:4", "PL-02", "icisf-aic", dt.date(2025, 3, 13)),  # 13/03/25: day first
        ("completion-gci.csv:2", "PL-01", "icisf-gci", dt.date(2025, 2, 4)),
        ("completion-gci.csv:3", "PL-02", "icisf-gci", dt.date(2025, 2, 4)),
        ("completion-gci.csv:5", "PL-04", "icisf-gci", dt.date(2025, 2, 4)),  # 23:50 in Chicago
        ("completion-gci.csv:7", "PL-09", "icisf-gci", dt.date(2025, 2, 4)),
        ("completion-gci.csv:8", "CC-01", "icisf-gci", dt.date(2025, 2, 5)),
    ]
    not_completed = [(o, m, c, on) for o, m, c, on, s in records if s != "completed"]
    assert not_completed == [
        ("completion-aic.csv:3", "PL-05", "icisf-aic", None),
        ("completion-gci.csv:4", "PL-03", "icisf-gci", None),
        ("completion-gci.csv:6", "PL-08", "icisf-gci", None),
        ("completion-gci.csv:9", "CC-02", "icisf-gci", None),
    ]
    assert [origin for origin, _ in held] == ["completion-aic.csv:5", "completion-gci.csv:10", "completion-gci.csv:11"]
    with closing(open_ledger(ledger_file)) as ledger:
        zoe = next(h for h in ledger.held() if h.origin == "completion-aic.csv:5")
        assert (zoe.values["name"], zoe.values["course_id"], zoe.values["on"]) == (
            "Zoë Lefèvre-Ångström", "icisf-aic", "2025-03-11",
        )
    status, out, _ = run(capsys, "import", "--profile", "moodle-completion-csv", "--ledger", ledger_file, gci, aic)
    assert status == 0
    assert "batch 3: 10 rows read = 0 imported (0 not completed, recorded without credit) + 10 duplicate" in out
    assert "batch 4: 4 rows read = 0 imported (0 not completed, recorded without credit) + 4 duplicate" in out
    assert ledger_facts(ledger_file)[:2] == (records, held)


def test_moodle_report_in_new_york_time(tmp_path: Path) -> None:
    """The report's times are in the downloading user's zone (source_timezone): 4/02/25, 23:50 in
    Chicago is already 5 February for an agency in New York."""
    with closing(new_ledger(tmp_path / "ny.db", timezone="America/New_York")) as ledger:
        import_file(ledger, MOODLE, MOODLE_SAMPLES / "completion-gci.csv", CATALOGUE, course=GCI, now=NOW)
        assert "PL-04/icisf-gci/2025-02-05" in record_ids(ledger)


def test_moodle_sample_layout_is_moodles() -> None:
    """The bundled samples are laid out as Moodle lays them out: activity criteria as a state
    column and a '- Completion date' column, then 'Course complete'; CSV UTF-8 with commas, the
    Excel download UTF-16LE with a BOM and tabs; dates day first with a two-digit year."""
    gci = (MOODLE_SAMPLES / "completion-gci.csv").read_bytes()
    aic = (MOODLE_SAMPLES / "completion-aic.csv").read_bytes()
    assert not gci.startswith(b"\xef\xbb\xbf")
    assert aic.startswith(b"\xff\xfe")
    header = next(csv.reader(io.StringIO(gci.decode("utf-8"))))
    assert header[:3] == ["ID", "Name", "Email address"]
    assert header[3:5] == ["Attendance - Day 1", "Attendance - Day 1 - Completion date"]
    assert header[-1] == "Course complete"
    rows = list(csv.reader(io.StringIO(aic.decode("utf-16")), delimiter="\t"))
    assert rows[0][-2:] == ["Self completion", "Course complete"]
    assert rows[3][-1] == "13/03/25, 08:15"


# -- the course of a report is its file -----------------------------------------------------------


@pytest.mark.parametrize(
    ("short_name", "file_name"),
    [
        ("GCI", "completion-gci"),
        ("ICISF GCI", "completion-icisf_gci"),
        ("Group Crisis Intervention (GCI)", "completion-group_crisis_intervention__gci_"),
        ("Défusing-101", "completion-d__fusing-101"),  # é is two bytes in UTF-8: two _
    ],
)
def test_moodle_file_name_is_moodles(short_name: str, file_name: str) -> None:
    """Moodle's download name: 'completion-', the short name lower-cased, each byte other than
    a-z 0-9 - made '_'."""
    assert moodle_file_name(short_name) == file_name


@pytest.mark.parametrize(
    ("name", "course"),
    [
        ("completion-gci.csv", "icisf-gci"),
        ("completion-GCI.csv", "icisf-gci"),
        ("completion-icisf_aic.csv", "icisf-aic"),
        ("completion-icisf-gci (1).csv", "icisf-gci"),  # a second download of the same report
        ("completion-assisting_individuals_in_crisis.csv", "icisf-aic"),
        ("completion-basket_weaving.csv", None),
        ("gci.csv", None),
    ],
)
def test_course_of_report_from_its_file_name(name: str, course: str | None) -> None:
    """A report's course is read off its name through the catalogue's ids, titles and aliases."""
    found = course_of_report(Path("/downloads") / name, CATALOGUE)
    assert (found.id if found else None) == course


def test_a_file_name_fitting_two_courses_is_refused() -> None:
    """Two catalogue courses whose names give the same file name: refused, naming both."""
    twin = Course(id="gci-local", title="Local GCI", provider="Agency", hours=1, aliases=("ICISF_GCI",))
    catalogue = Catalogue(courses=(*CATALOGUE, twin))
    with pytest.raises(InputError, match="gci-local, icisf-gci"):
        course_of_report("completion-icisf_gci.csv", catalogue)  # 'ICISF GCI' and 'ICISF_GCI' both give it


def test_course_option_and_file_names_are_decided_before_storing(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--course that disagrees with a file's name, and one --course for several files whose names
    name no course: exit 2 naming the file, and no file of the command stored."""
    gci, aic = MOODLE_SAMPLES / "completion-gci.csv", MOODLE_SAMPLES / "completion-aic.csv"
    status, out, err = run(
        capsys, "import", "--profile", "moodle-completion-csv", "--course", "AIC", "--ledger", ledger_file, aic, gci
    )
    assert (status, out) == (2, "")
    assert err.startswith(f"peertrain: error: {gci}: the file name says the report is about 'icisf-gci'")
    assert "'icisf-aic'" in err
    assert err.count("\n") == 1
    first, second = tmp_path / "report-1.csv", tmp_path / "report-2.csv"
    shutil.copyfile(gci, first)
    shutil.copyfile(aic, second)
    status, out, err = run(
        capsys, "import", "--profile", "moodle-completion-csv", "--course", "GCI", "--ledger", ledger_file,
        first, second,
    )
    assert (status, out) == (2, "")
    assert err.startswith(f"peertrain: error: {first}: --course 'icisf-gci' would credit 2 reports to one course")
    assert ledger_facts(ledger_file) == ([], [], 0)
    # One renamed file with --course is fine: the user says which course it is.
    status, out, _ = run(
        capsys, "import", "--profile", "moodle-completion-csv", "--course", "GCI", "--ledger", ledger_file, first
    )
    assert status == 0
    assert "report-1.csv: batch 1: 10 rows read = 8 imported" in out


def test_courses_of_reports_in_the_library() -> None:
    """The library's rule, as the command line uses it: names first, --course for one file."""
    gci, aic = MOODLE_SAMPLES / "completion-gci.csv", MOODLE_SAMPLES / "completion-aic.csv"
    assert courses_of_reports([str(gci), aic], CATALOGUE) == [GCI, AIC]
    assert courses_of_reports([gci], CATALOGUE, GCI) == [GCI]
    assert courses_of_reports([gci, gci], CATALOGUE, GCI) == [GCI, GCI]  # names agree with it
    assert courses_of_reports(["export.csv"], CATALOGUE, AIC) == [AIC]
    with pytest.raises(InputError, match="cannot tell"):
        courses_of_reports(["export.csv"], CATALOGUE)


# -- the date order of a file ---------------------------------------------------------------------


def cops_export(path: Path, completed: list[str]) -> Path:
    """A COPS export (month-first profile) for Tom Baker's QPR with these completion dates."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COPS_HEADER)
    for when in completed:
        writer.writerow(["Tom Baker", "tom.baker@pinelake.example", "Pine Lake PD", "QPR", "PS-X", "", when,
                         "Completed", "1", ""])
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "general-path"])
def test_a_day_first_file_under_a_month_first_profile_is_refused_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    """05/03/2025 and 04/02/2025 would pass as May and April; 21/05/2025 on row 4 shows the file is
    day first: the file is refused, naming row 4, its value and the profile key, and nothing of it
    is stored (the rows before it included), on either import path."""
    monkeypatch.setattr(peertrain.imports.importer, "_FAST_CSV", fast)
    path = cops_export(tmp_path / "dayfirst.csv", ["05/03/2025", "04/02/2025 10:30 AM", "21/05/2025", "01/06/2025"])
    with closing(new_ledger(tmp_path / "l.db")) as ledger:
        with pytest.raises(ExportError) as caught:
            import_file(ledger, COPS, path, CATALOGUE, now=NOW)
        assert (caught.value.source, caught.value.row, caught.value.field) == (str(path), 4, "completed_on")
        assert "'21/05/2025'" in caught.value.message
        assert "date_formats" in caught.value.message
        assert "cops-portal-csv" in caught.value.message
        assert (ledger.batches(), record_ids(ledger), ledger.held(), ledger.rejected()) == ([], [], [], [])


def test_a_month_first_file_under_the_day_first_moodle_profile_is_refused(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Moodle report written month first (another language pack) is refused by the command line
    with one line naming the file, the row and the value; exit 2, nothing stored."""
    text = (MOODLE_SAMPLES / "completion-gci.csv").read_text(encoding="utf-8")
    swapped = text.replace("4/02/25, 16:45", "02/14/25, 16:45")  # Marcus Reyes, row 3
    path = tmp_path / "completion-gci.csv"
    path.write_text(swapped, encoding="utf-8")
    status, _, err = run(capsys, "import", "--profile", "moodle-completion-csv", "--ledger", ledger_file, path)
    assert status == 2
    assert err.startswith(f"peertrain: error: {path}, row 3, field 'completed_on': '02/14/25, 16:45' ")
    assert err.count("\n") == 1
    assert ledger_facts(ledger_file) == ([], [], 0)


@st.composite
def mixed_order_dates(draw: st.DrawFn) -> tuple[list[str], list[dt.date]]:
    """Dates written month first, with at least one written day first where the day is over 12
    (so the file shows both orders); returns the cells and the dates meant."""
    days = draw(st.lists(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=12))
    late = draw(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)).filter(lambda d: d.day > 12))
    at = draw(st.integers(0, len(days)))
    meant = [*days[:at], late, *days[at:]]
    cells = [f"{d:%m/%d/%Y}" for d in days[:at]] + [f"{late:%d/%m/%Y}"]
    cells += [f"{d:%d/%m/%Y}" if draw(st.booleans()) else f"{d:%m/%d/%Y}" for d in days[at:]]
    return cells, meant


@settings(max_examples=60, deadline=None)
@given(mixed_order_dates())
def test_no_file_with_dates_of_both_orders_stores_a_swapped_date(case: tuple[list[str], list[dt.date]]) -> None:
    """Any file that shows a day-first date under a month-first profile is refused before a single
    record is stored: no swapped date (12 May read as 5 December) ever reaches the ledger."""
    cells, _ = case
    with tempfile.TemporaryDirectory() as folder:
        path = cops_export(Path(folder) / "mixed.csv", cells)
        with closing(new_ledger(Path(folder) / "l.db")) as ledger:
            with pytest.raises(ExportError) as caught:
                import_file(ledger, COPS, path, CATALOGUE, now=NOW)
            first = next(i for i, c in enumerate(cells) if int(c.split("/")[0]) > 12)  # a "month" over 12
            assert caught.value.row == first + 2
            assert record_ids(ledger) == []
            assert ledger.batches() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=12))
def test_a_file_of_one_order_stores_exactly_its_dates(days: list[dt.date]) -> None:
    """The other side: a file written month first throughout stores exactly the dates meant."""
    with tempfile.TemporaryDirectory() as folder:
        path = cops_export(Path(folder) / "us.csv", [f"{d:%m/%d/%Y}" for d in days])
        with closing(new_ledger(Path(folder) / "l.db")) as ledger:
            import_file(ledger, COPS, path, CATALOGUE, now=NOW)
            assert sorted(r.on for r, _ in ledger.records()) == sorted(set(days))


# -- a header row repeated inside the file --------------------------------------------------------


def test_a_repeated_header_row_is_named_as_such(tmp_path: Path) -> None:
    """Exports pasted together repeat the header: that row is rejected as a repeated header, not
    as a bad date; the rows after it are imported."""
    path = cops_export(tmp_path / "pasted.csv", ["01/06/2025"])
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(COPS_HEADER)
        writer.writerow(["Tom Baker", "tom.baker@pinelake.example", "Pine Lake PD", "QPR", "PS-X", "", "02/06/2025",
                         "Completed", "1", ""])
    with closing(new_ledger(tmp_path / "l.db")) as ledger:
        result = import_file(ledger, COPS, path, CATALOGUE, now=NOW)
        assert counts(result.batch.counts) == (3, 2, 0, 0, 1, 0)
        ((_, rejected),) = ledger.rejected()
        assert (rejected.row, rejected.field) == (3, None)
        assert rejected.reason == "repeats the header row (the column names again), not a record"



# -- a zero in a 1904-system workbook -------------------------------------------------------------


def test_serial_zero_in_a_1904_workbook_is_rejected_not_a_1904_completion(tmp_path: Path) -> None:
    """A 1904-system workbook whose date cell holds 0 (an empty formula result): the row is
    rejected naming the field, as in a 1900 workbook, and no completion on 1904-01-01 is stored."""
    for epoch in (CALENDAR_MAC_1904, None):
        workbook = openpyxl.Workbook()
        if epoch is not None:
            workbook.epoch = epoch
        sheet = workbook.active
        assert sheet is not None
        sheet.append(COPS_HEADER)
        sheet.append(["Tom Baker", "tom.baker@pinelake.example", "Pine Lake PD", "QPR", "PS-X", None, 0, "Completed",
                      1, None])
        path = tmp_path / f"zero-{'1904' if epoch else '1900'}.xlsx"
        workbook.save(path)
        with closing(new_ledger(tmp_path / f"{path.stem}.db")) as ledger:
            result = import_file(ledger, COPS_XLSX, path, CATALOGUE, now=NOW)
            assert counts(result.batch.counts) == (1, 0, 0, 0, 1, 0)
            ((_, rejected),) = ledger.rejected()
            assert (rejected.row, rejected.field) == (2, "completed_on")
            assert record_ids(ledger) == []
