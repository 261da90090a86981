"""Reading exports: the bundled samples, every messy case, hostile files, and value parsing.

Expected values are read off the sample files by hand (``integrations/samples/make_samples.py``
writes them), not off the code. Bundled files are found through the installed package.
"""

from __future__ import annotations

import codecs
import datetime as dt
import tracemalloc
import zipfile
import zoneinfo
from decimal import Decimal
from pathlib import Path

import attrs
import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from peertrain.errors import CatalogError, PeertrainError
from peertrain.imports.exports import (
    MAX_XLSX_ENTRIES,
    ExportError,
    Limits,
    RawRow,
    check_xlsx_zip,
    detect_delimiter,
    detect_encoding,
    iter_rows,
    open_export,
)
from peertrain.imports.exports import _xmlfile as xmlfile
from peertrain.imports.exports.values import (
    EPOCH_1900,
    EPOCH_1904,
    DateOrderError,
    clean_email,
    clean_text,
    excel_serial_to_datetime,
    parse_date,
    parse_hours,
)
from peertrain.imports.profiles import Profile, bundled_profile_ids, load_profile, profiles_dir
from peertrain.rules.loading import data_dir, load_bundled_catalogue

D = dt.date
SAMPLES = data_dir() / "integrations" / "samples"
DATA = Path(__file__).parent / "data" / "exports"
COPS = load_profile("cops-portal-csv")
COPS_XLSX = load_profile("cops-portal-xlsx")
MOODLE = load_profile("moodle-completion-csv")
XML = load_profile("xml-transcript")
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
UTC = zoneinfo.ZoneInfo("UTC")
HEADER = (
    "Learner Name,Email,Agency,Course Title,Course ID,Enrollment Date,Completion Date,Status,"
    "Credit Hours,Certificate Number\r\n"
)
CATALOGUE = load_bundled_catalogue()


def rows(path: Path, profile: Profile, **kwargs: object) -> list[RawRow]:
    """Every row of an export."""
    return list(iter_rows(path, profile, **kwargs))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    """Write bytes to a file in tmp_path."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- the bundled profiles ------------------------------------------------------------------------


def test_bundled_profiles_all_load():
    """Every bundled profile loads, and the four documented ones are there."""
    ids = bundled_profile_ids()
    assert ids == ["cops-portal-csv", "cops-portal-xlsx", "moodle-completion-csv", "xml-transcript"]
    for profile_id in ids:
        profile = load_profile(profile_id)
        assert profile.id == profile_id
        assert profile.note
        assert (profiles_dir() / f"{profile_id}.toml").is_file()


def test_moodle_profile_takes_the_course_from_the_option():
    """The Moodle report maps no course column: ``course_from = "option"``."""
    assert MOODLE.course_from == "option"
    assert "course_id" not in MOODLE.fields
    assert "course_title" not in MOODLE.fields
    assert COPS.course_from == "column"


def test_course_from_option_may_not_also_map_a_course_column():
    """``course_from = "option"`` with a course column is refused, as is an unknown value."""
    with pytest.raises(ValueError, match="do not also map course_id or course_title"):
        attrs.evolve(COPS, course_from="option")
    with pytest.raises(ValueError, match="course_from must be"):
        attrs.evolve(COPS, course_from="sheet")
    fields = {k: v for k, v in COPS.fields.items() if k not in ("course_id", "course_title")}
    with pytest.raises(ValueError, match="must map course_id or course_title"):
        attrs.evolve(COPS, fields=fields)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"delimiter": ""}, "delimiter must be one character"),
        ({"delimiter": '"'}, "delimiter must be one character"),
        ({"encoding": "klingon-8"}, "unknown encoding"),
        ({"source_timezone": "America"}, "unknown time zone"),
    ],
)
def test_profile_rejects_bad_settings(change, message):
    """Bad separators, codecs and zone names are refused when the profile is made."""
    with pytest.raises(ValueError, match=message):
        attrs.evolve(COPS, **change)


def test_xml_profile_checks_its_paths():
    """An XML profile's record_path must be a plain absolute path, and every field an XPath."""
    with pytest.raises(ValueError, match="record_path must be an absolute path"):
        attrs.evolve(XML, record_path="//course[1]")
    with pytest.raises(ValueError, match=r"field 'name'.*not a valid XPath"):
        attrs.evolve(XML, fields={**XML.fields, "name": "../name[["})


def test_load_profile_reports_bad_profile_as_catalog_error(tmp_path):
    """A TOML profile with a bad key is a CatalogError naming the file."""
    path = tmp_path / "bad.toml"
    path.write_text(
        '[profile]\nid = "x"\ntitle = "x"\nformat = "csv"\nsource = "x"\ncourse_from = "nope"\n'
        '[fields]\nemail = "Email"\ncompleted_on = "Done"\n'
    )
    with pytest.raises(CatalogError, match="course_from must be"):
        load_profile(path)


# -- the bundled samples -------------------------------------------------------------------------


def test_cops_csv_sample():
    """The COPS CSV (UTF-8 with BOM): 16 rows, numbered as a spreadsheet shows them; the title
    with a line break is one row; the two blank trailing rows are skipped."""
    reader = open_export(SAMPLES / "cops-portal-transcript.csv", COPS)
    found = list(reader)
    assert reader.encoding == "utf-8-sig"
    assert reader.delimiter == ","
    assert reader.info.header_row == 1
    assert reader.info.header[0] == "Learner Name"  # the BOM is gone
    assert [r.number for r in found] == list(range(2, 18))
    first = found[0]
    assert first.source == "cops-portal-transcript.csv"
    assert first.epoch is None
    assert first.values == {
        "name": "Dana Whitfield",
        "email": " Dana.Whitfield@PineLake.example ",
        "agency": "Pine Lake PD",
        "course_title": "ICISF Group Crisis Intervention",
        "course_id": "PS-GCI-2024-05",
        "enrolled_on": "05/06/2024",
        "completed_on": "05/21/2024 03:45 PM",
        "status": "Completed",
        "hours": "14",
        "certificate": "GCI-24-0193",
    }
    maria = found[6]
    assert maria.number == 8
    assert maria.values["course_title"] == "Crisis Intervention Team (CIT)\n40-hour course"
    assert CATALOGUE.find(clean_text(maria.values["course_title"]) or "").id == "cit-40"
    assert found[7].number == 9  # the row after the two-line title
    sarah = found[4]
    assert (sarah.values["completed_on"], sarah.values["status"], sarah.values["hours"]) == (
        None,
        "In Progress",
        None,
    )
    assert COPS.status_of(sarah.values["status"], False).value == "in_progress"
    assert COPS.status_of(found[5].values["status"], False).value == "failed"
    assert clean_email(found[8].values["email"]) == "lhartmann@cedarcounty.example"


def test_cops_csv_sample_titles_match_the_catalogue_except_the_unknown_ones():
    """Every sample title names a catalogue course except the two deliberately unknown ones."""
    unknown = [
        clean_text(r.values["course_title"])
        for r in rows(SAMPLES / "cops-portal-transcript.csv", COPS)
        if CATALOGUE.find(clean_text(r.values["course_title"]) or "") is None
    ]
    assert unknown == ["Officer Wellness and Resilience Seminar", "Firearms Qualification - Handgun"]


def test_cops_csv_sample_dates_in_the_agency_zone():
    """Tom Baker finished at 11:30 PM Eastern on 3 Feb: still 3 Feb in Chicago, 4 Feb in UTC."""
    tom = rows(SAMPLES / "cops-portal-transcript.csv", COPS)[3]
    assert tom.values["completed_on"] == "02/03/2025 11:30 PM"
    assert parse_date(tom.values["completed_on"], COPS, CHICAGO) == D(2025, 2, 3)
    assert parse_date(tom.values["completed_on"], COPS, UTC) == D(2025, 2, 4)
    assert parse_date(tom.values["enrolled_on"], COPS, UTC) == D(2025, 2, 3)


def test_cops_csv_1252_sample():
    """The Windows-1252 export: detected, and the accented names come through intact."""
    path = SAMPLES / "cops-portal-transcript-1252.csv"
    assert detect_encoding(path) == "cp1252"
    found = rows(path, COPS)
    assert [r.number for r in found] == [2, 3, 4, 5, 6]
    assert [r.values["name"] for r in found[:2]] == ["José Peña", "Zoë Ramírez"]
    assert found[4].values["course_title"] == "Peer Support Quarterly"
    assert found[4].values["certificate"] is None


def test_cops_xlsx_sample():
    """The workbook: 11 rows; dates as date cells, as a bare serial number and as text."""
    reader = open_export(SAMPLES / "cops-portal-transcript.xlsx", COPS_XLSX)
    found = list(reader)
    assert reader.info.sheet == "Transcript"
    assert reader.info.epoch == EPOCH_1900
    assert [r.number for r in found] == list(range(2, 13))
    dana = found[0]
    assert dana.epoch == EPOCH_1900
    assert dana.values["completed_on"] == dt.datetime(2024, 5, 21, 15, 45)
    assert dana.values["hours"] == 14
    assert dana.raw[6] == "2024-05-21 15:45:00"
    assert parse_date(dana.values["completed_on"], COPS_XLSX, CHICAGO) == D(2024, 5, 21)
    assert parse_date(dana.values["enrolled_on"], COPS_XLSX, LOS_ANGELES) == D(2024, 5, 6)
    kim = found[9]
    assert kim.values["completed_on"] == 45597
    assert parse_date(kim.values["completed_on"], COPS_XLSX, CHICAGO, epoch=kim.epoch) == D(2024, 11, 1)
    chris = found[10]
    assert (chris.values["completed_on"], chris.values["hours"]) == ("03/04/2025", "4")
    assert parse_date(chris.values["completed_on"], COPS_XLSX, CHICAGO) == D(2025, 3, 4)
    assert chris.values["certificate"] is None
    sarah = found[4]
    assert (sarah.values["completed_on"], sarah.values["hours"]) == (None, None)


def test_moodle_sample():
    """The Moodle GCI report: 10 rows; criteria columns ignored; empty "Course complete" is None."""
    found = rows(SAMPLES / "moodle" / "completion-gci.csv", MOODLE)
    assert [r.number for r in found] == list(range(2, 12))
    assert found[0].values == {
        "portal_user_id": "10231",
        "name": "Dana Whitfield",
        "email": "dana.whitfield@pinelake.example",
        "completed_on": "4/02/25, 16:40",
    }
    assert found[2].values["completed_on"] is None
    assert MOODLE.status_of(None, False).value == "in_progress"
    assert parse_date(found[0].values["completed_on"], MOODLE, CHICAGO) == D(2025, 2, 4)
    tom = found[3]
    assert tom.values["completed_on"] == "4/02/25, 23:50"
    assert parse_date(tom.values["completed_on"], MOODLE, CHICAGO) == D(2025, 2, 4)
    assert parse_date(tom.values["completed_on"], MOODLE, NEW_YORK) == D(2025, 2, 5)
    assert len(found[0].raw) == 10


def test_xml_sample():
    """The XML transcript: 10 course records, learner details from the parent element."""
    found = rows(SAMPLES / "transcript.xml", XML)
    assert [r.number for r in found] == list(range(1, 11))
    assert found[0].values == {
        "record_id": "TR-2024-000101",
        "portal_user_id": "10231",
        "email": "Dana.Whitfield@PineLake.example",
        "name": "Dana Whitfield",
        "agency": "Pine Lake PD",
        "course_id": "RC-101",
        "course_title": "ICISF Group Crisis Intervention",
        "status": "completed",
        "enrolled_on": "2024-05-06",
        "completed_on": "2024-05-21T21:30:00Z",
        "hours": "1.4",
        "certificate": "GCI-24-0193",
        "delivery": "in_person",
        "provider": "ICISF",
    }
    assert parse_hours(found[0].values["hours"], XML) == Decimal("14")
    assert parse_date(found[1].values["completed_on"], XML, CHICAGO) == D(2025, 3, 4)
    erin = found[2]
    assert clean_text(erin.values["course_title"]) == "Assisting Individuals in Crisis"
    assert clean_text(erin.values["name"]) == "Erin Lindqvist"
    assert clean_email(erin.values["email"]) == "erin.lindqvist@pinelake.example"
    assert parse_date(erin.values["completed_on"], XML, CHICAGO) == D(2025, 1, 23)
    assert parse_date(erin.values["completed_on"], XML, UTC) == D(2025, 1, 24)
    in_progress = found[3]
    assert (in_progress.values["status"], in_progress.values["completed_on"]) == ("in_progress", None)
    assert found[4].values["status"] == "failed"
    assert found[7].values["course_title"] == "Tactical Emergency Casualty Care"
    assert CATALOGUE.find("Tactical Emergency Casualty Care") is None
    assert found[8].values["portal_user_id"] == "40002"
    assert found[9].values["name"] == "Lisa Hartmann"


# -- messy CSV -----------------------------------------------------------------------------------


def test_utf16_tab_separated(tmp_path):
    """Excel's "Unicode text": UTF-16 by its BOM, tab-separated."""
    reader = open_export(DATA / "utf16.csv", COPS)
    found = list(reader)
    assert (reader.encoding, reader.delimiter) == ("utf-16", "\t")
    assert [r.values["name"] for r in found] == ["Erin Lindqvist", "Renée Dubois"]
    assert found[1].values["completed_on"] == "02/03/2025"


def test_semicolon_with_sep_line():
    """European Excel: the ``sep=;`` line sets the separator and is not a row."""
    reader = open_export(DATA / "semicolon.csv", COPS)
    found = list(reader)
    assert reader.delimiter == ";"
    assert [r.number for r in found] == [2, 3]
    assert found[0].values["course_title"] == "QPR; Gatekeeper"
    assert found[1].values["hours"] == "14"


def test_utf8_without_bom_and_explicit_utf8_with_bom(tmp_path):
    """Plain UTF-8 is UTF-8; a profile saying utf-8 still loses a BOM from the first header."""
    plain = write(tmp_path, "plain.csv", (HEADER + "Zoë,z@x.example,A,QPR,1,,,Completed,,\r\n").encode())
    assert detect_encoding(plain) == "utf-8-sig"
    assert rows(plain, COPS)[0].values["name"] == "Zoë"
    bom = write(
        tmp_path, "bom.csv", codecs.BOM_UTF8 + (HEADER + "Ann,a@x.example,A,QPR,1,,,Completed,,\r\n").encode()
    )
    assert rows(bom, attrs.evolve(COPS, encoding="utf-8"))[0].values["name"] == "Ann"


def test_headers_match_ignoring_case_and_spacing(tmp_path):
    """`` LEARNER   name `` matches ``Learner Name``."""
    header = HEADER.replace("Learner Name", " LEARNER   name ").replace("Email", "EMAIL")
    path = write(tmp_path, "h.csv", (header + "Ann,a@x.example,A,QPR,1,,,Completed,,\r\n").encode())
    assert rows(path, COPS)[0].values["email"] == "a@x.example"


def test_missing_column_names_file_row_field_and_column(tmp_path):
    """A mapped column missing from the header is an error at row 1 naming field and column."""
    path = write(tmp_path, "m.csv", b"Learner Name,Email\r\nAnn,a@x.example\r\n")
    with pytest.raises(ExportError) as caught:
        rows(path, COPS)
    error = caught.value
    assert (error.source, error.row, error.field) == (str(path), 1, "agency")
    assert "no column 'Agency'" in error.message


def test_duplicate_mapped_column_is_refused(tmp_path):
    """Two columns both called Email: peertrain will not pick one."""
    path = write(tmp_path, "d.csv", (HEADER.replace("Agency", "email") + "a\r\n").encode())
    with pytest.raises(ExportError, match="appears 2 times"):
        rows(path, COPS)


def test_blank_rows_are_skipped_but_counted(tmp_path):
    """Blank lines, rows of empty cells and rows of spaces are skipped; numbers keep counting."""
    body = (
        "\r\nAnn,a@x.example,A,QPR,1,,,Completed,,\r\n,,,\r\n  ,\t, \r\n"
        "Bo,b@x.example,A,QPR,1,,,Completed,,\r\n\r\n"
    )
    path = write(tmp_path, "b.csv", (HEADER + body).encode())
    found = rows(path, COPS)
    assert [(r.number, r.values["name"]) for r in found] == [(3, "Ann"), (6, "Bo")]


def test_extra_and_missing_cells(tmp_path):
    """Extra cells are kept in ``raw``; cells missing at the end read as None."""
    path = write(tmp_path, "x.csv", (HEADER + "a,b,c,d,e,f,g,h,i,j,EXTRA,\r\nshort,row\r\n").encode())
    long, short = rows(path, COPS)
    assert long.raw == ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "EXTRA", "")
    assert long.values["certificate"] == "j"
    assert short.raw == ("short", "row")
    assert short.values["agency"] is None
    assert short.values["email"] == "row"


def test_quoted_newline_in_header_and_cells(tmp_path):
    """Line breaks inside quotes (CRLF or LF) stay inside their cell."""
    body = (
        'Ann,a@x.example,A,"Line one\r\nline two",1,,,Completed,,\r\n'
        'Bo,b@x.example,A,"x\ny",1,,,Completed,,\r\n'
    )
    found = rows(write(tmp_path, "q.csv", (HEADER + body).encode()), COPS)
    assert [(r.number, r.values["course_title"]) for r in found] == [(2, "Line one\r\nline two"), (3, "x\ny")]


def test_csv_error_names_file_and_row(tmp_path):
    """A field over the csv module's limit is an ExportError naming the file and row."""
    path = write(
        tmp_path, "big.csv", (HEADER + "ok,a@x.example\r\n" + '"' + "x" * 200_000 + '"\r\n').encode()
    )
    with pytest.raises(ExportError) as caught:
        rows(path, COPS)
    assert (caught.value.source, caught.value.row) == (str(path), 3)
    assert "field larger than field limit" in caught.value.message


def test_nul_byte_is_refused(tmp_path):
    """A NUL character means the file is not text CSV (Python 3.11's csv would let it through)."""
    path = write(tmp_path, "nul.csv", (HEADER + "a,b\x00,c\r\n").encode())
    with pytest.raises(ExportError, match="NUL") as caught:
        rows(path, COPS)
    assert caught.value.row == 2


def test_neither_utf8_nor_cp1252_is_refused(tmp_path):
    """Bytes undefined in Windows-1252 in a non-UTF-8 file: refused as unreadable text."""
    path = write(tmp_path, "bin.csv", HEADER.encode() + b"\x81\xff\r\n")
    with pytest.raises(ExportError, match="neither UTF-8"):
        rows(path, COPS)


def test_a_file_without_line_breaks_is_refused(tmp_path):
    """Megabytes without a line break are refused before they are read into one string."""
    path = write(tmp_path, "one.csv", b"x" * 3_000_000)
    with pytest.raises(ExportError, match="longer than"):
        rows(path, COPS)


def test_long_line_after_a_bom_is_refused(tmp_path):
    """The line-length check also covers files whose encoding a byte-order mark decided."""
    path = write(tmp_path, "one.csv", codecs.BOM_UTF8 + HEADER.encode() + b"x" * 3_000_000)
    with pytest.raises(ExportError, match="longer than"):
        rows(path, COPS)


def test_bad_byte_after_a_utf8_bom_names_the_row(tmp_path):
    """A UTF-8 byte-order mark is trusted; a byte that is not UTF-8 later is an error at its line."""
    data = codecs.BOM_UTF8 + (HEADER + "Ann,a@x.example\r\n").encode() + b"Bo\xe9,b@x.example\r\n"
    with pytest.raises(ExportError, match=r"not valid utf-8-sig text at line 3 of the file \(byte 3 "):
        rows(write(tmp_path, "bad.csv", data), COPS)


def test_empty_file_has_no_header(tmp_path):
    """An empty file (or only blank lines) is an error at row 1."""
    for data in (b"", b"\r\n\r\n,,\r\n"):
        with pytest.raises(ExportError, match="no header row") as caught:
            rows(write(tmp_path, "e.csv", data), COPS)
        assert caught.value.row == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ('"a;b",c,d', ","), ("single", ","), ("a;b,c", ",")],
)
def test_detect_delimiter(line, expected):
    """The separator is the most frequent of , ; tab outside quotes; ties and none give a comma."""
    assert detect_delimiter(line) == expected


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, D(1900, 1, 1)),
        (59, D(1900, 2, 28)),
        (61, D(1900, 3, 1)),
        (45292, D(2024, 1, 1)),
        (45292.0, D(2024, 1, 1)),
        (2958465, D(9999, 12, 31)),
    ],
)
def test_excel_serial_dates_1900(serial, expected):
    """1900 system: serial 1 is 1900-01-01, 61 is 1900-03-01, 45292 is 2024-01-01."""
    assert parse_date(serial, COPS_XLSX, CHICAGO) == expected
    assert parse_date(serial, COPS_XLSX, CHICAGO, epoch=EPOCH_1900) == expected


@pytest.mark.parametrize("serial", [60, 60.5, 0, -1, 2958466, float("nan"), float("inf"), True])
def test_excel_serial_dates_refused(serial):
    """Serial 60 (the phantom 29 February 1900), 0, negatives, beyond 9999 and non-numbers."""
    with pytest.raises(ValueError):  # noqa: PT011 - the reasons differ; each is checked below
        parse_date(serial, COPS_XLSX, CHICAGO)


def test_serial_60_says_why():
    """The reason for refusing serial 60 names the day that did not exist."""
    with pytest.raises(ValueError, match="29 February 1900"):
        parse_date(60, COPS_XLSX, CHICAGO)


def test_excel_serial_dates_1904():
    """1904 system: 43830 is 2024-01-01 (45292 - 1462) and 1 is 1904-01-02; serial 0 (a zero or
    empty cell formatted as a date) is refused, as it is in the 1900 system."""
    assert parse_date(1, COPS_XLSX, CHICAGO, epoch=EPOCH_1904) == D(1904, 1, 2)
    for zero in (0, 0.5, -1):
        with pytest.raises(ValueError, match="1904 date system"):
            parse_date(zero, COPS_XLSX, CHICAGO, epoch=EPOCH_1904)
    assert parse_date(43830, COPS_XLSX, CHICAGO, epoch=EPOCH_1904) == D(2024, 1, 1)
    assert parse_date(60, COPS_XLSX, CHICAGO, epoch=EPOCH_1904) == D(1904, 3, 1)


def test_excel_serial_fraction_is_time_of_day():
    """45292.75 is 2024-01-01 18:00 (naive: the source zone); 45292.99 in New York is already
    2 January in UTC."""
    assert excel_serial_to_datetime(45292.75) == dt.datetime(2024, 1, 1, 18, 0)
    assert parse_date(45292.75, COPS_XLSX, LOS_ANGELES) == D(2024, 1, 1)
    assert parse_date(45292.99, COPS_XLSX, UTC) == D(2024, 1, 2)


def test_workbook_in_1904_date_system(tmp_path):
    """A 1904 workbook: the row carries its epoch, and a bare serial is read in that system."""
    workbook = openpyxl.Workbook()
    workbook.epoch = CALENDAR_MAC_1904
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    sheet.append(["Ann", "a@x.example", "A", "QPR", "1", None, 43830, "Completed", 1, None])
    path = tmp_path / "mac.xlsx"
    workbook.save(path)
    (row,) = rows(path, COPS_XLSX)
    assert row.epoch == EPOCH_1904
    assert row.values["completed_on"] == 43830
    assert parse_date(row.values["completed_on"], COPS_XLSX, CHICAGO, epoch=row.epoch) == D(2024, 1, 1)


def test_month_first_and_day_first_as_declared():
    """03/04/2025 is 4 March for a month-first profile and 3 April for a day-first one."""
    day_first = attrs.evolve(COPS, date_formats=["%d/%m/%Y"])
    assert parse_date("03/04/2025", COPS, CHICAGO) == D(2025, 3, 4)
    assert parse_date("03/04/2025", day_first, CHICAGO) == D(2025, 4, 3)
    assert parse_date("13/04/2025", day_first, CHICAGO) == D(2025, 4, 13)


def test_value_valid_in_no_declared_format_is_refused():
    """13.04.2025 and Feb 3rd fit no format; the reason lists the formats."""
    with pytest.raises(ValueError, match=r"'13\.04\.2025' is not a date .*'%m/%d/%Y'") as caught:
        parse_date("13.04.2025", COPS, CHICAGO)
    assert not isinstance(caught.value, DateOrderError)
    with pytest.raises(ValueError, match="not a date"):
        parse_date("Feb 3rd", COPS, CHICAGO)


def test_value_only_in_the_other_order_is_a_date_order_error():
    """13/04/2025 fits a month-first profile only day-first, 04/13/2025 a day-first one only
    month-first: a DateOrderError (a ValueError) naming both formats, for either order and with a
    time of day; a profile that declares both orders has no such error."""
    with pytest.raises(DateOrderError, match=r"'13/04/2025' .*'%d/%m/%Y'.* '%m/%d/%Y'"):
        parse_date("13/04/2025", COPS, CHICAGO)
    with pytest.raises(DateOrderError, match=r"'13/04/2025 10:30 PM' .*'%d/%m/%Y %I:%M %p'"):
        parse_date("13/04/2025 10:30 PM", COPS, CHICAGO)
    day_first = attrs.evolve(COPS, date_formats=["%d/%m/%Y"])
    with pytest.raises(DateOrderError, match=r"'%m/%d/%Y'.* '%d/%m/%Y'"):
        parse_date("04/13/2025", day_first, CHICAGO)
    both = attrs.evolve(COPS, date_formats=["%d/%m/%Y", "%m/%d/%Y"])
    assert parse_date("04/13/2025", both, CHICAGO) == D(2025, 4, 13)
    with pytest.raises(ValueError, match="not a date") as caught:
        parse_date("13/13/2025", COPS, CHICAGO)
    assert not isinstance(caught.value, DateOrderError)


def test_two_declared_orders_that_disagree_are_ambiguous():
    """A profile declaring both orders gets 03/04/2025 refused as ambiguous, 13/04/2025 read."""
    both = attrs.evolve(COPS, date_formats=["%m/%d/%Y", "%d/%m/%Y"])
    with pytest.raises(ValueError, match="ambiguous"):
        parse_date("03/04/2025", both, CHICAGO)
    assert parse_date("13/04/2025", both, CHICAGO) == D(2025, 4, 13)
    assert parse_date("04/04/2025", both, CHICAGO) == D(2025, 4, 4)


def test_iso_first_and_whitespace():
    """ISO 8601 is tried first whatever the profile declares; stray spaces do not matter."""
    day_first = attrs.evolve(COPS, date_formats=["%d/%m/%Y"])
    assert parse_date(" 2025-03-04 ", day_first, CHICAGO) == D(2025, 3, 4)
    assert parse_date("2025-03-04T10:00:00", day_first, CHICAGO) == D(2025, 3, 4)
    assert parse_date("05/21/2024   03:45 PM", COPS, CHICAGO) == D(2024, 5, 21)


def test_naive_time_across_midnight():
    """01/01/2025 11:30 PM in New York is 8:30 PM in Los Angeles: still 1 January there."""
    assert parse_date("01/01/2025 11:30 PM", COPS, LOS_ANGELES) == D(2025, 1, 1)
    assert parse_date("12/31/2024 11:30 PM", COPS, UTC) == D(2025, 1, 1)


def test_aware_time_across_midnight():
    """2025-01-01T03:00:00Z is 9 PM on 31 December in Chicago; offsets are honoured."""
    assert parse_date("2025-01-01T03:00:00Z", XML, CHICAGO) == D(2024, 12, 31)
    assert parse_date("2025-01-01T03:00:00+00:00", COPS, CHICAGO) == D(2024, 12, 31)
    assert parse_date("2025-01-01T23:30:00-05:00", COPS, UTC) == D(2025, 1, 2)
    moment = dt.datetime(2025, 1, 1, 3, 0, tzinfo=dt.UTC)
    assert parse_date(moment, COPS, CHICAGO) == D(2024, 12, 31)


def test_naive_midnight_is_a_plain_date():
    """A date cell (a naive midnight) is not shifted to the day before in a zone west of the source."""
    midnight = dt.datetime(2025, 1, 1)
    assert parse_date(midnight, COPS, LOS_ANGELES) == D(2025, 1, 1)
    assert parse_date("2025-01-01 00:00:00", COPS, LOS_ANGELES) == D(2025, 1, 1)
    assert parse_date(D(2025, 1, 1), COPS, LOS_ANGELES) == D(2025, 1, 1)


def test_moodle_short_dates_are_day_first():
    """Moodle's English strftimedatetimeshort, day first with a two-digit year, with or without
    the day's leading zero; a month-first date does not fit it."""
    assert parse_date("12/05/25, 14:30", MOODLE, CHICAGO) == D(2025, 5, 12)
    assert parse_date("3/02/25, 09:05", MOODLE, CHICAGO) == D(2025, 2, 3)
    assert parse_date("03/02/25, 09:05", MOODLE, CHICAGO) == D(2025, 2, 3)
    assert parse_date("31/12/99, 23:30", MOODLE, CHICAGO) == D(1999, 12, 31)  # %y: 69-99 are 19xx
    assert parse_date("31/12/25, 23:30", MOODLE, NEW_YORK) == D(2026, 1, 1)  # Chicago 23:30 is NY 00:30
    with pytest.raises(DateOrderError):
        parse_date("05/13/25, 09:00", MOODLE, CHICAGO)


def test_moodle_excel_download_reads_like_the_csv_one():
    """The "Excel-compatible" download (UTF-16LE with a BOM, tabs) gives the same rows as the
    same report downloaded as CSV; its accents are read."""
    found = rows(SAMPLES / "moodle" / "completion-aic.csv", MOODLE)
    assert [(r.number, r.values["portal_user_id"], r.values["completed_on"]) for r in found] == [
        (2, "10233", "11/03/25, 16:30"),
        (3, "10377", None),
        (4, "10244", "13/03/25, 08:15"),
        (5, "30570", "11/03/25, 16:20"),
    ]
    assert found[3].values["name"] == "Zoë Lefèvre-Ångström"
    assert len(found[0].raw) == 9
    assert parse_date(found[2].values["completed_on"], MOODLE, CHICAGO) == D(2025, 3, 13)


@pytest.mark.parametrize("value", [None, "", "   ", dt.time(10, 0), dt.timedelta(days=1), ["2025-01-01"]])
def test_non_dates_are_refused(value):
    """Empty values, times of day, durations and other objects are not dates."""
    with pytest.raises(ValueError):  # noqa: PT011 - any reason will do
        parse_date(value, COPS, CHICAGO)


def test_date_parsing_is_memoised():
    """Text dates are parsed once per distinct string and settings, then served from a cache."""
    from peertrain.imports.exports.values import _parse_text

    _parse_text.cache_clear()
    for _ in range(1000):
        parse_date("07/04/2025", COPS, CHICAGO)
    info = _parse_text.cache_info()
    assert (info.misses, info.hits) == (1, 999)


# -- hours and text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("14", Decimal("14")),
        (" 14.0 ", Decimal("14.0")),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        (8, Decimal(8)),
        (7.5, Decimal("7.5")),
        (Decimal("2.25"), Decimal("2.25")),
        ("0", Decimal(0)),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_hours(value, expected):
    """Numbers and plain decimal text; empty is None."""
    assert parse_hours(value, COPS) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1,5", "decimal"),
        ("-2", "negative"),
        (-2, "negative"),
        ("NaN", "not a number"),
        (float("nan"), "not a number"),
        (float("inf"), "not a number"),
        ("14 h", "not a number"),
        ("1e3", "not a number"),
        (True, "not a number"),
        (dt.date(2025, 1, 1), "not a number"),
    ],
)
def test_parse_hours_refused(value, reason):
    """Decimal commas, negatives, NaN, infinities, units and exponents are refused with a reason."""
    with pytest.raises(ValueError, match=reason):
        parse_hours(value, COPS)


def test_ceu_hours_are_exact():
    """With hours_unit = "ceu": 1.4 CEU is exactly 14 hours, 0.1 is 1 and 0.6 is 6."""
    assert parse_hours("1.4", XML) == Decimal("14")
    assert str(parse_hours("1.4", XML)) == "14.0"
    assert parse_hours(0.1, XML) == Decimal("1")
    assert parse_hours("0.6", XML) == Decimal("6")
    assert parse_hours("3", XML) == Decimal("30")


def test_clean_text_and_email():
    """Whitespace stripped and collapsed, invisible characters dropped, spreadsheet numbers tidy."""
    assert clean_text("  assisting individuals   in crisis ") == "assisting individuals in crisis"
    assert clean_text("Line one\r\nline two") == "Line one line two"
    assert clean_text("\u200bZo\u00eb\u00a0Ram\u00edrez ") == "Zoë Ramírez"
    assert clean_text("Zoe\u0308") == "Zoë"  # decomposed to composed (NFC)
    assert clean_text(10231.0) == "10231"
    assert clean_text(10231) == "10231"
    assert clean_text(dt.datetime(2025, 1, 2)) == "2025-01-02"
    assert clean_text("   ") is None
    assert clean_text(None) is None
    assert clean_email(" Dana.Whitfield@PineLake.example ") == "dana.whitfield@pinelake.example"
    assert clean_email("mailto:Ann@X.example") == "ann@x.example"
    assert clean_email("") is None
    assert clean_email("not an email") == "notanemail"


# -- XLSX ----------------------------------------------------------------------------------------


def test_zip_bomb_is_refused():
    """A worksheet that expands about 1000:1 is refused before openpyxl opens the file."""
    assert (DATA / "zip-bomb.xlsx").stat().st_size < 100_000
    with pytest.raises(ExportError, match="zip bomb"):
        rows(DATA / "zip-bomb.xlsx", COPS_XLSX)


def test_not_a_zip_is_refused():
    """CSV text saved as .xlsx: a clear message, not an openpyxl traceback."""
    with pytest.raises(ExportError, match="is not an XLSX file"):
        rows(DATA / "not-a-zip.xlsx", COPS_XLSX)


def test_old_xls_is_refused_with_advice(tmp_path):
    """An OLE2 file (.xls or password-protected workbook) gets advice to save as .xlsx."""
    path = write(tmp_path, "old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(ExportError, match=r"save it as \.xlsx"):
        rows(path, COPS_XLSX)


def test_too_many_zip_entries(tmp_path):
    """More than MAX_XLSX_ENTRIES zip entries: refused."""
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(MAX_XLSX_ENTRIES + 1):
            archive.writestr(f"x/{i}", b"")
    with pytest.raises(ExportError, match="10,001 zip entries"):
        check_xlsx_zip(path)


def test_total_size_cap_by_argument_and_environment(monkeypatch):
    """The total uncompressed cap can be lowered (for tests) by argument or environment."""
    sample = SAMPLES / "cops-portal-transcript.xlsx"
    with pytest.raises(ExportError, match="would expand to"):
        rows(sample, COPS_XLSX, limits=Limits(xlsx_bytes=1000))
    monkeypatch.setenv("PEERTRAIN_MAX_XLSX_BYTES", "1000")
    with pytest.raises(ExportError, match="PEERTRAIN_MAX_XLSX_BYTES"):
        rows(sample, COPS_XLSX)
    monkeypatch.setenv("PEERTRAIN_MAX_XLSX_BYTES", "lots")
    with pytest.raises(PeertrainError, match="positive whole number"):
        rows(sample, COPS_XLSX)


def test_workbook_sheet_choice_and_gaps(tmp_path):
    """The profile's sheet is read; missing rows keep their numbers; a missing sheet is named."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Notes"
    first["A1"] = "not the data"
    sheet = workbook.create_sheet("Export")
    for column, title in enumerate(HEADER.strip().split(","), start=1):
        sheet.cell(row=1, column=column, value=title)
    sheet.cell(row=2, column=1, value="Ann")
    sheet.cell(row=5, column=1, value="Bo")
    sheet.cell(row=5, column=2, value="  ")
    path = tmp_path / "two.xlsx"
    workbook.save(path)
    found = rows(path, attrs.evolve(COPS_XLSX, sheet="Export"))
    assert [(r.number, r.values["name"], r.values["email"]) for r in found] == [
        (2, "Ann", None),
        (5, "Bo", "  "),
    ]
    with pytest.raises(ExportError, match="has no worksheet 'Missing'"):
        rows(path, attrs.evolve(COPS_XLSX, sheet="Missing"))
    with pytest.raises(ExportError, match="no column 'Learner Name'"):
        rows(path, COPS_XLSX)  # the first sheet, "Notes", is not the export


def test_corrupt_workbook_is_an_export_error(tmp_path):
    """A zip that is not a workbook is reported as such, not as a KeyError."""
    path = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ExportError, match="not a workbook"):
        rows(path, COPS_XLSX)


# -- XML -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xxe.xml", "billion-laughs.xml"])
def test_doctype_is_refused(name):
    """XXE and billion laughs are refused for their DOCTYPE, before any record is read."""
    found: list[RawRow] = []
    with pytest.raises(ExportError, match="DOCTYPE") as caught:
        found.extend(iter_rows(DATA / name, XML))
    assert found == []
    assert "lol" not in caught.value.message
    assert caught.value.source == str(DATA / name)


@pytest.mark.parametrize("name", ["xxe.xml", "billion-laughs.xml"])
def test_doctype_is_refused_by_the_parser_check_too(name, monkeypatch):
    """With the prolog scan switched off, the parser's document info still refuses the DTD."""
    monkeypatch.setattr(xmlfile, "check_xml_prolog", lambda path: None)
    found: list[RawRow] = []
    with pytest.raises(ExportError) as caught:
        found.extend(iter_rows(DATA / name, XML))
    # Refused before any record, on one line naming the file, whichever check fires first: lxml 6.2
    # (libxml2 2.14) stops billion laughs itself, before peertrain sees the DOCTYPE, with its own words.
    assert found == []
    assert caught.value.source == str(DATA / name)
    assert "\n" not in str(caught.value)
    assert "lol" not in caught.value.message
    if name == "xxe.xml":
        assert "DOCTYPE" in caught.value.message


def test_doctype_after_comments_and_in_utf16(tmp_path):
    """A DOCTYPE hidden after a comment and a processing instruction, or in UTF-16, is found."""
    text = (
        '<?xml version="1.0"?>\n<!-- hello -->\n<?pi x?>\n<!DOCTYPE t SYSTEM "http://x.invalid/t.dtd">\n<t/>'
    )
    with pytest.raises(ExportError, match="DOCTYPE"):
        rows(write(tmp_path, "a.xml", text.encode()), XML)
    with pytest.raises(ExportError, match="DOCTYPE"):
        rows(
            write(
                tmp_path,
                "b.xml",
                codecs.BOM_UTF16_LE + text.replace('1.0"?>', '1.0" encoding="UTF-16"?>').encode("utf-16-le"),
            ),
            XML,
        )


def test_malformed_xml_names_the_line(tmp_path):
    """Malformed XML is an ExportError with the line number; undefined entities too."""
    path = write(tmp_path, "bad.xml", b"<transcript>\n<learner>\n<course></learner>\n</transcript>")
    with pytest.raises(ExportError, match="not well-formed XML at line 3"):
        rows(path, XML)
    path = write(
        tmp_path,
        "ent.xml",
        b"<transcript><learner><course><title>&foo;</title></course></learner></transcript>",
    )
    with pytest.raises(ExportError) as caught:
        rows(path, XML)
    assert caught.value.source == str(path)
    assert caught.value.message.startswith("is not well-formed XML")  # then libxml2's words, not asserted


def test_not_xml_and_size_cap(tmp_path):
    """Text that is not XML, an empty file, and a file over the size cap are refused."""
    with pytest.raises(ExportError, match="not an XML document"):
        rows(write(tmp_path, "t.xml", b"Learner Name,Email\r\n"), XML)
    with pytest.raises(ExportError, match="is empty"):
        rows(write(tmp_path, "e.xml", b""), XML)
    with pytest.raises(ExportError, match=r"refused: .* bytes"):
        rows(SAMPLES / "transcript.xml", XML, limits=Limits(xml_bytes=100))


def test_xml_with_a_utf8_byte_order_mark_reads_like_without(tmp_path):
    """Windows tools start UTF-8 XML with a BOM: it is read exactly as the same file without one."""
    plain = (SAMPLES / "transcript.xml").read_bytes()
    assert not plain.startswith(codecs.BOM_UTF8)
    with_bom = write(tmp_path, "bom.xml", codecs.BOM_UTF8 + plain)
    expected = [(row.number, dict(row.values)) for row in rows(SAMPLES / "transcript.xml", XML)]
    assert expected
    assert [(row.number, dict(row.values)) for row in rows(with_bom, XML)] == expected


def test_xml_general_xpaths_and_namespaces(tmp_path):
    """Fields may be any XPath; namespaced elements match record_path by local name."""
    text = (
        '<t:transcript xmlns:t="urn:x"><t:learner mail="A@X.example"><t:course>'
        "<t:title>QPR</t:title><t:done>2025-01-02</t:done></t:course></t:learner></t:transcript>"
    )
    profile = attrs.evolve(
        XML,
        record_path="/transcript/learner/course",
        fields={
            "email": "../@mail",
            "course_title": "*[local-name()='title']",
            "completed_on": "string(*[local-name()='done'])",
        },
        statuses={},
    )
    (row,) = rows(write(tmp_path, "ns.xml", text.encode()), profile)
    assert row.values == {"email": "A@X.example", "course_title": "QPR", "completed_on": "2025-01-02"}


def test_xml_keeps_memory_bounded(tmp_path, monkeypatch):
    """Finished records are removed from the tree as they go: of the 51,000 elements of 3,000
    learners, the tree never holds more than the parser's read-ahead (one 32 KiB block)."""
    learners = "".join(
        f'<learner id="{i}" email="p{i}@x.example"><name>P{i}</name><agency>A</agency>'
        + "".join(
            f'<course id="C{j}" record="R{i}-{j}"><title>QPR</title><completed>2025-01-0{j + 1}</completed>'
            "<status>completed</status></course>"
            for j in range(3)
        )
        + "<other><deep>x</deep></other></learner>"
        for i in range(3000)
    )
    path = write(tmp_path, "big.xml", f"<transcript>{learners}<tail/></transcript>".encode())
    roots = []
    original = xmlfile.etree.iterparse

    def spy(*args, **kwargs):
        for event, element in original(*args, **kwargs):
            if not roots:
                roots.append(element)
            yield event, element

    monkeypatch.setattr(xmlfile.etree, "iterparse", spy)
    sizes = []
    count = 0
    for row in iter_rows(path, XML):
        count += 1
        if row.number % 500 == 0:
            sizes.append(sum(1 for _ in roots[0].iter()))
    assert count == 9000
    assert len(sizes) == 18
    assert max(sizes) < 2500


# -- robustness ----------------------------------------------------------------------------------

SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "xml": ".xml"}
PROFILES = [load_profile(p) for p in bundled_profile_ids()]
SAMPLE_BYTES = [
    (SAMPLES / name).read_bytes()
    for name in (
        "cops-portal-transcript.csv",
        "cops-portal-transcript.xlsx",
        "transcript.xml",
        "moodle/completion-gci.csv",
    )
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder for the fuzz tests' files (module-scoped: Hypothesis reruns the test body)."""
    return tmp_path_factory.mktemp("fuzz")


def read_all(path: Path, profile: Profile) -> None:
    """Read the whole file; only peertrain's own errors may escape."""
    try:
        for row in iter_rows(path, profile):
            assert isinstance(row, RawRow)
    except PeertrainError:
        pass


@given(data=st.binary(max_size=4000), profile=st.sampled_from(PROFILES))
def test_arbitrary_bytes_raise_only_peertrain_errors(scratch, data, profile):
    """Any bytes at all, read with any bundled profile: rows or a PeertrainError, nothing else."""
    path = scratch / f"export{SUFFIX[profile.format.value]}"
    path.write_bytes(data)
    read_all(path, profile)


@given(
    sample=st.sampled_from(SAMPLE_BYTES),
    profile=st.sampled_from(PROFILES),
    cuts=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    truncate=st.none() | st.integers(0, 10**6),
)
def test_corrupted_samples_raise_only_peertrain_errors(scratch, sample, profile, cuts, truncate):
    """Real samples with bytes flipped or cut short: rows or a PeertrainError, nothing else."""
    data = bytearray(sample)
    for position, value in cuts:
        data[position % len(data)] = value
    if truncate is not None:
        del data[truncate % len(data) :]
    path = scratch / f"mutated{SUFFIX[profile.format.value]}"
    path.write_bytes(bytes(data))
    read_all(path, profile)


def test_large_csv_streams_in_bounded_memory(tmp_path):
    """200,000 rows are read with a small peak of traced memory (speed is benchmarks/bench_import.py's job)."""
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        for start in range(0, 200_000, 10_000):
            handle.write(
                "".join(
                    f"Person {i},p{i}@x.example,Pine Lake PD,Group Crisis Intervention,C{i % 40},01/02/2024,"
                    f"{1 + i % 12:02d}/{1 + i % 28:02d}/2024,Completed,14,CERT-{i}\r\n"
                    for i in range(start, start + 10_000)
                )
            )
    assert path.stat().st_size > 20_000_000
    tracemalloc.start()
    try:
        count = 0
        last = None
        for row in iter_rows(path, COPS):
            count += 1
            last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert last is not None
    assert (last.number, last.values["certificate"]) == (200_001, "CERT-199999")
    assert peak < 20 * 1024 * 1024
