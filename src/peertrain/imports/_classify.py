"""How one export row becomes a ledger row: matching people and courses, reading values.

Internal to :mod:`peertrain.imports.importer` (which re-exports :class:`People` and :func:`person_key`)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import zoneinfo
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from peertrain.imports.exports import RawRow
from peertrain.imports.exports.values import DateOrderError, clean_email, clean_text, parse_date, parse_hours
from peertrain.imports.profiles import ExportFormat, Profile, RowStatus
from peertrain.ledger import Record, RejectedRow, UnmatchedRow
from peertrain.ledger.sqlite import HeldTuple
from peertrain.rules.catalog import Catalogue, normalise_name
from peertrain.rules.model import PLAUSIBLE_YEARS, Course, Delivery, Member


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



class _RejectedError(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


class DateOrderRefusedError(Exception):
    """A row's date shows the whole file in the other day/month order: the file is refused
    (:func:`~peertrain.imports.importer.import_file` turns this into an ``ExportError`` naming the file)."""

    def __init__(self, row: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.row, self.field, self.reason = row, field, reason


_REPEATED_HEADER = "repeats the header row (the column names again), not a record"
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
            if self._repeats_header(raw):
                return RejectedRow(raw.source, raw.number, None, _REPEATED_HEADER, raw.raw)
            return RejectedRow(raw.source, raw.number, reject.field, reject.reason, raw.raw)
        except DateOrderRefusedError as refusal:
            refusal.row = raw.number
            raise
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

    def _repeats_header(self, raw: RawRow) -> bool:
        """Whether a row holds the column names again (exports pasted together, a header per
        page): every mapped column's cell is its own name. XML records have no header."""
        if self.profile.format is ExportFormat.XML:
            return False
        mapped = [(field, column) for field, column in self.profile.fields.items() if column]
        return bool(mapped) and all(
            clean_text(raw.values.get(field)) == clean_text(column) for field, column in mapped
        )

    def _unmatched(
        self, values: dict[str, str | None], file: str, row: int, member: str | None, course: Course | None
    ) -> UnmatchedRow:
        missing = _missing(values, member is None, course is None)
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
        missing = _missing(values, member is None, course is None)
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
            except DateOrderError as exc:  # not remembered: the file stops here
                raise DateOrderRefusedError(0, field, str(exc)) from None
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


def _missing(values: dict[str, str | None], no_person: bool, no_course: bool) -> list[str]:
    """Why a row is held: the unknown person and/or course, as the row names them."""
    missing = []
    if no_person:
        who = values.get("email") or values.get("portal_user_id") or values.get("name")
        missing.append(f"unknown person {who!r}")
    if no_course:
        what = values.get("course_title") or values.get("course_id")
        missing.append(f"unknown course {what!r}")
    return missing
