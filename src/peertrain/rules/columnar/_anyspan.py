"""``hours``, ``n_of`` and ``topics`` over an ``any_span`` window, every member at once.

Met on D when some span ``(E - N months, E]`` ending on a completion day ``E`` holds enough; once
met it stays met, so there is no lapse day. Each member's totals per completion day, summed
cumulatively, give every span's totals as a difference: the running total on ``E`` less the one
on the last day on or before ``E - N months`` (an as-of join). The tally is the engine's
``_best_span``: the span that comes closest (met, then hours for ``hours``, then how many
completions count; the later span on a tie), with its credits as evidence; with no credit at all,
the span ending on D.
"""

from __future__ import annotations

import polars as pl

from peertrain.rules.columnar._needs import need_of, relevant, tally_of
from peertrain.rules.columnar._tally import Context, conform, day_map, member_day, plus_months
from peertrain.rules.requirements import Hours, NOf, Requirement, Topics
from peertrain.rules.windows import ONE_DAY, AnySpan, add_months

__all__ = ["measure_any_span"]

_EMPTY = pl.lit([], dtype=pl.List(pl.String))


def measure_any_span(req: Requirement, ctx: Context, subjects: pl.DataFrame) -> pl.DataFrame | None:
    if not isinstance(req, Hours | NOf | Topics) or not isinstance(req.window, AnySpan):
        return None
    window = req.window
    need = need_of(req, ctx)
    measures = need.measures
    credits = ctx.counted(req).select("member", "id", "on", "course", "group", "hours", **measures)
    if isinstance(req, Topics):
        credits = credits.with_columns(
            counts=pl.any_horizontal([pl.col(k) > 0 for k in need.keys]) if need.keys else pl.lit(False)
        )
    else:
        credits = credits.with_columns(counts=pl.lit(True))
    credits = credits.with_columns(counts=pl.col("counts").cast(pl.Int64))
    running = [*measures, "counts"]
    days = (
        credits.group_by("member", "on").agg([pl.col(m).sum() for m in running])
        .with_columns(key=member_day(pl.col("on"))).sort("key")
        .with_columns(pl.col("member").set_sorted())  # by the key's order: over("member") takes slices
        .with_columns([pl.col(m).cum_sum().over("member") for m in running])
    )
    days = days.with_columns(low=day_map(days, "on", lambda on: plus_months(on, -window.months)))
    # the member's last day on or before the span's start (the days are in key order): the running
    # totals up to it are not in the span
    before = days.select("key", member_before="member", **{f"{m}_before": pl.col(m) for m in running})
    spans = days.with_columns(low_key=member_day(pl.col("low"))).join_asof(
        before, left_on="low_key", right_on="key", strategy="backward", check_sortedness=False,
    ).with_columns([
        (pl.col(m) - pl.when(pl.col("member_before") == pl.col("member")).then(pl.col(f"{m}_before")).otherwise(0))
        .alias(m) for m in running
    ])
    spans = spans.with_columns(met=need.met({m: pl.col(m) for m in measures}))
    # the engine's progress: (met, hours for an hours requirement, completions counted); later wins ties
    rank = ["met", "total" if isinstance(req, Hours) else "zero", "counts", "on"]
    # per member: keep the spans with the most of each in turn, then the latest (spans are in date order)
    best = spans.with_columns(zero=pl.lit(0))
    for name in rank[:-1]:
        best = best.filter(pl.col(name) == pl.col(name).max().over("member"))
    best = best.group_by("member").agg(pl.col("met", "on", "low").last())
    inside = credits.join(best.select("member", end="on", low="low"), on="member", how="inner").filter(
        (pl.col("on") > pl.col("low")) & (pl.col("on") <= pl.col("end"))
    )
    totals = inside.group_by("member").agg(
        [pl.col(m).sum() for m in measures], evidence=pl.col("id"),
        shown_on=pl.col("on").filter(pl.col("counts") > 0),
        **({"relevant": relevant(need)} if isinstance(req, Topics) else {}),
    )
    frame = subjects.select("member").join(totals, on="member", how="left").join(best, on="member", how="left")
    frame = frame.with_columns(
        [pl.col(m).fill_null(0) for m in measures],
        evidence=pl.col("evidence").fill_null(_EMPTY),
        **({"relevant": pl.col("relevant").fill_null(_EMPTY)} if isinstance(req, Topics) else {}),
    )
    frame = tally_of(req, ctx, need, frame.with_columns(satisfied=pl.col("met").fill_null(False)))
    first, last = pl.col("shown_on").list.min(), pl.col("shown_on").list.max()
    dates = pl.when(first == last).then(first.dt.to_string("%Y-%m-%d")).otherwise(
        first.dt.to_string("%Y-%m-%d") + " to " + last.dt.to_string("%Y-%m-%d")
    )
    spanned = pl.col("on").is_not_null()
    as_of = ctx.as_of
    frame = frame.with_columns(
        detail=pl.when(~spanned).then(pl.col("detail"))
        .when(pl.col("shown_on").list.len() > 0)
        .then(pl.col("detail") + f" {window.describe()}, completed " + dates)
        .otherwise(pl.col("detail") + f" {window.describe()}"),
        lapses=pl.lit(None, dtype=pl.Date),
        window_start=pl.when(spanned).then(pl.col("low") + ONE_DAY)
        .otherwise(pl.lit(add_months(as_of, -window.months) + ONE_DAY)),
        window_end=pl.when(spanned).then(pl.col("on")).otherwise(pl.lit(as_of)),
    )
    return conform(frame)
