"""The ``peertrain`` command line: exit status, output formats, privacy, and one-line errors.

Exit status: 0 everyone compliant, 1 any verdict not_met or lapsed, 2 bad input or usage.
Most tests run ``peertrain.cli.main`` in-process; one runs the installed console script.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from peertrain import (
    Status,
    Verdict,
    __version__,
    bundled_pack_ids,
    converter,
    load_bundled_catalogue,
    load_pack,
    read_roster,
)
from peertrain.cli import main
from peertrain.report.output import CSV_COLUMNS
from peertrain.rules.loading import curricula_dir

DATA = Path(__file__).parent / "data"
DEMO = curricula_dir() / "demo"

Write = Callable[..., Path]

SUMMARY = re.compile(
    r"^Summary: (?P<members>\d+) members?, (?P<verdicts>\d+) verdicts?: (?P<met>\d+) met, "
    r"(?P<due_soon>\d+) due soon, (?P<lapsed>\d+) lapsed, (?P<not_met>\d+) not met, "
    r"(?P<grace>\d+) grace, (?P<exempt>\d+) exempt\.$",
    re.MULTILINE,
)

VERDICT_KEYS = {
    "member", "requirement", "pack", "status", "hours_credited", "hours_required", "shortfall",
    "due_on", "lapses_on", "evidence", "citation", "explanation",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``peertrain argv...`` in-process: (exit status, stdout, stderr)."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command argparse rejects: it must exit with status 2 and print exactly one line,
    ending with a pointer to the command's --help; returns that line without the pointer."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    prog = line.split(": error: ")[0]
    suffix = f" (see '{prog} --help')"
    assert line.endswith(suffix), line
    return line.removesuffix(suffix) + "\n"


def one_line_error(err: str) -> str:
    """The message of a one-line 'peertrain: error: ...' report on stderr (no traceback; data
    warnings printed before it are allowed)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("peertrain: warning: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("peertrain: error: ")
    return lines[0].removeprefix("peertrain: error: ")


@pytest.fixture
def tiny_team(write: Write) -> dict[str, Path]:
    """A one-member Washington team whose member holds the 40-hour CJTC course."""
    return {
        "roster": write("roster.csv", "member_id,name,agency\nWA-1,Riley Quinn,Spokane PD\n"),
        "completions": write(
            "completions.csv", "member_id,course,completed_on\nWA-1,CJTC Peer Supporter Training,2025-09-10\n"
        ),
    }


def tiny_args(team: dict[str, Path], *extra: str) -> list[str]:
    """``check`` arguments for the tiny team under the Washington pack as of 2026-01-01."""
    return [
        "check", "--roster", str(team["roster"]), "--completions", str(team["completions"]),
        "--rules", "wa-rcw-43-101-515", "--as-of", "2026-01-01", *extra,
    ]


# -- the demo -------------------------------------------------------------------------------------


def test_demo_table(capsys: pytest.CaptureFixture[str]) -> None:
    """``check --demo`` prints the report as of the demo's date, exits 1 (the demo team has lapsed
    and not-met members), and its summary line agrees with the verdicts in the JSON output."""
    status, out, err = run(capsys, "check", "--demo")
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == "peertrain compliance as of 2026-11-15"
    assert lines[1].startswith("Rule packs: mn-181-9731 (Minn. Stat. § 181.9731 (2020); ")
    assert "PL-01  Dana Whitfield  (Pine Lake PD; coordinator; intervention, postvention)" in lines
    assert "CC-01  Lisa Hartmann  (Cedar County SO; peer_supporter; intervention)" in lines
    summary = SUMMARY.search(out)
    assert summary is not None, out
    assert "peertrain: warning: completion C-0303 (icisf-gci): the record says 13 h, the catalogue 14 h; " \
           "the record's hours were used" in err.splitlines()

    json_status, json_out, _ = run(capsys, "check", "--demo", "--format", "json")
    assert json_status == 1
    verdicts = json.loads(json_out)
    counts = {s.value: sum(v["status"] == s.value for v in verdicts) for s in Status}
    assert summary.groupdict() == {
        "members": "12", "verdicts": str(len(verdicts)), **{k: str(n) for k, n in counts.items()},
    }
    assert counts["lapsed"] + counts["not_met"] > 0
    failing = sorted({v["member"] for v in verdicts if v["status"] in ("lapsed", "not_met")})
    assert lines[-1] == f"Out of compliance: {', '.join(failing)}."


def test_demo_json(capsys: pytest.CaptureFixture[str]) -> None:
    """``--format json`` is a list of verdict objects with the documented keys, one per member and
    requirement, for roster members only, and it structures back into Verdicts losslessly."""
    status, out, _ = run(capsys, "check", "--demo", "--format", "json")
    assert status == 1
    data = json.loads(out)
    assert isinstance(data, list)
    assert data
    roster_ids = {m.id for m in read_roster(DEMO / "roster.csv")}
    for item in data:
        assert isinstance(item, dict)
        assert item.keys() >= VERDICT_KEYS
        assert item["member"] in roster_ids
        assert item["pack"] in ("mn-181-9731", "example-agency")
        assert item["as_of"] == "2026-11-15"
        assert item["status"] in {s.value for s in Status}
    assert len({(v["member"], v["pack"], v["requirement"]) for v in data}) == len(data)
    verdicts = converter.structure(data, list[Verdict])
    assert converter.unstructure(verdicts, list[Verdict]) == data
    assert all(isinstance(v.status, Status) for v in verdicts)
    exempt = [v for v in data if v["status"] == "exempt"]
    assert {(v["member"], v["requirement"]) for v in exempt} == {
        ("PL-07", "rps"), ("PL-08", "standardized-training"),
    }
    assert all(v["waiver"] is not None for v in exempt)


def test_demo_csv(capsys: pytest.CaptureFixture[str]) -> None:
    """``--format csv`` has the documented header, CRLF line ends, and one row per verdict."""
    status, out, _ = run(capsys, "check", "--demo", "--format", "csv")
    assert status == 1
    header = (
        "member,pack,requirement,title,status,as_of,hours_credited,hours_required,shortfall_hours,"
        "shortfall_count,shortfall_courses,shortfall_topics,due_on,lapses_on,evidence,citation,explanation"
    )
    assert out.startswith(header + "\r\n")
    assert header.split(",") == list(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    _, json_out, _ = run(capsys, "check", "--demo", "--format", "json")
    verdicts = json.loads(json_out)
    assert len(rows) == len(verdicts)
    for row, verdict in zip(rows, verdicts, strict=True):
        assert (row["member"], row["pack"], row["requirement"], row["status"]) == (
            verdict["member"], verdict["pack"], verdict["requirement"], verdict["status"],
        )
        assert row["evidence"] == ";".join(verdict["evidence"])
    first = rows[0]
    assert (first["member"], first["requirement"], first["hours_credited"], first["hours_required"]) == (
        "PL-01", "standardized-training", "30", "30",
    )


def test_demo_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``-o FILE`` writes the report to FILE (byte for byte what stdout would show) and prints
    nothing on stdout; the exit status is unchanged."""
    _, expected, _ = run(capsys, "check", "--demo", "--format", "csv")
    target = tmp_path / "report.csv"
    status, out, _ = run(capsys, "check", "--demo", "--format", "csv", "-o", str(target))
    assert status == 1
    assert out == ""
    assert target.read_bytes() == expected.encode("utf-8")


def test_output_file_in_missing_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An output path that cannot be written is a one-line error naming it, exit 2."""
    target = tmp_path / "no-such-folder" / "report.txt"
    status, _, err = run(capsys, "check", "--demo", "--output", str(target))
    assert status == 2
    assert one_line_error(err) == f"{target}: cannot be written: its folder does not exist"


def test_privacy_full(capsys: pytest.CaptureFixture[str]) -> None:
    """The default table shows ids, full names and agencies."""
    _, out, _ = run(capsys, "check", "--demo")
    assert "PL-07  Kim Osei  (Pine Lake PD; clinician; intervention)" in out.splitlines()
    assert "granted by Team coordinator on 2021-03-01" in out


def test_privacy_initials(capsys: pytest.CaptureFixture[str]) -> None:
    """``--privacy initials`` shows initials instead of names: no roster member's full name
    appears anywhere in the table (not even as who granted an exemption)."""
    status, out, _ = run(capsys, "check", "--demo", "--privacy", "initials")
    assert status == 1
    lines = out.splitlines()
    assert "PL-01  D. W.  (Pine Lake PD; coordinator; intervention, postvention)" in lines
    assert "CC-02  B. C.  (Cedar County SO; peer_supporter; postvention)" in lines
    for member in read_roster(DEMO / "roster.csv"):
        assert member.name not in out
        for part in member.name.split():
            assert not re.search(rf"\b{re.escape(part)}\b", out), part



def test_privacy_none(capsys: pytest.CaptureFixture[str]) -> None:
    """``--privacy none`` shows member ids only: no names, no initials, no agencies."""
    status, out, _ = run(capsys, "check", "--demo", "--privacy", "none")
    assert status == 1
    lines = out.splitlines()
    assert "PL-01  (coordinator; intervention, postvention)" in lines
    assert "CC-01  (peer_supporter; intervention)" in lines
    members = read_roster(DEMO / "roster.csv")
    for member in members:
        assert member.name not in out
        assert f"{member.id}  {member.initials}" not in out
        assert member.agency not in out



def test_json_and_csv_carry_no_member_names(capsys: pytest.CaptureFixture[str]) -> None:
    """JSON and CSV identify members by id only: no roster member's name appears in them."""
    names = [m.name for m in read_roster(DEMO / "roster.csv")]
    for fmt in ("json", "csv"):
        _, out, _ = run(capsys, "check", "--demo", "--format", fmt)
        assert not [name for name in names if name in out], fmt


def test_as_of_changes_the_date(capsys: pytest.CaptureFixture[str]) -> None:
    """``--as-of`` overrides the demo's date: the report and every verdict use it."""
    status, out, _ = run(capsys, "check", "--demo", "--as-of", "2025-06-30", "--format", "json")
    assert status in (0, 1)
    assert {v["as_of"] for v in json.loads(out)} == {"2025-06-30"}


@pytest.mark.parametrize("bad", ["2026-02-30", "30/06/2026", "yesterday", ""])
def test_bad_as_of_date(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    """A date that is not YYYY-MM-DD is a usage error: exit 2 with argparse's message."""
    err = run_usage_error(capsys, "check", "--demo", "--as-of", bad)
    assert err.splitlines()[-1] == (
        f"peertrain check: error: argument --as-of: {bad!r} is not a date written YYYY-MM-DD"
    )


@pytest.mark.parametrize("bad", ["-1", "soon", "1.5"])
def test_bad_due_within(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    """``--due-within`` must be a whole number of days >= 0 (exit 2 otherwise)."""
    err = run_usage_error(capsys, "check", "--demo", f"--due-within={bad}")
    assert err.splitlines()[-1] == (
        f"peertrain check: error: argument --due-within: {bad!r} is not a whole number of days >= 0"
    )


def test_demo_with_own_files_is_a_usage_error(capsys: pytest.CaptureFixture[str], tiny_team) -> None:
    """``--demo`` together with ``--roster`` is refused (exit 2)."""
    err = run_usage_error(capsys, "check", "--demo", "--roster", str(tiny_team["roster"]))
    assert err.splitlines()[-1] == (
        "peertrain check: error: --demo uses the bundled demo files; leave out --roster, --completions, "
        "--exemptions and --ledger"
    )


def test_missing_rules_is_a_usage_error(capsys: pytest.CaptureFixture[str], tiny_team) -> None:
    """Without ``--rules`` (and not the demo) the error lists the bundled packs, exit 2."""
    err = run_usage_error(
        capsys, "check", "--roster", str(tiny_team["roster"]), "--completions", str(tiny_team["completions"])
    )
    assert err.splitlines()[-1] == (
        f"peertrain check: error: choose rule packs with --rules (bundled: {', '.join(bundled_pack_ids())})"
    )


def test_missing_roster_argument(capsys: pytest.CaptureFixture[str]) -> None:
    """``check`` without data files or ``--demo`` is a usage error (exit 2)."""
    err = run_usage_error(capsys, "check", "--rules", "ut-post")
    assert err.splitlines()[-1] == (
        "peertrain check: error: give --roster and --completions, or --ledger (or --demo to try the bundled demo team)"
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the package version and exits 0."""
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"peertrain {__version__}\n"


# -- one-line errors, exit 2 ----------------------------------------------------------------------


def test_bad_rule_pack_file(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad rule pack file is one line naming the file and key (no traceback), exit 2."""
    path = DATA / "packs" / "unknown-course.toml"
    status, out, err = run(capsys, "check", "--demo", "--rules", str(path))
    assert status == 2
    assert out == ""
    assert one_line_error(err) == (
        f"{path}: requirements[0].counts.courses[1]: unknown course id 'basket-weaving'"
    )


def test_bad_rule_pack_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    """A rule pack with a TOML syntax error is one line naming file and position, exit 2."""
    path = DATA / "packs" / "syntax-error.toml"
    status, _, err = run(capsys, "check", "--demo", "--rules", str(path))
    assert status == 2
    line = one_line_error(err)
    assert line.startswith(f"{path}: not valid TOML: ")  # then tomllib's words, which vary by Python
    assert "line 7" in line


def test_missing_roster_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_team) -> None:
    """A roster path that does not exist: one line, exit 2."""
    missing = tmp_path / "nobody.csv"
    status, _, err = run(
        capsys, "check", "--roster", str(missing), "--completions", str(tiny_team["completions"]),
        "--rules", "ut-post",
    )
    assert status == 2
    assert one_line_error(err) == f"{missing}: no such file"


def test_missing_pack_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A pack path that does not exist: one line, exit 2."""
    missing = tmp_path / "my-pack.toml"
    status, _, err = run(capsys, "check", "--demo", "--rules", str(missing))
    assert status == 2
    assert one_line_error(err) == f"{missing}: no such file"


def test_unknown_pack_id(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown pack id: one line listing the bundled packs, exit 2."""
    status, _, err = run(capsys, "check", "--demo", "--rules", "tx-post")
    assert status == 2
    assert one_line_error(err) == (
        f"tx-post: no such rule pack; bundled packs are: {', '.join(bundled_pack_ids())}"
    )


def test_bad_roster_row(capsys: pytest.CaptureFixture[str], write: Write, tiny_team) -> None:
    """A bad roster cell: one line naming file, row and field, exit 2."""
    roster = write("bad-roster.csv", "member_id,name,roles\nWA-1,Riley Quinn,sergeant\n")
    status, _, err = run(
        capsys, "check", "--roster", str(roster), "--completions", str(tiny_team["completions"]),
        "--rules", "wa-rcw-43-101-515",
    )
    assert status == 2
    assert one_line_error(err) == (
        f"{roster}, row 2, field 'roles': 'sergeant' is not one of: peer_supporter, coordinator, "
        "clinician, chaplain"
    )


def test_completion_for_unknown_member(capsys: pytest.CaptureFixture[str], write: Write, tiny_team) -> None:
    """A completion for someone not on the roster: one line naming file, row and field, exit 2."""
    completions = write("bad-completions.csv", "member_id,course,completed_on\nWA-2,qpr,2025-01-01\n")
    status, _, err = run(
        capsys, "check", "--roster", str(tiny_team["roster"]), "--completions", str(completions),
        "--rules", "wa-rcw-43-101-515",
    )
    assert status == 2
    assert one_line_error(err) == f"{completions}, row 2, field 'member_id': 'WA-2' is not on the roster"


def test_catalogue_clash_with_bundled(capsys: pytest.CaptureFixture[str]) -> None:
    """An extra catalogue reusing a bundled course's name: one line naming the extra file and the
    key, and where the name is already used (no traceback), exit 2."""
    path = DATA / "catalogues" / "clashes-with-bundled.toml"
    status, _, err = run(capsys, "check", "--demo", "--catalog", str(path))
    assert status == 2
    index = [c.id for c in load_bundled_catalogue()].index("asist")
    assert one_line_error(err) == (
        f"{path}: courses[0].aliases[0]: the name 'asist' is already used by course 'asist' "
        f"({curricula_dir() / 'courses.toml'}: courses[{index}].id)"
    )


def test_catalogue_reusing_bundled_id(capsys: pytest.CaptureFixture[str], write: Write) -> None:
    """An extra catalogue redefining a bundled course id: one line naming the extra file, exit 2."""
    path = write("mine.toml", '[[courses]]\nid = "qpr"\ntitle = "Our QPR"\nprovider = "Agency"\n')
    status, _, err = run(capsys, "check", "--demo", "--catalog", str(path))
    assert status == 2
    assert one_line_error(err) == (
        f"{path}: courses[0].id: duplicate course id 'qpr' (first in {curricula_dir() / 'courses.toml'})"
    )


# -- a tiny team of our own -----------------------------------------------------------------------


def test_compliant_team_exits_0(capsys: pytest.CaptureFixture[str], tiny_team) -> None:
    """A team whose only member holds the 40-hour course is compliant: exit 0, the summary counts
    one met verdict and says everyone is in compliance."""
    status, out, err = run(capsys, *tiny_args(tiny_team))
    assert status == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[:4] == [
        "peertrain compliance as of 2026-01-01",
        "Rule packs: wa-rcw-43-101-515 (RCW 43.101.515 (2024 c 295 § 2))",
        "",
        "WA-1  Riley Quinn  (Spokane PD; peer_supporter)",
    ]
    assert lines[4].split() == ["met", "wa-rcw-43-101-515/peer-supporter-training"]
    assert "40 of 40 h" in lines[5]
    assert lines[-2:] == [
        "Summary: 1 member, 1 verdict: 1 met, 0 due soon, 0 lapsed, 0 not met, 0 grace, 0 exempt.",
        "Everyone is in compliance.",
    ]


def test_short_hours_exit_1_with_warning(capsys: pytest.CaptureFixture[str], write: Write, tiny_team) -> None:
    """The same member with a record of only 24 h is not met (exit 1), and the mismatch with the
    catalogue's 40 h is a warning on stderr, hours written plainly."""
    tiny_team["completions"] = write(
        "short.csv", "member_id,course,completed_on,hours\nWA-1,wa-cjtc-peer-40,2025-09-10,24\n"
    )
    status, out, err = run(capsys, *tiny_args(tiny_team, "--format", "json"))
    assert status == 1
    [verdict] = json.loads(out)
    assert (verdict["status"], verdict["hours_credited"], verdict["hours_required"]) == ("not_met", 24, 40)
    assert verdict["shortfall"]["hours"] == 16
    assert err == (
        "peertrain: warning: completion WA-1/wa-cjtc-peer-40/2025-09-10 (wa-cjtc-peer-40): the record says "
        "24 h, the catalogue 40 h; the record's hours were used\n"
    )


def test_exemption_makes_team_compliant(capsys: pytest.CaptureFixture[str], write: Write, tiny_team) -> None:
    """With no training but an active equivalency for the requirement, the verdict is exempt and
    the exit status 0."""
    tiny_team["completions"] = write("none.csv", "member_id,course,completed_on\n")
    exemptions = write(
        "exemptions.csv",
        "member_id,pack,requirement,kind,granted_by,granted_on,reason\n"
        "WA-1,wa-rcw-43-101-515,peer-supporter-training,equivalency,Chief,2025-01-01,Oregon course\n",
    )
    status, out, _ = run(capsys, *tiny_args(tiny_team, "--exemptions", str(exemptions), "--format", "json"))
    assert status == 0
    [verdict] = json.loads(out)
    assert verdict["status"] == "exempt"
    assert verdict["waiver"]["reason"] == "Oregon course"


def test_exemption_for_unknown_requirement(
    capsys: pytest.CaptureFixture[str], write: Write, tiny_team
) -> None:
    """An exemption naming a requirement the selected pack does not have: one line naming the file,
    the field and the pack's requirements, exit 2."""
    exemptions = write(
        "exemptions.csv",
        "member_id,pack,requirement,kind,granted_by,granted_on,reason\n"
        "WA-1,wa-rcw-43-101-515,annual-hours,exemption,Chief,2025-01-01,Retired\n",
    )
    status, out, err = run(capsys, *tiny_args(tiny_team, "--exemptions", str(exemptions)))
    assert status == 2
    assert out == ""
    assert one_line_error(err) == (
        f"{exemptions}, row 2, field 'requirement': pack 'wa-rcw-43-101-515' has no requirement "
        "'annual-hours' (it has: peer-supporter-training)"
    )


def test_exemption_naming_unknown_evidence(capsys: pytest.CaptureFixture[str], write: Write, tiny_team) -> None:
    """Evidence must be completion ids on record: an unknown one is an error at its row and field."""
    exemptions = write(
        "exemptions.csv",
        "member_id,pack,requirement,kind,granted_by,granted_on,reason,evidence\n"
        "WA-1,wa-rcw-43-101-515,peer-supporter-training,equivalency,Chief,2025-01-01,Oregon course,NOPE-1\n",
    )
    status, _, err = run(capsys, *tiny_args(tiny_team, "--exemptions", str(exemptions)))
    assert status == 2
    assert one_line_error(err) == f"{exemptions}, row 2, field 'evidence': 'NOPE-1' is not a completion id on record"


def test_exemption_for_a_pack_not_checked_is_a_warning(
    capsys: pytest.CaptureFixture[str], write: Write, tiny_team
) -> None:
    """A misspelt (or other run's) pack id is not silently ignored: a warning names the row."""
    exemptions = write(
        "exemptions.csv",
        "member_id,pack,requirement,kind,granted_by,granted_on,reason\n"
        "WA-1,wa-rcw-43-101-51,peer-supporter-training,exemption,Chief,2025-01-01,Retired\n",
    )
    status, _, err = run(capsys, *tiny_args(tiny_team, "--exemptions", str(exemptions)))
    assert status == 0
    assert err == (
        f"peertrain: warning: {exemptions}:2: pack 'wa-rcw-43-101-51' is not among the packs checked "
        "(wa-rcw-43-101-515); this exemption is not used\n"
    )


def test_privacy_reduces_names_in_recorded_text_in_every_format(
    capsys: pytest.CaptureFixture[str], write: Write, tiny_team
) -> None:
    """A coordinator's name typed into granted_by is reduced to initials or the member id in the
    table, JSON and CSV alike when --privacy asks; at full it is shown as recorded."""
    roster = write(
        "roster2.csv",
        "member_id,name,roles\nWA-1,Wanda Able,peer_supporter\nCO-1,Carla Boss,coordinator\n",
    )
    exemptions = write(
        "exemptions.csv",
        "member_id,pack,requirement,kind,granted_by,granted_on,reason\n"
        "WA-1,wa-rcw-43-101-515,peer-supporter-training,exemption,Carla Boss,2025-01-01,Retired\n",
    )
    completions = write("c.csv", "member_id,course,completed_on\n")
    base = ["check", "--roster", str(roster), "--completions", str(completions), "--exemptions",
            str(exemptions), "--rules", "wa-rcw-43-101-515", "--as-of", "2026-01-01"]
    for fmt in ("table", "json", "csv"):
        _, full, _ = run(capsys, *base, "--format", fmt)
        assert "Carla Boss" in full, fmt
        _, initials, _ = run(capsys, *base, "--format", fmt, "--privacy", "initials")
        assert "Carla Boss" not in initials, fmt
        assert "C. B." in initials, fmt
        _, none, _ = run(capsys, *base, "--format", fmt, "--privacy", "none")
        assert "Carla Boss" not in none, fmt
        assert "C. B." not in none, fmt
        assert "CO-1" in none, fmt


def test_exemption_for_other_pack_is_ignored(
    capsys: pytest.CaptureFixture[str], write: Write, tiny_team
) -> None:
    """An exemption for a pack not being checked this time is accepted and has no effect."""
    exemptions = write(
        "exemptions.csv",
        "member_id,pack,requirement,kind,granted_by,granted_on,reason\n"
        "WA-1,example-agency,no-such-requirement,exemption,Chief,2025-01-01,Not applicable\n",
    )
    status, out, _ = run(capsys, *tiny_args(tiny_team, "--exemptions", str(exemptions), "--format", "json"))
    assert status == 0
    assert [v["status"] for v in json.loads(out)] == ["met"]


def test_extra_catalogue_and_own_pack(capsys: pytest.CaptureFixture[str], write: Write, tiny_team) -> None:
    """``--catalog`` adds an agency's course that an agency pack file (given by path) requires;
    completions may name it by alias."""
    completions = write(
        "local.csv", "member_id,course,completed_on\nWA-1,Resilience Workshop,2025-06-01\n"
    )
    status, out, _ = run(
        capsys, "check", "--roster", str(tiny_team["roster"]), "--completions", str(completions),
        "--catalog", str(DATA / "catalogues" / "local-courses.toml"),
        "--rules", str(DATA / "packs" / "good-local-course.toml"), "--as-of", "2026-01-01",
        "--format", "json",
    )
    assert status == 0
    [verdict] = json.loads(out)
    assert (verdict["pack"], verdict["requirement"], verdict["status"]) == ("test-pack", "local", "met")
    assert verdict["evidence"] == ["WA-1/local-resilience/2025-06-01"]


# -- rules ----------------------------------------------------------------------------------------


def test_rules_list(capsys: pytest.CaptureFixture[str]) -> None:
    """``rules list`` prints each bundled pack: id, version and title, then its citation; exit 0."""
    status, out, err = run(capsys, "rules", "list")
    assert status == 0
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 2 * len(bundled_pack_ids())
    assert [line.split()[0] for line in lines[::2]] == bundled_pack_ids()
    assert lines[4:6] == [
        "mn-181-9731          2020        Minnesota peer support counselor training standard",
        "                     Minn. Stat. § 181.9731 (2020); MN DPS peer-to-peer training standards",
    ]
    assert lines[2] == (
        "icisf-cost           unverified  ICISF Certificate of Specialized Training (configurable)"
    )


def test_rules_show_text(capsys: pytest.CaptureFixture[str]) -> None:
    """``rules show example-agency`` prints the pack's header and every requirement with its kind,
    whom it applies to, and the parts of any_of / all_of requirements, indented."""
    status, out, _ = run(capsys, "rules", "show", "example-agency")
    assert status == 0
    lines = out.splitlines()
    assert lines[:3] == [
        "Example agency peer support team training policy",
        "  id: example-agency  version: 2026.1",
        "  citation: Example agency policy 4.2, Peer support team training",
    ]
    assert "  new members: 6 months of grace" in lines
    assert (
        "  approved providers: Agency, Cop2Cop, ICISF, Johns Hopkins, League of Minnesota Cities, "
        "LivingWorks, National Council for Mental Wellbeing, Peer Support Advisory Board of Minnesota, "
        "QPR Institute"
    ) in lines
    body = lines[lines.index("") + 1:]
    assert body == [
        '  quarterly-training [recurring]: Attend one team training session each quarter',
        '    1 session(s) from mn-pasb-quarterly, team-quarterly each quarter',
        '    applies to: roles coordinator, peer_supporter',
        '  annual-hours [hours]: 12 hours of peer support training each calendar year (4 in person)',
        '    12 h by approved providers each year',
        '    of which at least 4 h in person',
        '    applies to: roles coordinator, peer_supporter',
        '  rps [certificate]: Intervention members: Reciprocal Peer Support (RPS)',
        '    hold one of: cop2cop-rps (valid as long as the catalogue says)',
        '    applies to: functions intervention',
        '  crisis-response [any_of]: Postvention members: current ICISF group crisis intervention or PFA',
        '    applies to: functions postvention',
        '    any one of:',
        '      icisf-group [certificate]: ICISF Group Crisis Intervention, current within 36 months',
        '        hold one of: icisf-gci, icisf-agci (valid 36 months); counting in person',
        '      pfa [certificate]: Psychological First Aid, current within 36 months',
        '        hold one of: jh-pfa, nctsn-pfa-online (valid 36 months)',
        '  prevention-core [all_of]: Prevention members: MHFA-PS and suicide prevention courses',
        '    applies to: functions prevention',
        '    all of:',
        '      mhfa [certificate]: Mental Health First Aid - Public Safety, current',
        '        hold one of: mhfa-ps (valid as long as the catalogue says)',
        '      suicide-prevention [n_of]: Two suicide prevention courses within 36 months',
        '        2 different of: qpr, asist, mhfa-ps within the last 36 months',
        '  prevention-topics [topics]: Prevention members: cover suicide prevention, self-care and psychoeducation',
        '    topics: psychoeducation, self-care, suicide-prevention; any training within the last 36 months',
        '    applies to: functions prevention',
    ]


def test_rules_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    """``rules show --format json`` prints the pack as JSON that structures back to the same pack."""
    status, out, _ = run(capsys, "rules", "show", "example-agency", "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert (data["id"], data["version"], data["grace_months"]) == ("example-agency", "2026.1", 6)
    assert [r["kind"] for r in data["requirements"]] == [
        "recurring", "hours", "certificate", "any_of", "all_of", "topics",
    ]
    assert data["requirements"][0]["window"] == {"kind": "periodic", "months": 3, "anchor": "2000-01-01"}
    from peertrain import RulePack

    assert converter.structure(data, RulePack) == load_pack("example-agency", load_bundled_catalogue())


def test_rules_show_pack_file(capsys: pytest.CaptureFixture[str]) -> None:
    """``rules show PATH`` shows a pack file; a bad one is a one-line error, exit 2."""
    status, _, err = run(capsys, "rules", "show", str(DATA / "packs" / "duplicate-requirement-ids.toml"))
    assert status == 2
    assert one_line_error(err) == (
        f"{DATA / 'packs' / 'duplicate-requirement-ids.toml'}: requirements[2].id: duplicate requirement id "
        "'hours' (first at requirements[0])"
    )


def test_rules_show_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    """``rules show`` of an unknown id: one line, exit 2."""
    status, _, err = run(capsys, "rules", "show", "nope")
    assert status == 2
    assert one_line_error(err).startswith("nope: no such rule pack; bundled packs are: example-agency, ")


# -- the installed console script -----------------------------------------------------------------


def test_console_script_demo() -> None:
    """The installed ``peertrain`` command runs ``check --demo``: exit 1 and the summary line."""
    script = Path(sys.executable).parent / "peertrain"
    found = str(script) if script.exists() else shutil.which("peertrain")
    command = [found] if found else [sys.executable, "-m", "peertrain"]
    completed = subprocess.run(
        [*command, "check", "--demo"], capture_output=True, text=True, encoding="utf-8", timeout=120,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.startswith("peertrain compliance as of 2026-11-15\n")
    assert SUMMARY.search(completed.stdout) is not None
    assert "Traceback" not in completed.stderr
