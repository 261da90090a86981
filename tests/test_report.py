"""The compliance report (``peertrain report``, :mod:`peertrain.report`): content, HTML, JSON, CSV.

The expected numbers are hand-checked against the bundled demo as of 2026-11-15 (12 members, 50
verdicts: 36 met, 4 due soon, 2 lapsed, 3 not met, 3 grace, 2 exempt). Member-level status is the
worst verdict (exempt counts as met): not met PL-04, PL-05, CC-01; lapsed PL-03, CC-02; due soon
PL-02, PL-09; met PL-01, PL-06, PL-07 (exempt), PL-08, PL-10.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import lxml.html
import pytest

from demo_team import Demo
from peertrain import Member, Status, build_report, render_csv, render_html, render_json
from peertrain.cli import main
from peertrain.report import SECTION_IDS, Report, Source
from peertrain.rules.loading import curricula_dir, data_dir
from peertrain.rules.privacy import Privacy

SAMPLES = data_dir() / "integrations" / "samples"
MEMBER_IDS = [f"PL-{n:02d}" for n in range(1, 11)] + ["CC-01", "CC-02"]
STATUS_COLUMNS = ["not_met", "lapsed", "due_soon", "grace", "met", "no_requirements"]


@pytest.fixture(scope="module")
def demo() -> Demo:
    return Demo()


def make_report(demo: Demo, privacy: Privacy = Privacy.FULL) -> Report:
    return build_report(
        demo.members, demo.completions, demo.packs, demo.result, catalogue=demo.catalogue, privacy=privacy,
        sources=[Source("roster", "roster.csv", "bundled demo team")],
    )


@pytest.fixture(scope="module")
def report(demo: Demo) -> Report:
    return make_report(demo)


@pytest.fixture(scope="module")
def html_text(report: Report) -> str:
    return render_html(report)


@pytest.fixture(scope="module")
def page(html_text: str) -> Any:
    return lxml.html.document_fromstring(html_text)


@pytest.fixture(scope="module")
def data(report: Report) -> Any:
    return json.loads(render_json(report))


# -- the content, hand-checked -----------------------------------------------------------------


def test_verdict_counts_are_those_of_check(report: Report) -> None:
    v = report.glance.verdicts
    assert (v.total, v.met, v.due_soon, v.lapsed, v.not_met, v.grace, v.exempt) == (50, 36, 4, 2, 3, 3, 2)


def test_member_status_counts_overall_by_function_and_by_agency(data: Any) -> None:
    glance = data["glance"]

    def row(counts: dict[str, Any]) -> list[Any]:
        return [counts["group"], counts["members"], *(counts[s] for s in STATUS_COLUMNS)]

    assert row(glance["overall"]) == ["all members", 12, 3, 2, 2, 0, 5, 0]
    assert [row(g) for g in glance["by_function"]] == [
        ["prevention", 4, 1, 0, 2, 0, 1, 0],   # PL-05 / PL-02, PL-09 / PL-08
        ["intervention", 6, 3, 0, 0, 0, 3, 0],  # PL-04, PL-05, CC-01 / PL-01, PL-07, PL-10
        ["postvention", 6, 0, 2, 0, 0, 4, 0],   # PL-03, CC-02 / PL-01, PL-06, PL-08, PL-10
    ]
    assert [row(g) for g in glance["by_agency"]] == [
        ["Cedar County SO", 2, 1, 1, 0, 0, 0, 0],
        ["Pine Lake PD", 10, 2, 1, 2, 0, 5, 0],
    ]


def test_member_statuses(report: Report) -> None:
    statuses = {m.id: m.status.value if m.status else None for m in report.members}
    assert statuses == {
        "PL-01": "met", "PL-02": "due_soon", "PL-03": "lapsed", "PL-04": "not_met", "PL-05": "not_met",
        "PL-06": "met", "PL-07": "met", "PL-08": "met", "PL-09": "due_soon", "PL-10": "met",
        "CC-01": "not_met", "CC-02": "lapsed",
    }


def test_lapses_per_month_for_the_next_twelve_months(data: Any) -> None:
    lapses = data["lapses"]
    assert [m["month"] for m in lapses] == [
        "2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06", "2027-07",
        "2027-08", "2027-09", "2027-10",
    ]
    assert lapses[0]["start"] == "2026-11-16"
    assert lapses[-1]["end"] == "2027-10-31"
    # 2026-12: PL-02 prevention-core; 2027-01: quarterly training of PL-02, PL-09, CC-02;
    # 2027-02: PL-05's three grace periods end and PL-02's topics; 2027-04: eight quarterly trainings.
    assert [m["requirements"] for m in lapses] == [0, 1, 3, 4, 0, 8, 3, 1, 0, 0, 1, 0]
    assert [m["members"] for m in lapses] == [0, 1, 3, 2, 0, 8, 2, 1, 0, 0, 1, 0]


def test_hours_by_function_per_quarter(data: Any) -> None:
    assert data["hour_functions"] == ["prevention", "intervention", "postvention"]
    quarters = data["hours"]
    assert [q["quarter"] for q in quarters] == [
        "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4",
    ]
    # 2026-Q4 to the as-of date: six team sessions of 4 h (PL-01, 03, 04, 05, 08, 10) and two PSAB
    # sessions of 3 h (PL-09, CC-01). Prevention: PL-05, PL-08 (4 h each), PL-09 (3 h) = 11.
    assert quarters[-1] == {
        "quarter": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31", "hours": [11, 19, 16], "total": 30,
    }
    assert [q["total"] for q in quarters] == [37, 21, 8, 7, 26, 34, 47, 30]


def test_member_rows_carry_each_verdict(report: Report, demo: Demo) -> None:
    assert [m.id for m in report.members] == MEMBER_IDS
    pl03 = next(m for m in report.members if m.id == "PL-03")
    assert pl03.name == "Erin Lindqvist"
    assert pl03.agency == "Pine Lake PD"
    assert pl03.next_lapse is not None
    assert pl03.next_lapse.isoformat() == "2027-04-01"
    crisis = next(r for r in pl03.requirements if r.requirement == "crisis-response")
    assert crisis.status.value == "lapsed"
    assert crisis.lapses_on is not None
    assert crisis.lapses_on.isoformat() == "2026-06-12"
    assert sum(len(m.requirements) for m in report.members) == len(demo.result.verdicts)


def test_packs_and_citations(report: Report) -> None:
    assert [p.id for p in report.packs] == ["mn-181-9731", "example-agency"]
    mn = report.packs[0]
    assert "181.9731" in mn.citation
    rps = next(r for r in report.packs[1].requirements if r.id == "rps")
    assert rps.members == 6  # the intervention members


# -- the HTML ------------------------------------------------------------------------------------


def test_html_has_every_section_and_both_charts(page: Any) -> None:
    assert [s.get("id") for s in page.xpath("//section[@id]")] == list(SECTION_IDS)
    for chart in ("chart-lapses", "chart-hours"):
        (svg,) = page.xpath(f"//figure/svg[@id='{chart}']")
        assert svg.get("role") == "img"
        assert svg.xpath("./title")[0].text_content()
        assert svg.xpath("./desc")[0].text_content()
        assert svg.xpath(".//path")  # drawn, not empty
    assert page.xpath("//section[@id='upcoming-lapses']//svg[@id='chart-lapses']")
    assert page.xpath("//section[@id='training-hours']//svg[@id='chart-hours']")
    assert page.xpath("//time/@datetime") == ["2026-11-15"]


def _table(page: Any, table_id: str) -> list[list[str]]:
    (table,) = page.xpath(f"//table[@id='{table_id}']")
    return [[cell.text_content().strip() for cell in row.xpath("./th|./td")] for row in table.xpath("./tbody/tr")]


def test_html_shows_the_same_numbers_as_the_json(page: Any, data: Any) -> None:
    glance = data["glance"]

    def expected(counts: dict[str, Any]) -> list[str]:
        return [counts["group"], str(counts["members"]), *(str(counts[s]) for s in STATUS_COLUMNS)]

    assert _table(page, "glance-overall") == [expected(glance["overall"])]
    assert _table(page, "glance-function") == [expected(g) for g in glance["by_function"]]
    assert _table(page, "glance-agency") == [expected(g) for g in glance["by_agency"]]
    v = glance["verdicts"]
    assert _table(page, "verdict-counts") == [
        ["Verdicts", *(str(v[k]) for k in ("total", "met", "due_soon", "lapsed", "not_met", "grace", "exempt"))]
    ]
    assert _table(page, "lapses-table") == [
        ["Requirements", *(str(m["requirements"]) for m in data["lapses"])],
        ["Members", *(str(m["members"]) for m in data["lapses"])],
    ]
    hours = _table(page, "hours-table")
    for index, function in enumerate(data["hour_functions"]):
        assert hours[index] == [function, *(str(q["hours"][index]) for q in data["hours"])]
    assert hours[-1] == ["All courses", *(str(q["total"]) for q in data["hours"])]
    # The chart descriptions carry the same numbers as the tables.
    desc = page.xpath("//svg[@id='chart-lapses']/desc")[0].text_content()
    assert "2027-04: 8" in desc
    assert "2026-Q4: prevention 11 h, intervention 19 h, postvention 16 h" in page.xpath(
        "//svg[@id='chart-hours']/desc"
    )[0].text_content()


def test_html_member_tables_match_the_json(page: Any, data: Any) -> None:
    sections = page.xpath("//section[@id='members']/section[@data-member]")
    assert [s.get("data-member") for s in sections] == [m["id"] for m in data["members"]]
    for section, member in zip(sections, data["members"], strict=True):
        rows = section.xpath(".//table/tbody/tr")
        assert [(r.get("data-requirement"), r.get("data-status")) for r in rows] == [
            (f"{r['pack']}/{r['requirement']}", r["status"]) for r in member["requirements"]
        ]
        for row, requirement in zip(rows, member["requirements"], strict=True):
            cells = [c.text_content() for c in row.xpath("./td")]
            assert cells[3] == ", ".join(requirement["evidence"])
            assert cells[5] == requirement["explanation"]
        heading = section.xpath(".//h3")[0].text_content()
        assert heading == f"{member['id']} {member['name']}"
    pl04 = page.xpath("//section[@data-member='PL-04']")[0].text_content()
    assert "not met" in pl04


def test_html_is_self_contained(html_text: str, page: Any) -> None:
    assert not page.xpath("//script|//link|//img|//iframe|//object|//embed")
    for url in page.xpath("//@href|//@src|//@xlink:href", namespaces={"xlink": "http://www.w3.org/1999/xlink"}):
        assert url.startswith("#"), url
    style = "".join(page.xpath("//style/text()"))
    assert "url(" not in style
    assert "@import" not in style
    assert "@page { size: letter;" in style
    # No address of anything outside the file, except the SVG namespaces and citation text.
    packs = page.xpath("//section[@id='rule-packs']")[0]
    cited = {url for text in packs.itertext() for url in re.findall(r"https?://\S+", text)}
    outside = set(re.findall(r"https?://[^\s\"'<>]+", html_text)) - cited
    assert outside == {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, outside


def test_generating_twice_gives_identical_output(demo: Demo, html_text: str) -> None:
    again = make_report(demo)
    assert render_html(again) == html_text
    assert render_json(again) == render_json(make_report(demo))
    assert render_csv(again) == render_csv(make_report(demo))


def test_text_is_escaped_in_html(demo: Demo) -> None:
    hostile = [attrs.evolve(demo.members[0], name="<script>alert(1)</script> Smith"), *demo.members[1:]]
    text = render_html(build_report(hostile, demo.completions, demo.packs, demo.result, catalogue=demo.catalogue))
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Smith" in text


# -- privacy -------------------------------------------------------------------------------------


def _people(demo: Demo) -> list[str]:
    words = []
    for member in demo.members:
        words.append(member.name)
        words.extend(member.name.split())
        words.extend(filter(None, [member.email, member.portal_user_id]))
    return words


def test_at_privacy_none_no_name_or_email_appears_anywhere(demo: Demo) -> None:
    report = make_report(demo, Privacy.NONE)
    for text in (render_html(report), render_json(report), render_csv(report)):
        for word in _people(demo):
            assert word not in text, word
        assert "Pine Lake PD; roles" not in text
    assert all(m.name is None and m.agency is None for m in report.members)
    # The aggregates still count by agency.
    assert [g.group for g in report.glance.by_agency] == ["Cedar County SO", "Pine Lake PD"]


def test_at_privacy_initials_names_are_initials_and_exemption_reasons_are_left_out(demo: Demo) -> None:
    report = make_report(demo, Privacy.INITIALS)
    text = render_html(report)
    assert "PL-03 E. L." in text
    for member in demo.members:
        assert member.name not in text
    assert "Licensed clinician" not in text
    assert "(reason left out)" in text
    assert any("initials" in note for note in report.left_out)
    assert any("Reasons for exemptions" in note for note in report.left_out)
    full = render_html(make_report(demo, Privacy.FULL))
    assert "Licensed clinician" in full


def test_left_out_always_says_support_conversations_are_not_tracked(report: Report) -> None:
    assert any("conversations" in note for note in report.left_out)
    assert any("email" in note for note in report.left_out)


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_rows_carry_the_same_numbers(report: Report, data: Any) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    overall = {r["measure"]: r["value"] for r in rows if r["section"] == "at_a_glance" and r["group"] == "overall"}
    assert overall == {"members": "12", "not_met": "3", "lapsed": "2", "due_soon": "2", "grace": "0", "met": "5",
                       "no_requirements": "0"}
    lapses = [r["value"] for r in rows if r["section"] == "lapses" and r["measure"] == "requirements"]
    assert lapses == [str(m["requirements"]) for m in data["lapses"]]
    verdicts = [r for r in rows if r["section"] == "verdict"]
    assert len(verdicts) == 50
    assert {r["section"] for r in rows} >= {
        "report", "at_a_glance", "verdicts", "lapses", "hours", "member", "verdict", "pack", "pack_requirement",
        "source", "left_out", "warning",
    }


def test_csv_neutralises_formulas(report: Report) -> None:
    member = attrs.evolve(
        report.members[0], name='=HYPERLINK("http://evil.example","x")', agency="@SUM(A1)",
        requirements=(attrs.evolve(report.members[0].requirements[0], title="+Refresher course"),
                      *report.members[0].requirements[1:]),
    )
    hostile = attrs.evolve(report, members=(member, *report.members[1:]),
                           sources=(Source("roster", "-roster.csv", "=1+1"),))
    rows = list(csv.DictReader(io.StringIO(render_csv(hostile))))
    assert all(r["name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")" for r in rows if r["member"] == "PL-01")
    assert all(r["agency"] == "'@SUM(A1)" for r in rows if r["member"] == "PL-01")
    assert "'+Refresher course" in {r["title"] for r in rows}
    source = next(r for r in rows if r["section"] == "source")
    assert (source["item"], source["value"]) == ("'-roster.csv", "'=1+1")
    for row in rows:
        for cell in row.values():
            assert not (cell[:1] in "=+@" and cell), cell
            assert not (cell.startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", cell)), cell


def test_a_roster_name_that_is_a_formula_is_neutralised_end_to_end(tmp_path: Path, capsys: Any) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        'member_id,name,agency,roles,functions,joined_on\nX-1,"=HYPERLINK(""http://e.example"",""y"")",Agency,'
        "peer_supporter,intervention,2020-01-01\n",
        encoding="utf-8",
    )
    completions = tmp_path / "completions.csv"
    completions.write_text("member_id,course,completed_on\nX-1,mn-psc-classroom,2026-01-05\n", encoding="utf-8")
    out = tmp_path / "r.csv"
    status = main(["report", "--roster", str(roster), "--completions", str(completions), "--rules", "mn-181-9731",
                   "--as-of", "2026-11-15", "-o", str(out)])
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {r["name"] for r in rows if r["member"] == "X-1"} == {"'=HYPERLINK(\"http://e.example\",\"y\")"}


# -- JSON ----------------------------------------------------------------------------------------


def test_json_round_trips_through_the_converter(report: Report) -> None:
    from peertrain.rules.convert import converter

    assert converter.structure(json.loads(render_json(report)), Report) == report


# -- the command ---------------------------------------------------------------------------------


def test_cli_format_follows_the_output_suffix(tmp_path: Path, capsys: Any) -> None:
    for name in ("r.html", "r.csv", "r.json", "r.txt"):
        assert main(["report", "--demo", "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (tmp_path / "r.csv").read_text(encoding="utf-8").startswith("section,group,item")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["as_of"] == "2026-11-15"
    assert (tmp_path / "r.txt").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", "--demo", "--format", "json", "-o", str(tmp_path / "x.html")]) == 0
    assert json.loads((tmp_path / "x.html").read_text(encoding="utf-8"))["privacy"] == "full"
    capsys.readouterr()
    assert main(["report", "--demo", "--privacy", "none"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>")
    assert "Dana Whitfield" not in out


def test_cli_demo_sources_and_bad_output_folder(tmp_path: Path, capsys: Any) -> None:
    assert main(["report", "--demo", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(s["kind"], s["name"]) for s in data["sources"]][:3] == [
        ("roster", "roster.csv"), ("completions", "completions.csv"), ("exemptions", "exemptions.csv"),
    ]
    assert main(["report", "--demo", "-o", str(tmp_path / "missing" / "r.html")]) == 2
    assert "folder does not exist" in capsys.readouterr().err


def test_cli_refuses_to_write_html_into_a_pdf_file(tmp_path: Path, capsys: Any) -> None:
    """-o report.pdf would be HTML under a PDF name: refused, pointing at how to print."""
    target = tmp_path / "report.pdf"
    assert main(["report", "--demo", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"peertrain: error: {target}: peertrain writes the report as HTML, CSV or JSON; for a PDF write HTML "
        "and print it (a browser's Print, or headless Chromium: see docs/reports.md)\n"
    )
    assert not target.exists()


def test_cli_with_a_ledger_lists_its_import_batches(new_location: Any, tmp_path: Path, capsys: Any) -> None:
    """The report's sources name the ledger (a file by its name, a database by its URL) and list its batches."""
    ledger = new_location("team.db")
    assert main(["ledger", "init", str(ledger), "--timezone", "America/Chicago",
                 "--roster", str(curricula_dir() / "demo" / "roster.csv")]) == 0
    assert main(["import", "--profile", "cops-portal-csv", "--ledger", str(ledger),
                 str(SAMPLES / "cops-portal-transcript.csv")]) == 0
    assert main(["import", "--profile", "xml-transcript", "--ledger", str(ledger),
                 str(SAMPLES / "transcript.xml")]) == 0
    capsys.readouterr()
    out = tmp_path / "report.html"
    assert main(["report", "--ledger", str(ledger), "--rules", "mn-181-9731", "example-agency",
                 "--as-of", "2026-11-15", "-o", str(out)]) == 0
    page = lxml.html.document_fromstring(out.read_text(encoding="utf-8"))
    rows = _table(page, "sources-table")
    assert rows[0][:2] == ["ledger", "team.db" if isinstance(ledger, Path) else ledger]
    assert "time zone America/Chicago" in rows[0][2]
    batches = [r for r in rows if r[0] == "import batch"]
    assert [r[1] for r in batches] == ["cops-portal-transcript.csv", "transcript.xml"]
    assert batches[0][2].startswith("batch 1, imported ")
    assert "16 rows read, 12 imported (4 not completed), 1 duplicate, 0 rejected, 3 held" in batches[0][2]
    assert "with profile xml-transcript: 10 rows read" in batches[1][2]


def test_members_who_join_later_are_left_out_and_said_so(demo: Demo) -> None:
    later = Member(id="NEW-1", name="Nora Late", joined_on=demo.result.as_of.replace(year=2027))
    report = build_report([*demo.members, later], demo.completions, demo.packs, demo.result,
                          catalogue=demo.catalogue)
    assert "NEW-1" not in [m.id for m in report.members]
    assert any("join after 2026-11-15: 1" in note for note in report.left_out)
    assert report.glance.overall.members == 12
    assert sum(q.total for q in report.hours) == Decimal(210)


def test_a_member_no_requirement_applies_to_and_one_without_function_or_agency(demo: Demo) -> None:
    from peertrain import check_compliance

    mn = [p for p in demo.packs if p.id == "mn-181-9731"]
    members = [
        Member(id="CH-1", name="Pat Chaplain", roles=["chaplain"], functions=["postvention"]),  # MN: not a chaplain
        Member(id="PS-1", name="Sam Peer"),  # a peer supporter with no function and no agency
    ]
    result = check_compliance(members, [], mn, demo.result.as_of, catalogue=demo.catalogue)
    report = build_report(members, [], mn, result, catalogue=demo.catalogue)
    assert [(m.id, m.status) for m in report.members] == [("CH-1", None), ("PS-1", Status.NOT_MET)]
    overall = report.glance.overall
    assert (overall.members, overall.no_requirements, overall.not_met) == (2, 1, 1)
    assert [g.group for g in report.glance.by_function][-1] == "(none)"
    assert [g.group for g in report.glance.by_agency] == ["(no agency)"]
    assert report.hour_functions[-1] == "(none)"
    page = lxml.html.document_fromstring(render_html(report))
    assert "no requirement applies" in page.xpath("//section[@data-member='CH-1']")[0].text_content()
    assert _table(page, "hours-table")[3][0] == "(none)"


def test_an_empty_roster_gives_a_report_of_zeros(demo: Demo) -> None:
    from peertrain import check_compliance

    result = check_compliance([], [], demo.packs, demo.result.as_of, catalogue=demo.catalogue)
    report = build_report([], [], demo.packs, result, catalogue=demo.catalogue)
    assert report.glance.overall.members == 0
    assert report.compliant
    assert all(m.requirements == 0 for m in report.lapses)
    page = lxml.html.document_fromstring(render_html(report))
    assert [s.get("id") for s in page.xpath("//section[@id]")] == list(SECTION_IDS)
    assert len(page.xpath("//svg")) == 2
    assert "Everyone is in compliance." in page.text_content()
