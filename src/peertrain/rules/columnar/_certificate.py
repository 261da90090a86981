"""``certificate`` requirements, every member at once: the engine's ``_certificate_timeline`` and
``_certificate_tally`` as group-bys."""

from __future__ import annotations

import datetime as dt
from functools import partial

import polars as pl

from peertrain.rules._measure import _titles
from peertrain.rules.columnar._tally import Context, conform, day_map, dedup, plus_months
from peertrain.rules.requirements import Certificate, Requirement
from peertrain.rules.windows import ONE_DAY

__all__ = ["measure_certificate"]

def measure_certificate(req: Requirement, ctx: Context, subjects: pl.DataFrame) -> pl.DataFrame | None:
    if not isinstance(req, Certificate):
        return None
    credits = ctx.counted(req).select("member", "id", "course", "on")
    months = {
        course_id: req.valid_months or ctx.catalogue.course(course_id).validity_months
        for course_id in credits["course"].unique().to_list()
    }
    titles = {course_id: ctx.catalogue.course(course_id).title for course_id in months}
    # each validity's expiry once per day (day_map), chosen by course; no validity: no expiry
    expiry = pl.lit(None, dtype=pl.Date)
    for valid in sorted({m for m in months.values() if m is not None}):
        courses = pl.Series([c for c, m in months.items() if m == valid], dtype=pl.String).implode()
        later = day_map(credits, "on", partial(plus_months, months=valid))
        expiry = pl.when(pl.col("course").is_in(courses)).then(later).otherwise(expiry)
    credits = credits.with_columns(expiry=expiry).with_columns(
        rank=pl.col("expiry").fill_null(dt.date.max),
        current=pl.col("expiry").is_null() | (pl.col("expiry") > ctx.as_of),
    )
    # the engine's best: the latest expiry, then the latest (date, id); the credits are in member,
    # date, id order, so that is the last of a member's credits with the latest expiry (no sort)
    top = pl.col("rank") == pl.col("rank").max().over("member")
    last = [pl.col(c).last() for c in ("id", "on", "expiry", "course")]
    best_current = credits.filter("current").filter(top).group_by("member").agg(last)
    best_any = credits.filter(top).group_by("member").agg([e.name.suffix("_any") for e in last])
    names = _titles(req.courses, ctx)  # type: ignore[arg-type]
    joined = subjects.select("member").join(best_current, on="member", how="left").join(
        best_any, on="member", how="left"
    ).with_columns(
        title=pl.col("course").replace_strict(titles, default=None, return_dtype=pl.String),
        title_any=pl.col("course_any").replace_strict(titles, default=None, return_dtype=pl.String),
    )
    met = pl.col("id").is_not_null()
    frame = joined.select(
        "member",
        satisfied=met,
        lapses=pl.when(met).then(pl.col("expiry")).otherwise(pl.col("expiry_any")),
        detail=pl.when(met)
        .then(
            pl.col("title") + " completed " + pl.col("on").dt.to_string("%Y-%m-%d")
            + pl.when(pl.col("expiry").is_null())
            .then(pl.lit(", does not expire"))
            .otherwise(", valid until " + (pl.col("expiry") - ONE_DAY).dt.to_string("%Y-%m-%d"))
        )
        .when(pl.col("id_any").is_not_null())
        .then(
            pl.col("title_any") + " completed " + pl.col("on_any").dt.to_string("%Y-%m-%d")
            + pl.when(pl.col("expiry_any").is_null())
            .then(pl.lit(""))
            .otherwise(" expired " + pl.col("expiry_any").dt.to_string("%Y-%m-%d"))
            + f"; needs a current {names}"
        )
        .otherwise(pl.lit(f"no {names} on record")),
        short_count=pl.when(met).then(None).otherwise(pl.lit(1, dtype=pl.Int64)),
        short_courses=pl.when(met).then(pl.lit([], dtype=pl.List(pl.String))).otherwise(
            pl.lit(dedup(req.courses), dtype=pl.List(pl.String))
        ),
        evidence=pl.when(met).then(pl.concat_list(pl.col("id"))).otherwise(pl.lit([], dtype=pl.List(pl.String))),
        window_start=pl.when(met).then(pl.col("on")),
        window_end=pl.when(met).then(pl.col("expiry") - ONE_DAY),
    )
    return conform(frame)
