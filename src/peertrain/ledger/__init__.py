"""The completions ledger: one trustworthy history of training from every source.

The ledger holds the roster's members, completion records (completed, in progress, failed), the
import batches they came in (source, file name and hash, counts, when), the rows that were rejected
(with file, row, field and reason) and the rows held as unmatched (an unknown person or course, kept
so they count once the roster or catalogue learns them).

:class:`Ledger` is the interface; :class:`~peertrain.ledger.sqlite.SQLiteLedger` the embedded
default (a real SQLite file, WAL mode, schema-versioned and migrated forward);
:class:`~peertrain.ledger.postgres.PostgresLedger` the consortium's (a PostgreSQL database named by a
``postgresql://`` URL; needs the ``postgresql`` extra). :func:`open_ledger` chooses by location.

Completions are facts: never edited, only added; a batch imported by mistake is *retracted* whole.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from attrs import frozen

from peertrain._types import StrPath
from peertrain.errors import PeertrainError
from peertrain.ledger._journal import JournalEntry, Mismatch, Verification
from peertrain.ledger._model import Agency, Transfer, check_agency_id
from peertrain.rules.model import Completion, Member
from peertrain.rules.stream import CompletionRow  # the domain defines what streaming reads; a ledger provides it

__all__ = [
    "Agency",
    "Batch",
    "BatchCounts",
    "CompletionRow",
    "HeldRow",
    "JournalEntry",
    "Ledger",
    "LedgerError",
    "Mismatch",
    "NoticeDraft",
    "NoticeRow",
    "NoticeState",
    "Outcome",
    "Record",
    "RejectedRow",
    "Transfer",
    "UnmatchedRow",
    "Verification",
    "check_agency_id",
    "is_database_url",
    "ledger_exists",
    "ledger_location",
    "open_ledger",
    "shown_location",
]


class LedgerError(PeertrainError):
    """The ledger file cannot be used (not a peertrain ledger, newer schema, locked, ...)."""


class Outcome(enum.StrEnum):
    """What became of one input row. Every row ends as exactly one of these."""

    IMPORTED = "imported"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    UNMATCHED = "unmatched"


@frozen
class Record:
    """One row ready for the ledger: a matched person and course, parsed values.

    ``status`` is ``completed``, ``in_progress`` or ``failed``; only completed records count as
    training. ``on`` is the completion date (for others, the enrolment date, else the completion
    date the row gives, else ``None``: an enrolment with no date at all). ``record_id`` is the
    source's own id for the row, if the profile maps one.
    """

    member: str
    course: str
    on: dt.date | None
    status: str
    hours: Decimal | None
    delivery: str | None
    provider: str | None
    record_id: str | None
    origin: str

    @property
    def id(self) -> str:
        """The completion id: ``member/course/date``, suffixed with the status unless completed
        (an undated enrolment is ``member/course/undated/status``)."""
        day = self.on.isoformat() if self.on else "undated"
        base = f"{self.member}/{self.course}/{day}"
        return base if self.status == "completed" else f"{base}/{self.status}"

    def __attrs_post_init__(self) -> None:
        if self.on is None and self.status == "completed":
            raise ValueError(f"{self.origin}: a completed record needs its completion date")


@frozen
class RejectedRow:
    """An input row that cannot be used as it is, and why."""

    file: str
    row: int
    field: str | None
    reason: str
    raw: tuple[str, ...]


@frozen
class UnmatchedRow:
    """A readable row whose person or course is not known yet.

    ``values`` are the parsed, normalised fields (text; dates ISO) needed to match it later;
    ``fingerprint`` identifies the row's content within its source, so re-importing it is a
    duplicate.
    """

    file: str
    row: int
    reason: str
    values: dict[str, str | None]
    fingerprint: str


@frozen
class HeldRow:
    """An unmatched row as stored in the ledger."""

    id: int
    batch: int
    source: str
    origin: str
    reason: str
    values: dict[str, str | None]


@frozen
class BatchCounts:
    """How the rows of one import ended; ``rows_read`` is always the sum of imported, duplicates,
    rejected and unmatched (``not_completed`` is the part of ``imported`` without credit).

    ``retracted`` is not a row outcome: it counts the records and held rows of this source that
    this batch removed because the source withdrew them (a voided xAPI statement).
    """

    rows_read: int = 0
    imported: int = 0
    not_completed: int = 0
    duplicates: int = 0
    rejected: int = 0
    unmatched: int = 0
    retracted: int = 0


@frozen
class Batch:
    """One import of one file (or one pull) into the ledger."""

    id: int
    source: str
    profile: str
    file_name: str
    file_hash: str
    imported_at: dt.datetime
    counts: BatchCounts
    retracted_at: dt.datetime | None = None


class NoticeState(enum.StrEnum):
    """Where one e-mail notice stands (``peertrain notify``)."""

    #: The attempt is recorded, its result is not: while a run is on, the message is with the mail
    #: server; after it, the message's fate is unknown (the run was killed, or the connection was
    #: lost after the message was handed over). Never sent again unless asked explicitly.
    PENDING = "pending"
    #: The mail server accepted the message.
    SENT = "sent"
    #: The mail server refused it for good (a 5xx reply); not sent again unless asked.
    REFUSED = "refused"
    #: Certainly not accepted (4xx replies until the retries ran out, or the connection failed before
    #: the message was handed over): tried again by the next run while it is still due.
    DEFERRED = "deferred"


@frozen
class NoticeDraft:
    """One e-mail notice, as the ledger records it: ``key`` identifies it (kind, member, requirement,
    deadline, stage and recipient), so each is sent at most once."""

    key: str
    kind: str
    agency: str
    member: str
    requirement: str
    deadline: dt.date
    stage: str
    recipient: str
    subject: str
    message_id: str


@frozen
class NoticeRow:
    """A recorded notice with its state, number of attempts and times (UTC)."""

    id: int
    draft: NoticeDraft
    state: NoticeState
    attempts: int
    attempted_at: dt.datetime
    finished_at: dt.datetime | None
    detail: str | None


class Ledger(Protocol):
    """The operations every ledger backend provides."""

    def schema_version(self) -> int:
        """The schema version of the open ledger."""
        ...

    def timezone(self) -> str:
        """The agency's IANA time zone, in which completion dates are calendar dates."""
        ...

    def members(self) -> list[Member]:
        """The roster, in id order."""
        ...

    def put_members(self, members: Iterable[Member]) -> tuple[int, int]:
        """Add or update members by id; returns ``(added, updated)``."""
        ...

    def completions(self) -> Iterator[Completion]:
        """Every completed record of every batch not retracted, in id order."""
        ...

    def records(self, member: str | None = None) -> Iterator[tuple[Record, int]]:
        """Every record (any status) with its batch id, optionally of one member."""
        ...

    def completions_by_member(self) -> Iterator[tuple[str, list[CompletionRow]]]:
        """The completed records of every batch not retracted, one member at a time: ``(member id,
        that member's rows in id order)``, each member once, members in increasing order of
        ``member id + "/"`` (the order of their records' ids; it differs from the order of the
        ids when one id is another followed by a character before ``/``, as ``A`` and ``A-1``).
        Only one member's rows need be in memory at a time."""
        ...

    def completion_table(self, start: str | None = None, stop: str | None = None) -> Any:
        """The completed records of every batch not retracted whose id is ``>= start`` and
        ``< stop`` (``None``: no bound), as one ``pyarrow.Table`` with the text columns ``member, id,
        course, on, hours, delivery, provider, origin`` (``on`` as ``YYYY-MM-DD``; the optional ones
        null when not given): what the columnar evaluation (:mod:`peertrain.rules.columnar`) reads,
        one range of members at a time (a record's id starts with its member's id and ``/``)."""
        ...

    def import_batch(
        self,
        *,
        source: str,
        profile: str,
        file_name: str,
        file_hash: str,
        imported_at: dt.datetime,
        rows: Iterable[Record | RejectedRow | UnmatchedRow],
        cursor: tuple[str, str] | None = None,
        voided: Iterable[str] = (),
    ) -> Batch:
        """Store one file's (or one pull's) rows as one batch, atomically: all of it or nothing.

        ``cursor`` is ``(source, position)``: where an incremental pull from ``source`` left off,
        stored in the same transaction, so a batch and its cursor advance together or not at all.
        ``voided`` are record ids of this batch's source that the source has withdrawn: their
        records and held rows are removed (after this batch's rows are stored), and the batch
        counts them as ``retracted``.
        """
        ...

    def cursor(self, source: str) -> str | None:
        """Where the last incremental pull from ``source`` left off (``None``: never pulled)."""
        ...

    def retracted_record_ids(self, batch_id: int) -> list[str]:
        """The source's record ids whose records or held rows a batch removed (``voided``)."""
        ...

    def batches(self) -> list[Batch]:
        """All batches, oldest first."""
        ...

    def batch_with_hash(self, source: str, file_hash: str) -> Batch | None:
        """The earliest live batch that imported a file with this hash from this source."""
        ...

    def retract(self, batch_id: int, when: dt.datetime) -> Batch:
        """Remove a batch's records, held and rejected rows; keep the batch, marked retracted."""
        ...

    def held(self) -> list[HeldRow]:
        """Rows held as unmatched, oldest first."""
        ...

    def resolve(self, held_id: int, record: Record) -> Outcome:
        """Turn a held row into a record (imported, or duplicate of one already there)."""
        ...

    def resolve_many(self, resolutions: Iterable[tuple[int, Record]]) -> list[Outcome]:
        """:meth:`resolve` for many ``(held id, record)`` pairs, all or none, in one transaction
        (the journal gets one entry per batch, not one per row); the outcomes in order."""
        ...

    def rejected(self, batch_id: int | None = None) -> list[tuple[int, RejectedRow]]:
        """Rejected rows with their batch id, optionally of one batch."""
        ...

    def notice_states(self) -> dict[str, NoticeState]:
        """The state of every recorded notice, by key."""
        ...

    def notices(self, states: Iterable[NoticeState] | None = None) -> list[NoticeRow]:
        """Recorded notices (of the given states), oldest attempt first."""
        ...

    def begin_notice(self, draft: NoticeDraft, message: bytes, when: dt.datetime, *, again: bool = False) -> int | None:
        """Record an attempt to send ``message`` (state ``pending``), committed before the message
        goes to the mail server; returns the notice's id. A notice already recorded is attempted
        again only when ``deferred`` (or with ``again``, when ``pending`` or ``refused``: an explicit
        resend); otherwise nothing is recorded and ``None`` is returned, so two runs at once cannot
        both send it."""
        ...

    def finish_notice(self, notice_id: int, state: NoticeState, when: dt.datetime, detail: str | None = None) -> None:
        """Record the result of an attempt."""
        ...

    def notice_message(self, notice_id: int) -> bytes:
        """The message last attempted for a notice, as handed to the mail server."""
        ...

    def agencies(self) -> list[Agency]:
        """Every agency of the ledger (a file's one, until others are added), in id order."""
        ...

    def agency(self) -> str:
        """The agency new rows are written as: the connected role's (a consortium's agency
        coordinator), else the ledger's own."""
        ...

    def add_agency(self, agency: str, name: str) -> Agency:
        """Add an agency (on PostgreSQL, the administrator's)."""
        ...

    def name_agency(self, agency: str, name: str) -> Agency:
        """Give a new, empty ledger's agency (``local``) its id and name."""
        ...

    def member_agencies(self) -> dict[str, str]:
        """The agency of every member one may see, by member id."""
        ...

    def grant(self, role: str, agency: str | None) -> None:
        """Let a database role use the ledger as ``agency``'s coordinator, or (``None``) read all
        (PostgreSQL only: a file has no roles)."""
        ...

    def transfer(self, member: str, to: str, when: dt.datetime) -> Transfer:
        """Move a member with their whole history (records, held rows naming them, notices) to
        agency ``to`` in one transaction, recorded as a :class:`Transfer`."""
        ...

    def transfers(self) -> list[Transfer]:
        """The moves between agencies one may see, oldest first."""
        ...

    def verify(self) -> Verification:
        """Recompute the journal (the hash chain over every batch, retraction and rematch) from the
        stored rows; the result names the first entry that does not match."""
        ...

    def close(self) -> None:
        """Close the ledger."""
        ...


#: The URL schemes of a PostgreSQL ledger (libpq accepts both).
DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: object) -> bool:
    """Whether a ledger location is a PostgreSQL URL (a ``str``) rather than a file."""
    return isinstance(location, str) and location.lower().startswith(DATABASE_SCHEMES)


def ledger_location(text: str) -> Path | str:
    """A ledger location as given on the command line (``--ledger``): a PostgreSQL URL stays text
    (a :class:`~pathlib.Path` would fold its ``//``), anything else is a file path."""
    return text if is_database_url(text) else Path(text)


def shown_location(location: StrPath) -> str:
    """A ledger location as it may be printed: a file's path, or a URL with any literal password hidden."""
    if is_database_url(location):
        from peertrain.ledger._pgconnect import shown_url  # noqa: PLC0415 - only for URLs

        return shown_url(str(location))
    from peertrain._files import shown  # noqa: PLC0415

    return shown(location)


def ledger_exists(location: StrPath) -> bool:
    """Whether a ledger file exists at ``location``; a URL names a database, which is asked when it
    is opened (``ledger init`` refuses a database that already holds a ledger), so it counts as absent."""
    return not is_database_url(location) and Path(location).exists()


def open_ledger(path: StrPath, *, create_timezone: str | None = None) -> Ledger:
    """Open a ledger, migrating it forward if its schema is older.

    ``path`` is a file (the SQLite ledger) or a ``postgresql://`` URL (the PostgreSQL ledger, whose
    password is given as ``password=env:NAME`` or ``password=file:PATH`` or where libpq looks: see
    :mod:`peertrain.ledger._pgconnect`). With ``create_timezone`` a missing ledger is created for
    an agency in that zone; without it a missing one is an error (so a typo never starts an empty
    ledger silently).
    """
    if is_database_url(path):
        try:
            from peertrain.ledger.postgres import PostgresLedger  # noqa: PLC0415 - an optional dependency
        except ImportError as exc:
            if exc.name is None or not exc.name.startswith("psycopg"):
                raise
            raise LedgerError(
                f"{shown_location(path)}: a PostgreSQL ledger needs psycopg 3; install it with: "
                "pip install 'peertrain[postgresql]'"
            ) from None
        return PostgresLedger.open(str(path), create_timezone=create_timezone)
    from peertrain.ledger.sqlite import SQLiteLedger  # noqa: PLC0415 - the backend imports this module

    return SQLiteLedger.open(Path(path), create_timezone=create_timezone)
