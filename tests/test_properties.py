"""Properties of compliance that must hold for any records (hypothesis)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from peertrain import (
    Completion,
    Member,
    Status,
    check_compliance,
    load_bundled_catalogue,
    load_pack,
)
from peertrain.rules.loading import bundled_pack_ids
from peertrain.rules.windows import Periodic, add_months, first_day_outside_rolling

CATALOGUE = load_bundled_catalogue()
PACKS = [load_pack(p, CATALOGUE) for p in bundled_pack_ids()]
COURSES = sorted(CATALOGUE.courses)
RANK = {
    Status.EXEMPT: 5,
    Status.MET: 5,
    Status.DUE_SOON: 4,
    Status.GRACE: 3,
    Status.LAPSED: 2,
    Status.NOT_MET: 1,
}

days = st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2027, 12, 31))
members = st.builds(
    Member,
    id=st.just("M1"),
    name=st.just("Jane Smith"),
    roles=st.sets(st.sampled_from(["peer_supporter", "coordinator", "clinician", "chaplain"]), min_size=1),
    functions=st.sets(st.sampled_from(["prevention", "intervention", "postvention"])),
    joined_on=st.none() | days,
)


@st.composite
def completions(draw, min_size=0, max_size=12):
    """Completions of member M1 with unique ids, some of them approved self-reported submissions."""
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(COURSES),
                days,
                st.none() | st.integers(min_value=1, max_value=40),
                st.sampled_from([None, "in_person", "online"]),
                st.sampled_from(["t.csv:1", "self-reported:1; approved by Jordan Lee"]),
            ),
            min_size=min_size,
            max_size=max_size,
        )
    )
    return [
        Completion(id=f"C{i}", member="M1", course=course, completed_on=on, hours=hours, delivery=delivery,
                   source=source)
        for i, (course, on, hours, delivery, source) in enumerate(rows)
    ]


def _evaluate(member, records, as_of):
    return check_compliance([member], records, PACKS, as_of, catalogue=CATALOGUE)


@given(members, completions(), days, st.randoms(use_true_random=False))
def test_verdicts_do_not_depend_on_the_order_of_completions(member, records, as_of, rnd):
    """Shuffling the completions gives identical verdicts and forecasts."""
    shuffled = list(records)
    rnd.shuffle(shuffled)
    assert _evaluate(member, records, as_of) == _evaluate(member, shuffled, as_of)


@given(members, completions(), completions(min_size=1, max_size=1), days)
def test_adding_a_completion_never_makes_a_verdict_worse(member, records, extra, as_of):
    """More training can only keep or improve each verdict on the same date
    (met ≥ due_soon ≥ grace ≥ lapsed ≥ not_met), and a met verdict's lapse date never comes sooner."""
    added = Completion(
        id="EXTRA", member="M1", course=extra[0].course, completed_on=extra[0].completed_on,
        hours=extra[0].hours, delivery=extra[0].delivery, source=extra[0].source,
    )
    before = _evaluate(member, records, as_of).verdicts
    after = _evaluate(member, [*records, added], as_of).verdicts
    assert [v.key for v in before] == [v.key for v in after]
    for old, new in zip(before, after, strict=True):
        assert RANK[new.status] >= RANK[old.status], (old.explanation, new.explanation)
        if old.status is Status.MET and old.lapses_on is not None:
            assert new.lapses_on is None or new.lapses_on >= old.lapses_on


@given(members, completions(), days)
def test_verdict_dates_are_consistent(member, records, as_of):
    """due_on is the day before lapses_on; compliant verdicts lapse after D, lapsed ones on or before."""
    for v in _evaluate(member, records, as_of).verdicts:
        if v.lapses_on is not None and v.status is not Status.NOT_MET:
            assert v.due_on == v.lapses_on - dt.timedelta(days=1)
        if v.status in (Status.MET, Status.DUE_SOON, Status.GRACE) and v.lapses_on is not None:
            assert v.lapses_on > as_of
        if v.status is Status.LAPSED:
            assert v.lapses_on is not None
            assert v.lapses_on <= as_of
        if v.status is Status.DUE_SOON:
            assert v.lapses_on is not None
            assert (v.lapses_on - as_of).days <= 90


@given(days, st.integers(min_value=1, max_value=48))
def test_rolling_drop_day_is_the_first_day_outside(completed_on, months):
    """first_day_outside_rolling(C, N) is the least D with D - N months >= C."""
    drop = first_day_outside_rolling(completed_on, months)
    assert add_months(drop, -months) >= completed_on
    assert add_months(drop - dt.timedelta(days=1), -months) < completed_on


@given(days, st.sampled_from([1, 3, 6, 12, 36]), days)
def test_periodic_periods_tile_time(day, months, anchor):
    """Every day lies in exactly one period, and periods are contiguous."""
    window = Periodic(months, anchor.replace(day=min(anchor.day, 28)))
    index = window.index_of(day)
    start, end = window.period(index)
    assert start <= day < end
    assert window.period(index + 1)[0] == end
