"""The SQLite ledger file's layout, for :mod:`peertrain.ledger.sqlite` (which re-exports the
public names): its application id, the schema as migrations, how a time is stored, and the
``BEGIN IMMEDIATE`` transaction every write runs in.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from peertrain.ledger import LedgerError
from peertrain.ledger._journal import Journal

#: ``PRAGMA application_id`` of a peertrain ledger ("PTRN").
APPLICATION_ID = 0x5054524E

#: The schema, as migrations: the file's ``user_version`` is how many have been applied.
MIGRATIONS: tuple[str, ...] = (
    # 1: the ledger
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE members (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, agency TEXT NOT NULL DEFAULT '',
        roles TEXT NOT NULL, functions TEXT NOT NULL, joined_on TEXT,
        email TEXT UNIQUE, portal_user_id TEXT UNIQUE
    );
    CREATE TABLE batches (
        id INTEGER PRIMARY KEY, source TEXT NOT NULL, profile TEXT NOT NULL,
        file_name TEXT NOT NULL, file_hash TEXT NOT NULL, imported_at TEXT NOT NULL,
        rows_read INTEGER NOT NULL DEFAULT 0, imported INTEGER NOT NULL DEFAULT 0,
        not_completed INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0, unmatched INTEGER NOT NULL DEFAULT 0,
        retracted_at TEXT
    );
    CREATE TABLE records (
        id TEXT PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES batches(id),
        member_id TEXT NOT NULL, course_id TEXT NOT NULL, on_date TEXT,
        status TEXT NOT NULL, hours TEXT, delivery TEXT, provider TEXT,
        source TEXT NOT NULL, record_id TEXT, origin TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX records_source_record ON records(source, record_id, status)
        WHERE record_id IS NOT NULL;
    CREATE TABLE held (
        id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES batches(id),
        source TEXT NOT NULL, origin TEXT NOT NULL, reason TEXT NOT NULL,
        fingerprint TEXT NOT NULL, payload TEXT NOT NULL, UNIQUE (source, fingerprint)
    );
    CREATE TABLE rejected (
        id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES batches(id),
        file TEXT NOT NULL, row INTEGER NOT NULL, field TEXT, reason TEXT NOT NULL,
        raw TEXT NOT NULL
    );
    CREATE INDEX rejected_batch ON rejected(batch_id);
    """,
    # 2: where incremental pulls from an LRS or LMS left off, per source
    """
    CREATE TABLE cursors (source TEXT PRIMARY KEY, position TEXT NOT NULL, updated_at TEXT NOT NULL);
    """,
    # 3: e-mail notices (peertrain notify): each one's attempt is stored before the message goes to
    # the mail server and its result after, so that no notice is ever sent twice by itself
    """
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
        agency TEXT NOT NULL, member_id TEXT NOT NULL, requirement TEXT NOT NULL,
        deadline TEXT NOT NULL, stage TEXT NOT NULL, recipient TEXT NOT NULL,
        subject TEXT NOT NULL, message_id TEXT NOT NULL, message BLOB NOT NULL,
        state TEXT NOT NULL, attempts INTEGER NOT NULL, attempted_at TEXT NOT NULL,
        finished_at TEXT, detail TEXT
    );
    CREATE INDEX notices_state ON notices(state);
    """,
    # 4: self-reported training (peertrain.submissions): evidence files, submissions, and their
    # review as append-only events (submitted, approved, rejected, revoked); an approval's record
    # is in a batch of its own (source 'self-reported'), named by the approving event
    """
    CREATE TABLE evidence (
        sha256 TEXT PRIMARY KEY, media_type TEXT NOT NULL, size INTEGER NOT NULL, content BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY, member_id TEXT NOT NULL, course_id TEXT NOT NULL, on_date TEXT NOT NULL,
        hours TEXT, delivery TEXT, provider TEXT,
        evidence_sha256 TEXT NOT NULL REFERENCES evidence(sha256), evidence_name TEXT NOT NULL,
        submitted_by TEXT NOT NULL, submitted_at TEXT NOT NULL
    );
    CREATE TABLE submission_events (
        id INTEGER PRIMARY KEY, submission_id INTEGER NOT NULL REFERENCES submissions(id),
        action TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL, note TEXT,
        batch_id INTEGER REFERENCES batches(id)
    );
    CREATE INDEX submission_events_submission ON submission_events(submission_id, id);
    """,
    # 5: agencies (a consortium's, on PostgreSQL; a file has one, 'local' until 'ledger init --agency'
    # names it): every member, batch, held and rejected row, cursor and notice belongs to one; the
    # agency written is meta's 'agency' (a file has no roles: its 'roles' table stays empty); a
    # member's move between agencies is a row of 'transfers'. Held rows stay unique per source and
    # fingerprint here (one agency writes a file); PostgreSQL's are unique per agency too.
    """
    CREATE TABLE agencies (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    INSERT INTO agencies (id, name) VALUES ('local', '');
    INSERT INTO meta (key, value) VALUES ('agency', 'local');
    CREATE TABLE roles (
        role TEXT PRIMARY KEY, agency_id TEXT REFERENCES agencies(id), kind TEXT NOT NULL
    );
    CREATE TABLE transfers (
        id INTEGER PRIMARY KEY, member_id TEXT NOT NULL, from_agency TEXT NOT NULL REFERENCES agencies(id),
        to_agency TEXT NOT NULL REFERENCES agencies(id), at TEXT NOT NULL
    );
    ALTER TABLE members ADD COLUMN agency_id TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE batches ADD COLUMN agency_id TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE held ADD COLUMN agency_id TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE rejected ADD COLUMN agency_id TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE notices ADD COLUMN agency_id TEXT NOT NULL DEFAULT 'local';
    CREATE TABLE cursors_by_agency (
        agency_id TEXT NOT NULL, source TEXT NOT NULL, position TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (agency_id, source)
    );
    INSERT INTO cursors_by_agency SELECT 'local', source, position, updated_at FROM cursors;
    DROP TABLE cursors;
    ALTER TABLE cursors_by_agency RENAME TO cursors;
    CREATE INDEX members_agency ON members(agency_id);
    CREATE INDEX batches_agency ON batches(agency_id);
    """,
    # 6: the journal (peertrain.ledger._journal): every change to a batch's rows, hash-chained;
    # a ledger migrated to it has its batches journalled as they stand
    """
    CREATE TABLE journal (
        seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref INTEGER NOT NULL, content TEXT NOT NULL,
        content_sha256 TEXT NOT NULL, prev_sha256 TEXT NOT NULL, sha256 TEXT NOT NULL
    );
    CREATE INDEX journal_ref ON journal(ref);
    """,
    # 7: a submission belongs to its member's agency (agency_id, moved with the member by a
    # transfer); its review events and its evidence file follow it (on PostgreSQL by row-level
    # security: an agency's role sees the evidence its own submissions name, and no other)
    """
    ALTER TABLE submissions ADD COLUMN agency_id TEXT NOT NULL DEFAULT 'local';
    UPDATE submissions SET agency_id = coalesce(
        (SELECT m.agency_id FROM members m WHERE m.id = submissions.member_id),
        (SELECT value FROM meta WHERE key = 'agency'));
    CREATE INDEX submissions_agency ON submissions(agency_id);
    CREATE INDEX submissions_evidence ON submissions(evidence_sha256);
    """,
)

#: The agency a file's rows are written as (its one agency), as an SQL expression.
AGENCY = "(SELECT value FROM meta WHERE key = 'agency')"


def journal(db: sqlite3.Connection) -> Journal:
    """The journal of the ledger open on ``db`` (appended to within the caller's write transaction)."""
    return Journal(db.execute)


def has_journal(db: sqlite3.Connection) -> bool:
    """Whether the ledger's schema has its journal table yet."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal'").fetchone() is not None


def _now_text(when: dt.datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("timestamps stored in the ledger must be time-zone aware")
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # e.g. another import holds the write lock
            raise LedgerError(f"the ledger is busy or cannot be written ({exc}); try again") from None

    def __exit__(self, exc_type: object, _exc: object, _tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
