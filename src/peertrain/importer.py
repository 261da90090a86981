"""Importing exports into the ledger: every row ends imported, duplicate, rejected or unmatched.

:func:`import_file` reads one export with a profile, turns each row into a ledger
:class:`~peertrain.ledger.Record` (a matched person and course with parsed values), a
:class:`~peertrain.ledger.RejectedRow` (with file, row, field and reason) or an
:class:`~peertrain.ledger.UnmatchedRow` (an unknown person or course, held to be matched later),
and stores them as one batch in one transaction. :func:`rematch` retries held rows once the roster
or the catalogue has learned who or what they are.

Only rows whose status the profile maps to ``completed`` count as training; in-progress and
failed enrolments are recorded with their status and no credit.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from attrs import frozen

from peertrain.catalog import Catalogue, normalise_name
from peertrain.exports import RawRow, ReadInfo, iter_rows
from peertrain.exports._csvfile import iter_csv_cells, raw_row
from peertrain.exports.values import DateReader, clean_email, clean_text, parse_date, parse_hours
from peertrain.ledger import Batch, Ledger, Outcome, Record, RejectedRow, UnmatchedRow
from peertrain.ledger.sqlite import CHUNK_ROWS, HeldTuple, PreparedChunk, SQLiteLedger
from peertrain.model import PLAUSIBLE_YEARS, Course, Delivery, Member
from peertrain.profiles import COURSE_MATCHERS, PEOPLE_MATCHERS, ExportFormat, Profile, RowStatus

__all__ = ["ImportResult", "People", "file_sha256", "import_file", "person_key", "rematch"]


@frozen
class ImportResult:
    """One file's import: its batch (with the counts) and what else the coordinator should know."""

    file: Path
    batch: Batch
    #: An earlier live batch that imported a byte-identical file, if any.
    same_file_as: int | None = None


def person_key(name: str | None, agency: str | None = None) -> str | None:
    """How names are compared: ``"Smith, Jane"`` and ``" jane  SMITH "`` are the same person.

    With an agency, the key is name plus agency, so two J. Smiths in two agencies stay apart.
    """
    if not name:
        return None
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first} {last}"
    key = normalise_name(name)
    if agency:
        key += "|" + normalise_name(agency)
    return key or None


class People:
    """An index of roster members by email, portal user id, and name plus agency."""

    def __init__(self, members: Iterable[Member]) -> None:
        self.by_email: dict[str, str] = {}
        self.by_portal: dict[str, str] = {}
        by_name: dict[str, str | None] = {}
        for m in members:
            if m.email:
                self.by_email[m.email] = m.id
            if m.portal_user_id:
                self.by_portal[m.portal_user_id] = m.id
            key = person_key(m.name, m.agency)
            if key:
                # Two members with the same name in the same agency cannot be told apart by name.
                by_name[key] = None if key in by_name else m.id
        self.by_name = by_name

    def match(self, values: dict[str, str | None], order: Sequence[str]) -> str | None:
        """The member id the values identify, trying ``order`` (the profile's ``people``)."""
        for how in order:
            if how == "email" and values.get("email"):
                found = self.by_email.get(values["email"] or "")
            elif how == "portal_user_id" and values.get("portal_user_id"):
                found = self.by_portal.get(values["portal_user_id"] or "")
            elif how == "name+agency":
                key = person_key(values.get("name"), values.get("agency"))
                found = self.by_name.get(key) if key else None
            else:
                continue
            if found:
                return found
        return None


def _find_course(values: dict[str, str | None], order: Sequence[str], catalogue: Catalogue) -> Course | None:
    for how in order:
        name = values.get(how)
        if name:
            course = catalogue.find(name)
            if course is not None:
                return course
    return None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _RejectedError(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


_CACHE_LIMIT = 100_000
# Keys of a held row's values keeping the profile's matching orders (comma-separated), so that a
# rematch matches the row as its import would have; absent from rows held by earlier versions.
_HELD_PEOPLE, _HELD_COURSES = "match_people", "match_courses"
#: More hours than one record can carry: export text cannot reach it, a workbook number can.
_MAX_HOURS = Decimal(100_000_000)
_PERSON_FIELDS = ("email", "portal_user_id", "name", "first_name", "last_name", "agency")
_COURSE_FIELDS = ("course_id", "course_title")
#: The raw values the fast path looks up together, beside the person's.
_REST_FIELDS = (*_COURSE_FIELDS, "status", "hours", "delivery", "provider")


class _Classifier:
    """Turns raw export rows into ledger rows for one profile, roster and catalogue.

    Exports repeat the same people, courses, dates and statuses over many rows, so each of those
    is interpreted once per distinct raw value and remembered (bounded caches).
    """

    def __init__(
        self, profile: Profile, people: People, catalogue: Catalogue, timezone: str, course: Course | None
    ) -> None:
        self.profile, self.people, self.catalogue, self.course = profile, people, catalogue, course
        self.zone = zoneinfo.ZoneInfo(timezone)
        self._dates: dict[object, dt.date | str] = {}
        self._persons: dict[tuple[object, ...], tuple[dict[str, str | None], str | None] | str] = {}
        self._courses: dict[tuple[object, ...], tuple[dict[str, str | None], Course | None] | str] = {}
        self._hours: dict[object, Decimal | str | None] = {}
        self._statuses: dict[tuple[object, bool], RowStatus | str] = {}
        self._deliveries: dict[object, str | bool | None] = {}

    def __call__(self, raw: RawRow) -> Record | RejectedRow | UnmatchedRow:
        get = raw.values.get
        try:
            completed_on = self._date("completed_on", get("completed_on"), raw.epoch)
            status = self._status(get("status"), completed_on is not None)
            on: dt.date | None
            if status is RowStatus.COMPLETED:
                if completed_on is None:
                    raise _RejectedError("completed_on", "is empty but the row says the course was completed")
                on = completed_on
            else:
                # An enrolment that is not completed may carry no date at all (Moodle lists it empty).
                on = self._date("enrolled_on", get("enrolled_on"), raw.epoch) or completed_on
            hours = self._hour(get("hours"))
            delivery = self._delivery(get("delivery"))
            person, member = self._person(tuple(get(f) for f in _PERSON_FIELDS))
            course_values, course = self._course(tuple(get(f) for f in _COURSE_FIELDS))
        except _RejectedError as reject:
            return RejectedRow(raw.source, raw.number, reject.field, reject.reason, raw.raw)
        provider, record_id = clean_text(get("provider")), clean_text(get("record_id"))
        origin = f"{raw.source}:{raw.number}"
        if member is not None and course is not None:
            return Record(
                member=member, course=course.id, on=on, status=status.value, hours=hours, delivery=delivery,
                provider=provider, record_id=record_id, origin=origin,
            )
        values: dict[str, str | None] = {
            **person, **course_values, "status": status.value, "on": on.isoformat() if on else None,
            "hours": None if hours is None else str(hours), "delivery": delivery, "provider": provider,
            "record_id": record_id,
        }
        return self._unmatched(values, raw.source, raw.number, member, course)

    def _unmatched(
        self, values: dict[str, str | None], file: str, row: int, member: str | None, course: Course | None
    ) -> UnmatchedRow:
        missing = []
        if member is None:
            who = values.get("email") or values.get("portal_user_id") or values.get("name")
            missing.append(f"unknown person {who!r}")
        if course is None:
            what = values.get("course_title") or values.get("course_id")
            missing.append(f"unknown course {what!r}")
        payload = json.dumps(values, sort_keys=True, ensure_ascii=False)
        fingerprint = hashlib.sha256(payload.encode()).hexdigest()
        # A course named by the importer is in course_id: a rematch must find that one.
        courses = ("course_id",) if self.course is not None else self.profile.courses
        held = {**values, _HELD_PEOPLE: ",".join(self.profile.people), _HELD_COURSES: ",".join(courses)}
        return UnmatchedRow(file, row, "; ".join(missing), held, fingerprint)

    def held_tuple(
        self,
        values: dict[str, str | None],
        file: str,
        row: int,
        member: str | None,
        course: str | None,
        *,
        text: str | None = None,
    ) -> HeldTuple:
        """``held_row(self._unmatched(...), source)`` without the round trip: the JSON of the
        values is written once and the matching orders are put in their sorted place in it.

        ``values`` must hold the twelve keys :meth:`__call__` gives a held row; ``text``, if
        given, is their JSON as ``json.dumps(values, sort_keys=True, ensure_ascii=False)``
        writes it (the fast path fills :data:`_HELD_JSON` with parts it has remembered).
        """
        missing = []
        if member is None:
            who = values.get("email") or values.get("portal_user_id") or values.get("name")
            missing.append(f"unknown person {who!r}")
        if course is None:
            what = values.get("course_title") or values.get("course_id")
            missing.append(f"unknown course {what!r}")
        payload = json.dumps(values, sort_keys=True, ensure_ascii=False) if text is None else text
        fingerprint = hashlib.sha256(payload.encode()).hexdigest()
        # Sorted, "match_courses" and "match_people" come right before "name" (a key, not text:
        # a quote inside a JSON string is escaped, so this cannot be found inside a value).
        at = payload.index(', "name": ')
        return (
            self.profile.source, f"{file}:{row}", "; ".join(missing), fingerprint,
            payload[:at] + self._held_orders + payload[at:],
        )

    @functools.cached_property
    def _held_orders(self) -> str:
        courses = ("course_id",) if self.course is not None else self.profile.courses
        orders = {_HELD_COURSES: ",".join(courses), _HELD_PEOPLE: ",".join(self.profile.people)}
        return ", " + json.dumps(orders, sort_keys=True, ensure_ascii=False)[1:-1]

    # -- each value interpreted once per distinct raw value ---------------------------------

    def _date(self, field: str, value: object, epoch: dt.datetime | None) -> dt.date | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        key = (value, epoch) if isinstance(value, int | float) else value
        found = self._dates.get(key)
        if found is None:
            try:
                found = parse_date(value, self.profile, self.zone, epoch=epoch)
            except ValueError as exc:
                found = str(exc)
            except OverflowError:  # 9999-12-31 11 PM in New York is in the year 10000 in UTC
                found = f"{clean_text(value)!r} is out of the range of dates"
            if isinstance(found, dt.date) and not PLAUSIBLE_YEARS[0] <= found.year <= PLAUSIBLE_YEARS[1]:
                found = f"{found.isoformat()} is outside the years {PLAUSIBLE_YEARS[0]}-{PLAUSIBLE_YEARS[1]}"
            _remember(self._dates, key, found)
        if isinstance(found, str):
            raise _RejectedError(field, found)
        return found

    def _status(self, value: object, has_date: bool) -> RowStatus:
        key = (value, has_date)
        found = self._statuses.get(key)
        if found is None:
            text = clean_text(value)
            status = self.profile.status_of(text, has_date)
            if status is not None:
                found = status
            elif text is None:
                found = "is empty"
            else:
                found = f"{text!r} is not a status the profile lists"
            _remember(self._statuses, key, found)
        if not isinstance(found, RowStatus):  # a StrEnum is a str too: test for the status
            raise _RejectedError("status", found)
        return found

    def _hour(self, value: object) -> Decimal | None:
        if value is None:
            return None
        found = self._hours.get(value, False)
        if found is False:
            try:
                found = parse_hours(value, self.profile)
            except ValueError as exc:
                found = str(exc)
            if isinstance(found, Decimal) and found >= _MAX_HOURS:
                found = f"{value!r} is more hours than a record can carry (at most 99,999,999)"
            _remember(self._hours, value, found)
        if isinstance(found, str):
            raise _RejectedError("hours", found)
        return found  # type: ignore[return-value]

    def _delivery(self, value: object) -> str | None:
        if value is None:
            return None
        found = self._deliveries.get(value, False)
        if found is False:
            text = clean_text(value)
            try:
                found = None if text is None else Delivery(text.casefold().replace(" ", "_").replace("-", "_")).value
            except ValueError:
                found = True  # marks a bad value
            _remember(self._deliveries, value, found)
        if found is True:
            raise _RejectedError("delivery", f"{clean_text(value)!r} is not in_person, online or blended")
        return found  # type: ignore[return-value]

    def _person(self, raw: tuple[object, ...]) -> tuple[dict[str, str | None], str | None]:
        found = self._persons.get(raw)
        if found is None:
            email, portal, name, first, last, agency = raw
            full = clean_text(name)
            if full is None and (first or last):
                full = clean_text(f"{first or ''} {last or ''}")
            values = {
                "email": clean_email(email), "portal_user_id": clean_text(portal), "name": full,
                "agency": clean_text(agency),
            }
            if values["email"] or values["portal_user_id"] or values["name"]:
                found = (values, self.people.match(values, self.profile.people))
            else:
                found = "nothing identifies the person"
            _remember(self._persons, raw, found)
        if isinstance(found, str):
            raise _RejectedError(_first_mapped(self.profile, ("email", "portal_user_id", "name")), found)
        return found

    def _course(self, raw: tuple[object, ...]) -> tuple[dict[str, str | None], Course | None]:
        found = self._courses.get(raw)
        if found is None:
            if self.course is not None:
                found = ({"course_id": self.course.id, "course_title": None}, self.course)
            else:
                values = {"course_id": clean_text(raw[0]), "course_title": clean_text(raw[1])}
                if values["course_id"] or values["course_title"]:
                    found = (values, _find_course(values, self.profile.courses, self.catalogue))
                else:
                    found = "nothing identifies the course"
            _remember(self._courses, raw, found)
        if isinstance(found, str):
            raise _RejectedError(_first_mapped(self.profile, _COURSE_FIELDS), found)
        return found


def _remember(cache: dict[Any, Any], key: object, value: object) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _record(values: dict[str, str | None], member: str, course: Course, origin: str) -> Record:
    hours, on = values.get("hours"), values.get("on")
    return Record(
        member=member,
        course=course.id,
        on=dt.date.fromisoformat(on) if on else None,
        status=values.get("status") or RowStatus.COMPLETED.value,
        hours=Decimal(hours) if hours is not None else None,
        delivery=values.get("delivery"),
        provider=values.get("provider"),
        record_id=values.get("record_id"),
        origin=origin,
    )


def _first_mapped(profile: Profile, fields: Sequence[str]) -> str:
    return next((f for f in fields if f in profile.fields), fields[0])


def import_file(
    ledger: Ledger,
    profile: Profile,
    path: Path,
    catalogue: Catalogue,
    *,
    course: Course | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one export file as one batch (one transaction) and return its counts.

    ``course`` is the catalogue course for exports that carry none (a Moodle report is per
    course). ``progress`` is called with the number of rows read so far, every 10,000 rows.
    Raises :class:`~peertrain.errors.PeertrainError` subclasses for unreadable files; then
    nothing of the file is stored.
    """
    when = now or dt.datetime.now(dt.UTC)
    file_hash = file_sha256(path)
    earlier = ledger.batch_with_hash(profile.source, file_hash)
    classify = _Classifier(profile, People(ledger.members()), catalogue, ledger.timezone(), course)
    if _FAST_CSV and isinstance(ledger, SQLiteLedger) and profile.format is ExportFormat.CSV:
        batch = ledger.import_prepared(
            source=profile.source, profile=profile.id, file_name=path.name, file_hash=file_hash, imported_at=when,
            chunks=_FastCSV(classify, path, progress).chunks(),
        )
        return ImportResult(file=path, batch=batch, same_file_as=earlier.id if earlier else None)

    def rows() -> Iterator[Record | RejectedRow | UnmatchedRow]:
        count = 0
        for raw in iter_rows(path, profile):
            yield classify(raw)
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(count)
        if progress is not None:
            progress(count)

    batch = ledger.import_batch(
        source=profile.source, profile=profile.id, file_name=path.name, file_hash=file_hash, imported_at=when,
        rows=rows(),
    )
    return ImportResult(file=path, batch=batch, same_file_as=earlier.id if earlier else None)


#: A held row's values as ``json.dumps(values, sort_keys=True, ensure_ascii=False)`` writes them:
#: agency, course_id, course_title, delivery, email, hours, name, on, portal_user_id, provider,
#: record_id, status (each value filled in as JSON).
_HELD_JSON = (
    '{"agency": %s, "course_id": %s, "course_title": %s, "delivery": %s, "email": %s, "hours": %s, '
    '"name": %s, "on": %s, "portal_user_id": %s, "provider": %s, "record_id": %s, "status": %s}'
)
_json = functools.partial(json.dumps, ensure_ascii=False)
#: Whether CSV imports into an SQLite ledger take the fast path (tests compare both paths).
_FAST_CSV = True
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

    def __init__(self, classify: _Classifier, path: Path, progress: Callable[[int], None] | None) -> None:
        self.classify, self.path, self.progress = classify, path, progress
        self.profile = classify.profile
        self.dates = DateReader(self.profile, classify.zone)
        #: Raw date texts (not date-times): the ISO date, None (empty) or _SLOW.
        self.days: dict[str, Any] = {"": None}
        #: Date parts of date-times: ISO dates ``(plain, before, after)`` and the cutoff, or None.
        self.parts: dict[str, Any] = {}

    def chunks(self) -> Iterator[PreparedChunk]:  # noqa: PLR0915 - one hot loop, kept inline
        """The file's rows, classified, in chunks of :data:`CHUNK_ROWS` rows."""
        profile, classify, progress = self.profile, self.classify, self.progress
        name, source = self.path.name, profile.source
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
            if stored + chunk.rows >= CHUNK_ROWS:  # chunk.rows: the rows the classifier took
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


def rematch(ledger: Ledger, catalogue: Catalogue) -> dict[Outcome, int]:
    """Retry every held row against the current roster and catalogue.

    Rows that now match become records of their original batch (imported, or duplicate when the
    same record is already there); the rest stay held. Returns the count of each outcome, with
    :attr:`Outcome.UNMATCHED` for rows still held.
    """
    people = People(ledger.members())
    result = {Outcome.IMPORTED: 0, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 0}
    for held in ledger.held():
        values = held.values
        member = people.match(values, _held_order(values.get(_HELD_PEOPLE), PEOPLE_MATCHERS))
        course = _find_course(values, _held_order(values.get(_HELD_COURSES), COURSE_MATCHERS), catalogue)
        if member is None or course is None:
            result[Outcome.UNMATCHED] += 1
            continue
        record = _record(values, member, course, held.origin)
        result[ledger.resolve(held.id, record)] += 1
    return result


def _held_order(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """The matching order a held row was imported with (``default`` for rows held before it was kept)."""
    return tuple(text.split(",")) if text else default
