"""Time windows over which a requirement counts training, and the date arithmetic behind them.

Every window is evaluated *as of* a date ``D`` that the caller passes in; nothing here reads a clock.
Month arithmetic is :class:`dateutil.relativedelta.relativedelta`, which clamps to the month's
end: 31 January + 1 month is 28 February (29 in a leap year), 29 February 2024 - 12 months is
28 February 2023.

Ranges are half-open ``[start, end)`` pairs of dates internally; the docs and explanations show
them as inclusive first and last days.

================  ===========================================================================
``all_time``      every completion dated on or before ``D``.
``rolling``       ``(D - N months, D]``: a completion exactly N months before ``D`` no longer
                  counts; one the day after does.
``any_span``      satisfied if *some* N-month span ``(E - N months, E]`` with ``E <= D`` held
                  enough training (a one-time qualification such as "30 hours, all within one
                  year"); once satisfied it stays satisfied.
``periodic``      fixed consecutive periods of N months starting at ``anchor``
                  (``[anchor + kN months, anchor + (k+1)N months)``): calendar quarters
                  (N=3), calendar or fiscal years (N=12), a licence cycle (N=36, anchor July 1
                  for a cycle that ends June 30). Each period's training must be done by the
                  period's last day; see :mod:`peertrain.rules.engine`.
================  ===========================================================================
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from attrs import field, frozen
from dateutil.relativedelta import relativedelta

__all__ = [
    "MAX_MONTHS",
    "AllTime",
    "AnySpan",
    "Periodic",
    "Rolling",
    "Window",
    "add_months",
    "check_months",
    "first_day_outside_rolling",
]

ONE_DAY = dt.timedelta(days=1)

#: A half-open range of dates ``[start, end)``.
Span = tuple[dt.date, dt.date]


@functools.lru_cache(maxsize=1 << 16)
def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the end of the month.

    Memoised: evaluating a large roster asks for the same few thousand dates over and over, and
    ``relativedelta`` is the slowest step of an evaluation without the cache.
    """
    result: dt.date = day + relativedelta(months=months)
    return result


@functools.lru_cache(maxsize=1 << 16)
def first_day_outside_rolling(completed_on: dt.date, months: int) -> dt.date:
    """The first as-of date ``D`` on which a completion no longer falls in ``(D - N months, D]``.

    Usually ``completed_on + N months``; when month-end clamping makes ``D - N months`` land before
    the completion (29 February 2024 with N=12), the completion still counts on 28 February 2025
    and drops out on 1 March 2025.
    """
    day = add_months(completed_on, months)
    while add_months(day, -months) < completed_on:
        day += ONE_DAY
    return day


#: The longest span of months a rule pack or catalogue may give (100 years): windows, validity
#: and grace periods beyond it are mistakes, and huge values would overflow date arithmetic.
MAX_MONTHS = 1200


def check_months(name: str, value: object, *, allow_zero: bool = False) -> None:
    """Refuse ``value`` unless it is a whole number of months, > 0 (or >= 0 with ``allow_zero``)
    and at most :data:`MAX_MONTHS`; the :class:`ValueError` names ``name``."""
    least = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a whole number of months >= 0" if allow_zero else "a positive whole number of months"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    if value > MAX_MONTHS:
        raise ValueError(f"{name} must be at most {MAX_MONTHS} months (100 years), got {value!r}")


def _months(_inst: object, attribute: Any, value: int) -> None:
    check_months(attribute.name, value)


@frozen
class AllTime:
    """Every completion on or before the as-of date counts."""

    def span(self, as_of: dt.date) -> Span:
        """The range of completion dates that count as of ``as_of``."""
        return (dt.date.min, as_of + ONE_DAY)

    def describe(self) -> str:
        return "at any time"


@frozen
class Rolling:
    """The last ``months`` months: ``(D - months, D]``."""

    months: int = field(validator=_months)

    def span(self, as_of: dt.date) -> Span:
        """The range of completion dates that count as of ``as_of``."""
        return (add_months(as_of, -self.months) + ONE_DAY, as_of + ONE_DAY)

    def describe(self) -> str:
        return f"within the last {self.months} months"


@frozen
class AnySpan:
    """Some ``months``-month span ending on or before the as-of date (a one-time qualification)."""

    months: int = field(validator=_months)

    def span(self, as_of: dt.date) -> Span:
        """The span ending on ``as_of``: what would count if the training were done by then."""
        return (add_months(as_of, -self.months) + ONE_DAY, as_of + ONE_DAY)

    def describe(self) -> str:
        return f"all within one {self.months}-month span"


@frozen
class Periodic:
    """Consecutive periods of ``months`` months, the first starting on ``anchor``.

    Periods repeat in both directions from ``anchor``, so any date lies in exactly one.
    ``Periodic(3)`` is calendar quarters, ``Periodic(12)`` calendar years,
    ``Periodic(12, date(2000, 7, 1))`` fiscal years from July 1, ``Periodic(36, date(2023, 7, 1))``
    three-year licence cycles ending June 30.
    """

    months: int = field(validator=_months)
    anchor: dt.date = field(default=dt.date(2000, 1, 1))

    @anchor.validator
    def _anchor_day(self, _attribute: Any, value: dt.date) -> None:
        if value.day > 28:
            raise ValueError(
                f"anchor must be on day 1-28 of a month so every period starts on the same day, "
                f"got {value.isoformat()}"
            )

    def start(self, index: int) -> dt.date:
        """The first day of period number ``index`` (period 0 starts on ``anchor``)."""
        return add_months(self.anchor, index * self.months)

    def index_of(self, day: dt.date) -> int:
        """The number of the period that contains ``day``."""
        elapsed = (day.year - self.anchor.year) * 12 + (day.month - self.anchor.month)
        index = elapsed // self.months
        while self.start(index) > day:
            index -= 1
        while self.start(index + 1) <= day:
            index += 1
        return index

    def period(self, index: int) -> Span:
        """Period number ``index`` as a half-open range."""
        return (self.start(index), self.start(index + 1))

    def span(self, as_of: dt.date) -> Span:
        """The period that contains ``as_of``."""
        return self.period(self.index_of(as_of))

    def describe(self) -> str:
        names = {1: "each month", 3: "each quarter", 6: "each half-year", 12: "each year"}
        if self.months in names and self.anchor.month == 1 and self.anchor.day == 1:
            return names[self.months]
        return f"in each {self.months}-month period starting {self.anchor:%B} {self.anchor.day}"


#: Any window a requirement can count within.
Window = AllTime | Rolling | AnySpan | Periodic
