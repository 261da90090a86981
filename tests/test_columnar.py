"""The columnar evaluation (peertrain.rules.columnar) gives the engine's verdicts, field by field."""

from __future__ import annotations

import datetime as dt
import os

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peertrain import Waiver, check_compliance
from peertrain.ledger import Ledger
from peertrain.rules.columnar import ROW_COLUMNS, columnar_compliance
from test_stream import CATALOGUE, days, ledger_with, packs, records, rosters

#: How many random cases each test tries (``PEERTRAIN_EXAMPLES`` raises it for a long run).
EXAMPLES = int(os.environ.get("PEERTRAIN_EXAMPLES", "300"))


def rows_of(ledger: Ledger) -> pl.DataFrame:
    return pl.DataFrame(
        [(member, *row) for member, group in ledger.completions_by_member() for row in group],
        schema=dict.fromkeys(ROW_COLUMNS, pl.String), orient="row",
    )


def assert_same(ledger: Ledger, chosen, as_of: dt.date, waivers=()) -> None:
    expected = check_compliance(ledger.members(), ledger.completions(), chosen, as_of, catalogue=CATALOGUE,
                                waivers=waivers)
    result = columnar_compliance(rows_of(ledger), ledger.members(), chosen, as_of, catalogue=CATALOGUE,
                                 waivers=waivers)
    got = tuple(v for mv in result.member_verdicts() for v in mv.verdicts)
    for a, b in zip(got, expected.verdicts, strict=False):
        assert a == b, (a, b)
    assert got == expected.verdicts
    assert tuple(mv.forecast for mv in result.member_verdicts()) == expected.forecasts
    assert result.warnings == expected.warnings
    assert result.counts() == expected.counts()


@settings(max_examples=EXAMPLES, deadline=None)
@given(rosters, records, packs(), days)
def test_columnar_verdicts_are_the_engines(roster, rows, chosen, as_of):
    with ledger_with(roster, rows) as ledger:
        assert_same(ledger, chosen, as_of)


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(rosters, records, packs(), days)
def test_padded_and_blank_providers_are_read_as_the_engine_reads_them(roster, rows, chosen, as_of):
    """A ledger written by another program may keep a provider with spaces around it, or blank:
    the columnar path strips it and takes a blank one for the catalogue's, as the stream's credit
    maker does, so the verdicts are those of the clean rows."""
    with ledger_with(roster, rows) as ledger:
        clean = rows_of(ledger)
        padded = clean.with_columns(
            provider=pl.when(pl.col("provider").is_null()).then(pl.lit("  ")).otherwise(" " + pl.col("provider") + " ")
        )
        args = (ledger.members(), chosen, as_of)
        expected = columnar_compliance(clean, *args, catalogue=CATALOGUE)
        got = columnar_compliance(padded, *args, catalogue=CATALOGUE)
        assert [mv.verdicts for mv in got.member_verdicts()] == [mv.verdicts for mv in expected.member_verdicts()]
        assert got.warnings == expected.warnings


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(rosters, records, packs(), days)
def test_the_credits_handed_to_the_engine_are_the_engines(roster, rows, chosen, as_of):
    """Where the engine takes over for a member (a waiver, a scanned timeline, a kind not
    vectorised) it gets the credits the columnar table holds: each is the credit the engine makes of
    that completion (course, hours, delivery, provider, note, self-reporting), up to the as-of date,
    in date and id order."""
    from peertrain.rules.compliance import credit_completions

    with ledger_with(roster, rows) as ledger:
        result = columnar_compliance(rows_of(ledger), ledger.members(), chosen, as_of, catalogue=CATALOGUE)
        by_member, _warnings = credit_completions(ledger.completions(), CATALOGUE)
        for member in result.members:
            expected = sorted((c for c in by_member.get(member.id, ()) if c.on <= as_of), key=lambda c: (c.on, c.id))
            assert result.composer.subject(member).credits == tuple(expected)


def _vectorised(req) -> bool:
    """Whether every part of ``req`` is of a kind and window the columnar path takes itself
    (every kind and window now; kept as the place to exclude one again)."""
    from peertrain import AllOf, AnyOf

    if isinstance(req, AllOf | AnyOf):
        return all(_vectorised(part) for part in req.of)
    return True


@st.composite
def vectorised_packs(draw: st.DrawFn) -> list:
    """A generated pack of requirements the columnar path evaluates itself (no engine fallback)."""
    from peertrain import AllOf, AnyOf, RulePack
    from test_stream import PROVIDERS, leaves

    def leaf(n: int):
        return draw(leaves(n).filter(_vectorised))

    requirements = []
    for n in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            requirements.append(leaf(n))
        else:
            parts = [leaf(10 * n + k + 10) for k in range(draw(st.integers(1, 3)))]
            if draw(st.booleans()):  # a composite inside a composite
                inner = draw(st.sampled_from([AllOf, AnyOf]))
                parts.append(inner(id=f"r{n}x", title=f"Inner {n}", of=[leaf(100 * n + 99)]))
            kind = draw(st.sampled_from([AllOf, AnyOf]))
            requirements.append(kind(id=f"r{n}", title=f"Either {n}", of=parts, self_reported=draw(st.booleans())))
    return [RulePack(
        id="gen", title="Generated", version="1", citation="tests", grace_months=draw(st.integers(0, 9)),
        approved_providers=draw(st.frozensets(st.sampled_from(PROVIDERS), max_size=4)), requirements=requirements,
    )]


@settings(max_examples=EXAMPLES, deadline=None)
@given(rosters, records, vectorised_packs(), days, st.data())
def test_vectorised_kinds_need_no_engine(roster, rows, chosen, as_of, data):
    waivers = []
    for _ in range(data.draw(st.integers(0, 2))):
        granted_on = data.draw(days)
        waivers.append(Waiver(
            member=data.draw(st.sampled_from([m.id for m in roster] or ["A"])), pack="gen",
            requirement=data.draw(st.sampled_from([r.id for r in chosen[0].requirements])), kind="exemption",
            granted_by="Chief", granted_on=granted_on, reason="prior training",
            valid_until=data.draw(st.none() | st.dates(min_value=granted_on, max_value=dt.date(2030, 1, 1))),
        ))
    with ledger_with(roster, rows) as ledger:
        assert_same(ledger, chosen, as_of, waivers)
        result = columnar_compliance(rows_of(ledger), ledger.members(), chosen, as_of, catalogue=CATALOGUE)
        assert result.by_engine == {}


def test_hours_too_fine_for_integer_sums_are_left_to_the_engine():
    """An hour figure with more decimal places than the columnar path sums exactly: the stream
    evaluates that chunk with the engine, and the verdicts are still the engine's."""
    from decimal import Decimal

    from peertrain import Hours, Member, RulePack
    from peertrain.rules.columnar import MAX_SCALE, ScaleError
    from peertrain.rules.stream import stream_compliance

    fine = Decimal(1).scaleb(-(MAX_SCALE + 1))  # 1e-13 h
    roster = [Member(id="A", name="Jane Smith", roles={"peer_supporter"}), Member(id="B", name="Sam Lee",
                                                                                  roles={"peer_supporter"})]
    rows = [("A", "qpr", dt.date(2026, 1, 5), 1, None, None), ("B", "qpr", dt.date(2026, 2, 5), 2, None, None)]
    pack = RulePack(id="p", title="P", version="1", citation="tests", requirements=[
        Hours(id="h", title="Some hours", hours=Decimal(3) - fine),
    ])
    with ledger_with(roster, rows) as ledger:
        with pytest.raises(ScaleError):
            columnar_compliance(rows_of(ledger), roster, [pack], dt.date(2026, 6, 1), catalogue=CATALOGUE)
        stream = stream_compliance(ledger, [pack], dt.date(2026, 6, 1), catalogue=CATALOGUE, columnar=True)
        verdicts = tuple(v for r in stream for v in r.verdicts)
        expected = check_compliance(ledger.members(), ledger.completions(), [pack], dt.date(2026, 6, 1),
                                    catalogue=CATALOGUE)
        assert stream.columnar
        assert verdicts == expected.verdicts
        assert [v.status.value for v in verdicts] == ["not_met", "not_met"]
        assert verdicts[1].shortfall.hours == Decimal(1) - fine


# -- periodic, recurring and any_span: vectorised too -----------------------------------------------

#: Days where periods, months and leap years turn: completions, joins and as-of dates drawn from them
#: (and their neighbours) land on the edges the timelines must get right.
EDGES = sorted({
    d + dt.timedelta(days=k)
    for d in (dt.date(2023, 3, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 29), dt.date(2024, 7, 1),
              dt.date(2024, 10, 1), dt.date(2025, 3, 1), dt.date(2025, 7, 15), dt.date(2026, 7, 1),
              dt.date(2028, 2, 29))
    for k in (-1, 0, 1)
})
edge_days = st.sampled_from(EDGES) | days


def _periodic_or_span(req) -> bool:
    from peertrain import AllOf, AnyOf, Certificate
    from peertrain.rules.windows import AnySpan, Periodic

    if isinstance(req, AllOf | AnyOf):
        return all(_periodic_or_span(part) for part in req.of)
    return not isinstance(req, Certificate) and isinstance(req.window, Periodic | AnySpan)


@st.composite
def period_packs(draw: st.DrawFn) -> list:
    """A generated pack of periodic, recurring and any_span requirements only, some inside
    all_of / any_of (nested too), over windows that turn on the edge days."""
    from attrs import evolve

    from peertrain import AllOf, AnyOf, Recurring, RulePack
    from peertrain.rules.windows import AnySpan, Periodic
    from test_stream import leaves

    edge_windows = st.builds(
        Periodic, months=st.sampled_from([1, 3, 6, 12, 36]),
        anchor=st.sampled_from([dt.date(2000, 1, 1), dt.date(2000, 7, 1), dt.date(2023, 7, 15), dt.date(2024, 2, 28)]),
    ) | st.builds(AnySpan, months=st.sampled_from([1, 12, 13, 24]))

    def leaf(n: int):
        req = draw(leaves(n).filter(lambda r: hasattr(r, "window")))
        window = draw(edge_windows.filter(lambda w: isinstance(w, Periodic)) if isinstance(req, Recurring)
                      else edge_windows)
        return evolve(req, window=window)

    requirements = []
    for n in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            requirements.append(leaf(n))
        else:
            parts = [leaf(10 * n + k + 10) for k in range(draw(st.integers(1, 3)))]
            if draw(st.booleans()):
                inner = draw(st.sampled_from([AllOf, AnyOf]))
                parts.append(inner(id=f"r{n}x", title=f"Inner {n}", of=[leaf(100 * n + 99), leaf(100 * n + 98)]))
            kind = draw(st.sampled_from([AllOf, AnyOf]))
            requirements.append(kind(id=f"r{n}", title=f"Either {n}", of=parts, self_reported=draw(st.booleans())))
    return [RulePack(
        id="gen", title="Generated", version="1", citation="tests", grace_months=draw(st.integers(0, 13)),
        requirements=requirements,
    )]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.data())
def test_periodic_recurring_and_any_span_need_no_engine(data):
    """Packs of periodic, recurring and any_span requirements only (also inside all_of / any_of),
    on records, joins and as-of dates at period ends, month ends and leap days, with grace periods
    and waivers: no requirement goes to the engine, and every verdict is the engine's."""
    from peertrain import Member
    from test_stream import MEMBER_IDS, record_fields

    roster = data.draw(st.lists(st.builds(
        Member, id=st.sampled_from(MEMBER_IDS), name=st.just("Jane Smith"), roles=st.just({"peer_supporter"}),
        joined_on=st.none() | edge_days,
    ), max_size=4, unique_by=lambda m: m.id))
    rows = data.draw(st.lists(st.tuples(st.sampled_from(MEMBER_IDS), record_fields[0], edge_days, *record_fields[2:]),
                              max_size=25))
    chosen = data.draw(period_packs())
    as_of = data.draw(edge_days)
    waivers = [
        Waiver(member=m.id, pack="gen", requirement=data.draw(st.sampled_from([r.id for r in chosen[0].requirements])),
               kind="exemption", granted_by="Chief", granted_on=as_of, reason="prior training")
        for m in roster if data.draw(st.integers(0, 5)) == 0
    ]
    with ledger_with(roster, rows) as ledger:
        assert_same(ledger, chosen, as_of, waivers)
        result = columnar_compliance(rows_of(ledger), ledger.members(), chosen, as_of, catalogue=CATALOGUE,
                                     waivers=waivers)
        assert result.by_engine == {}


def _one(roster, rows, req, as_of: dt.date, grace: int = 0) -> dict:
    """Each member's verdict of ``req`` as of ``as_of``: the columnar path's, checked to be the
    engine's, with no engine fallback."""
    from peertrain import RulePack

    pack = RulePack(id="p", title="P", version="1", citation="tests", grace_months=grace, requirements=[req])
    with ledger_with(roster, rows) as ledger:
        assert_same(ledger, [pack], as_of)
        result = columnar_compliance(rows_of(ledger), ledger.members(), [pack], as_of, catalogue=CATALOGUE)
        assert result.by_engine == {}
        return {v.member: v for mv in result.member_verdicts() for v in mv.verdicts}


def test_recurring_at_a_quarter_end_by_hand():
    """Quarterly sessions, one on 31 March, the last day of Q1: Q1 is met; it stays met through Q2
    (Q1 covers it) and lapses on 1 July, when Q2 binds and held nothing."""
    from peertrain import CourseFilter, Member, Recurring
    from peertrain.rules.windows import Periodic

    course = sorted(CATALOGUE.courses)[0]
    roster = [Member(id="A", name="Jane Smith", roles={"peer_supporter"})]
    rows = [("A", course, dt.date(2026, 3, 31), 2, None, None)]
    req = Recurring(id="q", title="Quarterly team training", window=Periodic(3), counts=CourseFilter(), sessions=1)
    end = _one(roster, rows, req, dt.date(2026, 3, 31))["A"]
    assert (end.status.value, end.lapses_on, end.due_on) == ("met", dt.date(2026, 7, 1), dt.date(2026, 6, 30))
    assert (end.window_start, end.window_end) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert end.explanation == "Met: 1 of 1 session (each quarter); stays met through 2026-06-30."
    after = _one(roster, rows, req, dt.date(2026, 4, 2))["A"]
    assert (after.status.value, after.lapses_on) == ("due_soon", dt.date(2026, 7, 1))
    assert after.evidence == end.evidence
    assert len(after.evidence) == 1
    assert after.shortfall.count == 1
    assert after.explanation.startswith(
        "Due soon: 0 of 1 session this period; the period 2026-01-01 to 2026-03-31 was met (1 of 1 session)"
    )
    lapsed = _one(roster, rows, req, dt.date(2026, 7, 1))["A"]
    assert (lapsed.status.value, lapsed.lapses_on, lapsed.evidence) == ("lapsed", dt.date(2026, 7, 1), ())


def test_periodic_and_any_span_on_a_leap_day_by_hand():
    """29 February 2024. Monthly hours done on the leap day hold February and March, lapsing on
    1 April. A member who joined on the leap day with a month's grace (to 29 March) is in grace,
    first due in March. Twelve months ending on the leap day start after 28 February 2023:
    an hour on 1 March 2023 counts with it, one on 28 February 2023 does not."""
    from peertrain import CourseFilter, Hours, Member
    from peertrain.rules.windows import AnySpan, Periodic

    course = sorted(CATALOGUE.courses)[0]
    leap = dt.date(2024, 2, 29)
    roster = [Member(id="A", name="Jane Smith", roles={"peer_supporter"}),
              Member(id="B", name="Sam Lee", roles={"peer_supporter"}, joined_on=leap)]
    monthly = Hours(id="m", title="Monthly hour", hours=1, counts=CourseFilter(), window=Periodic(1))
    found = _one(roster, [("A", course, leap, 1, None, None)], monthly, dt.date(2024, 3, 1), grace=1)
    a, b = found["A"], found["B"]
    assert (a.status.value, a.lapses_on, a.due_on) == ("due_soon", dt.date(2024, 4, 1), dt.date(2024, 3, 31))
    assert (b.status.value, b.lapses_on, b.due_on) == ("grace", dt.date(2024, 4, 1), dt.date(2024, 3, 31))
    assert b.explanation == (
        "Not met yet; new member, first due by 2024-03-31: 0 of 1 h this period; the first period due is "
        "this period (each month)."
    )
    on_leap = _one(roster, [("A", course, leap, 1, None, None)], monthly, leap)["A"]
    assert (on_leap.status.value, on_leap.window_start, on_leap.window_end) == ("due_soon", dt.date(2024, 2, 1), leap)

    yearly = Hours(id="y", title="Two hours in a year", hours=2, counts=CourseFilter(), window=AnySpan(12))
    rows = [("A", course, dt.date(2023, 3, 1), 1, None, None), ("A", course, leap, 1, None, None),
            ("B", course, dt.date(2023, 2, 28), 1, None, None), ("B", course, leap, 1, None, None)]
    found = _one(roster, rows, yearly, dt.date(2024, 6, 1))
    a, b = found["A"], found["B"]
    assert (a.status.value, a.lapses_on, a.window_start, a.window_end) == ("met", None, dt.date(2023, 3, 1), leap)
    assert a.explanation == "Met: 2 of 2 h all within one 12-month span, completed 2023-03-01 to 2024-02-29."
    assert (b.status.value, b.hours_credited, b.window_start, b.window_end) == ("not_met", 1, dt.date(2023, 3, 1), leap)


def test_the_collector_is_paused_only_for_the_block_and_then_left_as_it_was():
    import gc

    from peertrain.rules.columnar._status import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner block does not switch it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("x")
    assert gc.isenabled()  # back on after an error too
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a caller's choice to keep it off is kept
    finally:
        gc.enable()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.none() | st.dates(), min_size=1, max_size=20))
def test_explanation_dates_are_written_as_isoformat_writes_them(days_):
    from peertrain.rules.columnar._status import _iso

    got = pl.DataFrame({"d": days_}, schema={"d": pl.Date}).select(_iso(pl.col("d"))).to_series().to_list()
    assert got == [None if d is None else d.isoformat() for d in days_]


def test_the_columnar_path_warns_nothing():
    """A user's `check --ledger` prints no library warning: polars' "sortedness cannot be checked"
    for the any-span as-of join (whose keys are sorted within every member by construction) stayed
    unseen in the other tests, where pytest turns warnings into errors that polars swallows."""
    import warnings

    from peertrain import CourseFilter, Hours, Member
    from peertrain.rules.windows import AnySpan

    course = sorted(CATALOGUE.courses)[0]
    roster = [Member(id=m, name="Jane Smith", roles={"peer_supporter"}) for m in ("A", "B")]
    rows = [("A", course, dt.date(2023, 3, 1), 1, None, None), ("A", course, dt.date(2024, 2, 29), 1, None, None),
            ("B", course, dt.date(2024, 1, 5), 1, None, None)]
    yearly = Hours(id="y", title="Two hours in a year", hours=2, counts=CourseFilter(), window=AnySpan(12))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _one(roster, rows, yearly, dt.date(2024, 6, 1))
    assert [str(w.message) for w in caught] == []
    assert (found["A"].status.value, found["B"].status.value) == ("met", "not_met")
