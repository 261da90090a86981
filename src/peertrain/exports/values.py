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
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
import zoneinfo
from decimal import Decimal, InvalidOperation

from peertrain.profiles import Profile

__all__ = ["DateReader", "clean_email", "clean_text", "excel_serial_to_datetime", "parse_date", "parse_hours"]

#: The 1900 date system's day zero (serials from 61 on count from here).
EPOCH_1900 = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - Excel serials are naive by definition
#: The 1904 date system's day zero.
EPOCH_1904 = dt.datetime(1904, 1, 1)  # noqa: DTZ001
_CEU_HOURS = Decimal(10)
_LAST_SERIAL = 2_958_465  # 9999-12-31 in the 1900 system
_HOURS_TEXT = re.compile(r"\+?(?:\d{1,7}(?:\.\d{0,6})?|\.\d{1,6})")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def excel_serial_to_datetime(serial: float, epoch: dt.datetime | None = None) -> dt.datetime:
    """The naive date-time an Excel serial number stands for, in the given date system.

    ``epoch`` is the workbook's (openpyxl's ``wb.epoch``): 1899-12-30 means the 1900 system (the
    default), 1904-01-01 the 1904 system. Raises :class:`ValueError` for serial 60 of the 1900
    system (the 29 February 1900 that never was), serials before day 1 and after 9999-12-31.
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
        if not 0 <= day <= _LAST_SERIAL - 1462:
            raise ValueError(f"serial date {serial!r} is outside the 1904 date system")
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
        fast = _fast_format(fmt)
        if fast is not None:
            parsed = _fast_parse(fast, text)
            if parsed is None:
                continue
        else:
            try:
                parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - naive means source_timezone
            except ValueError:
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
    if isinstance(result, str):
        raise ValueError(result)
    return result


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


# -- many unique date-times, read fast ----------------------------------------------------------

_TIME_CODES = frozenset("HIMSp")
#: Conversions sampled across a day to find it free of time-zone transitions (hours; 24 is
#: 23:59:59). A transition in a day shows as different offsets at the probes unless a second one
#: undoes it within hours; in the time-zone database the closest two transitions of one zone
#: between 1900 and 2100 are four days apart (Africa/Freetown, 1939).
_PROBE_HOURS = (0, 6, 12, 18, 24)


def _directives(fmt: str) -> list[str] | None:
    """``fmt`` as a list of directives (``"%m"``) and literal characters; ``None`` if malformed."""
    parts, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%":
            if i + 1 >= len(fmt):
                return None
            parts.append(fmt[i : i + 2])
            i += 2
        else:
            parts.append(fmt[i])
            i += 1
    return parts


def _date_part_ok(fmt: str) -> bool:
    """A date format the split reader may use: directives separated by single punctuation
    characters (``/``, ``.``, ``-``), no whitespace, ending with a directive, and no ``-``-only
    layout that ISO 8601 could also read."""
    parts = _directives(fmt)
    if not parts or _fast_format(fmt) is None or not parts[-1].startswith("%"):
        return False
    literals = [p for p in parts if not p.startswith("%")]
    for p in parts:
        if p.startswith("%") and p[1] not in "YymdbB":
            return False
    return bool(literals) and all(not c.isalnum() and not c.isspace() and c != "%" for c in literals) and any(
        c in "/." for c in literals
    )


def _time_part(fmt: str) -> re.Pattern[str] | None:
    """A pattern for a time-of-day format of only %H %I %M %S %p, colons and single spaces."""
    parts = _directives(fmt)
    if not parts or not parts[0].startswith("%") or not parts[-1].startswith("%"):
        return None
    pattern, seen = [], set()
    for p in parts:
        if p.startswith("%"):
            if p[1] not in _TIME_CODES or p[1] in seen:
                return None
            seen.add(p[1])
            pattern.append(_DIRECTIVES[p[1]])
        elif p == ":":
            pattern.append(":")
        elif p == " ":
            pattern.append(r"\s+")
        else:
            return None
    if ("I" in seen) != ("p" in seen) or ("H" in seen and "I" in seen) or not seen & {"H", "I"}:
        return None
    return re.compile("".join(pattern), re.IGNORECASE)


class DateReader:
    """:func:`parse_date` for text values, with the same answers, fast for big exports.

    Exports write each completion with its time of day, so values are nearly all distinct and a
    cache of whole values does not help. When every format the profile declares is one date
    format (``%m/%d/%Y``), alone or followed by a space and a time of day (``%I:%M %p``), a value
    is read as its date part and its time part, each remembered: the agency-zone date of a
    source-zone moment is the date part's date, or the day before or after once the time of day
    passes the moment the agency's date changes -- one comparison per value. Days with a
    time-zone transition in either zone, and everything else (ISO 8601, other layouts, values
    that match no format or more than one), go to :func:`parse_date`'s own reader.

    Calling it returns the date, or the reason there is none (the ``ValueError`` text).
    """

    def __init__(self, profile: Profile, agency_tz: zoneinfo.ZoneInfo) -> None:
        self.profile, self.agency = profile, agency_tz
        self._source = zoneinfo.ZoneInfo(profile.source_timezone)
        #: The date parts seen: ``(date, before, after, cutoff)`` (see :meth:`day_part`), or ``None``.
        self.day_parts: dict[str, tuple[dt.date, dt.date, dt.date, int] | None] = {}
        #: The time parts seen: seconds since midnight, or ``None``.
        self.time_parts: dict[str, int | None] = {}
        self._date_format: re.Pattern[str] | None = None
        self._time_formats: list[re.Pattern[str]] = []
        date_formats = set()
        for fmt in profile.date_formats:
            head, space, tail = fmt.partition(" ")
            date_formats.add(head)
            if space:
                pattern = _time_part(tail)
                if pattern is None or _fast_format(fmt) is None:
                    return
                self._time_formats.append(pattern)
        if len(date_formats) == 1 and self._time_formats:
            (head,) = date_formats
            if _date_part_ok(head):
                self._date_format = _fast_format(head)

    @property
    def splits(self) -> bool:
        """Whether values are read as a date part and a time part (see the class docs)."""
        return self._date_format is not None

    def __call__(self, text: str) -> dt.date | str:
        if self._date_format is not None:
            head, space, tail = text.partition(" ")
            if space:
                day = self.day_parts[head] if head in self.day_parts else self.day_part(head)
                seconds = self.time_parts[tail] if tail in self.time_parts else self.time_part(tail)
                if day is not None and seconds is not None:
                    plain, before, after, cutoff = day
                    if seconds == 0:  # a naive midnight is a plain date
                        return plain
                    return before if seconds < cutoff else after
        return self.slow(text)

    def slow(self, text: str) -> dt.date | str:
        """The answer of :func:`parse_date` itself."""
        try:
            return parse_date(text, self.profile, self.agency)
        except ValueError as exc:
            return str(exc)

    def day_part(self, head: str) -> tuple[dt.date, dt.date, dt.date, int] | None:
        """For the date part of a value: ``(its date, before, after, cutoff)`` -- a time part of
        ``s`` seconds after midnight means ``before`` if ``s < cutoff``, else ``after`` (and 0
        seconds, a naive midnight, the date itself); ``None`` when the split cannot be used.
        Remembered in :attr:`day_parts`."""
        found = None
        if len(self.day_parts) >= 100_000:
            self.day_parts.clear()
        assert self._date_format is not None
        if "".join(head.split()) == head:
            parsed = _fast_parse(self._date_format, head)
            if parsed is not None and 2 <= parsed.year <= 9998:
                found = self._cutoff(parsed)
        self.day_parts[head] = found
        return found

    def _cutoff(self, midnight: dt.datetime) -> tuple[dt.date, dt.date, dt.date, int] | None:
        """``(date, before, after, cutoff)``: a time of day before ``cutoff`` seconds is on
        ``before`` in the agency's zone, from it on ``after``; ``None`` on a transition day."""
        offsets, agency_offsets = set(), set()
        for hours in _PROBE_HOURS:
            moment = midnight + dt.timedelta(hours=hours, seconds=-1 if hours == 24 else 0)
            aware = moment.replace(tzinfo=self._source)
            offsets.add(aware.utcoffset())
            agency_offsets.add(aware.astimezone(self.agency).utcoffset())
        if len(offsets) != 1 or len(agency_offsets) != 1:
            return None
        (source_offset,), (agency_offset,) = offsets, agency_offsets
        if source_offset is None or agency_offset is None:  # pragma: no cover - zoneinfo always answers
            return None
        delta = int((agency_offset - source_offset).total_seconds())
        day = midnight.date()
        if not -86_400 < delta < 86_400:
            return None
        one = dt.timedelta(days=1)
        if delta >= 0:
            return day, day, day + one, 86_400 - delta
        return day, day - one, day, -delta

    def time_part(self, tail: str) -> int | None:
        """For the time part of a value: the seconds after midnight it means, or ``None`` (no
        time format or two disagreeing ones match it). Remembered in :attr:`time_parts`."""
        found: set[int] = set()
        if len(self.time_parts) >= 100_000:
            self.time_parts.clear()
        if " ".join(tail.split()) == tail:
            for pattern in self._time_formats:
                match = pattern.fullmatch(tail)
                if match is None:
                    continue
                g = match.groupdict()
                hour = int(g["H"]) if g.get("H") else int(g["I"]) % 12 + (12 if g["p"].lower() == "pm" else 0)
                minute, second = int(g.get("M") or 0), int(g.get("S") or 0)
                if minute > 59 or second > 59:  # strptime reads 60 and 61; datetime refuses them
                    continue
                found.add(hour * 3600 + minute * 60 + second)
        seconds = found.pop() if len(found) == 1 else None
        self.time_parts[tail] = seconds
        return seconds
