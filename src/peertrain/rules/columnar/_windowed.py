"""``hours``, ``n_of`` and ``topics`` over an ``all_time`` or ``rolling`` window, every member at once.

The tally is a group-by over the credits in the window. The timeline follows the engine's
``_ordered_rolling_timeline``: met on D, it lapses on the first drop day after which what is left
is not met; not met on D, a sweep over the change days (completion days and drop days up to D)
finds the last day it was met and the change day after it.

What "met" adds up is a kind's *measures* (:mod:`._needs`).
"""

from __future__ import annotations

import polars as pl

from peertrain.rules.columnar._needs import Need, need_of, relevant, tally_of
from peertrain.rules.columnar._tally import Context, conform, day_map, drop_day, member_day
from peertrain.rules.requirements import Hours, NOf, Requirement, Topics
from peertrain.rules.windows import ONE_DAY, AllTime, Rolling, add_months

__all__ = ["measure_windowed"]


def measure_windowed(req: Requirement, ctx: Context, subjects: pl.DataFrame) -> pl.DataFrame | None:
    if not isinstance(req, Hours | NOf | Topics) or not isinstance(req.window, AllTime | Rolling):
        return None
    need = need_of(req, ctx)
    credits = ctx.counted(req)
    measures = need.measures
    credits = credits.select("member", "id", "on", "course", "group", "hours", **measures)
    window = req.window
    if isinstance(window, Rolling):
        start = add_months(ctx.as_of, -window.months) + ONE_DAY
        credits = credits.with_columns(drop=day_map(credits, "on", lambda on: drop_day(on, window.months)))
        inside = credits.filter(pl.col("on") >= start)
    else:
        start, inside = None, credits
    totals = inside.group_by("member").agg(
        [pl.col(m).sum() for m in measures], evidence=pl.col("id"),
        **({"relevant": relevant(need)} if isinstance(req, Topics) else {}),
    )
    frame = subjects.select("member").join(totals, on="member", how="left").with_columns(
        [pl.col(m).fill_null(0) for m in measures]
    )
    frame = frame.with_columns(satisfied=need.met({m: pl.col(m) for m in measures}))
    frame = tally_of(req, ctx, need, frame)
    if isinstance(window, Rolling):
        met = frame.filter("satisfied").select("member")
        unmet = frame.filter(~pl.col("satisfied")).select("member")
        frame = (
            frame.join(
                _lapse_when_met(need, inside.join(met, on="member", how="semi")).rename({"lapses": "lapses_met"}),
                on="member", how="left",
            )
            .join(_lapse_when_not_met(need, credits.join(unmet, on="member", how="semi"), ctx), on="member", how="left")
            .with_columns(lapses=pl.when("satisfied").then(pl.col("lapses_met")).otherwise(pl.col("lapses")))
        )
    frame = frame.with_columns(window_start=pl.lit(start, dtype=pl.Date), window_end=pl.lit(ctx.as_of))
    return conform(frame)


def _lapse_when_met(need: Need, inside: pl.DataFrame) -> pl.DataFrame:
    """Met on D: the first drop day after which the credits still counting are not met."""
    names = need.tested
    by_day = (
        inside.group_by(key=member_day(pl.col("drop")))
        .agg(pl.col("member", "drop").first(), *[pl.col(n).sum() for n in names])
        .sort("key")
        .with_columns(pl.col("member").set_sorted())  # by the key's order: over("member") takes slices
    )
    # what still counts after each drop day: a key stays covered while a credit covering it has not dropped
    left = {n: pl.col(n).cum_sum(reverse=True).over("member") - pl.col(n) for n in names}
    return by_day.filter(~need.met(left)).group_by("member").agg(lapses=pl.col("drop").min())


def _lapse_when_not_met(need: Need, credits: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Not met on D: the change day after the last change day (up to D) on which it was met."""
    names = need.tested
    as_of = ctx.as_of
    dropped = credits.filter(pl.col("drop") <= as_of)
    events = pl.concat([
        credits.select("member", day=pl.col("on"), **{n: pl.col(n) for n in names}),
        dropped.select("member", day=pl.col("drop"), **{n: -pl.col(n) for n in names}),
    ])
    days = (
        events.group_by(key=member_day(pl.col("day")))
        .agg(pl.col("member", "day").first(), *[pl.col(n).sum() for n in names])
        .sort("key")
        .with_columns(pl.col("member").set_sorted())  # by the key's order: over("member") takes slices
    )
    running = days.with_columns([pl.col(n).cum_sum().over("member") for n in names])
    # the member's next change day (the days are in member, day order), else D
    later = pl.when(pl.col("member").shift(-1) == pl.col("member")).then(pl.col("day").shift(-1)).otherwise(as_of)
    running = running.with_columns(met=need.met({n: pl.col(n) for n in names}), later=later)
    # only members not met on D: met on D means met on their last change day (nothing changes after it)
    last = running.group_by("member").agg(
        now=pl.col("met").last(),
        lapses=pl.col("later").filter(pl.col("met")).last(),
    )
    return last.filter(~pl.col("now")).select("member", "lapses")
