"""The columnar evaluation (peertrain.rules.columnar) gives the engine's verdicts, field by field."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stream import CATALOGUE, days, ledger_with, packs, records, rosters

from peertrain import Waiver, check_compliance
from peertrain.ledger import Ledger
from peertrain.rules.columnar import ROW_COLUMNS, columnar_compliance


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
    for a, b in zip(got, expected.verdicts):
        assert a == b, (a, b)
    assert got == expected.verdicts
    assert tuple(mv.forecast for mv in result.member_verdicts()) == expected.forecasts
    assert result.warnings == expected.warnings
    assert result.counts() == expected.counts()


@settings(max_examples=300, deadline=None)
@given(rosters, records, packs(), days)
def test_columnar_verdicts_are_the_engines(roster, rows, chosen, as_of):
    with ledger_with(roster, rows) as ledger:
        assert_same(ledger, chosen, as_of)
