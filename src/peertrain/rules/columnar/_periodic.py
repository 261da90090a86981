"""``hours``, ``n_of`` and ``topics`` over a ``periodic`` window, and ``recurring``, every member
at once.

Periods are numbered (:meth:`~peertrain.rules.windows.Periodic.index_of`); one group-by gives each
member's totals per period. On D, in period ``c``, the engine's ``satisfied(D)`` is: period ``c``
is met so far, or period ``c - 1`` does not bind the member, or it was met. Whether a period binds
a member is monotonic: every period from the member's *first due* one on binds (the period holding
the grace period's end; without grace, the first period starting on or after the join date;
without a join date, every period).

The timeline is the engine's, in closed form (all credits are dated on or before D):

- met on D: nothing more is added after D, so at the start of period ``c + 1`` it stays met only
  if period ``c`` is met or does not bind; after that, at the start of the first period after
  ``c + 1`` whose previous period binds, it lapses (that previous period holds no credit);
- not met on D (``_periodic_lapse``): it stopped being met at the start of the period after the
  latest period ``i < c`` on which it was met at the period's last change day: ``i`` is the
  first period due (the one before it does not bind) or a period after a met period, whichever
  is later.

The tally is the engine's ``_shown``: the current period, and when it is not met, either the first
period due or the previous period's tally (whose evidence counts too when it was met).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from peertrain.rules.columnar._needs import Counted, Need, need_of, relevant, tally_of
from peertrain.rules.columnar._tally import Context, conform, plus_months
from peertrain.rules.requirements import Hours, NOf, Recurring, Requirement, Topics
from peertrain.rules.windows import ONE_DAY, Periodic

__all__ = ["measure_periodic"]

_EMPTY = pl.lit([], dtype=pl.List(pl.String))


def _map(expr: pl.Expr, frame: pl.DataFrame, fn: Callable[[Any], Any], dtype: pl.DataType) -> pl.Series:
    """``fn`` of every value ``expr`` gives on ``frame``, computed once per distinct value."""
    values = frame.select(expr.alias("v")).to_series()
    table = {v: fn(v) for v in values.unique().to_list() if v is not None}
    return values.replace_strict(table, default=None, return_dtype=dtype)


def _index_of(window: Periodic, day: pl.Expr) -> pl.Expr:
    """:meth:`Periodic.index_of` of a date column: whole periods since the anchor (every period
    starts on the anchor's day of the month, which is 28 or less, so no month-end clamping)."""
    anchor = window.anchor
    elapsed = (
        (day.dt.year().cast(pl.Int64) - anchor.year) * 12 + (day.dt.month().cast(pl.Int64) - anchor.month)
        - (day.dt.day() < anchor.day).cast(pl.Int64)
    )
    return elapsed // window.months


def _first_due(window: Periodic, grace_end: dt.date | None, joined_on: dt.date | None) -> int | None:
    """The first period that binds the member (engine's ``_enforced``), ``None`` for every one."""
    if grace_end is not None:
        return window.index_of(grace_end)
    if joined_on is not None:
        joined = window.index_of(joined_on)
        return joined if window.start(joined) >= joined_on else joined + 1
    return None


def measure_periodic(req: Requirement, ctx: Context, subjects: pl.DataFrame) -> pl.DataFrame | None:
    if not isinstance(req, Hours | NOf | Topics | Recurring) or not isinstance(req.window, Periodic):
        return None
    window = req.window
    need = need_of(req, ctx)
    measures = need.measures
    current = window.index_of(ctx.as_of)
    credits = ctx.counted(req).select("member", "id", "on", "course", "group", "hours", **measures)
    credits = credits.with_columns(period=_index_of(window, pl.col("on")))
    by_period = credits.group_by("member", "period").agg(
        [pl.col(m).sum() for m in measures], evidence=pl.col("id"),
        **({"relevant": relevant(need)} if isinstance(req, Topics) else {}),
    )
    by_period = by_period.with_columns(met=need.met({m: pl.col(m) for m in measures}))
    people = subjects.select("member", "joined_on", "grace_end")
    pairs = people.select("grace_end", "joined_on").unique()
    firsts = {(g, j): _first_due(window, g, j) for g, j in pairs.iter_rows()}
    people = people.join(
        pl.DataFrame(
            [(g, j, f) for (g, j), f in firsts.items()],
            schema={"grace_end": pl.Date, "joined_on": pl.Date, "first_due": pl.Int64}, orient="row",
        ),
        on=["grace_end", "joined_on"], how="left", nulls_equal=True,
    )
    now = _tallied(req, ctx, need, people, by_period.filter(pl.col("period") == current))
    before = _tallied(req, ctx, need, people, by_period.filter(pl.col("period") == current - 1)).select(
        "member", prev_met="satisfied", prev_detail="detail", prev_evidence="evidence",
    )
    last_met = by_period.filter("met").group_by("member").agg(last_met=pl.col("period").max())
    frame = now.join(before, on="member", how="left").join(last_met, on="member", how="left")
    frame = _timeline(frame, window, current, need)
    return conform(_shown(frame, window, current))


def _tallied(req: Counted, ctx: Context, need: Need, people: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    """Every member's tally of one period (``satisfied``: the period is met)."""
    frame = people.join(totals.drop("period", "met"), on="member", how="left").with_columns(
        [pl.col(m).fill_null(0) for m in need.measures],
        evidence=pl.col("evidence").fill_null(_EMPTY),
        **({"relevant": pl.col("relevant").fill_null(_EMPTY)} if isinstance(req, Topics) else {}),
    )
    frame = frame.with_columns(satisfied=need.met({m: pl.col(m) for m in need.measures}))
    return tally_of(req, ctx, need, frame)


def _timeline(frame: pl.DataFrame, window: Periodic, current: int, need: Need) -> pl.DataFrame:
    first_due = pl.col("first_due")
    binds_before = first_due.is_null() | (first_due <= current - 1)
    binds_now = first_due.is_null() | (first_due <= current)
    met_now = pl.col("satisfied")
    frame = frame.with_columns(
        tally_satisfied=met_now,
        satisfied=met_now | ~binds_before | pl.col("prev_met"),
        binds_before=binds_before,
    )
    met_now = pl.col("tally_satisfied")
    # the period whose start ends it being met
    if need.met_by_nothing:
        ends = pl.lit(None, dtype=pl.Int64)
    else:
        ends = (
            pl.when("satisfied").then(
                pl.when(binds_now & ~met_now).then(pl.lit(current + 1))
                .otherwise(pl.max_horizontal(pl.lit(current + 2), first_due + 1))
            )
            .otherwise(pl.max_horizontal(first_due, pl.col("last_met") + 1) + 1)
        )
    frame = frame.with_columns(ends=ends.cast(pl.Int64))
    return frame.with_columns(lapses=plus_months(pl.lit(window.anchor), pl.col("ends") * window.months))


def _shown(frame: pl.DataFrame, window: Periodic, current: int) -> pl.DataFrame:
    prior = _show(window, current - 1)
    word = pl.when("prev_met").then(pl.lit("met")).otherwise(pl.lit("short"))
    first_due = pl.col("first_due")
    due_from = pl.when(first_due == current).then(pl.lit("this period")).otherwise(
        pl.col("first_due_shown")
    )
    shown = frame.with_columns(
        first_due_shown=_map(pl.col("first_due"), frame, lambda i: _show(window, i), pl.String()),
    )
    return shown.with_columns(
        detail=pl.when("tally_satisfied").then(pl.col("detail"))
        .when(~pl.col("binds_before")).then(pl.col("detail") + " this period; the first period due is " + due_from)
        .otherwise(pl.col("detail") + f" this period; the period {prior} was " + word
                   + " (" + pl.col("prev_detail") + ")"),
        evidence=pl.when(~pl.col("tally_satisfied") & pl.col("binds_before") & pl.col("prev_met"))
        .then(pl.concat_list("prev_evidence", "evidence"))
        .otherwise(pl.col("evidence")),
        window_start=pl.lit(window.start(current)),
        window_end=pl.lit(window.start(current + 1) - ONE_DAY),
    )


def _show(window: Periodic, index: int) -> str:
    start, end = window.period(index)
    return f"{start.isoformat()} to {(end - ONE_DAY).isoformat()}"
