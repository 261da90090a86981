"""Writing a schedule as the sessions TOML :func:`~peertrain.calendars.sessions.load_schedule` reads
(:func:`schedule_toml`, re-exported by :mod:`peertrain.calendars.ics`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from peertrain.calendars.sessions import Schedule


def _toml_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _comment(text: str) -> str:
    return "# " + " ".join(text.translate(dict.fromkeys(range(32), " ")).replace("\x7f", " ").split())


def _local_text(value: dt.datetime) -> str:
    return value.isoformat()


def _utc_text(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(start: dt.datetime, end: dt.datetime, *, all_day: bool) -> tuple[str, str]:
    """A block's ``start`` and ``end`` as TOML: local date-times, or for an all-day session its
    first and last day (both included)."""
    if all_day:
        return start.date().isoformat(), (end.date() - dt.timedelta(days=1)).isoformat()
    return _local_text(start), _local_text(end)


def schedule_toml(schedule: Schedule, *, comments: Iterable[str] = ()) -> str:
    """A schedule as the TOML :func:`~peertrain.calendars.sessions.load_schedule` reads (keys in the order
    ``docs/calendars.md`` lists them; a session's ``timezone`` only when it differs from the
    schedule's), after ``comments`` as ``#`` lines."""
    out = [_comment(c) for c in comments]
    if out:
        out.append("")
    out += [
        "[schedule]",
        f"id = {_toml_text(schedule.id)}",
        f"name = {_toml_text(schedule.name)}",
        f"timezone = {_toml_text(schedule.timezone)}",
    ]
    for s in schedule.sessions:
        out += ["", "[[sessions]]", f"id = {_toml_text(s.id)}", f"course = {_toml_text(s.course)}"]
        if s.timezone != schedule.timezone:
            out.append(f"timezone = {_toml_text(s.timezone)}")
        for name in ("title", "location", "provider", "description"):
            value = getattr(s, name)
            if value is not None:
                out.append(f"{name} = {_toml_text(value)}")
        spans = [_span(b.start, b.end, all_day=s.all_day) for b in s.blocks]
        if len(spans) == 1:
            out += [f"start = {spans[0][0]}", f"end = {spans[0][1]}"]
        else:
            out.append("days = [")
            out += [f"  {{ start = {start}, end = {end} }}," for start, end in spans]
            out.append("]")
        if s.rrule is not None:
            out.append(f"rrule = {_toml_text(s.rrule)}")
        if s.until is not None:
            out.append(f"until = {s.until.isoformat()}")
        if s.count is not None:
            out.append(f"count = {s.count}")
        if s.cancelled:
            out.append("cancelled = true")
        if s.cancellations:  # dates cancelled with their own revision and time: one a line
            stamped = {c.date: c for c in s.cancellations}
            out.append("cancelled_dates = [")
            for day in s.cancelled_dates:
                c = stamped.get(day)
                out.append(
                    f"  {day.isoformat()}," if c is None else
                    f"  {{ date = {day.isoformat()}, revision = {c.revision}, updated = {_utc_text(c.updated)} }},"
                )
            out.append("]")
        elif s.cancelled_dates:
            out.append(f"cancelled_dates = [{', '.join(d.isoformat() for d in s.cancelled_dates)}]")
        if s.capacity is not None:
            out.append(f"capacity = {s.capacity}")
        out.append(f"revision = {s.revision}")
        out.append(f"updated = {_utc_text(s.updated)}")
    return "\n".join(out) + "\n"
