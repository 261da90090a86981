"""Reading dates, for :mod:`peertrain.imports.exports.values` (which re-exports the public names and
explains the rules): Excel serial numbers (:func:`excel_serial_to_datetime`), the compiled
strptime-equivalent fast parser (:func:`_fast_format`, :func:`_fast_parse`), the cached reader of
text (:func:`_parse_text`) and :func:`parse_date`.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import zoneinfo

from peertrain.imports.profiles import Profile

#: The 1900 date system's day zero (serials from 61 on count from here).
EPOCH_1900 = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - Excel serials are naive by definition
#: The 1904 date system's day zero.
EPOCH_1904 = dt.datetime(1904, 1, 1)  # noqa: DTZ001
_LAST_SERIAL = 2_958_465  # 9999-12-31 in the 1900 system


def excel_serial_to_datetime(serial: float, epoch: dt.datetime | None = None) -> dt.datetime:
    """The naive date-time an Excel serial number stands for, in the given date system.

    ``epoch`` is the workbook's (openpyxl's ``wb.epoch``): 1899-12-30 means the 1900 system (the
    default), 1904-01-01 the 1904 system. Raises :class:`ValueError` for serial 60 of the 1900
    system (the 29 February 1900 that never was), serials before day 1 (serial 0 is a zero or
    empty cell, in either system) and after 9999-12-31.
    """
    if isinstance(serial, bool) or not isinstance(serial, int | float):
        raise ValueError(f"{serial!r} is not an Excel serial date")
    if not math.isfinite(serial):
        raise ValueError(f"{serial!r} is not a date")
    system_1904 = epoch is not None and epoch.date() == EPOCH_1904.date()
    if epoch is not None and not system_1904 and epoch.date() != EPOCH_1900.date():
        raise ValueError(f"unknown spreadsheet date system with epoch {epoch!r}")
    day = math.floor(serial)
    millis = round((serial - day) * 86_400_000)
    if millis == 86_400_000:  # a fraction that rounds up to the next midnight
        day, millis = day + 1, 0
    if system_1904:
        # Serial 0 is the epoch itself, which is what an empty or zero cell formatted as a date
        # shows: refused, as serial 0 is in the 1900 system, rather than read as 1 January 1904.
        if not 1 <= day <= _LAST_SERIAL - 1462:
            raise ValueError(f"serial date {serial!r} is outside Excel's 1904 date system's dates (1 = 1904-01-02)")
        start = EPOCH_1904
    else:
        if day == 60:
            raise ValueError("serial date 60 is 29 February 1900, a day that did not exist (an Excel bug)")
        if not 1 <= day <= _LAST_SERIAL:
            raise ValueError(f"serial date {serial!r} is outside Excel's dates (1 = 1900-01-01)")
        start = EPOCH_1900 if day > 60 else EPOCH_1900 + dt.timedelta(days=1)
    return start + dt.timedelta(days=day, milliseconds=millis)


def _to_date(moment: dt.datetime, source: zoneinfo.ZoneInfo, agency: zoneinfo.ZoneInfo) -> dt.date:
    """The agency-zone calendar date of a moment; naive moments are in ``source``, and a naive
    midnight is a plain date (how spreadsheets and databases write dates without a time)."""
    if moment.tzinfo is None:
        if moment.hour == moment.minute == moment.second == moment.microsecond == 0:
            return moment.date()
        moment = moment.replace(tzinfo=source)
    return moment.astimezone(agency).date()


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: strptime directives the fast parser understands, as regular expressions (as strptime's own,
#: C locale, case-insensitive).
_DIRECTIVES = {
    "Y": r"(?P<Y>\d\d\d\d)",
    "y": r"(?P<y>\d\d)",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "d": r"(?P<d>3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
    "H": r"(?P<H>2[0-3]|[0-1]\d|\d)",
    "I": r"(?P<I>1[0-2]|0[1-9]|[1-9])",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[0-1]|[0-5]\d|\d)",
    "f": r"(?P<f>[0-9]{1,6})",
    "p": r"(?P<p>am|pm)",
    "B": "(?P<B>" + "|".join(_MONTHS) + ")",
    "b": "(?P<b>" + "|".join(m[:3] for m in _MONTHS) + ")",
    "A": "(?P<A>" + "|".join(_DAYS) + ")",
    "a": "(?P<a>" + "|".join(d[:3] for d in _DAYS) + ")",
}


@functools.lru_cache(maxsize=256)
def _fast_format(fmt: str) -> re.Pattern[str] | None:
    """A compiled pattern equivalent to ``strptime(text, fmt)`` for the common directives, or
    ``None`` when ``fmt`` uses one the fast path does not know (then strptime itself is used)."""
    pattern, seen, i = [], set(), 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%":
            if i + 1 >= len(fmt):
                return None
            code = fmt[i + 1]
            if code == "%":
                pattern.append("%")
            elif code in _DIRECTIVES and code not in seen:
                pattern.append(_DIRECTIVES[code])
                seen.add(code)
            else:
                return None
            i += 2
        elif char.isspace():
            while i < len(fmt) and fmt[i].isspace():
                i += 1
            pattern.append(r"\s+")
        else:
            pattern.append(re.escape(char))
            i += 1
    if not ({"Y", "y"} & seen and {"m", "B", "b"} & seen and "d" in seen):
        return None
    if "I" in seen and "p" not in seen:
        return None
    return re.compile("".join(pattern), re.IGNORECASE)


def _full_year(two_digits: int) -> int:
    """%y as strptime reads it: 69-99 are 1969-1999, 00-68 are 2000-2068."""
    return two_digits + (1900 if two_digits >= 69 else 2000)


def _fast_parse(pattern: re.Pattern[str], text: str) -> dt.datetime | None:
    """The naive date-time ``text`` means under ``pattern``; ``None`` if it does not match or is
    not a real date (as strptime raising ValueError)."""
    match = pattern.fullmatch(text)
    if match is None:
        return None
    g = match.groupdict()
    year = int(g["Y"]) if g.get("Y") else _full_year(int(g["y"]))
    if g.get("m"):
        month = int(g["m"])
    else:
        name = (g.get("B") or g.get("b") or "").lower()
        month = next(n for n, full in enumerate(_MONTHS, 1) if full.startswith(name[:3]))
    hour = int(g["H"]) if g.get("H") else 0
    if g.get("I"):
        hour = int(g["I"]) % 12 + (12 if g["p"].lower() == "pm" else 0)
    micro = int((g.get("f") or "0").ljust(6, "0"))
    try:
        return dt.datetime(  # noqa: DTZ001 - naive means source_timezone
            year, month, int(g["d"]), hour, int(g.get("M") or 0), int(g.get("S") or 0), micro
        )
    except ValueError:
        return None


def _read(text: str, fmt: str) -> dt.datetime | None:
    """``strptime(text, fmt)`` (by the fast parser where it can), or ``None`` for no match."""
    fast = _fast_format(fmt)
    if fast is not None:
        return _fast_parse(fast, text)
    try:
        return dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - naive means source_timezone
    except ValueError:
        return None


class DateOrderError(ValueError):
    """A text date that fits the profile's formats only with day and month swapped.

    One such value shows that the whole file is written in the other order (``21/05/2025`` under
    ``%m/%d/%Y``); its other dates would be read wrongly without a word, so the importer refuses
    the file rather than the row.
    """


class _WrongOrder(str):
    """The reason :func:`_parse_text` gives for a value in the other day/month order."""

    __slots__ = ()


@functools.lru_cache(maxsize=256)
def _swapped_formats(formats: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``(format, the same with %d and %m exchanged)`` for each format with both, unless the
    profile declares that order too."""
    pairs = []
    for fmt in formats:
        if "%d" in fmt and "%m" in fmt:
            swapped = fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
            if swapped not in formats:
                pairs.append((fmt, swapped))
    return tuple(pairs)


@functools.lru_cache(maxsize=65_536)
def _parse_text(text: str, formats: tuple[str, ...], source: str, agency: zoneinfo.ZoneInfo) -> dt.date | str:
    """The date a text means, or the reason it means none (cached: exceptions would not be)."""
    source_zone = zoneinfo.ZoneInfo(source)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return _to_date(dt.datetime.fromisoformat(text), source_zone, agency)
    except ValueError:
        pass
    found: list[tuple[str, dt.date]] = []
    for fmt in formats:
        parsed = _read(text, fmt)
        if parsed is None:
            continue
        day = _to_date(parsed, source_zone, agency)
        if not found:
            found.append((fmt, day))
        elif found[0][1] != day:
            return (
                f"{text!r} is ambiguous: {found[0][1].isoformat()} by {found[0][0]!r} "
                f"but {day.isoformat()} by {fmt!r}"
            )
    if found:
        return found[0][1]
    for fmt, swapped in _swapped_formats(formats):
        if _read(text, swapped) is not None:
            return _WrongOrder(
                f"{text!r} reads only with day and month the other way round ({swapped!r}), but the "
                f"profile reads {fmt!r}: the file's dates are in the other order, so every date in it "
                "with a day of 12 or less would be read wrong"
            )
    tried = ", ".join(repr(f) for f in formats)
    return f"{text!r} is not a date in ISO 8601 or any format the profile declares ({tried or 'none'})"


def parse_date(
    value: object,
    profile: Profile,
    agency_tz: zoneinfo.ZoneInfo,
    *,
    epoch: dt.datetime | None = None,
) -> dt.date:
    """The calendar date (in the agency's zone) a raw export value means; see the module docs.

    ``epoch`` is the workbook's date system for XLSX values (:attr:`RawRow.epoch`).
    """
    if isinstance(value, dt.datetime):
        return _to_date(value, zoneinfo.ZoneInfo(profile.source_timezone), agency_tz)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, int | float):
        moment = excel_serial_to_datetime(value, epoch)
        return _to_date(moment, zoneinfo.ZoneInfo(profile.source_timezone), agency_tz)
    if isinstance(value, dt.time | dt.timedelta):
        raise ValueError(f"{value} is a time of day or a duration, not a date")
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    text = " ".join(value.split())
    if not text:
        raise ValueError("is empty")
    result = _parse_text(text, profile.date_formats, profile.source_timezone, agency_tz)
    if isinstance(result, _WrongOrder):
        raise DateOrderError(result)
    if isinstance(result, str):
        raise ValueError(result)
    return result
