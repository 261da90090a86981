"""``hours``, ``n_of`` and ``topics`` over an ``all_time`` or ``rolling`` window, every member at once.

The tally is a group-by over the credits in the window. The timeline follows the engine's
``_ordered_rolling_timeline``: met on D, it lapses on the first drop day after which what is left
is not met; not met on D, a sweep over the change days (completion days and drop days up to D)
finds the last day it was met and the change day after it.

What "met" adds up is a kind's *measures*: for ``hours`` the hours and each minimum's hours; for
``n_of`` and ``topics`` one count per listed course or required topic ("covered"), met when
enough of them are.
"""

from __future__ import annotations

import polars as pl
from attrs import frozen

from peertrain.rules._credits import _fmt
from peertrain.rules.columnar._tally import Context, conform, map_dates
from peertrain.rules.requirements import Hours, NOf, Requirement, Topics
from peertrain.rules.windows import ONE_DAY, AllTime, Rolling, add_months
from peertrain.rules.windows import first_day_outside_rolling as drop_day

__all__ = ["measure_windowed"]


@frozen
class _Need:
    """What "met" is for one requirement: ``sums`` (name -> (credit expression, least total))
    must all reach their least, and at least ``keys_needed`` of ``keys`` (name -> credit
    expression) must be covered."""

    sums: dict[str, tuple[pl.Expr, int]]
    keys: dict[str, pl.Expr]
    keys_needed: int

    def met(self, totals: dict[str, pl.Expr]) -> pl.Expr:
        test = pl.lit(True)
        for name, (_expr, least) in self.sums.items():
            test = test & (totals[name] >= least)
        if self.keys:
            covered = pl.sum_horizontal([(totals[k] > 0).cast(pl.Int64) for k in self.keys])
            test = test & (covered >= self.keys_needed)
        return test


def _need(req: Hours | NOf | Topics, ctx: Context) -> _Need:
    if isinstance(req, Hours):
        sums = {"total": (pl.col("hours"), ctx.units(req.hours))}
        for i, minimum in enumerate(req.minimums):
            groups = pl.Series(ctx.groups_matching(minimum.counts), dtype=pl.Int32).implode()
            sums[f"min{i}"] = (pl.when(pl.col("group").is_in(groups)).then(pl.col("hours")).otherwise(0),
                               ctx.units(minimum.hours))
        return _Need(sums, {}, 0)
    if isinstance(req, NOf):
        keys = {f"course{i}": (pl.col("course") == c).cast(pl.Int64) for i, c in enumerate(dict.fromkeys(req.courses))}
        return _Need({}, keys, req.n)
    required = _required(req, ctx)
    keys = {}
    for i, topic in enumerate(required):
        covering = [c.id for c in ctx.catalogue.courses.values() if topic in c.topics]
        keys[f"topic{i}"] = pl.col("course").is_in(pl.Series(covering, dtype=pl.String).implode()).cast(pl.Int64)
    return _Need({}, keys, len(required))


def _required(req: Topics, ctx: Context) -> list[str]:
    track = ctx.catalogue.track(req.track).topics if req.track else frozenset()
    return sorted(req.topics | track)


def measure_windowed(req: Requirement, ctx: Context, subjects: pl.DataFrame) -> pl.DataFrame | None:
    if not isinstance(req, Hours | NOf | Topics) or not isinstance(req.window, AllTime | Rolling):
        return None
    need = _need(req, ctx)
    credits = ctx.counted(req)
    measures = {name: expr for name, (expr, _least) in need.sums.items()} | need.keys
    credits = credits.select("member", "id", "on", "course", "group", "hours", **measures)
    window = req.window
    if isinstance(window, Rolling):
        start = add_months(ctx.as_of, -window.months) + ONE_DAY
        credits = credits.with_columns(drop=map_dates(pl.col("on"), credits, lambda d: drop_day(d, window.months)))
        inside = credits.filter(pl.col("on") >= start)
    else:
        start, inside = None, credits
    totals = inside.group_by("member").agg(
        [pl.col(m).sum() for m in measures], evidence=pl.col("id"),
        **({"relevant": _relevant(need)} if isinstance(req, Topics) else {}),
    )
    frame = subjects.select("member").join(totals, on="member", how="left").with_columns(
        [pl.col(m).fill_null(0) for m in measures]
    )
    frame = frame.with_columns(satisfied=need.met({m: pl.col(m) for m in measures}))
    frame = _tally(req, ctx, need, frame)
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


def _relevant(need: _Need) -> pl.Expr:
    """The credits that cover a required topic (a topics requirement's evidence)."""
    if not need.keys:
        return pl.col("id").filter(pl.lit(False))
    return pl.col("id").filter(pl.any_horizontal([pl.col(k) > 0 for k in need.keys]))


def _tally(req: Hours | NOf | Topics, ctx: Context, need: _Need, frame: pl.DataFrame) -> pl.DataFrame:
    if isinstance(req, Hours):
        parts = []
        minimum_shorts = []
        for i, minimum in enumerate(req.minimums):
            least = ctx.units(minimum.hours)
            got = pl.col(f"min{i}")
            parts.append(ctx.fmt(got) + f" h {minimum.label}, {_fmt(minimum.hours)} needed")
            minimum_shorts.append(
                pl.when(got < least).then(pl.struct(label=pl.lit(minimum.label), hours=pl.lit(least) - got))
            )
        mins = [(f"min{i}", ctx.units(m.hours)) for i, m in enumerate(req.minimums)]
        missing = pl.sum_horizontal(
            [pl.when(pl.col(n) < least).then(least - pl.col(n)).otherwise(0) for n, least in mins]
        ) if mins else pl.lit(0)
        short = pl.max_horizontal(pl.lit(ctx.units(req.hours)) - pl.col("total"), pl.lit(0))
        needed = pl.max_horizontal(short, missing)
        detail = ctx.fmt(pl.col("total")) + f" of {_fmt(req.hours)} h"
        if parts:
            detail = detail + " (" + pl.concat_str(parts, separator="; ") + ")"
        return frame.with_columns(
            detail=detail,
            hours_credited=pl.col("total"),
            hours_required=pl.lit(ctx.units(req.hours), dtype=pl.Int64),
            short_hours=needed.cast(pl.Int64),
            short_minimums=pl.concat_list(minimum_shorts).list.drop_nulls() if minimum_shorts else None,
        )
    names = list(need.keys)
    covered = pl.sum_horizontal([(pl.col(k) > 0).cast(pl.Int64) for k in names]) if names else pl.lit(0)
    if isinstance(req, NOf):
        listed = list(dict.fromkeys(req.courses))
        missing = pl.concat_list([pl.when(pl.col(k) == 0).then(pl.lit(c)) for k, c in zip(names, listed, strict=True)])
        return frame.with_columns(
            detail=covered.cast(pl.String) + f" of {req.n} courses from {', '.join(listed)}",
            short_count=pl.max_horizontal(pl.lit(req.n) - covered, pl.lit(0)).cast(pl.Int64),
            short_courses=pl.when(covered < req.n).then(missing.list.drop_nulls()),
        )
    required = _required(req, ctx)
    if not names:
        missing_list: pl.Expr = pl.lit([], dtype=pl.List(pl.String))
    else:
        gaps = [pl.when(pl.col(k) == 0).then(pl.lit(t)) for k, t in zip(names, required, strict=True)]
        missing_list = pl.concat_list(gaps)
        missing_list = missing_list.list.drop_nulls()
    missing_text = missing_list.list.join(", ")
    return frame.with_columns(
        detail=covered.cast(pl.String) + f" of {len(required)} topics covered"
        + pl.when(missing_list.list.len() > 0).then(", missing " + missing_text).otherwise(pl.lit("")),
        short_topics=missing_list,
        evidence=pl.col("relevant"),
    )


def _lapse_when_met(need: _Need, inside: pl.DataFrame) -> pl.DataFrame:
    """Met on D: the first drop day after which the credits still counting are not met."""
    names = [*need.sums, *need.keys]
    by_day = inside.group_by("member", "drop").agg([pl.col(n).sum() for n in names]).sort("member", "drop")
    # what still counts after each drop day: a key stays covered while a credit covering it has not dropped
    left = {n: pl.col(n).sum().over("member") - pl.col(n).cum_sum().over("member") for n in names}
    met_after = need.met(left)
    return (
        by_day.with_columns(met_after=met_after)
        .filter(~pl.col("met_after"))
        .group_by("member")
        .agg(lapses=pl.col("drop").min())
    )


def _lapse_when_not_met(need: _Need, credits: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Not met on D: the change day after the last change day (up to D) on which it was met."""
    names = [*need.sums, *need.keys]
    as_of = ctx.as_of
    dropped = credits.filter(pl.col("drop") <= as_of)
    events = pl.concat([
        credits.select("member", day=pl.col("on"), **{n: pl.col(n) for n in names}),
        dropped.select("member", day=pl.col("drop"), **{n: -pl.col(n) for n in names}),
    ])
    days = events.group_by("member", "day").agg([pl.col(n).sum() for n in names]).sort("member", "day")
    running = days.with_columns([pl.col(n).cum_sum().over("member") for n in names])
    running = running.with_columns(met=need.met({n: pl.col(n) for n in names}),
                                   later=pl.col("day").shift(-1).over("member").fill_null(as_of))
    # only members not met on D: met on D means met on their last change day (nothing changes after it)
    last = running.group_by("member").agg(
        now=pl.col("met").last(),
        lapses=pl.col("later").filter(pl.col("met")).last(),
    )
    return last.filter(~pl.col("now")).select("member", "lapses")
