"""Reading and checking a provider's ``.ics`` file, for :mod:`peertrain.calendars.ics`.

The size-independent checks on the bytes (UTF-8 or UTF-16 text, not binary) and on the content
lines (one VCALENDAR, well-formed lines, balanced BEGIN/END), time-zone names (IANA, Windows
names through the CLDR table icalendar ships, "globally unique" ``/vendor/Area/City`` TZIDs),
and reading single properties of a VEVENT (text, SEQUENCE, LAST-MODIFIED/DTSTAMP, properties
that are repeated or broken).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from icalendar import Component

from peertrain.errors import IcsError

_NAME = re.compile(r"[A-Za-z0-9-]+")

try:  # the CLDR table icalendar ships (icalendar >= 6)
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON as _WINDOWS
except ImportError:  # pragma: no cover - older icalendar: the North American zones
    _WINDOWS = {
        "Alaskan Standard Time": "America/Anchorage",
        "Central Standard Time": "America/Chicago",
        "Eastern Standard Time": "America/New_York",
        "Hawaiian Standard Time": "Pacific/Honolulu",
        "Mountain Standard Time": "America/Denver",
        "Pacific Standard Time": "America/Los_Angeles",
        "US Mountain Standard Time": "America/Phoenix",
    }


# -- time zones -------------------------------------------------------------------------------


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def resolve_tzid(tzid: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """The IANA zone a TZID means: ``overrides`` first, then the name itself, a Windows zone name
    (``Central Standard Time`` → ``America/Chicago``, Unicode CLDR table), or the IANA suffix of a
    "globally unique" ``/vendor/Area/City``; ``None`` when it names no known zone."""
    if overrides and tzid in overrides:
        return overrides[tzid]
    name = tzid.strip().strip('"')
    if ("/" in name.strip("/") or name == "UTC") and _is_zone(name.strip("/")):
        return name.strip("/")
    if name in _WINDOWS:
        return _WINDOWS[name]
    if name.startswith("/"):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts)):
            if _is_zone("/".join(parts[i:])):
                return "/".join(parts[i:])
    return None

# -- reading the file -------------------------------------------------------------------------


def _decode(data: bytes, source: str, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise IcsError(source, f"is more than the {max_bytes:,} bytes this reads")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise IcsError(source, f"is not valid UTF-16 text: {exc.reason} at byte {exc.start}") from None
    if b"\x00" in data:
        raise IcsError(source, "is binary, not an iCalendar text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IcsError(source, f"is not UTF-8 text ({exc.reason} at byte {exc.start})", line=line) from None


def _check_structure(text: str, source: str) -> list[int]:
    """Check the file is one VCALENDAR of well-formed content lines; the line of each top-level
    ``BEGIN:VEVENT``."""
    stack: list[str] = []
    events: list[int] = []
    seen_calendar = False
    calendars = 0
    # Split on line feeds only: str.splitlines() would also break text at U+2028, FF, VT, ...
    for number, line in enumerate((raw.rstrip("\r") for raw in text.split("\n")), start=1):
        if not line.strip() or line[0] in " \t":
            continue  # blank, or the continuation of a folded line
        name = re.split(r"[;:]", line, maxsplit=1)[0]
        if not seen_calendar:
            if line.strip().upper() != "BEGIN:VCALENDAR":
                shown = line.strip()[:40]
                raise IcsError(
                    source, f"is not an iCalendar file: it starts with {shown!r} (expected BEGIN:VCALENDAR)",
                    line=number,
                )
            seen_calendar = True
        if ":" not in line or not _NAME.fullmatch(name):
            raise IcsError(source, f"is not a valid iCalendar content line: {line[:60]!r}", line=number)
        value = line.split(":", 1)[1].strip().upper()
        if name.upper() == "BEGIN":
            if not stack and value != "VCALENDAR":
                raise IcsError(source, f"BEGIN:{value} outside the VCALENDAR", line=number)
            calendars += not stack
            if value == "VCALENDAR" and (stack or calendars > 1):
                raise IcsError(source, "holds more than one VCALENDAR (give one calendar per file)", line=number)
            if stack == ["VCALENDAR"] and value == "VEVENT":
                events.append(number)
            stack.append(value)
        elif name.upper() == "END":
            if not stack or stack[-1] != value:
                expected = f"END:{stack[-1]}" if stack else "nothing"
                raise IcsError(source, f"END:{value} where {expected} was expected", line=number)
            stack.pop()
        elif not stack:
            raise IcsError(source, f"content after END:VCALENDAR: {line[:60]!r}", line=number)
    if not seen_calendar:
        raise IcsError(source, "is empty, not an iCalendar file (expected BEGIN:VCALENDAR)")
    if stack:
        raise IcsError(source, f"ends inside {stack[-1]} (missing END:{stack[-1]}; a truncated download?)")
    return events
# -- one event's fields -----------------------------------------------------------------------


_CHECKED = ("UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "SEQUENCE",
            "LAST-MODIFIED", "DTSTAMP", "STATUS", "SUMMARY")


def _broken(event: Component) -> str | None:
    for name, message in getattr(event, "errors", []) or []:
        if str(name).upper() in _CHECKED:
            return f"{name} cannot be read: {message}"
    for name in ("UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "SEQUENCE", "SUMMARY"):
        if isinstance(event.get(name), list):
            return f"{name} is given more than once"
    if "DTEND" in event and "DURATION" in event:
        return "has both DTEND and DURATION"
    return None


def _text(component: Component, name: str) -> str | None:
    value = component.get(name)
    if value is None or isinstance(value, list):
        return None
    return str(value).strip() or None


def _version(event: Component) -> tuple[int, dt.datetime]:
    return (_sequence(event), _stamp(event) or dt.datetime.min.replace(tzinfo=dt.UTC))


def _sequence(event: Component) -> int:
    value = event.get("SEQUENCE")
    try:
        number = int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0
    return max(number, 0)


def _stamp(event: Component) -> dt.datetime | None:
    """LAST-MODIFIED, else DTSTAMP (Google's DTSTAMP is the time of the export), in UTC."""
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        value = _dt(event.get(name))
        if isinstance(value, dt.datetime):
            return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    return None


def _dt(prop: Any) -> Any:
    """A property's value (``None`` when missing, repeated or broken)."""
    try:
        return getattr(prop, "dt", None) if not isinstance(prop, list) else None
    except Exception:  # icalendar raises BrokenCalendarProperty for a value it could not read
        return None


def _start_text(event: Component) -> str | None:
    value = _dt(event.get("DTSTART"))
    return value.isoformat() if isinstance(value, dt.date) else None
