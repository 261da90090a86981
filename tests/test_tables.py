"""Reading roster, completions and exemptions CSV files, and writing spreadsheet-safe cells.

Every problem is an InputError naming the file, the row as a spreadsheet shows it (the header is
row 1) and the column; nothing is skipped silently except blank rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies as sts
from peertrain import (
    Catalogue,
    Completion,
    Delivery,
    Function,
    InputError,
    Member,
    Role,
    Waiver,
    WaiverKind,
    read_completions,
    read_roster,
    read_waivers,
)
from peertrain.report.cells import safe_cell

TABLES = Path(__file__).parent / "data" / "tables"

Write = Callable[..., Path]

ROSTER_HEADER = "member_id,name,agency,roles,functions,joined_on,email,portal_user_id\n"
COMPLETIONS_HEADER = "completion_id,member_id,course,completed_on,hours,ceu,delivery,provider\n"
WAIVERS_HEADER = "member_id,pack,requirement,kind,granted_by,granted_on,reason,valid_until,evidence\n"

TEAM = [Member("A-1", "Ann Bee"), Member("A-2", "Cy Dee")]


def input_error(read: Callable[[], object]) -> InputError:
    """The InputError ``read()`` raises."""
    with pytest.raises(InputError) as info:
        read()
    return info.value


def located(error: InputError) -> tuple[str, int | None, str | None, str]:
    """An error's (file name, row, field, message)."""
    return Path(error.source).name, error.row, error.field, error.message


# -- encodings ------------------------------------------------------------------------------------

EXPECTED_INTERNATIONAL = [
    Member(
        id="NO-01", name="Bjørn Ødegård", agency="Tromsø Politi", roles=[Role.PEER_SUPPORTER],
        functions=[Function.POSTVENTION], joined_on=dt.date(2023, 5, 2), email="bjorn@example.org",
    ),
    Member(
        id="ES-02", name="José Núñez", agency="Policía Local", roles=[Role.COORDINATOR, Role.CHAPLAIN],
        functions=[Function.PREVENTION, Function.INTERVENTION], joined_on=dt.date(2022, 1, 10),
        email="jose@example.org", portal_user_id="77",
    ),
]


@pytest.mark.parametrize("file", ["roster-utf8-bom.csv", "roster-cp1252.csv"])
def test_roster_encodings(file: str) -> None:
    """UTF-8 with Excel's byte-order mark and Windows-1252 both read to the same members: the BOM
    does not end up in the first column's name and accented letters survive."""
    assert read_roster(TABLES / file) == EXPECTED_INTERNATIONAL


def test_utf16_is_rejected_with_advice() -> None:
    """A UTF-16 file (Excel's 'Unicode text') is refused with advice to save as CSV UTF-8."""
    path = TABLES / "roster-utf16.csv"
    error = input_error(lambda: read_roster(path))
    assert str(error) == f"{path}: is UTF-16 text; save it as 'CSV UTF-8' instead"


def test_utf16_without_bom_is_rejected(write: Write) -> None:
    """UTF-16 without a byte-order mark (NUL bytes between letters) is refused the same way,
    instead of being misread as UTF-8 with an unknown column."""
    path = write("roster.csv", "member_id,name\nA,Ann\n".encode("utf-16-le"))
    error = input_error(lambda: read_roster(path))
    assert error.message == "is UTF-16 text; save it as 'CSV UTF-8' instead"


def test_utf16_big_endian_is_rejected(write: Write) -> None:
    """UTF-16 big-endian with its BOM is refused too."""
    path = write("roster.csv", b"\xfe\xff" + "member_id,name\n".encode("utf-16-be"))
    assert input_error(lambda: read_roster(path)).message == "is UTF-16 text; save it as 'CSV UTF-8' instead"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"member_id,name\nA,Ann\x00\x01\x02\xff\n", "is not text: it holds a NUL byte (byte 20)"),
        (bytes(range(256)) * 4, "is not text: it holds a NUL byte (byte 0)"),
        (b"PK\x03\x04\x14\x00\x00\x00", "is a zip file (an Excel workbook?), not CSV text"),
    ],
    ids=["nul-in-text", "binary", "workbook"],
)
def test_binary_or_nul_containing_csv_is_not_called_utf16(write: Write, content: bytes, expected: str) -> None:
    """A binary file, a workbook, or text with a stray NUL is refused for what it is, not as UTF-16."""
    path = write("roster.csv", content)
    message = input_error(lambda: read_roster(path)).message
    assert message.startswith(expected)
    assert "UTF-16" not in message


# -- layout: quoting, blank rows, header spelling -------------------------------------------------


def test_quoted_newlines_are_refused_commas_and_quotes_kept(write: Write) -> None:
    """A quoted field may hold commas and doubled quotes; a line break inside a name (or any
    cell) is refused at its row and field, since a name is written into calendars and reports."""
    error = input_error(lambda: read_roster(TABLES / "roster-quoted-newline.csv"))
    assert located(error)[:3] == ("roster-quoted-newline.csv", 2, "name")
    assert "control character U+000A" in error.message
    path = write("roster.csv", 'member_id,name,agency\nA-2,"Cy ""The Rock"" Dee","Cedar County, SO"\nA-3,Eve Fox,\n')
    assert [(m.id, m.name, m.agency) for m in read_roster(path)] == [
        ("A-2", 'Cy "The Rock" Dee', "Cedar County, SO"),
        ("A-3", "Eve Fox", ""),
    ]


def test_row_numbers_count_records_not_lines(write: Write) -> None:
    """After a field with a quoted newline (here a trailing one, which is white space and stripped),
    rows are still numbered as a spreadsheet shows them."""
    path = write("roster.csv", 'member_id,name\nA-1,"Ann Bee\n"\nA-1,Al Cee\n')
    error = input_error(lambda: read_roster(path))
    assert located(error) == ("roster.csv", 3, "member_id", "'A-1' is already used in row 2")


def test_blank_rows_are_skipped() -> None:
    """Empty lines and rows of empty cells (trailing or in between) are passed over."""
    members = read_roster(TABLES / "roster-blank-rows.csv")
    assert [m.id for m in members] == ["A-1", "A-2"]


def test_blank_rows_still_count_for_row_numbers(write: Write) -> None:
    """A blank row is passed over but still counted, so later rows keep their spreadsheet number."""
    path = write("roster.csv", "member_id,name,joined_on\nA-1,Ann,\n\n,,\nA-2,Cy,2024-02-30\n")
    error = input_error(lambda: read_roster(path))
    assert located(error) == ("roster.csv", 5, "joined_on", "'2024-02-30' is not a date written YYYY-MM-DD")


def test_header_case_and_spaces_and_short_rows(write: Write) -> None:
    """Header names are matched without regard to case and surrounding spaces; cells are stripped;
    a row shorter than the header leaves the rest empty."""
    path = write("roster.csv", " Member_ID , NAME ,Agency\n  A-1 ,  Ann Bee  \n")
    assert read_roster(path) == [Member("A-1", "Ann Bee")]


def test_windows_line_endings(write: Write) -> None:
    """CRLF line ends read the same as LF."""
    path = write("roster.csv", "member_id,name\r\nA-1,Ann Bee\r\n\r\n")
    assert read_roster(path) == [Member("A-1", "Ann Bee")]


def test_empty_file(write: Write) -> None:
    """An empty file is an error asking for a header row."""
    path = write("roster.csv", "")
    assert str(input_error(lambda: read_roster(path))) == f"{path}: is empty; expected a header row"


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is 'no such file', naming it."""
    path = tmp_path / "absent.csv"
    assert str(input_error(lambda: read_roster(path))) == f"{path}: no such file"


def test_too_many_cells(write: Write) -> None:
    """A row with more non-empty cells than the header has columns is an error naming the row."""
    path = write("roster.csv", "member_id,name\nA-1,Ann,extra\n")
    error = input_error(lambda: read_roster(path))
    assert located(error) == ("roster.csv", 2, None, "has 3 cells but the header has 2")


def test_trailing_empty_cells_are_fine(write: Write) -> None:
    """Extra empty cells at the end of a row (as spreadsheets write them) are ignored."""
    path = write("roster.csv", "member_id,name\nA-1,Ann,,\n")
    assert read_roster(path) == [Member("A-1", "Ann")]


# -- roster errors --------------------------------------------------------------------------------

ROSTER_ERRORS = [
    pytest.param(
        "member_id,name,rank\nA-1,Ann,2\n",
        (1, None, "unknown column 'rank'; the columns are: member_id, name, agency, roles, functions, "
                  "joined_on, email, portal_user_id"),
        id="unknown-column",
    ),
    pytest.param("member_id,agency\nA-1,PD\n", (1, None, "missing the column 'name'"), id="missing-name"),
    pytest.param("name\nAnn\n", (1, None, "missing the column 'member_id'"), id="missing-member-id"),
    pytest.param(
        "member_id,name,Name\nA-1,Ann,Ann\n", (1, None, "the column 'name' appears twice"), id="column-twice",
    ),
    pytest.param(
        "member_id,name\nA-1,Ann\nA-2,Cy\nA-1,Al\n",
        (4, "member_id", "'A-1' is already used in row 2"),
        id="duplicate-member-id",
    ),
    pytest.param(
        "member_id,name,email\nA-1,Ann,ann@pd.example\nA-2,Cy,ANN@PD.example\n",
        (3, "email", "'ann@pd.example' is already used in row 2"),
        id="duplicate-email-any-case",
    ),
    pytest.param(
        "member_id,name,email\nA-1,Ann,ann at pd\n",
        (2, "email", "email is not an address: 'ann at pd'"),
        id="bad-email",
    ),
    pytest.param(
        "member_id,name,roles\nA-1,Ann,peer supporter;sheriff\n",
        (2, "roles", "'sheriff' is not one of: peer_supporter, coordinator, clinician, chaplain"),
        id="bad-role",
    ),
    pytest.param(
        "member_id,name,functions\nA-1,Ann,prevention|aftercare\n",
        (2, "functions", "'aftercare' is not one of: prevention, intervention, postvention"),
        id="bad-function",
    ),
    pytest.param(
        "member_id,name,joined_on\nA-1,Ann,03/01/2024\n",
        (2, "joined_on", "'03/01/2024' is not a date written YYYY-MM-DD"),
        id="bad-date",
    ),
    pytest.param("member_id,name\nA-1,\n", (2, "name", "is empty"), id="empty-name"),
    pytest.param("member_id,name\n,Ann\n", (2, "member_id", "is empty"), id="empty-member-id"),
]


@pytest.mark.parametrize(("text", "expected"), ROSTER_ERRORS)
def test_roster_errors(write: Write, text: str, expected: tuple[int, str | None, str]) -> None:
    """Each roster problem names the file, the spreadsheet row, the column and what is wrong."""
    path = write("team.csv", text)
    error = input_error(lambda: read_roster(path))
    assert located(error) == ("team.csv", *expected)
    row, field, message = expected
    where = f"{path}, row {row}" + (f", field {field!r}" if field else "")
    assert str(error) == f"{where}: {message}"


def test_roster_lists_and_defaults(write: Write) -> None:
    """Roles and functions accept ';' or '|', any case, spaces or hyphens for underscores; a member
    without roles is a peer supporter; email is lower-cased."""
    path = write(
        "team.csv",
        ROSTER_HEADER
        + "A-1,Ann Bee,Pine Lake PD,Coordinator|peer-supporter,Postvention; prevention,,Ann@PD.Example,\n"
        + "A-2,Cy Dee,,,,2024-02-29,,\n",
    )
    assert read_roster(path) == [
        Member(
            "A-1", "Ann Bee", agency="Pine Lake PD", roles=[Role.COORDINATOR, Role.PEER_SUPPORTER],
            functions=[Function.POSTVENTION, Function.PREVENTION], email="ann@pd.example",
        ),
        Member("A-2", "Cy Dee", roles=[Role.PEER_SUPPORTER], joined_on=dt.date(2024, 2, 29)),
    ]


# -- completions ----------------------------------------------------------------------------------


def test_completions_match_course_names(catalogue: Catalogue) -> None:
    """Courses are matched by id, title or alias with any case and stray spaces; hours, CEU,
    delivery and provider are read; a missing completion_id becomes member/course/date; each
    completion records file and row."""
    path = TABLES / "completions-names.csv"
    assert read_completions(path, catalogue, TEAM) == [
        Completion(id="C-1", member="A-1", course="icisf-gci", completed_on=dt.date(2024, 1, 2),
                   source="completions-names.csv:2"),
        Completion(id="C-2", member="A-1", course="icisf-gci-online", completed_on=dt.date(2024, 2, 3),
                   hours=Decimal("6.5"), delivery=Delivery.ONLINE, source="completions-names.csv:3"),
        Completion(id="C-3", member="A-1", course="qpr", completed_on=dt.date(2024, 3, 4),
                   hours=Decimal(1), source="completions-names.csv:4"),
        Completion(id="C-4", member="A-2", course="icisf-aic", completed_on=dt.date(2024, 4, 5),
                   hours=Decimal(14), delivery=Delivery.IN_PERSON, provider="ICISF Region 5",
                   source="completions-names.csv:5"),
        Completion(id="C-5", member="A-2", course="cit-40", completed_on=dt.date(2024, 5, 6),
                   hours=Decimal(40), delivery=Delivery.BLENDED, provider="Metro CIT",
                   source="completions-names.csv:6"),
        Completion(id="A-2/mhfa-ps/2024-06-07", member="A-2", course="mhfa-ps",
                   completed_on=dt.date(2024, 6, 7), source="completions-names.csv:7"),
    ]


@pytest.mark.parametrize(
    ("ceu", "hours"),
    [("1.4", "14"), ("0.1", "1"), ("2.25", "22.5"), ("0.15", "1.5"), ("3", "30"), ("0", "0"), ("10", "100")],
)
def test_ceu_is_ten_hours_exactly(write: Write, catalogue: Catalogue, ceu: str, hours: str) -> None:
    """A CEU figure becomes exactly ten times as many hours, as an exact Decimal written plainly
    (1.4 CEU is 14 h, not 14.000000000000002 nor 1.4E+1)."""
    path = write("done.csv", COMPLETIONS_HEADER + f"C-1,A-1,qpr,2024-01-02,,{ceu},,\n")
    [completion] = read_completions(path, catalogue, TEAM)
    assert completion.hours == Decimal(hours)
    assert str(completion.hours) == hours


def test_whole_hours_print_plainly(write: Write, catalogue: Catalogue) -> None:
    """Whole hours such as 40 or 100 are held as '40' and '100' (never '4E+1'), so messages and
    reports show them as a coordinator writes them."""
    rows = "C-1,A-1,cit-40,2024-01-02,40.0,,,\nC-2,A-1,qpr,2024-01-02,100,,,\n"
    path = write("done.csv", COMPLETIONS_HEADER + rows)
    assert [str(c.hours) for c in read_completions(path, catalogue, TEAM)] == ["40", "100"]


COMPLETION_ERRORS = [
    pytest.param(
        "C-1,A-1,qpr,2024-01-02,1,0.1,,\n", (2, "ceu", "give hours or ceu, not both"), id="hours-and-ceu",
    ),
    pytest.param(
        "C-1,A-1,qpr,2024-13-02,,,,\n",
        (2, "completed_on", "'2024-13-02' is not a date written YYYY-MM-DD"),
        id="bad-date",
    ),
    pytest.param(
        "C-1,A-1,qpr,2 Jan 2024,,,,\n",
        (2, "completed_on", "'2 Jan 2024' is not a date written YYYY-MM-DD"),
        id="words-date",
    ),
    pytest.param("C-1,A-1,qpr,,,,,\n", (2, "completed_on", "is empty"), id="no-date"),
    pytest.param(
        "C-1,A-1,qpr,2024-01-02,,,,\nC-2,Z-9,qpr,2024-01-02,,,,\n",
        (3, "member_id", "'Z-9' is not on the roster"),
        id="unknown-member",
    ),
    pytest.param(
        "C-1,A-1,Basket Weaving,2024-01-02,,,,\n",
        (2, "course", "'Basket Weaving' is not a course id, title or alias in the catalogue"),
        id="unknown-course",
    ),
    pytest.param(
        ",A-1,qpr,2024-01-02,,,,\n,A-2,qpr,2024-01-02,,,,\n,A-1,QPR Gatekeeper,2024-01-02,,,,\n",
        (4, "completion_id", "'A-1/qpr/2024-01-02' repeats row 2 (the same member, course and date, or "
                             "the same id); give each real completion its own completion_id"),
        id="duplicate-without-ids",
    ),
    pytest.param(
        "C-1,A-1,qpr,2024-01-02,,,,\nC-1,A-2,asist,2024-02-03,,,,\n",
        (3, "completion_id", "'C-1' repeats row 2 (the same member, course and date, or the same id); "
                             "give each real completion its own completion_id"),
        id="duplicate-id",
    ),
    pytest.param(
        "C-1,A-1,qpr,2024-01-02,,,zoom,\n",
        (2, "delivery", "'zoom' is not one of: in_person, online, blended"),
        id="bad-delivery",
    ),
    pytest.param(
        "C-1,A-1,qpr,2024-01-02,-3,,,\n", (2, "hours", "hours must not be negative, got '-3'"), id="negative",
    ),
    pytest.param(
        "C-1,A-1,qpr,2024-01-02,two,,,\n", (2, "hours", "hours must be a number, got 'two'"), id="text-hours",
    ),
    pytest.param(
        "C-1,A-1,qpr,2024-01-02,,NaN,,\n",
        (2, "ceu", "hours must be a finite number, got 'NaN'"),
        id="nan-ceu",
    ),
]


@pytest.mark.parametrize(("rows", "expected"), COMPLETION_ERRORS)
def test_completion_errors(
    write: Write, catalogue: Catalogue, rows: str, expected: tuple[int, str, str]
) -> None:
    """Each completions problem names the file, the spreadsheet row, the column and what is wrong."""
    path = write("done.csv", COMPLETIONS_HEADER + rows)
    error = input_error(lambda: read_completions(path, catalogue, TEAM))
    assert located(error) == ("done.csv", *expected)


def test_completions_without_roster_accept_any_member(write: Write, catalogue: Catalogue) -> None:
    """Without a roster, member ids are not checked."""
    path = write("done.csv", "member_id,course,completed_on\nZ-9,qpr,2024-01-02\n")
    [completion] = read_completions(path, catalogue)
    assert (completion.id, completion.member) == ("Z-9/qpr/2024-01-02", "Z-9")


def test_completions_required_columns(write: Write, catalogue: Catalogue) -> None:
    """member_id, course and completed_on are required columns."""
    path = write("done.csv", "member_id,course\nA-1,qpr\n")
    error = input_error(lambda: read_completions(path, catalogue, TEAM))
    assert located(error) == ("done.csv", 1, None, "missing the column 'completed_on'")


def test_same_course_same_day_with_ids_is_fine(write: Write, catalogue: Catalogue) -> None:
    """Two real completions of one course on one day are accepted when each has its own id."""
    path = write("done.csv", COMPLETIONS_HEADER + "C-1,A-1,qpr,2024-01-02,,,,\nC-2,A-1,qpr,2024-01-02,,,,\n")
    assert [c.id for c in read_completions(path, catalogue, TEAM)] == ["C-1", "C-2"]


# -- exemptions -----------------------------------------------------------------------------------


def test_read_waivers() -> None:
    """Exemptions and equivalencies read with kind in any case, open-ended or dated, with
    evidence lists."""
    assert read_waivers(TABLES / "exemptions.csv", TEAM) == [
        Waiver(member="A-1", pack="example-agency", requirement="rps", kind=WaiverKind.EXEMPTION,
               granted_by="Coordinator", granted_on=dt.date(2024, 1, 1), reason="Licensed clinician",
               source=f"{TABLES / 'exemptions.csv'}:2"),
        Waiver(member="A-2", pack="mn-181-9731", requirement="standardized-training",
               kind=WaiverKind.EQUIVALENCY, granted_by="Coordinator", granted_on=dt.date(2024, 2, 1),
               reason="WA course accepted", valid_until=dt.date(2026, 12, 31), evidence=("C-4", "C-5"),
               source=f"{TABLES / 'exemptions.csv'}:3"),
    ]


WAIVER_ERRORS = [
    pytest.param(
        "A-1,p,r,pardon,Me,2024-01-01,why,,\n",
        (2, "kind", "'pardon' is not one of: exemption, equivalency"),
        id="bad-kind",
    ),
    pytest.param(
        "A-1,p,r,exemption,Me,2024-01-01,why,2023-12-31,\n",
        (2, "valid_until", "valid_until 2023-12-31 is before granted_on 2024-01-01"),
        id="ends-before-start",
    ),
    pytest.param(
        "Z-9,p,r,exemption,Me,2024-01-01,why,,\n",
        (2, "member_id", "'Z-9' is not on the roster"),
        id="unknown",
    ),
    pytest.param("A-1,p,r,exemption,Me,2024-01-01,,,\n", (2, "reason", "is empty"), id="no-reason"),
    pytest.param(
        "A-1,p,r,exemption,Me,1/1/2024,why,,\n",
        (2, "granted_on", "'1/1/2024' is not a date written YYYY-MM-DD"),
        id="bad-date",
    ),
]


@pytest.mark.parametrize(("rows", "expected"), WAIVER_ERRORS)
def test_waiver_errors(write: Write, rows: str, expected: tuple[int, str, str]) -> None:
    """Each exemptions problem names the file, the spreadsheet row, the column and what is wrong."""
    path = write("waivers.csv", WAIVERS_HEADER + rows)
    error = input_error(lambda: read_waivers(path, TEAM))
    assert located(error) == ("waivers.csv", *expected)


# -- safe_cell ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-", "'-"),
        ("-nan", "'-nan"),
        ("+inf", "'+inf"),
        ("-1_000", "'-1_000"),
        ("-1.5", "-1.5"),
        ("+2", "+2"),
        ("-.5", "-.5"),
        ("-1e3", "-1e3"),
        ("1.5", "1.5"),
        ("a=b", "a=b"),
        ("Met: 30 of 30 h", "Met: 30 of 30 h"),
        ("", ""),
        (None, ""),
        (-1.5, "-1.5"),
        (-3, "-3"),
        (Decimal("-2.5"), "-2.5"),
        (True, "True"),
    ],
)
def test_safe_cell(value: object, expected: str) -> None:
    """Text a spreadsheet would run as a formula gets a leading quote; real numbers (as numbers or
    as text) and ordinary text are left alone."""
    assert safe_cell(value) == expected


@given(st.text())
def test_safe_cell_never_starts_with_a_formula_character(text: str) -> None:
    """Whatever the text, the cell either is a plain number or does not start with = + - @ TAB CR."""
    cell = safe_cell(text)
    if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
        float(cell)  # only plain numbers may keep such a start
        assert cell == text
    else:
        assert cell in (text, "'" + text)


# -- round trips ----------------------------------------------------------------------------------

#: Members as a CSV can carry them: unique ids and emails, names without line-break trouble.
rosters = st.lists(sts.members, max_size=8, unique_by=(lambda m: m.id, lambda m: m.email or m.id))


def write_roster(team: list[Member], encoding: str) -> bytes:
    """The roster CSV for ``team`` (as a spreadsheet would export it)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(ROSTER_HEADER.strip().split(","))
    for m in team:
        writer.writerow([
            m.id, m.name, m.agency, ";".join(sorted(m.roles)), "|".join(sorted(m.functions)),
            m.joined_on.isoformat() if m.joined_on else "", m.email or "", m.portal_user_id or "",
        ])
    return out.getvalue().encode(encoding)


@given(team=rosters, encoding=st.sampled_from(["utf-8", "utf-8-sig"]))
def test_roster_round_trip(
    tmp_path_factory: pytest.TempPathFactory, team: list[Member], encoding: str
) -> None:
    """Any roster written as CSV reads back as the same members, in order, none lost (a member
    with no roles reads back as a peer supporter, the default)."""
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_bytes(write_roster(team, encoding))
    expected = [m if m.roles else attrs.evolve(m, roles=[Role.PEER_SUPPORTER]) for m in team]
    got = read_roster(path)
    assert len(got) == len(team)
    assert got == expected


@st.composite
def completion_rows(draw: st.DrawFn, catalogue: Catalogue) -> tuple[list[list[str]], list[Completion]]:
    """Completion CSV rows naming courses in any spelling, and the completions they stand for."""
    names = sorted((name, c.id) for c in catalogue for name in (c.id, c.title, *c.aliases))
    count = draw(st.integers(min_value=0, max_value=10))
    rows, expected = [], []
    for number in range(count):
        member = draw(st.sampled_from(TEAM)).id
        name, course_id = draw(st.sampled_from(names))
        spellings = [name, name.upper(), name.lower(), f"  {name} ", name.replace(" ", "  ")]
        spelled = draw(st.sampled_from(spellings))
        day = draw(sts.dates)
        given_id = draw(st.booleans())
        completion_id = f"C-{number}" if given_id else f"{member}/{course_id}/{day.isoformat()}"
        if not given_id and any(c.id == completion_id for c in expected):
            continue  # the same member, course and day twice without ids is a reported duplicate
        how = draw(st.sampled_from(["none", "hours", "ceu"]))
        amount = draw(st.decimals(min_value=0, max_value=100, places=2, allow_nan=False))
        delivery = draw(st.none() | st.sampled_from(Delivery))
        provider = draw(st.none() | st.sampled_from(["ICISF", "Agency", "Metro CIT"]))
        rows.append([
            completion_id if given_id else "", member, spelled, day.isoformat(),
            str(amount) if how == "hours" else "", str(amount) if how == "ceu" else "",
            delivery.value if delivery else "", provider or "",
        ])
        hours = None if how == "none" else amount if how == "hours" else amount * 10
        expected.append(Completion(
            id=completion_id, member=member, course=course_id, completed_on=day, hours=hours,
            delivery=delivery, provider=provider, source=f"done.csv:{len(rows) + 1}",
        ))
    return rows, expected


@given(data=st.data())
def test_completions_round_trip(
    tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue, data: st.DataObject
) -> None:
    """Any completions written as CSV, naming courses by id, title or alias in any case and
    spacing, with hours, CEU or neither, read back as the same completions: none lost."""
    rows, expected = data.draw(completion_rows(catalogue))
    path = tmp_path_factory.mktemp("completions") / "done.csv"
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COMPLETIONS_HEADER.strip().split(","))
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    got = read_completions(path, catalogue, TEAM)
    assert len(got) == len(rows)
    assert got == expected
