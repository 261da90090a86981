"""The CSV import's fast path: rows as csv lists, values looked up by their raw text.

Internal to :mod:`peertrain.imports.importer`; it gives every row the outcome the general path gives
(``tests/test_import_fast.py`` compares both)."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

from peertrain._files import shown
from peertrain.imports._classify import (
    _PERSON_FIELDS,
    _REST_FIELDS,
    _Classifier,
    _RejectedError,
    _remember,
)
from peertrain.imports.exports import ReadInfo
from peertrain.imports.exports._csvfile import iter_csv_cells, raw_row
from peertrain.imports.exports.values import DateReader, clean_text
from peertrain.ledger.sqlite import CHUNK_ROWS, PreparedChunk
from peertrain.rules.model import PLAUSIBLE_YEARS

#: A held row's values as ``json.dumps(values, sort_keys=True, ensure_ascii=False)`` writes them:
#: agency, course_id, course_title, delivery, email, hours, name, on, portal_user_id, provider,
#: record_id, status (each value filled in as JSON).
_HELD_JSON = (
    '{"agency": %s, "course_id": %s, "course_title": %s, "delivery": %s, "email": %s, "hours": %s, '
    '"name": %s, "on": %s, "portal_user_id": %s, "provider": %s, "record_id": %s, "status": %s}'
)
_json = functools.partial(json.dumps, ensure_ascii=False)
_SLOW = object()  # a fast-path cache's answer for "let the classifier decide this row"


class _FastCSV:
    """The CSV import's fast path: rows as csv lists, values looked up by their raw text.

    A row whose values the caches know to be good -- a person and a course (matched or not), a
    status, hours, delivery and dates (date-times read by the :class:`DateReader` from their
    date and time parts) -- becomes a stored record tuple, or a held row, with a few dictionary
    lookups. Every other row (a reject, a short row, a value seen for the first time that turns
    out bad) goes to the classifier as a :class:`RawRow`, exactly as on the general path. Each
    cache is filled by asking the classifier, so both paths give every row the same outcome.
    """

    def __init__(
        self,
        classify: _Classifier,
        path: Path,
        progress: Callable[[int], None] | None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.classify, self.path, self.progress, self.chunk_rows = classify, path, progress, chunk_rows
        self.profile = classify.profile
        self.dates = DateReader(self.profile, classify.zone)
        #: Raw date texts (not date-times): the ISO date, None (empty) or _SLOW.
        self.days: dict[str, Any] = {"": None}
        #: Date parts of date-times: ISO dates ``(plain, before, after)`` and the cutoff, or None.
        self.parts: dict[str, Any] = {}

    def chunks(self) -> Iterator[PreparedChunk]:  # noqa: PLR0915 - one hot loop, kept inline
        """The file's rows, classified, in chunks of ``chunk_rows`` rows."""
        profile, classify, progress = self.profile, self.classify, self.progress
        name, source = shown(self.path.name), profile.source
        info = ReadInfo()
        rows = iter_csv_cells(self.path, profile, info)
        first = next(rows, None)
        columns = list(info.columns)
        where = dict(columns)
        width = max(where.values(), default=-1) + 1
        absent = -1  # cells[-1] is "", appended to each row: the value of an unmapped field
        pick_person = itemgetter(*(where.get(f, absent) for f in _PERSON_FIELDS))
        pick_rest = itemgetter(*(where.get(f, absent) for f in _REST_FIELDS))
        i_done, i_enrolled = where.get("completed_on", absent), where.get("enrolled_on", absent)
        i_record = where.get("record_id", absent)
        days, parts, times = self.days, self.parts, self.dates.time_parts
        time_part = self.dates.time_part
        people: dict[tuple[str, ...], Any] = {}
        dated: dict[tuple[str, ...], Any] = {}  # the rest of a row with a completion date
        undated: dict[tuple[str, ...], Any] = {}  # ... and without one (the status may differ)
        chunk = PreparedChunk()
        completed, others, held = chunk.completed, chunk.others, chunk.held
        count = stored = 0
        for number, cells in rows if first is None else itertools.chain((first,), rows):
            if stored + chunk.rows >= self.chunk_rows:  # chunk.rows: the rows the classifier took
                chunk.rows += stored
                yield chunk
                chunk = PreparedChunk()
                completed, others, held = chunk.completed, chunk.others, chunk.held
                stored = 0
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(count)
            if len(cells) < width:  # a short row: rare, and the classifier words what is missing
                chunk.add(classify(raw_row(name, number, cells, columns)), source)
                continue
            cells.append("")
            # The completion date: a date-time from its date and time parts, else a known text.
            text = cells[i_done]
            head, space, tail = text.partition(" ")
            if space:
                part = parts.get(head, _SLOW)
                if part is _SLOW:
                    part = self._part(head)
                seconds = times.get(tail, _SLOW)
                if seconds is _SLOW:
                    seconds = time_part(tail)
                if part is not None and seconds is not None:
                    # a naive midnight is a plain date; else the agency's date changes at the cutoff
                    done = part[0] if seconds == 0 else part[1] if seconds < part[3] else part[2]
                else:
                    done = self._day(text)
            else:
                done = days.get(text, _SLOW)
                if done is _SLOW:
                    done = self._day(text)
            who = people.get(pick_person(cells))
            if who is None:
                who = self._person(pick_person(cells), people)
            key = pick_rest(cells)
            rest = (undated if done is None else dated).get(key)
            if rest is None:
                rest = self._rest(key, done is not None, undated if done is None else dated)
            if done is _SLOW or who is _SLOW or rest is _SLOW:
                cells.pop()
                chunk.add(classify(raw_row(name, number, cells, columns)), source)
                continue
            course, course_values, status, hours, delivery, provider, rest_json = rest
            if status == "completed":
                on = done
            else:
                text = cells[i_enrolled]
                on = days.get(text, _SLOW)
                if on is _SLOW:
                    on = self._day(text)
                if on is None:
                    on = done
            if on is _SLOW or (on is None and status == "completed"):
                cells.pop()
                chunk.add(classify(raw_row(name, number, cells, columns)), source)
                continue
            text = cells[i_record]
            record_id = clean_text(text) if text else None
            stored += 1
            member = who[0]
            if member is None or course is None:
                values = {
                    **who[1], **course_values, "status": status, "on": on, "hours": hours, "delivery": delivery,
                    "provider": provider, "record_id": record_id,
                }
                agency, email, person_name, portal = who[2]
                course_id, title, delivery_json, hours_json, provider_json, status_json = rest_json
                text = _HELD_JSON % (
                    agency, course_id, title, delivery_json, email, hours_json, person_name,
                    "null" if on is None else f'"{on}"', portal, provider_json,
                    "null" if record_id is None else _json(record_id), status_json,
                )
                held.append(classify.held_tuple(values, name, number, member, course, text=text))
            elif status == "completed":
                completed.append((
                    f"{member}/{course}/{on}", member, course, on, status, hours, delivery, provider, record_id, number,
                ))
            else:
                others.append((
                    f"{member}/{course}/{on or 'undated'}/{status}", member, course, on, status, hours, delivery,
                    provider, record_id, number,
                ))
        chunk.rows += stored
        if chunk.rows:
            yield chunk
        if progress is not None:
            progress(count)

    # -- cache misses: each asks the classifier (its answers are the general path's) -------------

    def _part(self, head: str) -> Any:
        """ISO dates ``(plain, before, after)`` and the cutoff of a date-time's date part (see
        :meth:`DateReader.day_part`), or None: the value is read whole."""
        part = self.dates.day_part(head) if self.dates.splits else None
        found = None  # read whole (and if implausible, rejected by the classifier)
        if part is not None:
            plain, before, after, cutoff = part
            low, high = PLAUSIBLE_YEARS
            if all(low <= day.year <= high for day in (plain, before, after)):
                found = (plain.isoformat(), before.isoformat(), after.isoformat(), cutoff)
        return _remembered(self.parts, head, found)

    def _day(self, text: str) -> Any:
        """The ISO date of a raw text, None (empty) or _SLOW; a date-time's date is not
        remembered (nearly all are unique)."""
        if not text or text.isspace():
            return _remembered(self.days, text, None)
        try:
            found = self.dates(text)
        except OverflowError:
            return _SLOW
        if isinstance(found, str) or not PLAUSIBLE_YEARS[0] <= found.year <= PLAUSIBLE_YEARS[1]:
            return _remembered(self.days, text, _SLOW)
        return found.isoformat() if " " in text else _remembered(self.days, text, found.isoformat())

    def _person(self, key: tuple[str, ...], people: dict[Any, Any]) -> Any:
        """``(member id or None, the person's values, the JSON of its agency, email, name and portal
        user id)`` for a person's raw values, or _SLOW."""
        try:
            values, member = self.classify._person(tuple(v or None for v in key))
        except _RejectedError:
            return _remembered(people, key, _SLOW)
        parts = tuple(_json(values[k]) for k in ("agency", "email", "name", "portal_user_id"))
        return _remembered(people, key, (member, values, parts))

    def _rest(self, key: tuple[str, ...], has_date: bool, cache: dict[Any, Any]) -> Any:
        """``(course id or None, the course's values, status, hours, delivery, provider, the JSON of
        course id, course title, delivery, hours, provider and status)`` for the raw values of
        :data:`_REST_FIELDS`, or _SLOW (a value the classifier rejects)."""
        course_id, title, status, hours, delivery, provider = (v or None for v in key)
        classify = self.classify
        try:
            found = classify._status(status, has_date).value
            hours_value = classify._hour(hours)
            delivery_value = classify._delivery(delivery)
            values, course = classify._course((course_id, title))
        except _RejectedError:
            return _remembered(cache, key, _SLOW)
        hours_text, provider_text = None if hours_value is None else str(hours_value), clean_text(provider)
        parts = tuple(
            _json(v)
            for v in (values["course_id"], values["course_title"], delivery_value, hours_text, provider_text, found)
        )
        return _remembered(cache, key, (
            None if course is None else course.id, values, found, hours_text, delivery_value, provider_text, parts,
        ))


def _remembered(cache: dict[Any, Any], key: object, value: object) -> Any:
    _remember(cache, key, value)
    return value

