"""Reading a schedule file (TOML) into :class:`~peertrain.calendars.sessions.Schedule`: every
key checked, every problem a :class:`~peertrain.errors.CatalogError` naming the file and the key
(``sessions[2].cancelled_dates[0]``). The file's layout is described in
:mod:`peertrain.calendars.sessions` and ``docs/calendars.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from peertrain._types import StrPath
from peertrain.calendars._session_fields import _day_span, _is_date
from peertrain.calendars.sessions import Cancellation, DayBlock, Schedule, Session
from peertrain.errors import CatalogError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.loading import read_toml

__all__ = ["load_schedule", "parse_schedule"]

_SCHEDULE_KEYS = frozenset({"id", "name", "timezone"})
_SESSION_KEYS = frozenset(
    {
        "id", "course", "timezone", "start", "end", "days", "updated", "title", "location", "provider",
        "description", "capacity", "rrule", "until", "count", "cancelled", "cancelled_dates", "revision",
    }
)
_FIELD_OF_MESSAGE = re.compile(r"^(\w+):? ")


def load_schedule(path: StrPath, catalogue: Catalogue) -> Schedule:
    """The schedule in a TOML file, every course id checked against ``catalogue``."""
    return parse_schedule(read_toml(path), catalogue, source=str(path))


def parse_schedule(data: Mapping[str, Any], catalogue: Catalogue, *, source: str = "<schedule>") -> Schedule:
    """A schedule from TOML data (as :func:`peertrain.rules.loading.read_toml` returns it)."""
    unknown = set(data) - {"schedule", "sessions"}
    if unknown:
        raise CatalogError(source, sorted(unknown)[0], "unknown key; expected [schedule] and [[sessions]]")
    header = data.get("schedule")
    if not isinstance(header, Mapping):
        raise CatalogError(source, "schedule", "missing the [schedule] table (id, name, timezone)")
    for key in sorted(set(header) - _SCHEDULE_KEYS):
        raise CatalogError(source, f"schedule.{key}", f"unknown key; expected {', '.join(sorted(_SCHEDULE_KEYS))}")
    for key in sorted(_SCHEDULE_KEYS - set(header)):
        raise CatalogError(source, f"schedule.{key}", "required key missing")
    raw_sessions = data.get("sessions", [])
    if not isinstance(raw_sessions, list):
        raise CatalogError(source, "sessions", "must be an array of tables ([[sessions]])")
    zone = header["timezone"]
    _build(lambda: Schedule(id=header["id"], name=header["name"], timezone=zone), source, "schedule")
    sessions: list[Session] = []
    first: dict[str, int] = {}
    for i, raw in enumerate(raw_sessions):
        key = f"sessions[{i}]"
        session = _session(raw, zone, catalogue, source, key)
        if session.id in first:
            raise CatalogError(
                source, f"{key}.id", f"duplicate session id {session.id!r} (first at sessions[{first[session.id]}])"
            )
        first[session.id] = i
        sessions.append(session)
    schedule: Schedule = _build(
        lambda: Schedule(id=header["id"], name=header["name"], timezone=zone, sessions=sessions), source, "schedule"
    )
    return schedule


def _build(make: Any, source: str, key: str) -> Any:
    """Run a constructor; a validation error becomes a CatalogError at ``key`` (plus the field
    its message names, when it starts with one)."""
    try:
        return make()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        match = _FIELD_OF_MESSAGE.match(message)
        field_name = match.group(1) if match and match.group(1) in _SESSION_KEYS | _SCHEDULE_KEYS else ""
        where = f"{key}.{field_name}" if field_name else key
        raise CatalogError(source, where, message) from None


def _session(raw: Any, zone: str, catalogue: Catalogue, source: str, key: str) -> Session:
    if not isinstance(raw, Mapping):
        raise CatalogError(source, key, "must be a table")
    for name in sorted(set(raw) - _SESSION_KEYS):
        raise CatalogError(source, f"{key}.{name}", "unknown key")
    for name in ("id", "course", "updated"):
        if name not in raw:
            raise CatalogError(source, f"{key}.{name}", "required key missing")
    course = raw["course"]
    if not isinstance(course, str) or course not in catalogue.courses:
        found = catalogue.find(course) if isinstance(course, str) else None
        hint = f" (did you mean the id {found.id!r}?)" if found is not None else ""
        raise CatalogError(source, f"{key}.course", f"unknown course id {course!r}{hint}")
    blocks, all_day = _read_blocks(raw, source, key)
    kwargs: dict[str, Any] = {k: raw[k] for k in raw if k not in ("start", "end", "days")}
    kwargs["all_day"] = all_day
    kwargs.setdefault("timezone", zone)
    for name, kind in (("until", "date"), ("cancelled", "bool")):
        if name in kwargs:
            _check_type(kwargs[name], kind, source, f"{key}.{name}")
    if "cancelled_dates" in kwargs:
        kwargs["cancelled_dates"], kwargs["cancellations"] = _read_cancelled(kwargs["cancelled_dates"], source, key)
    for name in ("id", "course", "timezone", "title", "location", "provider", "description", "rrule"):
        if name in kwargs and not isinstance(kwargs[name], str):
            raise CatalogError(source, f"{key}.{name}", f"expected text, got {kwargs[name]!r}")
    session: Session = _build(lambda: Session(blocks=blocks, **kwargs), source, key)
    return session


_CANCELLATION_KEYS = ("date", "revision", "updated")


def _read_cancelled(values: Any, source: str, key: str) -> tuple[list[dt.date], list[Cancellation]]:
    """``cancelled_dates``: dates, or ``{ date, revision, updated }`` tables (a date cancelled
    with its own revision and time, as ``sessions import-ics`` writes them)."""
    where = f"{key}.cancelled_dates"
    if not isinstance(values, list):
        raise CatalogError(source, where, f"must be a list of dates, got {values!r}")
    dates: list[dt.date] = []
    stamped: list[Cancellation] = []
    for j, value in enumerate(values):
        if not isinstance(value, Mapping):
            _check_type(value, "date", source, f"{where}[{j}]")
            dates.append(value)
            continue
        for name in sorted(set(value) - set(_CANCELLATION_KEYS)):
            raise CatalogError(source, f"{where}[{j}].{name}", "unknown key; expected date, revision and updated")
        for name in _CANCELLATION_KEYS:
            if name not in value:
                raise CatalogError(source, f"{where}[{j}].{name}", "required key missing")
        _check_type(value["date"], "date", source, f"{where}[{j}].date")
        made: Cancellation = _build(lambda v=value: Cancellation(**v), source, f"{where}[{j}]")
        dates.append(made.date)
        stamped.append(made)
    for made in stamped:  # a plain date given twice is the same date (as before); not one with a revision
        if dates.count(made.date) > 1:
            raise CatalogError(source, where, f"{made.date.isoformat()} is given twice")
    return dates, stamped


def _check_type(value: Any, kind: str, source: str, key: str) -> None:
    if kind == "date" and not _is_date(value):
        raise CatalogError(source, key, f"expected a date such as 2026-07-14, got {value!r}")
    if kind == "bool" and not isinstance(value, bool):
        raise CatalogError(source, key, f"expected true or false, got {value!r}")


def _read_blocks(raw: Mapping[str, Any], source: str, key: str) -> tuple[list[DayBlock], bool]:
    """The session's blocks, and whether it is all-day: ``start`` and ``end`` given as dates (the
    first and the last day, both included) rather than date-times."""
    has_span = "start" in raw or "end" in raw
    if has_span and "days" in raw:
        raise CatalogError(source, f"{key}.days", "give start and end, or days, not both")
    if not has_span and "days" not in raw:
        raise CatalogError(source, f"{key}.start", "required key missing (or give days)")
    if has_span:
        spans = [(raw, key)]
    else:
        days = raw["days"]
        if not isinstance(days, list) or not days:
            raise CatalogError(source, f"{key}.days", "must be a non-empty array of {start = ..., end = ...} tables")
        spans = [(day, f"{key}.days[{j}]") for j, day in enumerate(days)]
    blocks = []
    kinds: set[bool] = set()
    for span, where in spans:
        if not isinstance(span, Mapping):
            raise CatalogError(source, where, "must be a table with start and end")
        if span is not raw:
            for name in sorted(set(span) - {"start", "end"}):
                raise CatalogError(source, f"{where}.{name}", "unknown key; expected start and end")
        for name in ("start", "end"):
            if name not in span:
                raise CatalogError(source, f"{where}.{name}", "required key missing")
        dates = [_is_date(span[name]) for name in ("start", "end")]
        if dates[0] != dates[1] or (kinds and dates[0] not in kinds):
            raise CatalogError(
                source, where, "give start and end both as dates (an all-day session) or both as date-times, "
                "the same for every day",
            )
        kinds.add(dates[0])
        make = _day_span if dates[0] else lambda start, end: (start, end)
        blocks.append(_build(lambda s=span, m=make: DayBlock(*m(s["start"], s["end"])), source, where))
    return blocks, True in kinds

