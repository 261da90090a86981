"""What every kind's columnar measure gives, per member: the timeline on the as-of date and the
tally a verdict shows (:data:`TALLY`), and the shared pieces kinds build it from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Protocol

import polars as pl
from attrs import frozen

from peertrain.rules._credits import Credit, _matches, _sieve
from peertrain.rules.catalog import Catalogue
from peertrain.rules.columnar._input import Credits
from peertrain.rules.model import Delivery
from peertrain.rules.requirements import Certificate, CourseFilter, NOf, Requirement, RulePack
from peertrain.rules.windows import ONE_DAY

__all__ = [
    "TALLY", "Context", "Measure", "conform", "day_map", "drop_day", "fmt_units", "map_dates", "member_day",
    "plus_months",
]

#: One row per member the requirement applies to (``member`` is of the roster's ``Enum`` type).
#: ``satisfied`` and ``lapses`` are the engine's timeline on the as-of date (``lapses`` is also set
#: when not satisfied: the day it stopped being met, if it ever was); the rest is the tally a
#: verdict shows (``tally_satisfied`` tells a periodic rule met only because a period does not
#: bind the member yet). Hours are scaled.
TALLY: dict[str, pl.DataType] = {
    "member": pl.String(),
    "satisfied": pl.Boolean(),
    "lapses": pl.Date(),
    "tally_satisfied": pl.Boolean(),
    "detail": pl.String(),
    "hours_credited": pl.Int64(),
    "hours_required": pl.Int64(),
    "short_hours": pl.Int64(),
    "short_minimums": pl.List(pl.Struct({"label": pl.String(), "hours": pl.Int64()})),
    "short_count": pl.Int64(),
    "short_courses": pl.List(pl.String()),
    "short_topics": pl.List(pl.String()),
    "evidence": pl.List(pl.String()),
    "window_start": pl.Date(),
    "window_end": pl.Date(),
}


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every :data:`TALLY` column, in order: a missing list column is empty, any
    other missing column null; ``tally_satisfied`` defaults to ``satisfied``."""
    if "tally_satisfied" not in frame.columns:
        frame = frame.with_columns(tally_satisfied=pl.col("satisfied"))
    missing = []
    for name, dtype in TALLY.items():
        if name in frame.columns:
            continue
        if isinstance(dtype, pl.List):
            missing.append(pl.lit([], dtype=dtype).alias(name))
        else:
            missing.append(pl.lit(None, dtype=dtype).alias(name))
    frame = frame.with_columns(missing) if missing else frame
    lists = [pl.col(n).fill_null(pl.lit([], dtype=t)) for n, t in TALLY.items() if isinstance(t, pl.List)]
    # every column has its type, but ``member``, which keeps the roster's Enum
    typed = [pl.col(n) if n == "member" else pl.col(n).cast(t) for n, t in TALLY.items()]
    return frame.with_columns(lists).select(typed)


def fmt_units(expr: pl.Expr, places: int) -> pl.Expr:
    """Scaled hours as the engine writes them in explanations (``9.5``, ``24``, ``0``)."""
    if places == 0:
        return expr.cast(pl.String)
    whole = (expr // 10**places).cast(pl.String)
    frac = (expr % 10**places).cast(pl.String).str.zfill(places).str.strip_chars_end("0")
    return pl.when(frac == "").then(whole).otherwise(whole + "." + frac)


def map_dates(expr: pl.Expr, frame: pl.DataFrame, fn: Callable[[dt.date], dt.date]) -> pl.Series:
    """``fn`` of every date ``expr`` gives on ``frame``, computed once per distinct date."""
    values = frame.select(expr.alias("d")).to_series()
    table = {d: fn(d) for d in values.unique().to_list() if d is not None}
    return values.replace_strict(table, default=None, return_dtype=pl.Date)


def plus_months(expr: pl.Expr, months: int | pl.Expr) -> pl.Expr:
    """:func:`~peertrain.rules.windows.add_months` of a date column (clamped to the month's end,
    as ``relativedelta`` does), without a Python call per date; ``months``: a number or an
    integer column."""
    if isinstance(months, int):
        return expr.dt.offset_by(f"{months}mo")
    return expr.dt.offset_by(pl.format("{}mo", months))


def day_map(frame: pl.DataFrame, column: str, fn: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """``fn`` of the date column ``column`` of ``frame``, computed once for each day from its
    least to its greatest date and gathered back by day number: month arithmetic (``offset_by``)
    costs some 65 ns a row, a gather 2. When the dates span far more days than there are rows,
    ``fn`` of the column itself."""
    days = frame.get_column(column)
    low, high = days.min(), days.max()
    if not isinstance(low, dt.date) or not isinstance(high, dt.date) or (high - low).days > 2 * len(days) + 4096:
        return fn(pl.col(column))
    table = pl.DataFrame({"d": pl.date_range(low, high, "1d", eager=True)}).select(fn(pl.col("d"))).to_series()
    return pl.lit(table).gather(pl.col(column).cast(pl.Int32) - (low - _EPOCH).days)


_EPOCH = dt.date(1970, 1, 1)


def member_day(day: pl.Expr) -> pl.Expr:
    """The ``member`` column and a date column as one integer that orders by member, then day
    (group-bys and sorts on one integer are much faster than on the two columns)."""
    return pl.col("member").to_physical().cast(pl.Int64) * 2**32 + day.cast(pl.Int32).cast(pl.Int64) + 2**31


def drop_day(expr: pl.Expr, months: int) -> pl.Expr:
    """:func:`~peertrain.rules.windows.first_day_outside_rolling` of a date column: ``months``
    later, or, when month-end clamping makes that day still hold the completion, the first day of
    the following month."""
    day = plus_months(expr, months)
    return pl.when(plus_months(day, -months) < expr).then(day.dt.month_end() + ONE_DAY).otherwise(day)


@frozen(eq=False)
class Context:
    """One rule pack's evaluation: the credits, the catalogue, the as-of date."""

    pack: RulePack
    catalogue: Catalogue
    credits: Credits
    as_of: dt.date

    def _representative(self, group: int) -> Credit:
        course_id, provider, delivery, self_reported = self.credits.groups[group]
        course = self.catalogue.course(course_id)
        return Credit(id="", course=course, on=dt.date.min, hours=Decimal(0), delivery=Delivery(delivery),
                      provider=provider, self_reported=self_reported)

    def groups_counted(self, req: Requirement) -> list[int]:
        """The credit groups ``req`` counts (its filter, listed courses and self-reporting)."""
        return _groups_counted(self, req)

    def groups_matching(self, flt: CourseFilter) -> list[int]:
        """The credit groups a minimum's filter matches."""
        approved = self.pack.approved_providers
        return [g for g in self.credits.groups if _matches(flt, self._representative(g), approved)]

    def counted(self, req: Requirement) -> pl.DataFrame:
        """The credits ``req`` counts, in member, date, id order: ``member``, ``id``, ``on``,
        ``course``, ``group``, ``hours``."""
        groups = self.groups_counted(req)
        # only the columns a measure reads: a filter copies every column it keeps
        table = self.credits.table.select("member", "id", "on", "course", "group", "hours")
        if len(groups) == len(self.credits.groups):
            return table
        return table.filter(pl.col("group").is_in(pl.Series(groups, dtype=pl.Int32).implode()))

    def units(self, hours: Decimal) -> int:
        return self.credits.scale.units(hours)

    def fmt(self, expr: pl.Expr) -> pl.Expr:
        return fmt_units(expr, self.credits.scale.places)


def _groups_counted(ctx: Context, req: Requirement) -> list[int]:
    wanted = frozenset(req.courses) if isinstance(req, Certificate | NOf) else None
    keep = _sieve(req.counts, ctx.pack.approved_providers, wanted, req.self_reported)  # type: ignore[union-attr]
    return [g for g in ctx.credits.groups if keep(ctx._representative(g))]


class Measure(Protocol):
    """A kind's columnar measure: ``(req, ctx, subjects) -> TALLY frame`` with one row per row of
    ``subjects`` (``member``, ``joined_on``, ``grace_end``), or ``None`` when this requirement is
    not one it vectorises (then the engine evaluates it)."""

    def __call__(self, req: Requirement, ctx: Context, subjects: pl.DataFrame) -> pl.DataFrame | None: ...


def dedup(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
