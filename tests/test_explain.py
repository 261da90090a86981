"""``peertrain explain``: the audit trail of one verdict, on the hand-computed demo cases."""

from __future__ import annotations

import datetime as dt

import pytest

from peertrain import load_bundled_catalogue, load_pack, read_completions, read_roster, read_waivers
from peertrain.cli import main
from peertrain.errors import InputError
from peertrain.rules.explain import explain, find_requirement
from peertrain.rules.loading import curricula_dir

DEMO = curricula_dir() / "demo"
AS_OF = dt.date(2026, 11, 15)


@pytest.fixture(scope="module")
def demo():
    """The demo's catalogue, packs, members, completions and exemptions."""
    catalogue = load_bundled_catalogue()
    packs = [load_pack(p, catalogue) for p in ("mn-181-9731", "example-agency")]
    members = read_roster(DEMO / "roster.csv")
    return {
        "catalogue": catalogue,
        "packs": packs,
        "members": {m.id: m for m in members},
        "completions": read_completions(DEMO / "completions.csv", catalogue, members),
        "waivers": read_waivers(DEMO / "exemptions.csv", members),
    }


def trail(demo, member, key):
    pack, requirement = find_requirement(demo["packs"], key)
    return explain(
        demo["members"][member], pack, requirement, demo["completions"], AS_OF,
        catalogue=demo["catalogue"], waivers=demo["waivers"],
    )


def test_lapsed_certificate_names_the_expiry(demo):
    """Erin's GCI of 2023-06-12 (36 months) expired 2026-06-12: the trail says so, leaves the other
    courses out by name, and shows the any_of's other option as never held."""
    lines = trail(demo, "PL-03", "crisis-response")
    assert lines[0] == "PL-03: example-agency/crisis-response as of 2026-11-15"
    assert "grace: 6 months from joining on 2022-05-02, through 2022-11-01" in lines
    assert (
        "      - C-0303: icisf-gci on 2023-06-12, 13 h, completions.csv:19 -> left out: expired on 2026-06-12"
    ) in lines
    assert (
        "      - C-0304: team-quarterly on 2026-01-13, 4 h, completions.csv:20 -> left out: not one of "
        "icisf-gci, icisf-agci"
    ) in lines
    assert any(line.startswith("      verdict: not_met: Not met: no Psychological First Aid") for line in lines)


def test_hours_in_one_span_show_what_counted_and_the_short_minimum(demo):
    """Lisa's 12 h in person + 1.8 CEU online fall in one span: both counted, 4 in-person hours short."""
    lines = trail(demo, "CC-01", "mn-181-9731/standardized-training")
    assert "  window: 2023-11-20 to 2024-11-19" in lines
    assert "  - C-1101: mn-psc-classroom on 2024-10-08, 12 h, completions.csv:62 -> counted" in lines
    assert "  - C-1102: mn-psc-online on 2024-11-19, 18 h, completions.csv:63 -> counted" in lines
    assert any("(12 h in person, 16 needed)" in line for line in lines if line.startswith("  verdict: not_met"))


def test_periodic_rule_shows_the_sessions_outside_this_quarter(demo):
    """Ben's last quarterly session was 2026-04-15: this quarter's window leaves every session out."""
    lines = trail(demo, "CC-02", "quarterly-training")
    assert "  window: 2026-10-01 to 2026-12-31" in lines
    assert (
        "  - C-1209: mn-pasb-quarterly on 2026-04-15, 3 h, completions.csv:77 -> left out: outside the window "
        "2026-10-01 to 2026-12-31"
    ) in lines
    assert any(line.startswith("  verdict: lapsed: Lapsed on 2026-10-01") for line in lines)


def test_equivalency_names_its_evidence(demo):
    """Jake's Washington 40-hour course is the accepted evidence of his equivalency."""
    lines = trail(demo, "PL-08", "standardized-training")
    assert any(line.startswith("equivalency: granted by Team coordinator on 2024-04-15") for line in lines)
    assert (
        "  - C-0801: wa-cjtc-peer-40 on 2023-10-16, 40 h, completions.csv:33 -> accepted as evidence of the "
        "equivalency"
    ) in lines


def test_a_requirement_that_does_not_apply_says_so(demo):
    """The chaplain is not held to quarterly training: no verdict, and the trail says why."""
    lines = trail(demo, "PL-06", "quarterly-training")
    assert lines[-1] == "verdict: none: the requirement does not apply to this member"


def test_requirement_names_must_be_known_or_unambiguous(demo):
    """An unknown requirement is an InputError listing what exists."""
    with pytest.raises(InputError, match="no requirement 'nope'"):
        find_requirement(demo["packs"], "nope")


def test_cli_explain_from_a_ledger_names_the_batch(new_location, capsys):
    """``explain --ledger`` shows each completion's import batch and origin row (either backend)."""
    ledger = new_location("team.db")
    samples = curricula_dir().parent / "integrations" / "samples"
    roster = str(DEMO / "roster.csv")
    assert main(["ledger", "init", str(ledger), "--timezone", "America/Chicago", "--roster", roster]) == 0
    assert main(["import", "--profile", "cops-portal-csv", "--ledger", str(ledger),
                 str(samples / "cops-portal-transcript.csv")]) == 0
    capsys.readouterr()
    status = main(["explain", "--ledger", str(ledger), "--rules", "example-agency", "--as-of", "2026-11-15",
                   "--member", "PL-01", "--requirement", "crisis-response"])
    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines()[0] == "PL-01: example-agency/crisis-response as of 2026-11-15"
    assert "batch 1, cops-portal-transcript.csv:" in out


def test_cli_explain_unknown_member_is_one_error_line(capsys):
    """An unknown member id is exit 2 with one line."""
    status = main(["explain", "--demo", "--member", "XX-9", "--requirement", "rps"])
    err = capsys.readouterr().err
    assert status == 2
    assert err == "peertrain: error: --member: 'XX-9' is not on the roster\n"
