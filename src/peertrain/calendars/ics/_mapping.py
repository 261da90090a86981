"""The caller's mapping for reading a provider's ``.ics`` (:class:`CourseMap`): event UIDs and
titles to course ids, TZIDs to IANA zones.

It has a module of its own because both sides of the reader use it: the public entry points in
:mod:`peertrain.calendars.ics` and the per-event work in :mod:`peertrain.calendars.ics._event`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from peertrain._types import StrPath
from peertrain.calendars.ics._read import _is_zone
from peertrain.errors import CatalogError
from peertrain.rules.catalog import Catalogue, normalise_name
from peertrain.rules.loading import read_toml

__all__ = ["CourseMap", "load_mapping", "parse_mapping"]


def _title_keys(titles: Mapping[str, str | None]) -> dict[str, str | None]:
    return {normalise_name(k): v for k, v in titles.items()}


@frozen
class CourseMap:
    """What the caller says about a provider's events.

    ``uids`` and ``titles`` (keys compared like catalogue titles: case-folded, spaces collapsed)
    give a course id, or ``None`` to ignore such events on purpose (they are still reported);
    ``timezones`` maps a TZID the file uses to an IANA zone.
    """

    uids: Mapping[str, str | None] = field(factory=dict)
    titles: Mapping[str, str | None] = field(factory=dict, converter=_title_keys)
    timezones: Mapping[str, str] = field(factory=dict)


def load_mapping(path: StrPath, catalogue: Catalogue) -> CourseMap:
    """The mapping in a TOML file (``[uids]``, ``[titles]``, ``[timezones]``), checked against
    ``catalogue``."""
    return parse_mapping(read_toml(path), catalogue, source=str(path))


def parse_mapping(data: Mapping[str, Any], catalogue: Catalogue, *, source: str = "<mapping>") -> CourseMap:
    """A :class:`CourseMap` from TOML data: each course id must be in ``catalogue`` (``false``
    ignores the events on purpose); each zone must be an IANA zone."""
    for key in sorted(set(data) - {"uids", "titles", "timezones"}):
        raise CatalogError(source, key, "unknown table; expected [uids], [titles] and [timezones]")
    tables: dict[str, dict[str, str | None]] = {}
    for table in ("uids", "titles"):
        raw = data.get(table, {})
        if not isinstance(raw, Mapping):
            raise CatalogError(source, table, "must be a table of \"provider name\" = \"course-id\"")
        entries: dict[str, str | None] = {}
        for name, course in raw.items():
            key = f"{table}.{json.dumps(name, ensure_ascii=False)}"
            if course is False:
                entries[name] = None
                continue
            if not isinstance(course, str) or course not in catalogue.courses:
                found = catalogue.find(course) if isinstance(course, str) else None
                hint = f" (did you mean the id {found.id!r}?)" if found is not None else ""
                raise CatalogError(source, key, f"unknown course id {course!r}{hint}; or false to ignore")
            entries[name] = course
        tables[table] = entries
    zones = data.get("timezones", {})
    if not isinstance(zones, Mapping):
        raise CatalogError(source, "timezones", "must be a table of \"TZID\" = \"IANA zone\"")
    for name, zone in zones.items():
        if not isinstance(zone, str) or not _is_zone(zone):
            raise CatalogError(
                source, f"timezones.{json.dumps(name, ensure_ascii=False)}",
                f"{zone!r} is not an IANA time zone such as America/Chicago",
            )
    return CourseMap(uids=tables["uids"], titles=tables["titles"], timezones=dict(zones))
