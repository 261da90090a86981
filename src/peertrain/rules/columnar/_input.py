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
    ``id``, ``course``, ``on`` (date), ``hours`` (scaled integer), ``delivery``, ``provider``,
    ``self_reported`` (bool), ``note`` (text or null), ``group`` (an integer naming the distinct
    course, provider, delivery and self-reporting, which is all a course filter looks at), sorted
    by member, then date, then id, as the engine orders a member's credits.
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


def _hours_of(rows: pl.DataFrame, catalogue: Catalogue) -> tuple[pl.DataFrame, list[Decimal]]:
    """Per distinct (course, hours text): the hours that count and the note's text after the id."""
    found = []
    values = []
    for course_id, text in rows.select("course", "hours").unique().iter_rows():
        course = catalogue.course(course_id)
        note = None
        if text is None:
            hours = course.hours
            if hours is None:
                hours = Decimal(0)
                note = f" ({course.id}): no hours on the record and none in the catalogue; counted as 0 h"
        else:
            hours = to_hours(Decimal(text))
            if course.hours is not None and hours != course.hours:
                note = (
                    f" ({course.id}): the record says {hours} h, the catalogue {course.hours} h; "
                    "the record's hours were used"
                )
        values.append(hours)
        found.append((course_id, text, hours, note))
    return pl.DataFrame(
        [(c, t, str(h), n) for c, t, h, n in found],
        schema={"course": pl.String, "hours": pl.String, "credited": pl.String, "note_tail": pl.String},
        orient="row",
    ), values


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
    hours, values = _hours_of(rows, catalogue)
    scale = scale_for([*values, *more_hours])
    hours = hours.with_columns(
        units=pl.col("credited").map_elements(lambda t: scale.units(Decimal(t)), return_dtype=pl.Int64)
    )
    table = rows.join(hours, on=["course", "hours"], how="left", nulls_equal=True)
    warnings = frozenset(
        table.filter(pl.col("note_tail").is_not_null())
        .select(pl.lit("completion ") + pl.col("id") + pl.col("note_tail"))
        .to_series()
        .to_list()
    )
    table = table.with_columns(
        on=_iso_dates(table.get_column("on")),
        note=pl.lit("completion ") + pl.col("id") + pl.col("note_tail"),
        self_reported=pl.col("origin").str.contains(_SELF_REPORTED),
    ).filter((pl.col("on") <= as_of) & pl.col("member").is_in(pl.Series(members.categories).implode()))  # type: ignore[attr-defined]
    table = table.with_columns(member=pl.col("member").cast(members))
    # delivery and provider: the record's, else the catalogue's (per distinct value, in Python)
    looks = {}
    for course_id, delivery, provider, self_reported in (
        table.select("course", "delivery", "provider", "self_reported").unique().iter_rows()
    ):
        course = catalogue.course(course_id)
        given = provider.strip() if provider else None
        looks[(course_id, delivery, provider, self_reported)] = (
            course_id, given or course.provider, Delivery(delivery) if delivery else course.delivery, self_reported
        )
    distinct = sorted(set(looks.values()))
    number = {look: n for n, look in enumerate(distinct)}
    keys = pl.DataFrame(
        [(*key, number[look], look[1], look[2].value) for key, look in looks.items()],
        schema={
            "course": pl.String, "delivery_given": pl.String, "provider_given": pl.String, "self_reported": pl.Boolean,
            "group": pl.Int32, "provider_used": pl.String, "delivery_used": pl.String,
        },
        orient="row",
    )
    table = (
        table.rename({"delivery": "delivery_given", "provider": "provider_given"})
        .join(keys, on=["course", "delivery_given", "provider_given", "self_reported"], how="left", nulls_equal=True)
        .select(
            "member", "id", "course", "on", pl.col("units").alias("hours"),
            pl.col("delivery_used").alias("delivery"), pl.col("provider_used").alias("provider"),
            "self_reported", "note", "group",
        )
        .sort("member", "on", "id")
    )
    return Credits(table=table, groups=dict(enumerate(distinct)), scale=scale, warnings=warnings)
