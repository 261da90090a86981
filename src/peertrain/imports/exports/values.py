"""Interpreting raw export values: dates, hours and text, as pure functions.

Each function raises :class:`ValueError` with a short reason for a value it cannot accept; the
importer turns that into a rejected row naming the file, the row and the field.

Dates (:func:`parse_date`)
    A ``date`` is taken as it is. A number is an Excel serial date (1900 date system unless the
    workbook's ``epoch`` says 1904; the fraction is the time of day; serial 60, Excel's phantom
    29 February 1900, is refused). Text is tried as ISO 8601 first (a date, or a date-time with
    an optional offset or ``Z``), then with each of the profile's ``date_formats`` in order; day
    and month order is never guessed: text matching none is refused, and text that two declared
    formats read as different dates is refused as ambiguous.

    A value with a time of day is an instant: with an offset it is converted to the agency's
    zone; without one it is taken to be in the profile's ``source_timezone`` first. The result is
    the calendar date in the agency's zone. A value without a time of day (a date, an ISO date,
    a format without time fields, a whole serial number) is a calendar date: no conversion. So
    is a date-time *without an offset* at exactly 00:00:00 -- that is how spreadsheets and
    databases store plain dates, and shifting it across zones would move it to the day before.

Hours (:func:`parse_hours`)
    A number, or text of digits with an optional decimal *point* (``14``, ``14.0``, ``1.4``).
    Decimal commas, thousands separators, units and exponents are refused rather than guessed.
    With ``hours_unit = "ceu"`` the value is in CEUs and is multiplied by 10, exactly.

This module holds hours and the text cleaners; dates are read in
:mod:`peertrain.imports.exports._dates` (Excel serials, the fast strptime-equivalent parser,
:func:`parse_date`) and :mod:`peertrain.imports.exports._datereader` (:class:`DateReader`), and
re-exported here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from peertrain.imports.exports._datereader import DateReader
from peertrain.imports.exports._dates import (  # noqa: F401 - the epochs and the parser's parts are still imported from here
    EPOCH_1900,
    EPOCH_1904,
    DateOrderError,
    _fast_format,
    _fast_parse,
    _parse_text,
    excel_serial_to_datetime,
    parse_date,
)
from peertrain.imports.profiles import Profile

__all__ = [
    "DateOrderError", "DateReader", "clean_email", "clean_text", "excel_serial_to_datetime", "parse_date",
    "parse_hours",
]

_CEU_HOURS = Decimal(10)
_HOURS_TEXT = re.compile(r"\+?(?:\d{1,7}(?:\.\d{0,6})?|\.\d{1,6})")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def parse_hours(value: object, profile: Profile) -> Decimal | None:
    """Contact hours from a raw value (``None`` when empty); CEUs are converted (x10, exact)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number of hours")
    if isinstance(value, Decimal):
        hours = value
    elif isinstance(value, int):
        hours = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a number of hours")
        hours = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not _HOURS_TEXT.fullmatch(text):
            if text.startswith("-"):
                raise ValueError(f"{text!r}: hours cannot be negative")
            if "," in text:
                raise ValueError(f"{text!r} is not a number of hours (write decimals with a point: 1.5)")
            raise ValueError(f"{text!r} is not a number of hours (digits and a decimal point only)")
        try:
            hours = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            raise ValueError(f"{text!r} is not a number of hours") from None
    else:
        raise ValueError(f"{value!r} is not a number of hours")
    if not hours.is_finite():
        raise ValueError(f"{value!r} is not a number of hours")
    if hours < 0:
        raise ValueError(f"{value!r}: hours cannot be negative")
    if profile.hours_unit == "ceu":
        hours *= _CEU_HOURS
    return hours


def clean_text(value: object) -> str | None:
    """Text with ends stripped and inner whitespace collapsed (NFC-normalised); empty is ``None``.

    Spreadsheet numbers become their text without a spurious ``.0`` (``10231.0`` -> ``"10231"``).
    """
    if value is None:
        return None
    if isinstance(value, str):
        if value.isascii():  # the common case, fast: nothing to normalise, no invisible characters
            return " ".join(value.split()) or None
        text = value
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, dt.datetime) and value.tzinfo is None and value.time() == dt.time():
        text = value.date().isoformat()
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = str(value)
    text = " ".join(unicodedata.normalize("NFC", text.translate(_INVISIBLE)).split())
    return text or None


def clean_email(value: object) -> str | None:
    """An email address as compared: cleaned, all whitespace removed, lower-cased; empty is ``None``.

    Never raises: a value that is not an address simply matches no member.
    """
    text = clean_text(value)
    if text is None:
        return None
    text = "".join(text.split()).lower().removeprefix("mailto:")
    return text or None
