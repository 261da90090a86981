"""``all_of`` and ``any_of`` for every member at once, from their parts' finished frames: the engine's
:func:`~peertrain.rules.engine.combine_timelines` and ``_composite_tally`` as column expressions.

A part's frame has a row for every member the part applies to (its timeline counts) and says in
``has_verdict`` whether that member gets a verdict from it (a composite none of whose parts
apply has a timeline but no verdict). Where the engine finds a composite's timeline only by a
scan (an ``all_of`` not met whose unmet parts were all met once), ``scan`` is set and the caller
asks the engine for that member.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from peertrain.rules.columnar._tally import TALLY, conform
from peertrain.rules.requirements import AllOf, AnyOf, Requirement
from peertrain.rules.verdict import Status

__all__ = ["combine"]

_EMPTY = pl.lit([], dtype=pl.List(pl.String()))
_GOOD = [Status.MET.value, Status.DUE_SOON.value, Status.EXEMPT.value]


def _any(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal(exprs) if exprs else pl.lit(False)


def _count(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.sum_horizontal([e.cast(pl.Int64) for e in exprs]) if exprs else pl.lit(0, dtype=pl.Int64)


def _titles(flags: Sequence[pl.Expr], titles: Sequence[str]) -> pl.Expr:
    return pl.concat_str([pl.when(f).then(pl.lit(t)) for f, t in zip(flags, titles, strict=True)], separator="; ",
                         ignore_nulls=True)


def _lists(flags: Sequence[pl.Expr], names: Sequence[str]) -> pl.Expr:
    if not flags:
        return _EMPTY
    chosen = [pl.when(f).then(pl.col(n)).otherwise(_EMPTY) for f, n in zip(flags, names, strict=True)]
    return pl.concat_list(chosen).list.unique(maintain_order=True)


def combine(
    req: AllOf | AnyOf, members: pl.DataFrame, parts: Sequence[tuple[Requirement, pl.DataFrame]]
) -> pl.DataFrame:
    """A TALLY frame (plus ``has_verdict`` and ``scan``) for ``req``, one row per member of
    ``members``, from its parts' finished frames in ``req.of`` order."""
    frame = members.select("member")
    n = len(parts)
    for i, (_part, found) in enumerate(parts):
        frame = frame.join(
            found.select(
                "member",
                pl.lit(True).alias(f"a{i}"), pl.col("has_verdict").alias(f"v{i}"),
                pl.col("satisfied").alias(f"s{i}"), pl.col("lapses").alias(f"l{i}"),
                pl.col("status").is_in(_GOOD).alias(f"g{i}"), pl.col("short_hours").alias(f"h{i}"),
                pl.col("evidence").alias(f"e{i}"), pl.col("short_courses").alias(f"c{i}"),
                pl.col("short_topics").alias(f"t{i}"),
                (
                    (pl.col("short_hours").fill_null(0) != 0) | (pl.col("short_count").fill_null(0) != 0)
                    | (pl.col("short_minimums").list.len() > 0) | (pl.col("short_courses").list.len() > 0)
                    | (pl.col("short_topics").list.len() > 0)
                ).alias(f"x{i}"),
            ),
            on="member", how="left",
        )
    applies = [pl.col(f"a{i}").fill_null(False) for i in range(n)]
    met = [a & pl.col(f"s{i}") for i, a in enumerate(applies)]
    unmet = [a & ~pl.col(f"s{i}") for i, a in enumerate(applies)]
    verdict = [a & pl.col(f"v{i}") for i, a in enumerate(applies)]
    good = [v & pl.col(f"g{i}") for i, v in enumerate(verdict)]
    bad = [v & ~pl.col(f"g{i}") for i, v in enumerate(verdict)]
    hours = [v & pl.col(f"h{i}").is_not_null() & (pl.col(f"h{i}") != 0) for i, v in enumerate(verdict)]
    titles = [part.title for part, _f in parts]

    def over(flags: Sequence[pl.Expr], how: str) -> pl.Expr:
        values = [pl.when(f).then(pl.col(f"{how[0]}{i}")) for i, f in enumerate(flags)]
        if not values:
            return pl.lit(None)
        return pl.min_horizontal(values) if how.endswith("min") else pl.max_horizontal(values)

    if isinstance(req, AllOf):
        satisfied = ~_any(unmet)
        lapses: pl.Expr = pl.when(satisfied).then(over(met, "lmin")).otherwise(None)
        scan = ~satisfied & ~_any([u & pl.col(f"l{i}").is_null() for i, u in enumerate(unmet)])
        tally_satisfied = ~_any(bad)
        detail = (
            _count(good).cast(pl.String) + " of " + _count(verdict).cast(pl.String) + " parts met (all needed)"
            + pl.when(_any(bad)).then("; not met: " + _titles(bad, titles)).otherwise(pl.lit(""))
        )
        short_hours = pl.when(_any(hours)).then(pl.sum_horizontal(
            [pl.when(h).then(pl.col(f"h{i}")).otherwise(0) for i, h in enumerate(hours)]))
        short = [v & pl.col(f"x{i}") for i, v in enumerate(verdict)]
        evidence = _lists(verdict, [f"e{i}" for i in range(n)])
    else:
        satisfied = _any(met)
        met_forever = _any([m & pl.col(f"l{i}").is_null() for i, m in enumerate(met)])
        lapses = (
            pl.when(satisfied).then(pl.when(met_forever).then(None).otherwise(over(met, "lmax")))
            .otherwise(over(unmet, "lmax"))
        )
        scan = pl.lit(False)
        tally_satisfied = _any(good)
        detail = pl.when(tally_satisfied).then("satisfied by " + _titles(good, titles)).otherwise(
            "none of " + _count(verdict).cast(pl.String) + " options met (any one needed): " + _titles(verdict, titles)
        )
        short_hours = pl.when(_any(hours) & ~tally_satisfied).then(over(hours, "hmin"))
        short = [v & ~tally_satisfied for v in verdict]
        evidence = _lists(good, [f"e{i}" for i in range(n)])
    frame = frame.with_columns(
        satisfied=satisfied, lapses=lapses.cast(pl.Date), tally_satisfied=tally_satisfied, detail=detail,
        short_hours=short_hours.cast(pl.Int64), evidence=evidence,
        short_courses=_lists(short, [f"c{i}" for i in range(n)]),
        short_topics=_lists(short, [f"t{i}" for i in range(n)]),
        has_verdict=_any(applies), scan=scan,
    )
    extra = frame.select("member", "has_verdict", "scan")
    return conform(frame.select([c for c in frame.columns if c in TALLY])).join(extra, on="member", how="left")
