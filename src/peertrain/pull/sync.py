"""From fetched learning records to one ledger batch with its cursor.

A pull is collected whole (classified rows, records withdrawn by the source, the new cursor)
before the ledger is touched, then stored as **one batch in one transaction** together with the
cursor: a pull that fails half-way stores nothing and leaves the cursor where it was, and the next
pull fetches the same statements again. Rows are the same kinds as a file import's: records,
rejected rows and rows held as unmatched, so ``ledger held``, ``rematch`` and ``retract`` work
on pulls too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal

from attrs import define, field, frozen

from peertrain.imports.importer import People
from peertrain.ledger import Batch, Ledger, Record, RejectedRow, UnmatchedRow
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Course, Member

__all__ = ["Collected", "PullResult", "Who", "held_row", "store"]

Row = Record | RejectedRow | UnmatchedRow

#: The keys the importer's ``rematch`` reads to retry a held row the way it was first matched.
_PEOPLE_ORDER = "email,portal_user_id"
_COURSE_ORDER = "course_id,course_title"


@frozen
class Who:
    """What a learning system says about a learner: any of email, portal user id, SHA-1 of the
    ``mailto:`` IRI (xAPI ``mbox_sha1sum``), display name."""

    email: str | None = None
    portal_user_id: str | None = None
    mbox_sha1: str | None = None
    name: str | None = None

    def shown(self) -> str:
        """How the learner is named in a held row's reason."""
        return self.email or self.portal_user_id or (f"sha1:{self.mbox_sha1}" if self.mbox_sha1 else None) or (
            self.name or "?"
        )


class Roster:
    """Roster members by email, portal user id and ``mbox_sha1sum``."""

    def __init__(self, members: Iterable[Member]) -> None:
        members = list(members)
        self.people = People(members)
        self.by_sha1 = {
            hashlib.sha1(f"mailto:{m.email}".encode(), usedforsecurity=False).hexdigest(): m.id
            for m in members
            if m.email
        }

    def match(self, who: Who) -> str | None:
        """The member id, trying email, then portal user id, then ``mbox_sha1sum``."""
        values = {"email": who.email, "portal_user_id": who.portal_user_id}
        found = self.people.match(values, ("email", "portal_user_id"))
        if found is None and who.mbox_sha1:
            found = self.by_sha1.get(who.mbox_sha1.casefold())
        return found


def find_course(catalogue: Catalogue, names: Sequence[str | None]) -> Course | None:
    """The first catalogue course any of ``names`` (ids, IRIs, titles) names."""
    for name in names:
        if name:
            course = catalogue.find(name)
            if course is not None:
                return course
    return None


def held_row(
    *, file: str, row: int, who: Who, member: str | None, course_id: str | None, course_title: str | None,
    course: Course | None, status: str, on: dt.date | None, hours: Decimal | None, record_id: str,
) -> UnmatchedRow:
    """A row held as unmatched, with the values ``ledger rematch`` needs to match it later."""
    reasons = []
    if member is None:
        reasons.append(f"unknown person {who.shown()!r}")
    if course is None:
        reasons.append(f"unknown course {course_title or course_id!r}")
    values: dict[str, str | None] = {
        "email": who.email, "portal_user_id": who.portal_user_id, "name": who.name, "agency": None,
        "course_id": course_id, "course_title": course_title, "status": status,
        "on": on.isoformat() if on else None, "hours": None if hours is None else str(hours),
        "delivery": None, "provider": None, "record_id": record_id,
    }
    fingerprint = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
    values |= {"match_people": _PEOPLE_ORDER, "match_courses": _COURSE_ORDER}
    return UnmatchedRow(file, row, "; ".join(reasons), values, fingerprint)


@define
class Collected:
    """Everything one pull fetched, ready to store."""

    rows: list[Row] = field(factory=list)
    #: Record ids (statement ids) the source withdrew (voided).
    voided: list[str] = field(factory=list)
    #: Items fetched that are not rows: other verbs, or already pulled (at or before the cursor).
    skipped: int = 0
    #: Items fetched in all (rows + voiding + skipped).
    fetched: int = 0
    #: The cursor after this pull (unchanged when nothing newer was seen).
    cursor: str | None = None
    #: Requests made (pages or calls).
    requests: int = 0


@frozen
class PullResult:
    """One pull: its batch (``None`` when nothing new was found), and what was fetched."""

    source: str
    batch: Batch | None
    fetched: int
    skipped: int
    voiding: int
    requests: int
    cursor_before: str | None
    cursor_after: str | None


def store(
    ledger: Ledger, *, source: str, profile: str, file_name: str, collected: Collected, cursor_before: str | None,
    when: dt.datetime,
) -> PullResult:
    """Store a pull as one batch with its cursor (``file_name``: what ``ledger batches`` lists).

    Nothing is stored when the pull found nothing new (no row, nothing voided, the cursor
    unchanged), so a scheduled pull does not list empty batches.
    """
    batch = None
    if collected.rows or collected.voided or collected.cursor != cursor_before:
        ids = sorted(r.record_id or "" for r in collected.rows if isinstance(r, Record)) + sorted(collected.voided)
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
        cursor = (source, collected.cursor) if collected.cursor is not None else None
        batch = ledger.import_batch(
            source=source, profile=profile, file_name=file_name,
            file_hash=digest, imported_at=when, rows=collected.rows, cursor=cursor, voided=collected.voided,
        )
    return PullResult(
        source=source, batch=batch, fetched=collected.fetched, skipped=collected.skipped,
        voiding=len(collected.voided), requests=collected.requests, cursor_before=cursor_before,
        cursor_after=collected.cursor if collected.cursor is not None else cursor_before,
    )
