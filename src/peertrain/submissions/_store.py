"""The SQLite tables of submissions (ledger schema 3), for :mod:`peertrain.submissions`.

``evidence`` holds each file once by its SHA-256; ``submissions`` what was submitted (never
changed); ``submission_events`` every review step, appended and never changed or deleted. An
approval adds a batch of its own (source ``self-reported``) holding the one completed record;
a revocation deletes that record and marks the batch retracted, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from typing import Any

from peertrain.ledger import Ledger, LedgerError
from peertrain.ledger._journal import BATCH, RETRACTION
from peertrain.ledger._schema import AGENCY, _now_text, _Transaction, journal
from peertrain.ledger.sqlite import SQLiteLedger
from peertrain.rules.model import SELF_REPORTED_SOURCE, Delivery
from peertrain.submissions.evidence import Evidence
from peertrain.submissions.model import Action, ReviewEvent, Submission, SubmissionError

_COLUMNS = (
    "s.id, s.member_id, s.course_id, s.on_date, s.hours, s.delivery, s.provider, s.evidence_name, "
    "s.evidence_sha256, e.media_type, e.size, s.submitted_by, s.submitted_at"
)


def stores_submissions(ledger: Ledger) -> bool:
    """Whether the ledger's backend stores submissions (the SQLite ledger; not yet the PostgreSQL one)."""
    return isinstance(ledger, SQLiteLedger)


def connection(ledger: Ledger) -> tuple[sqlite3.Connection, _Transaction]:
    """The ledger's database and a write transaction on it (the SQLite ledger's)."""
    if not isinstance(ledger, SQLiteLedger):
        raise LedgerError(
            f"{type(ledger).__name__} does not store self-reported submissions yet; use a ledger file for them"
        )
    return ledger._db, ledger._transaction()


def _events(db: sqlite3.Connection, submission_id: int) -> tuple[ReviewEvent, ...]:
    rows = db.execute(
        "SELECT action, actor, at, note, batch_id FROM submission_events WHERE submission_id = ? ORDER BY id",
        (submission_id,),
    )
    return tuple(ReviewEvent(Action(r[0]), r[1], dt.datetime.fromisoformat(r[2]), r[3], r[4]) for r in rows)


def _submission(db: sqlite3.Connection, r: Any) -> Submission:
    return Submission(
        id=r[0], member=r[1], course=r[2], on=dt.date.fromisoformat(r[3]),
        hours=None if r[4] is None else Decimal(r[4]), delivery=None if r[5] is None else Delivery(r[5]),
        provider=r[6], evidence_name=r[7], evidence_sha256=r[8], media_type=r[9], size=r[10],
        submitted_by=r[11], submitted_at=dt.datetime.fromisoformat(r[12]), events=_events(db, r[0]),
    )


def load(db: sqlite3.Connection, submission_id: int) -> Submission:
    """One submission with its events; :class:`SubmissionError` when there is none."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM submissions s JOIN evidence e ON e.sha256 = s.evidence_sha256 WHERE s.id = ?",
        (submission_id,),
    ).fetchone()
    if row is None:
        raise SubmissionError(f"no submission {submission_id} in this ledger")
    return _submission(db, row)


def load_all(db: sqlite3.Connection) -> list[Submission]:
    """Every submission, oldest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM submissions s JOIN evidence e ON e.sha256 = s.evidence_sha256 ORDER BY s.id"
    ).fetchall()
    return [_submission(db, r) for r in rows]


def record_batch(db: sqlite3.Connection, record_id: str) -> int | None:
    """The batch holding the record with this id, if the ledger has it."""
    row = db.execute("SELECT batch_id FROM records WHERE id = ?", (record_id,)).fetchone()
    return None if row is None else int(row[0])


def insert_submission(
    db: sqlite3.Connection, *, member: str, course: str, on: dt.date, hours: Decimal | None,
    delivery: Delivery | None, provider: str | None, evidence: Evidence, by: str, at: dt.datetime,
) -> int:
    """Store the evidence (once per hash), the submission and its ``submitted`` event."""
    db.execute(
        "INSERT OR IGNORE INTO evidence (sha256, media_type, size, content) VALUES (?, ?, ?, ?)",
        (evidence.sha256, evidence.media_type, evidence.size, evidence.content),
    )
    cursor = db.execute(
        "INSERT INTO submissions (member_id, course_id, on_date, hours, delivery, provider, evidence_sha256, "
        "evidence_name, submitted_by, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            member, course, on.isoformat(), None if hours is None else str(hours),
            None if delivery is None else delivery.value, provider, evidence.sha256, evidence.name, by,
            _now_text(at),
        ),
    )
    submission_id = int(cursor.lastrowid or 0)
    add_event(db, submission_id, Action.SUBMITTED, by, at, note=None)
    return submission_id


def add_event(
    db: sqlite3.Connection, submission_id: int, action: Action, by: str, at: dt.datetime, *, note: str | None,
    batch: int | None = None,
) -> None:
    """Append one review step."""
    db.execute(
        "INSERT INTO submission_events (submission_id, action, actor, at, note, batch_id) VALUES (?, ?, ?, ?, ?, ?)",
        (submission_id, action.value, by, _now_text(at), note, batch),
    )


def add_record(db: sqlite3.Connection, submission: Submission, origin: str, at: dt.datetime) -> int:
    """A batch of its own holding the approved submission's completed record; its id."""
    cursor = db.execute(
        "INSERT INTO batches (source, profile, file_name, file_hash, imported_at, rows_read, imported, agency_id) "
        f"VALUES (?, ?, ?, ?, ?, 1, 1, {AGENCY})",
        (SELF_REPORTED_SOURCE, SELF_REPORTED_SOURCE, submission.evidence_name, submission.evidence_sha256,
         _now_text(at)),
    )
    batch = int(cursor.lastrowid or 0)
    db.execute(
        "INSERT INTO records (id, batch_id, member_id, course_id, on_date, status, hours, delivery, provider, "
        "source, record_id, origin) VALUES (?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?)",
        (
            submission.record_id, batch, submission.member, submission.course, submission.on.isoformat(),
            None if submission.hours is None else str(submission.hours),
            None if submission.delivery is None else submission.delivery.value, submission.provider,
            SELF_REPORTED_SOURCE, f"submission:{submission.id}", origin,
        ),
    )
    journal(db).record(BATCH, batch)
    return batch


def remove_record(db: sqlite3.Connection, batch: int, at: dt.datetime) -> None:
    """Delete an approval's record and mark its batch retracted."""
    db.execute("DELETE FROM records WHERE batch_id = ?", (batch,))
    db.execute("UPDATE batches SET retracted_at = ? WHERE id = ?", (_now_text(at), batch))
    journal(db).record(RETRACTION, batch)


def evidence_content(db: sqlite3.Connection, sha256: str) -> bytes:
    """The stored bytes of the evidence with this hash."""
    row = db.execute("SELECT content FROM evidence WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:  # pragma: no cover - the foreign key keeps it
        raise SubmissionError(f"the ledger has no evidence with SHA-256 {sha256}")
    return bytes(row[0])
