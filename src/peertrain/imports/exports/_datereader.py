"""Reading many unique date-times fast, for :mod:`peertrain.imports.exports.values` (which re-exports
:class:`DateReader`): a value split into its date part and its time part, each remembered, with
the same answers as :func:`~peertrain.imports.exports.values.parse_date`.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from peertrain.imports.exports._dates import _DIRECTIVES, _fast_format, _fast_parse, parse_date
from peertrain.imports.profiles import Profile

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
