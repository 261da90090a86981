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
        if len(s.blocks) == 1:
            out += [f"start = {_local_text(s.blocks[0].start)}", f"end = {_local_text(s.blocks[0].end)}"]
        else:
            out.append("days = [")
            out += [f"  {{ start = {_local_text(b.start)}, end = {_local_text(b.end)} }}," for b in s.blocks]
            out.append("]")
        if s.rrule is not None:
            out.append(f"rrule = {_toml_text(s.rrule)}")
        if s.until is not None:
            out.append(f"until = {s.until.isoformat()}")
        if s.count is not None:
            out.append(f"count = {s.count}")
        if s.cancelled:
            out.append("cancelled = true")
        if s.cancelled_dates:
            out.append(f"cancelled_dates = [{', '.join(d.isoformat() for d in s.cancelled_dates)}]")
        if s.capacity is not None:
            out.append(f"capacity = {s.capacity}")
        out.append(f"revision = {s.revision}")
        out.append(f"updated = {s.updated.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return "\n".join(out) + "\n"
