"""Checks and conversions of the session models' fields, for :mod:`peertrain.calendars.sessions` (which
re-exports the public names): ids, time zones, local and UTC times, counts, text, and the RRULE
subset a session may hold (:func:`parse_rrule`) with the bounds on expanding it.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from dateutil import rrule as _rrule

from peertrain.rules.model import refuse_control_characters

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

#: RRULE parts a session may use; UNTIL and COUNT are given as the ``until`` / ``count`` keys.
_RRULE_PARTS = frozenset(
    {"FREQ", "INTERVAL", "BYDAY", "BYMONTH", "BYMONTHDAY", "BYSETPOS", "BYWEEKNO", "BYYEARDAY", "WKST"}
)
#: Occurrences expanded at most when checking ``cancelled_dates`` of an open-ended rule.
_MAX_EXPANSION_YEARS = 50
#: The most occurrences of a recurring session peertrain expands (to check ``cancelled_dates``,
#: to write cancelled instances), and of a provider's recurring event ``import-ics`` expands or
#: compares: the same bound for both, so that no file can make either unbounded.
MAX_OCCURRENCES = 1000
#: The recurrence frequencies a session (and a provider's event kept as one) may have: a training
#: session does not recur every hour, minute or second, and those would expand without bound.
SESSION_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})


def _ident(_inst: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(
            f"{attribute.name} must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
            f"got {value!r}"
        )


def _zone(_inst: object, attribute: Any, value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{attribute.name} {value!r} is not an IANA time zone such as America/Chicago") from None


def _one_line(value: Any, name: str) -> str | None:
    """One-line text (a title, a location, a provider): no control characters at all; blank is
    ``None``. Errors start with the field's ``name``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected text, got {value!r}")
    return refuse_control_characters(value.strip(), name) or None


def _title(value: Any) -> str | None:
    return _one_line(value, "title")


def _location(value: Any) -> str | None:
    return _one_line(value, "location")


def _provider(value: Any) -> str | None:
    return _one_line(value, "provider")


def _opt_paragraphs(value: Any) -> str | None:
    """Text of several lines (a description): line breaks and tabs, but no other control character."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"description: expected text, got {value!r}")
    return refuse_control_characters(value.strip(), "description", allow="\t\n\r") or None


def _local(_inst: object, attribute: Any, value: dt.datetime) -> None:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{attribute.name} must be a local date-time such as 2026-01-13T09:00:00, got {value!r}")
    if value.tzinfo is not None:
        raise ValueError(
            f"{attribute.name} must be a local time without an offset (the session's timezone says where), "
            f"got {value.isoformat()}"
        )


def _is_date(value: Any) -> bool:
    """Whether ``value`` is a date and not a date-time."""
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _day_span(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """An all-day block from its first to its last day (both included): 00:00 to 00:00 of the
    day after the last."""
    if last < first:
        raise ValueError(f"end {last.isoformat()} is before start {first.isoformat()}")
    return dt.datetime.combine(first, dt.time()), dt.datetime.combine(last + dt.timedelta(days=1), dt.time())


def _whole_days(spans: list[tuple[dt.datetime, dt.datetime]]) -> None:
    """Refuse an all-day session whose blocks do not run from 00:00 to 00:00."""
    for start, end in spans:
        if start.time() != dt.time() or end.time() != dt.time():
            raise ValueError(f"days: an all-day session runs from 00:00 to 00:00, got {start.isoformat()} to "
                             f"{end.isoformat()}")


def _utc(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"updated must be a date-time with an offset such as 2026-06-20T14:00:00Z, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"updated must carry an offset (Z or ±HH:MM) so it means one instant, got {value.isoformat()}"
        )
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _non_negative(_inst: object, attribute: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number >= 0, got {value!r}")


def _opt_positive(_inst: object, attribute: Any, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"{attribute.name} must be a whole number > 0, got {value!r}")


def parse_rrule(text: str) -> str:
    """A session's RRULE in a canonical form (parts upper-cased, in the order given).

    Raises :class:`ValueError` for an unknown part, a missing FREQ, UNTIL or COUNT (use the
    ``until`` and ``count`` keys), or a rule dateutil cannot read.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("rrule must be a rule such as FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU")
    body = text.strip().removeprefix("RRULE:").removeprefix("rrule:")
    parts: list[str] = []
    names: set[str] = set()
    for piece in body.split(";"):
        name, sep, value = piece.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not name or not value:
            raise ValueError(f"rrule part {piece!r} is not NAME=VALUE")
        if name in ("UNTIL", "COUNT"):
            raise ValueError(f"rrule: give {name} as the session's {name.lower()!r} key, not inside rrule")
        if name not in _RRULE_PARTS:
            raise ValueError(f"rrule part {name} is not supported; use: {', '.join(sorted(_RRULE_PARTS))}")
        if name in names:
            raise ValueError(f"rrule part {name} is given twice")
        names.add(name)
        parts.append(f"{name}={value}")
    if "FREQ" not in names:
        raise ValueError("rrule needs FREQ (e.g. FREQ=MONTHLY)")
    freq = next(part for part in parts if part.startswith("FREQ=")).removeprefix("FREQ=")
    if freq not in SESSION_FREQS:
        raise ValueError(f"rrule FREQ={freq} is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY")
    canonical = ";".join(parts)
    try:
        _rrule.rrulestr(canonical, dtstart=dt.datetime(2000, 1, 1))  # noqa: DTZ001 - wall-clock time
    except (ValueError, TypeError) as exc:
        raise ValueError(f"rrule {text!r} is not a valid recurrence rule: {exc}") from None
    return canonical
