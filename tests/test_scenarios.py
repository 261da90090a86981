"""Hand-computed compliance scenarios: exact statuses, hours and dates at the edges.

Each scenario states the arithmetic in its docstring; the expected values were worked out by hand
from the rules in docs/rules.md, not read off the code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from peertrain import (
    AllOf,
    AllTime,
    AnySpan,
    Catalogue,
    Certificate,
    Completion,
    Course,
    CourseFilter,
    Hours,
    Member,
    Minimum,
    Periodic,
    Recurring,
    Rolling,
    RulePack,
    Status,
    Waiver,
    check_compliance,
    hours_from_ceu,
    load_bundled_catalogue,
    load_pack,
)

D = dt.date
CATALOGUE = load_bundled_catalogue()


def pack(*requirements, grace_months=0, approved=()):
    """A one-off rule pack around the given requirements."""
    return RulePack(
        id="test",
        title="Test pack",
        version="1",
        citation="Test citation § 1",
        grace_months=grace_months,
        approved_providers=approved,
        requirements=requirements,
    )


def member(joined_on=None, functions=("intervention",), roles=("peer_supporter",), member_id="M1"):
    return Member(
        id=member_id, name="Jane Smith", functions=functions, roles=roles, joined_on=joined_on
    )


def done(course, on, hours=None, *, cid=None, member_id="M1", delivery=None, provider=None):
    return Completion(
        id=cid or f"{member_id}-{course}-{on.isoformat()}",
        member=member_id,
        course=course,
        completed_on=on,
        hours=hours,
        delivery=delivery,
        provider=provider,
    )


def verdict(rules, completions, as_of, who=None, waivers=(), due_within=90):
    """The single verdict of a single-requirement pack."""
    result = check_compliance(
        [who or member()],
        completions,
        [rules],
        as_of,
        catalogue=CATALOGUE,
        waivers=waivers,
        due_within=due_within,
    )
    assert len(result.verdicts) == 1
    return result.verdicts[0]


ROLLING_8H = Hours(id="ce", title="8 h in 12 months", hours=8, window=Rolling(12))


class TestRollingWindowEdges:
    def test_completion_exactly_twelve_months_before_no_longer_counts(self):
        """(D − 12 months, D] excludes D − 12 months: 8 h on 2025-11-15 do not count on 2026-11-15;
        the requirement was met before, so it is lapsed, and it lapsed that very day."""
        v = verdict(pack(ROLLING_8H), [done("mhfa-ps", D(2025, 11, 15))], D(2026, 11, 15))
        assert v.status is Status.LAPSED
        assert v.lapses_on == D(2026, 11, 15)
        assert v.due_on == D(2026, 11, 14)
        assert v.hours_credited == 0
        assert v.shortfall.hours == 8
        assert v.window_start == D(2025, 11, 16)
        assert v.window_end == D(2026, 11, 15)

    def test_the_day_before_it_still_counts_and_is_due_soon(self):
        """On 2026-11-14 the window is (2025-11-14, 2026-11-14]: the 8 h count, and they age out
        tomorrow, so the verdict is due_soon with due_on today."""
        v = verdict(pack(ROLLING_8H), [done("mhfa-ps", D(2025, 11, 15))], D(2026, 11, 14))
        assert v.status is Status.DUE_SOON
        assert v.hours_credited == 8
        assert v.lapses_on == D(2026, 11, 15)
        assert v.due_on == D(2026, 11, 14)
        assert v.evidence == ("M1-mhfa-ps-2025-11-15",)

    def test_leap_day_completion_counts_through_february_28(self):
        """2025-02-28 − 12 months = 2024-02-28 < 2024-02-29, so a leap-day completion still counts
        on 2025-02-28 and drops out on 2025-03-01 (2025-03-01 − 12 months = 2024-03-01)."""
        completions = [done("mhfa-ps", D(2024, 2, 29))]
        on_28th = verdict(pack(ROLLING_8H), completions, D(2025, 2, 28))
        assert on_28th.status is Status.DUE_SOON
        assert on_28th.lapses_on == D(2025, 3, 1)
        on_1st = verdict(pack(ROLLING_8H), completions, D(2025, 3, 1))
        assert on_1st.status is Status.LAPSED
        assert on_1st.lapses_on == D(2025, 3, 1)

    def test_month_end_one_month_window(self):
        """Rolling(1) from 2023-01-31: 2023-02-28 − 1 month = 2023-01-28, still inside; on 03-01 the
        window starts after 02-01, so the completion is out."""
        rules = pack(Hours(id="m", title="monthly", hours=1, window=Rolling(1)))
        completions = [done("qpr", D(2023, 1, 31))]
        assert verdict(rules, completions, D(2023, 2, 28)).lapses_on == D(2023, 3, 1)
        assert verdict(rules, completions, D(2023, 3, 1)).status is Status.LAPSED

    def test_completions_after_the_as_of_date_are_ignored(self):
        """A completion dated after D is not known on D."""
        v = verdict(pack(ROLLING_8H), [done("mhfa-ps", D(2026, 11, 16))], D(2026, 11, 15))
        assert v.status is Status.NOT_MET
        assert v.hours_credited == 0
        assert v.lapses_on is None


class TestCertificateExpiry:
    MHFA = Certificate(id="mhfa", title="MHFA-PS current", courses=["mhfa-ps"])

    def test_lapses_on_the_expiry_day_itself(self):
        """MHFA-PS is valid 36 months (catalogue): 2023-12-05 + 36 months = 2026-12-05, the first
        day it is no longer valid."""
        completions = [done("mhfa-ps", D(2023, 12, 5))]
        on_day = verdict(pack(self.MHFA), completions, D(2026, 12, 5))
        assert on_day.status is Status.LAPSED
        assert on_day.lapses_on == D(2026, 12, 5)
        assert on_day.shortfall.courses == ("mhfa-ps",)
        day_before = verdict(pack(self.MHFA), completions, D(2026, 12, 4))
        assert day_before.status is Status.DUE_SOON
        assert day_before.due_on == D(2026, 12, 4)
        assert day_before.evidence == ("M1-mhfa-ps-2023-12-05",)

    def test_due_soon_horizon_is_inclusive(self):
        """With the default 90 days: lapsing 90 days after D is due_soon, 91 days is met."""
        completions = [done("mhfa-ps", D(2023, 12, 5))]
        assert verdict(pack(self.MHFA), completions, D(2026, 9, 6)).status is Status.DUE_SOON
        assert verdict(pack(self.MHFA), completions, D(2026, 9, 5)).status is Status.MET
        assert verdict(pack(self.MHFA), completions, D(2026, 9, 5), due_within=91).status is Status.DUE_SOON

    def test_leap_day_certificate(self):
        """Valid 12 months from 2024-02-29: 2024-02-29 + 12 months = 2025-02-28 (clamped)."""
        rules = pack(Certificate(id="c", title="c", courses=["qpr"], valid_months=12))
        completions = [done("qpr", D(2024, 2, 29))]
        assert verdict(rules, completions, D(2025, 2, 27)).status is Status.DUE_SOON
        v = verdict(rules, completions, D(2025, 2, 28))
        assert v.status is Status.LAPSED
        assert v.lapses_on == D(2025, 2, 28)

    def test_the_latest_expiry_wins(self):
        """Two completions: the later one's expiry is the lapse date and the evidence."""
        completions = [
            done("mhfa-ps", D(2023, 12, 5)),
            done("mhfa-ps", D(2026, 10, 1)),
        ]
        v = verdict(pack(self.MHFA), completions, D(2026, 11, 15))
        assert v.status is Status.MET
        assert v.lapses_on == D(2029, 10, 1)
        assert v.evidence == ("M1-mhfa-ps-2026-10-01",)

    def test_never_held_is_not_met(self):
        """No completion at all: not_met, nothing lapses."""
        v = verdict(pack(self.MHFA), [], D(2026, 11, 15))
        assert v.status is Status.NOT_MET
        assert v.lapses_on is None
        assert v.due_on is None


class TestGrace:
    RPS = Certificate(id="rps", title="RPS", courses=["cop2cop-rps"])

    def test_grace_ends_on_join_date_plus_months(self):
        """Joined 2026-01-31 with 1 month of grace: grace runs through 2026-02-27 (2026-01-31 +
        1 month = 2026-02-28 is the first day without grace)."""
        who = member(joined_on=D(2026, 1, 31))
        rules = pack(self.RPS, grace_months=1)
        inside = verdict(rules, [], D(2026, 2, 27), who)
        assert inside.status is Status.GRACE
        assert inside.due_on == D(2026, 2, 27)
        assert inside.lapses_on == D(2026, 2, 28)
        after = verdict(rules, [], D(2026, 2, 28), who)
        assert after.status is Status.NOT_MET
        assert after.due_on == D(2026, 2, 27)

    def test_met_during_grace_is_met(self):
        """Grace only matters while the requirement is not met."""
        who = member(joined_on=D(2026, 1, 31))
        completions = [done("cop2cop-rps", D(2026, 2, 10), 16)]
        assert verdict(pack(self.RPS, grace_months=6), completions, D(2026, 2, 27), who).status is Status.MET

    def test_requirement_grace_overrides_pack_default(self):
        """grace_months=0 on the requirement beats the pack's 6."""
        who = member(joined_on=D(2026, 1, 31))
        rules = pack(
            Certificate(id="rps", title="RPS", courses=["cop2cop-rps"], grace_months=0), grace_months=6
        )
        assert verdict(rules, [], D(2026, 2, 1), who).status is Status.NOT_MET

    def test_member_who_joins_after_the_as_of_date_is_not_evaluated(self):
        """Someone joining next month has no verdicts today."""
        result = check_compliance(
            [member(joined_on=D(2026, 12, 1))], [], [pack(self.RPS)], D(2026, 11, 15), catalogue=CATALOGUE
        )
        assert result.verdicts == ()
        assert result.compliant


class TestHours:
    MN = load_pack("mn-181-9731", CATALOGUE)

    def _mn(self, online_on, online_hours=14, classroom_hours=16):
        return [
            done("mn-psc-classroom", D(2025, 1, 10), classroom_hours),
            done("mn-psc-online", online_on, online_hours),
        ]

    def test_minnesota_30_hours_within_one_year(self):
        """16 h in person on 2025-01-10 and 14 h online on 2026-01-09 fall in the span
        (2025-01-09, 2026-01-09]: met, and an any-span qualification never lapses."""
        v = verdict(self.MN, self._mn(D(2026, 1, 9)), D(2026, 11, 15))
        assert v.status is Status.MET
        assert v.hours_credited == 30
        assert v.hours_required == 30
        assert v.lapses_on is None
        assert v.shortfall.hours == 0
        assert v.citation == "Minn. Stat. § 181.9731 (2020); MN DPS peer-to-peer training standards"

    def test_minnesota_span_exactly_one_year_is_too_long(self):
        """Online part on 2026-01-10: any span ending then is (2025-01-10, 2026-01-10], which
        leaves out the classroom day; no span holds 30 h, so not met, 16 h short."""
        v = verdict(self.MN, self._mn(D(2026, 1, 10)), D(2026, 11, 15))
        assert v.status is Status.NOT_MET
        assert v.hours_credited == 16
        assert v.shortfall.hours == 14

    def test_minnesota_in_person_minimum(self):
        """30 h in total but only 12 in person: 4 in-person hours short."""
        v = verdict(self.MN, self._mn(D(2025, 3, 1), online_hours=18, classroom_hours=12), D(2026, 11, 15))
        assert v.status is Status.NOT_MET
        assert v.hours_credited == 30
        assert v.shortfall.hours == 4
        assert [(m.label, m.hours) for m in v.shortfall.minimums] == [("in person", Decimal(4))]

    def test_online_record_of_a_classroom_course_does_not_count_in_person(self):
        """The record's delivery beats the catalogue's."""
        completions = [
            done("mn-psc-classroom", D(2025, 1, 10), 16, delivery="online"),
            done("mn-psc-online", D(2025, 2, 1), 14),
        ]
        v = verdict(self.MN, completions, D(2026, 11, 15))
        assert v.status is Status.NOT_MET
        assert v.shortfall.minimums[0].hours == 16

    def test_hours_in_ceu(self):
        """1.4 CEU is exactly 14 contact hours; with 16 in person that is 30."""
        assert hours_from_ceu("1.4") == Decimal(14)
        v = verdict(self.MN, self._mn(D(2025, 5, 1), online_hours=hours_from_ceu("1.4")), D(2026, 11, 15))
        assert v.status is Status.MET
        assert v.hours_credited == 30

    def test_unapproved_provider_does_not_count(self):
        """approved_providers_only: the record's provider must be on the pack's list."""
        completions = [
            done("mn-psc-classroom", D(2025, 1, 10), 16, provider="Somebody Else LLC"),
            done("mn-psc-online", D(2025, 2, 1), 14),
        ]
        v = verdict(self.MN, completions, D(2026, 11, 15))
        assert v.status is Status.NOT_MET
        assert v.hours_credited == 14

    def test_catalogue_hours_are_used_when_the_record_has_none_and_mismatch_is_warned(self):
        """ICISF GCI is 14 h in the catalogue; a record saying 13 h is credited 13 h and warned."""
        rules = pack(Hours(id="h", title="14 h", hours=14))
        result = check_compliance(
            [member()], [done("icisf-gci", D(2025, 1, 1), 13, cid="X1")], [rules], D(2026, 1, 1), catalogue=CATALOGUE
        )
        assert result.verdicts[0].hours_credited == 13
        assert result.verdicts[0].status is Status.NOT_MET
        assert result.warnings == (
            "completion X1 (icisf-gci): the record says 13 h, the catalogue 14 h; the record's hours were used",
        )
        assert verdict(rules, [done("icisf-gci", D(2025, 1, 1))], D(2026, 1, 1)).hours_credited == 14

    def test_verdict_notes_name_doubtful_evidence(self):
        """A verdict whose evidence includes a record with no hours anywhere says so."""
        rules = pack(Certificate(id="rps", title="RPS", courses=["cop2cop-rps"]))
        v = verdict(rules, [done("cop2cop-rps", D(2025, 1, 1), cid="R1")], D(2026, 1, 1))
        assert v.status is Status.MET
        assert v.notes == (
            "completion R1 (cop2cop-rps): no hours on the record and none in the catalogue; counted as 0 h",
        )

    def test_completions_of_people_not_on_the_roster_are_warned(self):
        """Nothing is dropped silently: a completion for an unknown member id is reported."""
        rules = pack(Hours(id="h", title="14 h", hours=14))
        result = check_compliance(
            [member()], [done("qpr", D(2025, 1, 1), member_id="GHOST")], [rules], D(2026, 1, 1), catalogue=CATALOGUE
        )
        assert result.warnings == ("member 'GHOST' has completions but is not on the roster; not evaluated",)

    def test_all_time_hours(self):
        """AllTime counts everything on or before D, and never lapses."""
        only_cjtc = CourseFilter(courses=["wa-cjtc-peer-40"])
        rules = pack(Hours(id="wa", title="40 h", hours=40, window=AllTime(), counts=only_cjtc))
        v = verdict(rules, [done("wa-cjtc-peer-40", D(2025, 9, 1))], D(2026, 11, 15))
        assert (v.status, v.hours_credited, v.lapses_on) == (Status.MET, 40, None)


class TestPeriodic:
    QUARTERLY = Recurring(
        id="q", title="quarterly", window=Periodic(3), counts=CourseFilter(courses=["team-quarterly"])
    )

    def test_session_last_quarter_only_is_due_soon(self):
        """As of 2026-11-15 (Q4): Q3 was met, Q4 not yet, so it lapses 2027-01-01 (47 days)."""
        v = verdict(pack(self.QUARTERLY), [done("team-quarterly", D(2026, 8, 10))], D(2026, 11, 15))
        assert v.status is Status.DUE_SOON
        assert v.lapses_on == D(2027, 1, 1)
        assert v.due_on == D(2026, 12, 31)
        assert v.shortfall.count == 1
        assert v.window_start == D(2026, 10, 1)
        assert v.window_end == D(2026, 12, 31)

    def test_session_this_quarter_is_met_until_next_quarter_ends(self):
        """Q4 met: nothing is due until Q1 2027 ends, so it lapses 2027-04-01."""
        v = verdict(pack(self.QUARTERLY), [done("team-quarterly", D(2026, 10, 13))], D(2026, 11, 15))
        assert v.status is Status.MET
        assert v.lapses_on == D(2027, 4, 1)
        assert v.shortfall.count == 0

    def test_missed_quarter_is_lapsed_from_the_next_quarters_first_day(self):
        """Last session in Q2: Q3 ended short, so lapsed on 2026-10-01."""
        v = verdict(pack(self.QUARTERLY), [done("team-quarterly", D(2026, 5, 12))], D(2026, 11, 15))
        assert v.status is Status.LAPSED
        assert v.lapses_on == D(2026, 10, 1)
        assert v.due_on == D(2026, 9, 30)

    def test_catching_up_in_the_current_quarter_restores_compliance(self):
        """Q3 missed but a Q4 session on 2026-11-01: met again."""
        completions = [done("team-quarterly", D(2026, 5, 12)), done("team-quarterly", D(2026, 11, 1))]
        assert verdict(pack(self.QUARTERLY), completions, D(2026, 11, 15)).status is Status.MET

    def test_new_member_is_held_to_periods_that_end_after_grace(self):
        """Joined 2026-08-03 with 6 months of grace (no grace from 2027-02-03): Q1 2027 ends after
        that, so it is the first binding quarter; with no session the verdict is grace now and
        lapses 2027-04-01."""
        who = member(joined_on=D(2026, 8, 3))
        v = verdict(pack(self.QUARTERLY, grace_months=6), [], D(2026, 11, 15), who)
        assert v.status is Status.GRACE
        assert v.lapses_on == D(2027, 4, 1)
        assert v.due_on == D(2027, 3, 31)
        assert verdict(pack(self.QUARTERLY, grace_months=6), [], D(2027, 4, 1), who).status is Status.LAPSED

    def test_without_grace_the_first_full_period_after_joining_binds(self):
        """Joined 2026-08-03, no grace: Q3 2026 started before joining and does not bind; Q4 does,
        so on 2026-11-15 with no session it is due soon (lapses 2027-01-01)."""
        who = member(joined_on=D(2026, 8, 3))
        v = verdict(pack(self.QUARTERLY), [], D(2026, 11, 15), who)
        assert v.status is Status.DUE_SOON
        assert v.lapses_on == D(2027, 1, 1)

    def test_parts_of_a_composite_share_the_grace_period(self):
        """A recurring part inside an all_of gets the requirement's grace: in grace, not lapsed."""
        rules = pack(AllOf(id="all", title="all", of=[self.QUARTERLY]), grace_months=6)
        who = member(joined_on=D(2025, 1, 10))
        v = verdict(rules, [], D(2025, 5, 1), who)
        assert v.status is Status.GRACE
        assert [p.status for p in v.parts] == [Status.GRACE]
        assert v.lapses_on == D(2025, 10, 1)
        after = verdict(rules, [], D(2025, 8, 1), who)
        assert after.status is Status.DUE_SOON
        assert [p.status for p in after.parts] == [Status.DUE_SOON]

    def test_no_join_date_and_never_attended_is_not_met(self):
        """Without a join date every quarter binds; with no session ever it was never met."""
        v = verdict(pack(self.QUARTERLY), [], D(2026, 11, 15))
        assert v.status is Status.NOT_MET

    def test_licence_cycle_with_category_minimums(self):
        """MN POST: 48 h per period July 1 2023 – June 30 2026 with category minimums. 40 h of
        CIT (a crisis course) plus 8 h MHFA-PS on 2025 dates meet the 2023–26 period's total but
        not the autism minimum. A member licensed 2023-07-01 owed nothing before that period
        ended, so the verdict is lapsed, on 2026-07-01; the current period is 2026-07-01 to
        2029-06-30."""
        post = load_pack("mn-post-license", CATALOGUE)
        completions = [done("cit-40", D(2025, 3, 3)), done("mhfa-ps", D(2025, 4, 4))]
        v = verdict(post, completions, D(2026, 11, 15), member(joined_on=D(2023, 7, 1)))
        assert v.status is Status.LAPSED
        assert v.lapses_on == D(2026, 7, 1)
        assert v.window_start == D(2026, 7, 1)
        assert v.window_end == D(2029, 6, 30)
        assert "the period 2023-07-01 to 2026-06-30 was short (48 of 48 h" in v.explanation
        assert "; 0 h autism, 4 needed;" in v.explanation

    def test_licence_cycle_without_a_join_date_was_never_met(self):
        """The same records without a join date: every earlier period binds and none was met."""
        post = load_pack("mn-post-license", CATALOGUE)
        completions = [done("cit-40", D(2025, 3, 3)), done("mhfa-ps", D(2025, 4, 4))]
        assert verdict(post, completions, D(2026, 11, 15)).status is Status.NOT_MET

    def test_licence_cycle_met(self):
        """Every category covered in the 2023–26 period: met now, lapses when 2026–29 ends short."""
        post = load_pack("mn-post-license", CATALOGUE)
        mandates = Course(
            id="post-mandates",
            title="POST mandates",
            provider="X",
            hours=7,
            topics=["post-autism", "post-conflict-management", "post-implicit-bias", "post-bias-crimes"],
        )
        extra = CATALOGUE.merged(Catalogue([mandates]))
        completions = [done("cit-40", D(2025, 3, 3)), done("post-mandates", D(2025, 4, 4), 8)]
        result = check_compliance([member()], completions, [post], D(2026, 11, 15), catalogue=extra)
        (v,) = result.verdicts
        assert v.status is Status.MET
        assert v.lapses_on == D(2029, 7, 1)

    def test_fiscal_year_anchor(self):
        """Utah POST years run July 1 – June 30: 40 h on 2025-08-01 meet FY 2025-26, so on
        2026-11-15 (FY 2026-27) it is met by the last ended year and lapses 2027-07-01."""
        ut = load_pack("ut-post", CATALOGUE)
        v = verdict(ut, [done("cit-40", D(2025, 8, 1))], D(2026, 11, 15))
        assert v.status is Status.MET
        assert v.lapses_on == D(2027, 7, 1)
        assert v.hours_credited == 0
        assert v.shortfall.hours == 40


class TestAgencyPolicy:
    POLICY = load_pack("example-agency", CATALOGUE)

    def _keys(self, who, completions=()):
        result = check_compliance([who], completions, [self.POLICY], D(2026, 11, 15), catalogue=CATALOGUE)
        return {v.requirement: v for v in result.verdicts}

    def test_member_with_two_functions_gets_both_functions_rules(self):
        """Intervention + postvention: RPS and crisis response both apply; prevention rules do not."""
        both = self._keys(member(functions=("intervention", "postvention")))
        assert set(both) == {"quarterly-training", "annual-hours", "rps", "crisis-response"}
        one = self._keys(member(functions=("intervention",)))
        assert set(one) == {"quarterly-training", "annual-hours", "rps"}

    def test_roles_limit_who_a_rule_applies_to(self):
        """A chaplain is not held to quarterly or annual training."""
        chaplain = self._keys(member(roles=("chaplain",), functions=("postvention",)))
        assert set(chaplain) == {"crisis-response"}

    def test_any_of_met_by_pfa_after_gci_expired(self):
        """GCI 2022-12-01 expired 2025-12-01 (36 months); PFA 2024-09-24 is current until
        2027-09-24: the any_of is met by PFA and lapses when PFA does."""
        verdicts = self._keys(
            member(functions=("postvention",)),
            [done("icisf-gci", D(2022, 12, 1)), done("jh-pfa", D(2024, 9, 24))],
        )
        v = verdicts["crisis-response"]
        assert v.status is Status.MET
        assert v.lapses_on == D(2027, 9, 24)
        assert [(p.requirement, p.status) for p in v.parts] == [
            ("icisf-group", Status.LAPSED),
            ("pfa", Status.MET),
        ]
        assert v.evidence == ("M1-jh-pfa-2024-09-24",)

    def test_all_of_lapses_with_its_first_part(self):
        """MHFA-PS 2023-12-05 (lapses 2026-12-05) and QPR 2024-02-20: both parts hold today; the
        n_of loses MHFA-PS on 2026-12-05 too, so the all_of lapses 2026-12-05."""
        verdicts = self._keys(
            member(functions=("prevention",)),
            [done("mhfa-ps", D(2023, 12, 5)), done("qpr", D(2024, 2, 20))],
        )
        v = verdicts["prevention-core"]
        assert v.status is Status.DUE_SOON
        assert v.lapses_on == D(2026, 12, 5)
        assert [p.status for p in v.parts] == [Status.DUE_SOON, Status.DUE_SOON]

    def test_topics_shortfall_lists_missing_topics(self):
        """QPR covers suicide prevention only: self-care and psychoeducation are missing."""
        who = member(functions=("prevention",))
        v = self._keys(who, [done("qpr", D(2026, 1, 5))])["prevention-topics"]
        assert v.status is Status.NOT_MET
        assert v.shortfall.topics == ("psychoeducation", "self-care")

    def test_n_of_counts_distinct_courses(self):
        """Two QPR completions are one course, not two."""
        who = member(functions=("prevention",))
        v = self._keys(who, [done("qpr", D(2026, 1, 5)), done("qpr", D(2026, 3, 5))])["prevention-core"]
        part = {p.requirement: p for p in v.parts}["suicide-prevention"]
        assert part.status is Status.NOT_MET
        assert part.shortfall.count == 1
        assert part.shortfall.courses == ("asist", "mhfa-ps")


class TestWaivers:
    RPS = Certificate(id="rps", title="RPS", courses=["cop2cop-rps"])

    def _waiver(self, until=None):
        return Waiver(
            member="M1",
            pack="test",
            requirement="rps",
            kind="equivalency",
            granted_by="Coordinator",
            granted_on=D(2026, 1, 1),
            reason="Out-of-state course accepted",
            valid_until=until,
        )

    def test_exempt_through_valid_until_inclusive(self):
        """valid_until is the last exempt day; the next day normal rules apply."""
        waiver = self._waiver(D(2026, 6, 30))
        v = verdict(pack(self.RPS), [], D(2026, 6, 30), waivers=[waiver])
        assert v.status is Status.EXEMPT
        assert v.waiver == waiver
        assert v.lapses_on == D(2026, 7, 1)
        assert "equivalency granted by Coordinator on 2026-01-01" in v.explanation
        assert verdict(pack(self.RPS), [], D(2026, 7, 1), waivers=[waiver]).status is Status.NOT_MET

    def test_not_yet_granted_does_not_apply(self):
        """A waiver granted after D does not exist on D."""
        assert verdict(pack(self.RPS), [], D(2025, 12, 31), waivers=[self._waiver()]).status is Status.NOT_MET


def test_forecast_is_the_earliest_lapse_of_compliant_verdicts():
    """The forecast takes the soonest lapses_on among compliant verdicts and names them."""
    rules = pack(
        Certificate(id="a", title="a", courses=["mhfa-ps"]),
        Hours(id="b", title="b", hours=1, window=Rolling(12), counts=CourseFilter(courses=["qpr"])),
    )
    result = check_compliance(
        [member()],
        [done("mhfa-ps", D(2024, 1, 10)), done("qpr", D(2026, 3, 1))],
        [rules],
        D(2026, 11, 15),
        catalogue=CATALOGUE,
    )
    (outlook,) = result.forecasts
    assert outlook.lapses_on == D(2027, 1, 10)
    assert outlook.requirements == ("test/a",)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (D(2026, 9, 15), Status.MET),
        (D(2027, 1, 10), Status.LAPSED),
    ],
)
def test_any_span_minimum_is_inside_the_same_span(as_of, expected):
    """The minimum must be met by hours inside the same span as the total: a rolling requirement
    of 2 h in 12 months with 1 h in person, met by QPR (1 h in person) on 2026-01-10 and a 1 h
    online record on 2026-02-01, lapses when QPR ages out on 2027-01-10."""
    rules = pack(
        Hours(
            id="r",
            title="r",
            hours=2,
            window=Rolling(12),
            minimums=[Minimum("in person", 1, CourseFilter(delivery=["in_person"]))],
        )
    )
    completions = [done("qpr", D(2026, 1, 10)), done("nctsn-pfa-online", D(2026, 2, 1), 1)]
    assert verdict(rules, completions, as_of).status is expected


def test_any_span_kind_is_exported():
    """AnySpan is part of the public API."""
    assert AnySpan(12).describe() == "all within one 12-month span"


@pytest.mark.parametrize(
    ("requirement", "key"),
    [
        ({"kind": "topics", "id": "t", "title": "T", "topics": "self-care"}, "requirements[0].topics"),
        ({"kind": "certificate", "id": "c", "title": "C", "courses": "qpr"}, "requirements[0].courses"),
        (
            {"kind": "hours", "id": "h", "title": "H", "hours": 1, "counts": {"courses": "qpr"}},
            "requirements[0].counts.courses",
        ),
    ],
)
def test_a_lone_string_where_a_list_belongs_is_an_error_not_letters(requirement, key):
    """``topics = "self-care"`` must not become the topics s, e, l, f, ...: it is an error at the key."""
    from peertrain.rules.convert import converter, error_messages

    data = {"id": "p", "title": "P", "version": "1", "citation": "c", "requirements": [requirement]}
    with pytest.raises(Exception) as info:  # noqa: PT011 - cattrs' grouped error; checked below
        converter.structure(data, RulePack)
    assert error_messages(info.value)[0] == (key, "expected a list, got " + repr(next(
        v for v in (requirement.get("topics"), requirement.get("courses"), requirement.get("counts", {}).get("courses"))
        if isinstance(v, str)
    )))
