"""Ledger rows as one columnar table of credits: the catalogue applied to every completed record at
once, as :class:`~peertrain.rules.stream._CreditMaker` does row by row.

Every value that needs the engine's own arithmetic (an ISO date, a record's hours against the
catalogue's, a provider's blanks, a delivery) is computed once per *distinct* value with the same
Python code the engine uses, and joined back; only the joins and filters run over every row. So a
credit here has exactly the hours, delivery, provider, self-reporting and note that the engine's
:class:`~peertrain.rules.engine.Credit` has.

Hours are whole numbers of ``10 ** -scale`` hours (:class:`Scale`): exact sums in 64-bit integers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from attrs import frozen

from peertrain.errors import InputError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import credited_hours
from peertrain.rules.model import Delivery, to_hours

__all__ = ["ROW_COLUMNS", "Credits", "Scale", "credits_table"]

#: The columns of the rows :func:`credits_table` reads: a completed record as the ledger keeps it
#: (``on`` as ``YYYY-MM-DD``, ``hours`` as text or null), after its member.
ROW_COLUMNS = ("member", "id", "course", "on", "hours", "delivery", "provider", "origin")

#: The most decimal places of an hour figure the columnar path takes (then sums stay exact in
#: 64-bit integers up to 9,223,372 hours); a figure with more leaves the ledger to the engine.
MAX_SCALE = 12

_SELF_REPORTED = r"^self-reported:[0-9]+; "


class ScaleError(ValueError):
    """An hour figure has more decimal places than :data:`MAX_SCALE`."""


@frozen
class Scale:
    """Hours as integers: ``units(h) = h * 10 ** places``."""

    places: int

    def units(self, hours: Decimal) -> int:
        scaled = hours.scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ScaleError(f"{hours} h has more than {self.places} decimal places")
        return int(scaled)

    def hours(self, units: int) -> Decimal:
        """The Decimal a sum of ``units`` is (equal to the engine's sum of Decimals)."""
        return to_hours(Decimal(units).scaleb(-self.places)) if units else Decimal(0)


def scale_for(values: Iterable[Decimal]) -> Scale:
    """The least scale that holds every value exactly."""
    places = 0
    for value in values:
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            places = max(places, -exponent)
    if places > MAX_SCALE:
        raise ScaleError(f"an hour figure has {places} decimal places; the columnar path takes {MAX_SCALE}")
    return Scale(places)


@frozen
class Credits:
    """Every member's credits, and what making them found.

    ``table`` has one row per completed record dated on or before the as-of date: ``member``,
    ``id``, ``course``, ``on`` (date), ``hours`` (scaled integer), ``note`` (text or null),
    ``group`` (an integer naming the distinct course, provider, delivery and self-reporting, which
    is all a course filter looks at: :attr:`groups`), sorted by member, then date, then id, as the
    engine orders a member's credits.
    """

    table: pl.DataFrame
    #: ``group`` -> ``(course id, provider, delivery, self_reported)``.
    groups: dict[int, tuple[str, str, Delivery, bool]]
    scale: Scale
    #: Data-quality notes of every record (also those dated after the as-of date).
    warnings: frozenset[str]


def _first_unknown(rows: pl.DataFrame, catalogue: Catalogue) -> None:
    known = pl.Series(sorted(catalogue.courses), dtype=pl.String)
    unknown = rows.filter(~pl.col("course").is_in(known.implode()))
    if unknown.height:
        first = unknown.with_columns(key=pl.col("member") + "/").sort("key", "id").row(0, named=True)
        raise InputError(
            first["origin"] or "completions", f"completion {first['id']!r}: unknown course {first['course']!r}",
            field="course",
        )


def _codes(column: pl.Series) -> tuple[pl.Expr, list[str | None]]:
    """A small integer per distinct value of a text column (an ``Enum`` of its values; null the
    last code), and the values by code: keys built from these group and join as integers, without
    hashing or copying the text of every row."""
    values = column.drop_nulls().unique().sort().to_list()
    code = pl.col(column.name).cast(pl.Enum(values)).to_physical().cast(pl.Int64).fill_null(len(values))
    return code, [*values, None]


def _key(codes: list[tuple[pl.Expr, int]]) -> pl.Expr:
    """One integer from several codes, each below its bound (a mixed-radix number)."""
    key: pl.Expr = pl.lit(0, dtype=pl.Int64)
    for code, bound in codes:
        key = key * bound + code
    return key


def _split(key: int, bounds: list[int]) -> list[int]:
    """The codes :func:`_key` made ``key`` of."""
    codes = []
    for bound in reversed(bounds):
        key, code = divmod(key, bound)
        codes.append(code)
    return codes[::-1]


def _iso_dates(text: pl.Series) -> pl.Series:
    """The ledger's ``YYYY-MM-DD`` (``date.isoformat()``) as dates, parsed by Arrow's cast: a sixth
    of the time of ``str.to_date``."""
    dates = pl.from_arrow(pc.cast(text.to_arrow(), pa.date32()))
    assert isinstance(dates, pl.Series)
    return dates


def credits_table(
    rows: pl.DataFrame, catalogue: Catalogue, as_of: dt.date, members: pl.DataType, *,
    more_hours: Iterable[Decimal] = (),
) -> Credits:
    """The credits of ``rows`` (columns :data:`ROW_COLUMNS`), scaled to hold every hour figure of
    the rows and of ``more_hours`` (a rule pack's) exactly. ``members`` is the roster as a polars
    ``Enum``: the table's ``member`` column has that type (group-bys, joins and sorts on small
    integers), and the records of members not on it are left out (after their warnings).

    Raises :class:`~peertrain.errors.InputError` for a record of a course the catalogue does not
    know, naming the first in the ledger's order, as the engine does.
    """
    rows = rows.select(ROW_COLUMNS)
    _first_unknown(rows, catalogue)
    # per distinct (course, hours text), by an integer key: the hours that count, and the note
    course_code, course_ids = _codes(rows.get_column("course"))
    text_code, texts = _codes(rows.get_column("hours"))
    bounds = [len(course_ids), len(texts)]
    keys = rows.select(key=_key([(course_code, bounds[0]), (text_code, bounds[1])])).get_column("key")
    found = {}
    for key in keys.unique().to_list():
        c, t = _split(key, bounds)
        text = texts[t]
        hours = None if text is None else to_hours(Decimal(text))
        found[key] = credited_hours(catalogue.course(str(course_ids[c])), hours)
    scale = scale_for([*(hours for hours, _note in found.values()), *more_hours])
    units = keys.replace_strict({k: scale.units(h) for k, (h, _n) in found.items()}, return_dtype=pl.Int64)
    tails = {k: note for k, (_h, note) in found.items() if note is not None}
    note = pl.lit(None, dtype=pl.String)
    if tails:
        note = pl.lit("completion ") + pl.col("id") + keys.replace_strict(tails, default=None, return_dtype=pl.String)
    table = rows.with_columns(hours=units, note=note)
    warnings = frozenset(table.get_column("note").drop_nulls().to_list())
    roster = pl.Series(members.categories).implode()  # type: ignore[attr-defined]
    table = table.with_columns(on=_iso_dates(table.get_column("on")))
    kept = table.select(pl.col("member").is_in(roster) & (pl.col("on") <= as_of)).to_series()
    if not kept.all():  # a filter copies every column, even when it keeps every row
        table = table.filter(kept)
    table = table.with_columns(
        member=pl.col("member").cast(members), self_reported=pl.col("origin").str.contains(_SELF_REPORTED)
    )
    # the group: course, provider and delivery (the record's, else the catalogue's), self-reporting
    delivery_code, deliveries = _codes(table.get_column("delivery"))
    provider_code, providers = _codes(table.get_column("provider"))
    bounds = [len(course_ids), len(deliveries), len(providers), 2]
    group_key = _key([(course_code, bounds[0]), (delivery_code, bounds[1]), (provider_code, bounds[2]),
                      (pl.col("self_reported").cast(pl.Int64), 2)])
    looks = {}
    for key in table.select(key=group_key).get_column("key").unique().to_list():
        c, d, p, sr = _split(key, bounds)
        course = catalogue.course(str(course_ids[c]))
        delivery, provider = deliveries[d], (providers[p] or "").strip() or course.provider
        looks[key] = (course.id, provider, Delivery(delivery) if delivery else course.delivery, bool(sr))
    distinct = sorted(set(looks.values()))
    number = {look: n for n, look in enumerate(distinct)}
    table = table.select(
        "member", "id", "course", "on", "hours", "note",
        group=group_key.replace_strict({k: number[look] for k, look in looks.items()}, return_dtype=pl.Int32),
    ).sort("member", "on", "id")
    return Credits(table=table, groups=dict(enumerate(distinct)), scale=scale, warnings=warnings)
