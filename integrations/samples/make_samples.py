"""Write the sample exports in this folder (run: ``python make_samples.py``).

The samples are small and realistic, and messy on purpose: a byte-order mark, a Windows-1252
file with accented names, stray whitespace and capitals in emails and titles, a course title with
a line break inside its quotes, in-progress and failed enrolments, people not on the demo roster
(``curricula/demo/roster.csv``), courses not in the catalogue, a row repeated as overlapping
exports repeat it, blank trailing rows, and in the workbook dates stored three ways (date cells,
a bare Excel serial number, and text). The tests in ``tests/test_exports.py`` pin their contents.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent

# fmt: off
COPS_HEADER = [
    "Learner Name", "Email", "Agency", "Course Title", "Course ID", "Enrollment Date",
    "Completion Date", "Status", "Credit Hours", "Certificate Number",
]

# One COPS-portal transcript export: US dates, some completion times (US Eastern).
COPS_ROWS = [
    ["Dana Whitfield", " Dana.Whitfield@PineLake.example ", "Pine Lake PD",
     "ICISF Group Crisis Intervention", "PS-GCI-2024-05", "05/06/2024", "05/21/2024 03:45 PM",
     "Completed", "14", "GCI-24-0193"],
    ["Marcus Reyes", "marcus.reyes@pinelake.example", "Pine Lake PD",
     "Mental Health First Aid for Public Safety", "PS-MHFA-2023-12", "11/20/2023", "12/05/2023",
     "Complete", "8", "MHFA-23-5512"],
    ["Erin Lindqvist", "ERIN.LINDQVIST@pinelake.example", "Pine Lake PD",
     "  assisting individuals   in crisis ", "PS-AIC-2025-01", "01/08/2025", "01/23/2025",
     "Passed", "14.0", "AIC-25-0042"],
    ["Tom Baker", "tom.baker@pinelake.example", "Pine Lake PD",
     "QPR Gatekeeper Training", "PS-QPR-2025-02", "02/03/2025", "02/03/2025 11:30 PM",
     "Completed", "1", "QPR-25-0871"],
    ["Sarah Nguyen", "sarah.nguyen@pinelake.example", "Pine Lake PD",
     "Reciprocal Peer Support (RPS)", "PS-RPS-2025-03", "03/01/2025", "",
     "In Progress", "", ""],
    ["Jake Morrison", "jake.morrison@pinelake.example", "Pine Lake PD",
     "Applied Suicide Intervention Skills Training", "PS-ASIST-2024-09", "09/09/2024", "",
     "Failed", "", ""],
    ["Maria Santos", "maria.santos@pinelake.example", "Pine Lake PD",
     "Crisis Intervention Team (CIT)\n40-hour course", "PS-CIT-2024-10", "10/07/2024", "10/11/2024",
     "Completed", "40", "CIT-24-0310"],
    ["Chris Dahl", "chris.dahl@pinelake.example", "Pine Lake PD",
     "Psychological First Aid", "PS-PFA-2024-10", "10/15/2024", "10/15/2024 04:00 PM",
     "completed", "6", "PFA-24-1177"],
    ["Lisa Hartmann", "LHartmann@CedarCounty.example", "Cedar County SO",
     "Group Crisis Intervention (GCI)", "PS-GCI-2024-10", "10/01/2024", "10/02/2024",
     "Completed", "14", "GCI-24-0388"],
    ["Ben Carlsson", "bcarlsson@cedarcounty.example", "Cedar County SO",
     "MHFA Public Safety", "PS-MHFA-2024-06", "06/03/2024", "06/04/2024",
     "Completed", "8", "MHFA-24-2290"],
    ["Jordan Pike", "jordan.pike@riverbend.example", "Riverbend PD",
     "QPR", "PS-QPR-2025-02", "02/03/2025", "02/03/2025 10:05 AM",
     "Completed", "1", "QPR-25-0874"],
    ["Kim Osei", "kim.osei@lakesidecounseling.example", "Pine Lake PD",
     "Officer Wellness and Resilience Seminar", "PS-OWR-2024-11", "11/12/2024", "11/12/2024",
     "Completed", "4", "OWR-24-0019"],
    ["Paul Anders", "paul.anders@pinelake.example", "Pine Lake PD",
     "Advanced Group Crisis Intervention", "PS-AGCI-2025-04", "04/14/2025", "",
     "Withdrawn", "", ""],
    ["Tom Baker", "tom.baker@pinelake.example", "Pine Lake PD",
     "Firearms Qualification - Handgun", "PD-FQ-2025-01", "01/15/2025", "01/15/2025",
     "Completed", "2", "FQ-25-0101"],
    ["Marcus Reyes", "marcus.reyes@pinelake.example", "Pine Lake PD",
     "Group Crisis Intervention", "PS-GCI-2025-06", "06/02/2025", "",
     "Not Started", "", ""],
    # The same completion again, as when two monthly exports overlap.
    ["Marcus Reyes", "marcus.reyes@pinelake.example", "Pine Lake PD",
     "Mental Health First Aid for Public Safety", "PS-MHFA-2023-12", "11/20/2023", "12/05/2023",
     "Complete", "8", "MHFA-23-5512"],
]

# A shorter export saved by Excel on Windows: Windows-1252, accented names.
COPS_1252_ROWS = [
    ["José Peña", "jose.pena@cedarcounty.example", "Cedar County SO",
     "Group Crisis Intervention", "PS-GCI-2024-10", "10/01/2024", "10/02/2024",
     "Completed", "14", "GCI-24-0391"],
    ["Zoë Ramírez", "zoe.ramirez@riverbend.example", "Riverbend PD",
     "Assisting Individuals in Crisis", "PS-AIC-2025-01", "01/08/2025", "",
     "In Progress", "", ""],
    ["Lisa Hartmann", "lhartmann@cedarcounty.example", "Cedar County SO",
     "Assisting Individuals in Crisis (AIC)", "PS-AIC-2025-01", "01/08/2025", "01/23/2025",
     "Completed", "14", "AIC-25-0047"],
    ["Ben Carlsson", "bcarlsson@cedarcounty.example", "Cedar County SO",
     "ASIST", "PS-ASIST-2024-09", "09/09/2024", "09/10/2024",
     "Passed", "15", "ASIST-24-0611"],
    ["Dana Whitfield", "dana.whitfield@pinelake.example", "Pine Lake PD",
     "Peer Support Quarterly", "PL-Q1-2025", "01/14/2025", "01/14/2025",
     "Completed", "4", ""],
]
# fmt: on

# Moodle's course completion report (report/completion/index.php), as Moodle writes it: ID, Name,
# the site's identity fields, two columns per activity criterion (its state, and "<activity> -
# Completion date"), one per other criterion, then "Course complete". Every date is written with
# the language pack's strftimedatetimeshort, in English "%d/%m/%y, %H:%M", and Moodle drops the
# day's leading zero ("4/02/25, 16:40" is 4 February 2025). The file is named after the course's
# short name: completion-<short name>.csv.
MOODLE_GCI_HEADER = [
    "ID",
    "Name",
    "Email address",
    "Attendance - Day 1",
    "Attendance - Day 1 - Completion date",
    "Attendance - Day 2",
    "Attendance - Day 2 - Completion date",
    "Skills demonstration",
    "Skills demonstration - Completion date",
    "Course complete",
]


def moodle_time(when: dt.datetime | None) -> str:
    """A time as Moodle's English language pack writes it in reports: ``4/02/25, 16:40``."""
    if when is None:
        return ""
    return f"{when.day}/{when:%m/%y, %H:%M}"


def moodle_row(user_id: str, name: str, email: str, days: list[dt.datetime | None]) -> list[str]:
    """One report row: the activity criteria (state and date each), then course completion."""
    cells = [user_id, name, email]
    for when in days:
        cells += ["Completed" if when else "Not completed", moodle_time(when)]
    complete = days[-1] if all(days) else None
    return [*cells, moodle_time(complete)]


def _t(day: int, hour: int, minute: int, month: int = 2) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute)  # noqa: DTZ001 - wall-clock times in the report


# Course short name "GCI": completion-gci.csv, the "Download in CSV format" (UTF-8, commas).
MOODLE_GCI_ROWS = [
    moodle_row(
        "10231",
        "Dana Whitfield",
        "dana.whitfield@pinelake.example",
        [_t(3, 9, 5), _t(4, 9, 2), _t(4, 16, 40)],
    ),
    moodle_row(
        "10244", "Marcus Reyes", "marcus.reyes@pinelake.example", [_t(3, 9, 1), _t(4, 9, 0), _t(4, 16, 45)]
    ),
    moodle_row(
        "10251", "Erin Lindqvist", "Erin.Lindqvist@PineLake.example", [_t(3, 9, 7), _t(4, 9, 4), None]
    ),
    moodle_row(
        "10262", "Tom Baker", "tom.baker@pinelake.example", [_t(3, 9, 3), _t(4, 8, 58), _t(4, 23, 50)]
    ),
    moodle_row("10311", "Jake Morrison", "jake.morrison@pinelake.example", [_t(3, 9, 10), None, None]),
    moodle_row(
        "10258", "Maria Santos", "maria.santos@pinelake.example", [_t(3, 9, 0), _t(4, 9, 1), _t(4, 10, 15)]
    ),
    moodle_row(
        "20114", "Lisa Hartmann", " lhartmann@cedarcounty.example", [_t(3, 9, 2), _t(4, 9, 3), _t(5, 8, 30)]
    ),
    moodle_row("20107", "Ben Carlsson", "bcarlsson@cedarcounty.example", [None, None, None]),
    moodle_row(
        "30555", "Alex Moreno", "alex.moreno@riverbend.example", [_t(3, 9, 6), _t(4, 9, 5), _t(4, 16, 50)]
    ),
    moodle_row(
        "30561", "Priya Shah", "priya.shah@riverbend.example", [_t(3, 9, 8), _t(4, 9, 9), _t(4, 17, 5)]
    ),
]

# Course short name "AIC": completion-aic.csv, the "Download in Excel-compatible format" (UTF-16LE
# with a byte-order mark, tab-separated). Two activity criteria, an accent in one of them, and a
# criterion of another kind ("Self completion"): one column, its date.
MOODLE_AIC_HEADER = [
    "ID", "Name", "Email address",
    "Crisis theory", "Crisis theory - Completion date",
    "Skills check (rôle-play)", "Skills check (rôle-play) - Completion date",
    "Self completion",
    "Course complete",
]


def moodle_aic_row(user_id: str, name: str, email: str, days: list[dt.datetime | None]) -> list[str]:
    """Two activities (state and date each), self completion (a date), course completion."""
    first, second, self_completed = days
    cells = [user_id, name, email]
    for when in (first, second):
        cells += ["Completed" if when else "Not completed", moodle_time(when)]
    complete = self_completed if all(days) else None
    return [*cells, moodle_time(self_completed), moodle_time(complete)]


MOODLE_AIC_ROWS = [
    moodle_aic_row("10233", "Chris Dahl", "chris.dahl@pinelake.example",
                   [_t(10, 9, 0, 3), _t(11, 15, 55, 3), _t(11, 16, 30, 3)]),
    moodle_aic_row("10377", "Sarah Nguyen", "sarah.nguyen@pinelake.example", [_t(10, 9, 2, 3), None, None]),
    moodle_aic_row("10244", "Marcus Reyes", "marcus.reyes@pinelake.example",
                   [_t(10, 9, 1, 3), _t(11, 16, 5, 3), _t(13, 8, 15, 3)]),
    moodle_aic_row("30570", "Zoë Lefèvre-Ångström", "zoe.lefevre@riverbend.example",
                   [_t(10, 9, 4, 3), _t(11, 16, 0, 3), _t(11, 16, 20, 3)]),
]


XML_TRANSCRIPT = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- An XML transcript as peertrain's xml-transcript profile reads it. Credits are CEUs. -->
<transcript source="Regional Peer Support Training Consortium" generated="2025-06-30T12:00:00Z">
  <learner id="10231" email="Dana.Whitfield@PineLake.example">
    <name>Dana Whitfield</name>
    <agency>Pine Lake PD</agency>
    <course id="RC-101" record="TR-2024-000101">
      <title>ICISF Group Crisis Intervention</title>
      <status>completed</status>
      <enrolled>2024-05-06</enrolled>
      <completed>2024-05-21T21:30:00Z</completed>
      <ceu>1.4</ceu>
      <certificate>GCI-24-0193</certificate>
      <delivery>in_person</delivery>
      <provider>ICISF</provider>
    </course>
    <course id="RC-115" record="TR-2025-000412">
      <title>Psychological First Aid Online</title>
      <status>completed</status>
      <enrolled>2025-03-01</enrolled>
      <completed>2025-03-05T02:30:00Z</completed>
      <ceu>0.6</ceu>
      <delivery>online</delivery>
      <provider>NCTSN</provider>
    </course>
  </learner>
  <learner id="10251" email="  erin.lindqvist@pinelake.example ">
    <name>Erin   Lindqvist</name>
    <agency>Pine Lake PD</agency>
    <course id="RC-102" record="TR-2025-000233">
      <title>
        Assisting Individuals in Crisis
      </title>
      <status>completed</status>
      <enrolled>2025-01-08</enrolled>
      <completed>2025-01-23T22:15:00-05:00</completed>
      <ceu>1.4</ceu>
      <certificate>AIC-25-0042</certificate>
      <delivery>in_person</delivery>
      <provider>ICISF</provider>
    </course>
    <course id="RC-140" record="TR-2025-000520">
      <title>Reciprocal Peer Support</title>
      <status>in_progress</status>
      <enrolled>2025-04-02</enrolled>
    </course>
  </learner>
  <learner id="10311" email="jake.morrison@pinelake.example">
    <name>Jake Morrison</name>
    <agency>Pine Lake PD</agency>
    <course id="RC-130" record="TR-2024-000377">
      <title>ASIST</title>
      <status>failed</status>
      <enrolled>2024-09-09</enrolled>
      <completed>2024-09-10</completed>
      <ceu>1.5</ceu>
    </course>
    <course id="RC-131" record="TR-2025-000090">
      <title>QPR Gatekeeper Training</title>
      <status>Completed</status>
      <enrolled>2025-01-20</enrolled>
      <completed>2025-01-20T15:00:00Z</completed>
      <ceu>0.1</ceu>
    </course>
  </learner>
  <learner id="20107" email="BCarlsson@CedarCounty.example">
    <name>Ben Carlsson</name>
    <agency>Cedar County SO</agency>
    <course id="RC-150" record="TR-2024-000412">
      <title>Crisis Intervention Team</title>
      <status>completed</status>
      <enrolled>2024-03-04</enrolled>
      <completed>2024-03-08</completed>
      <ceu>4.0</ceu>
      <provider>Cedar County CIT program</provider>
    </course>
    <course id="RC-199" record="TR-2025-000600">
      <title>Tactical Emergency Casualty Care</title>
      <status>completed</status>
      <completed>2025-05-12</completed>
      <ceu>0.8</ceu>
    </course>
  </learner>
  <learner id="40002" email="sam.okafor@northfield.example">
    <name>Sam Okafor</name>
    <agency>Northfield PD</agency>
    <course id="RC-101" record="TR-2025-000301">
      <title>Group Crisis Intervention</title>
      <status>completed</status>
      <enrolled>2025-02-03</enrolled>
      <completed>2025-02-04T23:00:00Z</completed>
      <ceu>1.4</ceu>
    </course>
  </learner>
  <learner id="20114" email="lhartmann@cedarcounty.example">
    <name>Lisa Hartmann</name>
    <agency>Cedar County SO</agency>
    <course id="RC-160" record="TR-2024-000499">
      <title>Mental Health First Aid - Public Safety</title>
      <status>passed</status>
      <enrolled>2024-11-18</enrolled>
      <completed>2024-11-19T20:00:00Z</completed>
      <ceu>0.8</ceu>
      <certificate>MHFA-24-3001</certificate>
    </course>
  </learner>
</transcript>
"""


def csv_text(header: list[str], rows: list[list[str]], blank_tail: int = 2) -> str:
    """CSV as Excel writes it: CRLF line ends, quotes only where needed, blank rows at the end."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    if blank_tail:
        writer.writerow([""] * len(header))  # a row of empty cells: ",,,,,,,,,"
        buffer.write("\r\n" * (blank_tail - 1))  # and empty lines
    return buffer.getvalue()


def write_xlsx(path: Path) -> None:
    """The COPS export as Excel saves it: date cells, one bare serial number, one text date."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Transcript"
    sheet.append(COPS_HEADER)

    def day(text: str) -> dt.datetime | None:
        if not text:
            return None
        fmt = "%m/%d/%Y %I:%M %p" if " " in text else "%m/%d/%Y"
        return dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - wall-clock times, as Excel stores them

    rows = [r for r in COPS_ROWS[:10] if "\n" not in r[3]]
    for number, row in enumerate(rows, start=2):
        name, email, agency, title, course_id, enrolled, completed, status, hours, certificate = row
        hours_value = float(hours) if "." in hours else int(hours) if hours else None
        cells = [name, email, agency, title, course_id, day(enrolled), day(completed), status]
        sheet.append([*cells, hours_value, certificate or None])
        for column in (6, 7):
            cell = sheet.cell(row=number, column=column)
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "mm/dd/yyyy h:mm AM/PM" if cell.value.hour else "mm/dd/yyyy"
    # A completion date that lost its date format: the bare serial 45597 (2024-11-01).
    enrolled = dt.datetime(2024, 11, 1)  # noqa: DTZ001 - spreadsheet dates are naive
    kim = ["Kim Osei", "kim.osei@lakesidecounseling.example", "Pine Lake PD", "QPR", "PS-QPR-2024-11"]
    sheet.append([*kim, enrolled, 45597, "Completed", 1, "QPR-24-0702"])
    sheet.cell(row=sheet.max_row, column=6).number_format = "mm/dd/yyyy"
    # A date typed as text, and hours typed as text.
    chris = [
        "Chris Dahl",
        "chris.dahl@pinelake.example",
        "Pine Lake PD",
        "Peer Support Quarterly",
        "PL-Q1-2025",
    ]
    sheet.append([*chris, "03/04/2025", "03/04/2025", "Completed", "4", None])
    # A row of empty strings and one of whitespace: blank rows to skip.
    sheet.append(["", "", ""])
    sheet.append([" ", None, "  "])
    fixed = dt.datetime(2025, 7, 1, 12, 0, 0)  # noqa: DTZ001 - document properties are naive
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    workbook.properties.creator = "peertrain make_samples.py"
    workbook.save(path)


def main() -> None:
    """Write every sample into this folder."""
    (HERE / "cops-portal-transcript.csv").write_bytes(csv_text(COPS_HEADER, COPS_ROWS).encode("utf-8-sig"))
    (HERE / "cops-portal-transcript-1252.csv").write_bytes(
        csv_text(COPS_HEADER, COPS_1252_ROWS, blank_tail=1).encode("cp1252")
    )
    write_xlsx(HERE / "cops-portal-transcript.xlsx")
    moodle = HERE / "moodle"
    moodle.mkdir(exist_ok=True)
    (moodle / "completion-gci.csv").write_bytes(
        csv_text(MOODLE_GCI_HEADER, MOODLE_GCI_ROWS, blank_tail=0).encode("utf-8")
    )
    excel = io.StringIO()
    csv.writer(excel, delimiter="\t", lineterminator="\r\n").writerows([MOODLE_AIC_HEADER, *MOODLE_AIC_ROWS])
    (moodle / "completion-aic.csv").write_bytes(excel.getvalue().encode("utf-16"))  # little-endian, with a BOM
    (HERE / "transcript.xml").write_bytes(XML_TRANSCRIPT.encode("utf-8"))


if __name__ == "__main__":
    main()
