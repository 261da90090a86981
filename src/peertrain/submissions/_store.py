"""The tables of submissions, for :mod:`peertrain.submissions`, on either ledger backend.

``evidence`` holds each file once by its SHA-256; ``submissions`` what was submitted (never
changed, but for its agency, which follows its member); ``submission_events`` every review step,
appended and never changed or deleted. An approval adds a batch of its own (source
``self-reported``, the member's agency) holding the one completed record; a revocation deletes
that record and marks the batch retracted, in the same transaction, and both are entries of the
ledger's journal.

The SQLite ledger writes in its ``BEGIN IMMEDIATE`` transaction; the PostgreSQL ledger in a
transaction that first takes the writers' advisory locks (:func:`~peertrain.ledger._pgtables.lock_writes`),
so one agency's reviews take turns with its imports. On PostgreSQL, which rows a role sees is
the database's row-level security: an agency's role sees its members' submissions,
their events and the evidence they name, and nothing of another agency's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from peertrain.ledger import Ledger, LedgerError
from peertrain.ledger._journal import BATCH, RETRACTION, Journal
from peertrain.ledger._schema import _now_text
from peertrain.ledger.sqlite import SQLiteLedger
from peertrain.rules.model import SELF_REPORTED_SOURCE, Delivery
from peertrain.submissions.evidence import Evidence
from peertrain.submissions.model import Action, ReviewEvent, Submission, SubmissionError

_COLUMNS = (
    "s.id, s.member_id, s.course_id, s.on_date, s.hours, s.delivery, s.provider, s.evidence_name, "
    "s.evidence_sha256, e.media_type, e.size, s.submitted_by, s.submitted_at"
)
_FROM = "FROM submissions s JOIN evidence e ON e.sha256 = s.evidence_sha256"


def _postgres(ledger: Ledger) -> bool:
    """Whether ``ledger`` is a PostgreSQL ledger (without importing psycopg when it is not)."""
    try:
        from peertrain.ledger.postgres import PostgresLedger  # noqa: PLC0415 - psycopg is optional
    except ImportError:
        return False
    return isinstance(ledger, PostgresLedger)


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _time(value: Any) -> dt.datetime:
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(dt.UTC)


class Store:
    """The submissions of one open ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.postgres = _postgres(ledger)
        if not self.postgres and not isinstance(ledger, SQLiteLedger):
            raise LedgerError(f"{type(ledger).__name__} does not store self-reported submissions")
        self.ledger = ledger
        self.db: Any = ledger._db  # type: ignore[attr-defined]  # the backends' own connection

    # -- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction: all of it or nothing."""
        if not self.postgres:
            with self.ledger._transaction():  # type: ignore[attr-defined]
                yield
            return
        from peertrain.ledger._pgtables import lock_writes  # noqa: PLC0415 - psycopg is optional

        with self._refused(), self.db.transaction():
            lock_writes(self.db)
            yield

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Reads, with the database's refusals as one :class:`LedgerError`."""
        with self._refused():
            yield

    @contextlib.contextmanager
    def _refused(self) -> Iterator[None]:
        if not self.postgres:
            yield
            return
        import psycopg  # noqa: PLC0415 - psycopg is optional

        try:
            yield
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            url = getattr(self.ledger, "url", "the ledger")
            raise LedgerError(f"{url}: the ledger's database refused: {reason}") from None

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        cursor = self.db.execute(sql.replace("?", "%s") if self.postgres else sql, params)
        return list(cursor.fetchall()) if cursor.description is not None else []

    def _stamp(self, at: dt.datetime) -> Any:
        text = _now_text(at)  # refuses a naive time
        return dt.datetime.fromisoformat(text) if self.postgres else text

    def _journal(self) -> Journal:
        if self.postgres:
            from peertrain.ledger._pgschema import journal  # noqa: PLC0415 - psycopg is optional

            return journal(self.db)
        from peertrain.ledger._schema import journal as file_journal  # noqa: PLC0415

        return file_journal(self.db)

    # -- reading --------------------------------------------------------------------------

    def _events(self, submission_id: int) -> tuple[ReviewEvent, ...]:
        rows = self._query(
            "SELECT action, actor, at, note, batch_id FROM submission_events WHERE submission_id = ? ORDER BY id",
            (submission_id,),
        )
        return tuple(
            ReviewEvent(Action(r[0]), r[1], _time(r[2]), r[3], None if r[4] is None else int(r[4])) for r in rows
        )

    def _submission(self, r: Any) -> Submission:
        return Submission(
            id=int(r[0]), member=r[1], course=r[2], on=_date(r[3]),
            hours=None if r[4] is None else Decimal(r[4]), delivery=None if r[5] is None else Delivery(r[5]),
            provider=r[6], evidence_name=r[7], evidence_sha256=r[8], media_type=r[9], size=int(r[10]),
            submitted_by=r[11], submitted_at=_time(r[12]), events=self._events(int(r[0])),
        )

    def load(self, submission_id: int) -> Submission:
        """One submission with its events; :class:`SubmissionError` when there is none (or none
        this role may see)."""
        rows = self._query(f"SELECT {_COLUMNS} {_FROM} WHERE s.id = ?", (submission_id,))
        if not rows:
            raise SubmissionError(f"no submission {submission_id} in this ledger")
        return self._submission(rows[0])

    def load_all(self) -> list[Submission]:
        """Every submission (this role sees), oldest first."""
        return [self._submission(r) for r in self._query(f"SELECT {_COLUMNS} {_FROM} ORDER BY s.id")]

    def open_for(self, member: str, course: str, on: dt.date) -> list[Submission]:
        """The submissions of one member, course and date, oldest first."""
        rows = self._query(
            f"SELECT {_COLUMNS} {_FROM} WHERE s.member_id = ? AND s.course_id = ? AND s.on_date = ? ORDER BY s.id",
            (member, course, on.isoformat() if not self.postgres else on),
        )
        return [self._submission(r) for r in rows]

    def record_batch(self, record_id: str) -> int | None:
        """The batch holding the record with this id, if the ledger has it."""
        rows = self._query("SELECT batch_id FROM records WHERE id = ?", (record_id,))
        return None if not rows else int(rows[0][0])

    def evidence_content(self, sha256: str) -> bytes:
        """The stored bytes of the evidence with this hash."""
        rows = self._query("SELECT content FROM evidence WHERE sha256 = ?", (sha256,))
        if not rows:  # pragma: no cover - the foreign key keeps it
            raise SubmissionError(f"the ledger has no evidence with SHA-256 {sha256}")
        return bytes(rows[0][0])

    # -- writing (in a transaction of :meth:`writing`) -----------------------------------------

    def insert_submission(
        self, *, member: str, course: str, on: dt.date, hours: Decimal | None, delivery: Delivery | None,
        provider: str | None, evidence: Evidence, by: str, at: dt.datetime,
    ) -> int:
        """Store the evidence (once per hash), the submission (in its member's agency) and its
        ``submitted`` event."""
        self._query(
            "INSERT INTO evidence (sha256, media_type, size, content) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (evidence.sha256, evidence.media_type, evidence.size, evidence.content),
        )
        rows = self._query(
            "INSERT INTO submissions (member_id, course_id, on_date, hours, delivery, provider, evidence_sha256, "
            "evidence_name, submitted_by, submitted_at, agency_id) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, agency_id FROM members WHERE id = ? RETURNING id",
            (
                member, course, on.isoformat() if not self.postgres else on,
                None if hours is None else str(hours), None if delivery is None else delivery.value, provider,
                evidence.sha256, evidence.name, by, self._stamp(at), member,
            ),
        )
        if not rows:
            raise SubmissionError(f"{member!r} is not on the ledger's roster")
        submission_id = int(rows[0][0])
        self.add_event(submission_id, Action.SUBMITTED, by, at, note=None)
        return submission_id

    def add_event(
        self, submission_id: int, action: Action, by: str, at: dt.datetime, *, note: str | None,
        batch: int | None = None,
    ) -> None:
        """Append one review step."""
        self._query(
            "INSERT INTO submission_events (submission_id, action, actor, at, note, batch_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (submission_id, action.value, by, self._stamp(at), note, batch),
        )

    def add_record(self, submission: Submission, origin: str, at: dt.datetime) -> int:
        """A batch of its own (the submission's agency) holding the approved submission's
        completed record, journalled; its id."""
        (batch,), = self._query(
            "INSERT INTO batches (source, profile, file_name, file_hash, imported_at, rows_read, imported, agency_id) "
            "SELECT ?, ?, ?, ?, ?, 1, 1, agency_id FROM submissions WHERE id = ? RETURNING id",
            (SELF_REPORTED_SOURCE, SELF_REPORTED_SOURCE, submission.evidence_name, submission.evidence_sha256,
             self._stamp(at), submission.id),
        )
        self._query(
            "INSERT INTO records (id, batch_id, member_id, course_id, on_date, status, hours, delivery, provider, "
            "source, record_id, origin) VALUES (?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?)",
            (
                submission.record_id, batch, submission.member, submission.course,
                submission.on.isoformat() if not self.postgres else submission.on,
                None if submission.hours is None else str(submission.hours),
                None if submission.delivery is None else submission.delivery.value, submission.provider,
                SELF_REPORTED_SOURCE, f"submission:{submission.id}", origin,
            ),
        )
        self._journal().record(BATCH, int(batch))
        return int(batch)

    def remove_record(self, submission: Submission, batch: int, at: dt.datetime) -> None:
        """Delete an approval's record and mark its batch retracted, journalled."""
        self._query("DELETE FROM records WHERE batch_id = ?", (batch,))
        marked = self._query(
            "UPDATE batches SET retracted_at = ? WHERE id = ? AND retracted_at IS NULL RETURNING id",
            (self._stamp(at), batch),
        )
        if not marked:  # another agency's batch (this role cannot see it), or retracted already
            raise SubmissionError(
                f"the batch {batch} of submission {submission.id}'s approval cannot be retracted here; "
                "the ledger's administrator can revoke it"
            )
        self._journal().record(RETRACTION, batch)
