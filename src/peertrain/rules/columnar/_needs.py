"""What "met" is for ``hours``, ``n_of``, ``topics`` and ``recurring``, as column expressions, and
the tally a verdict shows from a member's totals: shared by every windowed kind's measure
(:mod:`._windowed`, :mod:`._periodic`, :mod:`._anyspan`).

A kind's *measures* are per-credit columns summed per member over a window: for ``hours`` the
hours and each minimum's hours; for ``recurring`` one per session (and the hours, shown but not
tested); for ``n_of`` and ``topics`` one count per listed course or required topic ("covered"),
met when enough of them are.
"""

from __future__ import annotations

import polars as pl
from attrs import field, frozen

from peertrain.rules._credits import _fmt
from peertrain.rules.columnar._tally import Context
from peertrain.rules.requirements import Hours, NOf, Recurring, Topics

__all__ = ["Counted", "Need", "need_of", "relevant", "required_topics", "tally_of"]

#: The requirement kinds a :class:`Need` describes.
Counted = Hours | NOf | Topics | Recurring


@frozen
class Need:
    """What "met" is for one requirement: ``sums`` (name -> (credit expression, least total))
    must all reach their least, and at least ``keys_needed`` of ``keys`` (name -> credit
    expression) must be covered; ``shown`` are summed too, for the tally only."""

    sums: dict[str, tuple[pl.Expr, int]]
    keys: dict[str, pl.Expr]
    keys_needed: int
    shown: dict[str, pl.Expr] = field(factory=dict)

    @property
    def tested(self) -> list[str]:
        """The names of the measures "met" tests."""
        return [*self.sums, *self.keys]

    @property
    def measures(self) -> dict[str, pl.Expr]:
        """Every measure, by name: the credit expression summed per member."""
        return {name: expr for name, (expr, _least) in self.sums.items()} | self.keys | self.shown

    @property
    def met_by_nothing(self) -> bool:
        """Whether no credit at all meets it (a ``topics`` requirement with no topic to cover)."""
        return not self.sums and self.keys_needed <= 0

    def met(self, totals: dict[str, pl.Expr]) -> pl.Expr:
        test = pl.lit(True)
        for name, (_expr, least) in self.sums.items():
            test = test & (totals[name] >= least)
        if self.keys:
            covered = pl.sum_horizontal([(totals[k] > 0).cast(pl.Int64) for k in self.keys])
            test = test & (covered >= self.keys_needed)
        return test


def need_of(req: Counted, ctx: Context) -> Need:
    """The :class:`Need` of ``req`` over the credits of ``ctx``."""
    if isinstance(req, Hours):
        sums = {"total": (pl.col("hours"), ctx.units(req.hours))}
        for i, minimum in enumerate(req.minimums):
            groups = pl.Series(ctx.groups_matching(minimum.counts), dtype=pl.Int32).implode()
            sums[f"min{i}"] = (pl.when(pl.col("group").is_in(groups)).then(pl.col("hours")).otherwise(0),
                               ctx.units(minimum.hours))
        return Need(sums, {}, 0)
    if isinstance(req, Recurring):
        return Need({"sessions": (pl.lit(1, dtype=pl.Int64), req.sessions)}, {}, 0, {"total": pl.col("hours")})
    if isinstance(req, NOf):
        keys = {f"course{i}": (pl.col("course") == c).cast(pl.Int64) for i, c in enumerate(dict.fromkeys(req.courses))}
        return Need({}, keys, req.n)
    required = required_topics(req, ctx)
    keys = {}
    for i, topic in enumerate(required):
        covering = [c.id for c in ctx.catalogue.courses.values() if topic in c.topics]
        keys[f"topic{i}"] = pl.col("course").is_in(pl.Series(covering, dtype=pl.String).implode()).cast(pl.Int64)
    return Need({}, keys, len(required))


def required_topics(req: Topics, ctx: Context) -> list[str]:
    """The topics ``req`` requires (its own and its track's), sorted."""
    track = ctx.catalogue.track(req.track).topics if req.track else frozenset()
    return sorted(req.topics | track)


def relevant(need: Need) -> pl.Expr:
    """The credits that cover a required topic (a topics requirement's evidence)."""
    if not need.keys:
        return pl.col("id").filter(pl.lit(False))
    return pl.col("id").filter(pl.any_horizontal([pl.col(k) > 0 for k in need.keys]))


def tally_of(req: Counted, ctx: Context, need: Need, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (a member's totals of every measure, and ``evidence``; for ``topics`` also
    ``relevant``) with the tally the engine's ``_measure`` shows: ``detail``, the hours, the
    shortfall and, for ``topics``, the evidence."""
    if isinstance(req, Hours):
        return _hours_tally(req, ctx, frame)
    if isinstance(req, Recurring):
        count = pl.col("sessions")
        plural = "s" if req.sessions != 1 else ""
        return frame.with_columns(
            detail=count.cast(pl.String) + f" of {req.sessions} session{plural}",
            short_count=pl.max_horizontal(pl.lit(req.sessions) - count, pl.lit(0)).cast(pl.Int64),
            hours_credited=pl.col("total"),
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
    required = required_topics(req, ctx)
    if not names:
        missing_list: pl.Expr = pl.lit([], dtype=pl.List(pl.String))
    else:
        gaps = [pl.when(pl.col(k) == 0).then(pl.lit(t)) for k, t in zip(names, required, strict=True)]
        missing_list = pl.concat_list(gaps)
        missing_list = missing_list.list.drop_nulls()
    # the list once, then the text from it (eager frames do not share a repeated expression)
    frame = frame.with_columns(short_topics=missing_list, evidence=pl.col("relevant"))
    shown = pl.col("short_topics")
    return frame.with_columns(
        detail=covered.cast(pl.String) + f" of {len(required)} topics covered"
        + pl.when(shown.list.len() > 0).then(", missing " + shown.list.join(", ")).otherwise(pl.lit("")),
    )


def _hours_tally(req: Hours, ctx: Context, frame: pl.DataFrame) -> pl.DataFrame:
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
