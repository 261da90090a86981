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


def _vectorised(req) -> bool:
    """Whether every part of ``req`` is of a kind and window the columnar path takes itself."""
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
