"""The embedded ledger backend: one SQLite file, WAL mode, schema-versioned.

Each import is one ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, so a process killed mid-import
leaves the ledger holding the whole batch or none of it. Duplicates are decided by the database's
unique keys (``INSERT OR IGNORE``): a record's id (member/course/date, plus the status when not
completed) and, where the source gives one, its record id within that source.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any

from attrs import Factory, define

from peertrain.ledger import (
    Batch,
    BatchCounts,
    CompletionRow,
    HeldRow,
    LedgerError,
    Outcome,
    Record,
    RejectedRow,
    UnmatchedRow,
)
from peertrain.model import Completion, Delivery, Member

__all__ = [
    "APPLICATION_ID",
    "CHUNK_ROWS",
    "MIGRATIONS",
    "HeldTuple",
    "PreparedChunk",
    "RecordRow",
    "SQLiteLedger",
    "held_row",
    "record_row",
]

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
)

#: Rows stored per step of an import (memory stays bounded by a few chunks).
CHUNK_ROWS = 5000
#: Records inserted per sorted run (about 300 bytes each while they wait).
RUN_ROWS = 200_000


def _now_text(when: dt.datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("timestamps stored in the ledger must be time-zone aware")
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


class SQLiteLedger:
    """A ledger in one SQLite file. Use :func:`peertrain.ledger.open_ledger` to open one."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    # -- opening and migrating ------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, create_timezone: str | None = None) -> SQLiteLedger:
        """Open (or with ``create_timezone``, create) the ledger at ``path``."""
        path = Path(path)
        exists = path.exists()
        if not exists and create_timezone is None:
            raise LedgerError(f"{path}: no such ledger; create it with 'peertrain ledger init'")
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            db.execute("PRAGMA busy_timeout = 10000")
            application = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{path}: not a peertrain ledger ({exc})") from None
        if exists and tables and application != APPLICATION_ID:
            db.close()
            raise LedgerError(f"{path}: an SQLite file, but not a peertrain ledger")
        if version > len(MIGRATIONS):
            db.close()
            raise LedgerError(
                f"{path}: ledger schema {version} is newer than this peertrain understands "
                f"({len(MIGRATIONS)}); upgrade peertrain"
            )
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA cache_size = -65536")  # 64 MiB: large imports insert into a large B-tree
        db.execute("PRAGMA foreign_keys = ON")
        ledger = cls(db, path)
        ledger._migrate(version, create_timezone)
        return ledger

    def _migrate(self, version: int, timezone: str | None) -> None:
        if version == len(MIGRATIONS):
            return
        with self._transaction():
            for number in range(version, len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    self._db.execute(statement)
            if version == 0:
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('timezone', ?)", (timezone or "UTC",)
                )
            self._db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def schema_version(self) -> int:
        """The schema version of the open ledger."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def timezone(self) -> str:
        """The agency's IANA time zone."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone()
        return str(row[0]) if row else "UTC"

    def close(self) -> None:
        """Close the ledger."""
        self._db.close()

    def __enter__(self) -> SQLiteLedger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- members --------------------------------------------------------------------------

    def members(self) -> list[Member]:
        """The roster, in id order."""
        rows = self._db.execute(
            "SELECT id, name, agency, roles, functions, joined_on, email, portal_user_id "
            "FROM members ORDER BY id"
        )
        return [
            Member(
                id=r[0],
                name=r[1],
                agency=r[2],
                roles=json.loads(r[3]),
                functions=json.loads(r[4]),
                joined_on=dt.date.fromisoformat(r[5]) if r[5] else None,
                email=r[6],
                portal_user_id=r[7],
            )
            for r in rows
        ]

    def put_members(self, members: Iterable[Member]) -> tuple[int, int]:
        """Add or update members by id; returns ``(added, updated)``."""
        added = updated = 0
        with self._transaction():
            for m in members:
                values = (
                    m.name, m.agency, json.dumps(sorted(m.roles)), json.dumps(sorted(m.functions)),
                    m.joined_on.isoformat() if m.joined_on else None, m.email, m.portal_user_id,
                )
                old = self._db.execute(
                    "SELECT name, agency, roles, functions, joined_on, email, portal_user_id "
                    "FROM members WHERE id = ?",
                    (m.id,),
                ).fetchone()
                try:
                    if old is None:
                        self._db.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (m.id, *values))
                        added += 1
                    elif tuple(old) != values:
                        self._db.execute(
                            "UPDATE members SET name = ?, agency = ?, roles = ?, functions = ?, "
                            "joined_on = ?, email = ?, portal_user_id = ? WHERE id = ?",
                            (*values, m.id),
                        )
                        updated += 1
                except sqlite3.IntegrityError:
                    raise LedgerError(
                        f"member {m.id!r}: email or portal user id is already another member's"
                    ) from None
        return added, updated

    # -- records --------------------------------------------------------------------------

    def completions(self) -> Iterator[Completion]:
        """Every completed record of every live batch, in id order."""
        rows = self._db.execute(
            "SELECT id, member_id, course_id, on_date, hours, delivery, provider, origin "
            "FROM records WHERE status = 'completed' ORDER BY id"
        )
        for r in rows:
            yield Completion(
                id=r[0],
                member=r[1],
                course=r[2],
                completed_on=dt.date.fromisoformat(r[3]),
                hours=Decimal(r[4]) if r[4] is not None else None,
                delivery=Delivery(r[5]) if r[5] else None,
                provider=r[6],
                source=r[7],
            )

    def completions_by_member(self) -> Iterator[tuple[str, list[CompletionRow]]]:
        """The completed records one member at a time (see :class:`Ledger`).

        A record's id is its member's id, ``/``, course and date, so reading the table in key order
        (no sort) groups the records by member, ordered by member id followed by ``/``. Only a
        member id that itself holds a ``/`` would split a group; if the roster has one, the rows
        are sorted by member.
        """
        slash = self._db.execute("SELECT 1 FROM members WHERE instr(id, '/') > 0 LIMIT 1").fetchone()
        rows = self._db.execute(
            "SELECT member_id, id, course_id, on_date, hours, delivery, provider, origin FROM records "
            "WHERE status = 'completed' ORDER BY " + ("member_id || '/', id" if slash else "id")
        )
        member: str | None = None
        group: list[CompletionRow] = []
        done: set[str] = set()
        for r in rows:
            if r[0] != member:
                if member is not None:
                    done.add(member)
                    yield member, group
                if r[0] in done:  # only a member id with a "/" that is not on the roster
                    raise LedgerError(f"{self.path}: the records of {r[0]!r} are not together; is it on the roster?")
                member, group = r[0], []
            group.append(r[1:])
        if member is not None:
            yield member, group

    def records(self, member: str | None = None) -> Iterator[tuple[Record, int]]:
        """Every record (any status) with its batch id, optionally of one member."""
        sql = (
            "SELECT member_id, course_id, on_date, status, hours, delivery, provider, record_id, "
            "origin, batch_id FROM records"
        )
        rows = self._db.execute(sql + " WHERE member_id = ? ORDER BY id", (member,)) if member else (
            self._db.execute(sql + " ORDER BY id")
        )
        for r in rows:
            yield (
                Record(
                    member=r[0], course=r[1], on=dt.date.fromisoformat(r[2]) if r[2] else None, status=r[3],
                    hours=Decimal(r[4]) if r[4] is not None else None, delivery=r[5], provider=r[6],
                    record_id=r[7], origin=r[8],
                ),
                r[9],
            )

    # -- importing ------------------------------------------------------------------------

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

        ``cursor`` (``(source, position)``) is stored in the same transaction; ``voided`` record
        ids of ``source`` are removed after the rows are stored (see :class:`~peertrain.ledger.Ledger`).
        """
        return self.import_prepared(
            source=source, profile=profile, file_name=file_name, file_hash=file_hash, imported_at=imported_at,
            chunks=_prepare(rows, source), cursor=cursor, voided=voided,
        )

    def import_prepared(
        self,
        *,
        source: str,
        profile: str,
        file_name: str,
        file_hash: str,
        imported_at: dt.datetime,
        chunks: Iterable[PreparedChunk],
        cursor: tuple[str, str] | None = None,
        voided: Iterable[str] = (),
    ) -> Batch:
        """:meth:`import_batch` for rows already laid out as the ledger stores them (the importer's
        fast path): one batch, one transaction, the chunks stored in order."""
        counts = {"rows_read": 0, "imported": 0, "not_completed": 0, "duplicates": 0, "rejected": 0, "unmatched": 0}
        with self._transaction():
            inserted = self._db.execute(
                "INSERT INTO batches (source, profile, file_name, file_hash, imported_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (source, profile, file_name, file_hash, _now_text(imported_at)),
            )
            batch_id = int(inserted.lastrowid or 0)
            self._store_all(batch_id, source, file_name, chunks, counts)
            self._db.execute(
                "UPDATE batches SET rows_read = ?, imported = ?, not_completed = ?, duplicates = ?, "
                "rejected = ?, unmatched = ? WHERE id = ?",
                (
                    counts["rows_read"], counts["imported"] + counts["not_completed"], counts["not_completed"],
                    counts["duplicates"],
                    counts["rejected"], counts["unmatched"], batch_id,
                ),
            )
            self._void(batch_id, source, voided)
            if cursor is not None:
                self._db.execute(
                    "INSERT INTO cursors (source, position, updated_at) VALUES (?, ?, ?) ON CONFLICT (source) "
                    "DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
                    (cursor[0], cursor[1], _now_text(imported_at)),
                )
        return self._batch(batch_id)

    def _void(self, batch_id: int, source: str, voided: Iterable[str]) -> None:
        """Remove the records and held rows of ``source`` with these record ids; note them in ``meta``.

        The note (``retracted:<batch>`` in ``meta``, a JSON list) keeps the schema unchanged.
        """
        removed: list[str] = []
        for record_id in dict.fromkeys(voided):
            before = self._db.total_changes
            self._db.execute("DELETE FROM records WHERE source = ? AND record_id = ?", (source, record_id))
            self._db.execute(
                "DELETE FROM held WHERE source = ? AND json_extract(payload, '$.record_id') = ?", (source, record_id)
            )
            if self._db.total_changes > before:
                removed.append(record_id)
        if removed:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)", (f"retracted:{batch_id}", json.dumps(removed))
            )

    def cursor(self, source: str) -> str | None:
        """Where the last incremental pull from ``source`` left off (``None``: never pulled)."""
        row = self._db.execute("SELECT position FROM cursors WHERE source = ?", (source,)).fetchone()
        return None if row is None else str(row[0])

    def retracted_record_ids(self, batch_id: int) -> list[str]:
        """The source's record ids whose records or held rows a batch removed (``voided``)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"retracted:{batch_id}",)).fetchone()
        return [] if row is None else [str(v) for v in json.loads(row[0])]

    def _store_all(
        self, batch_id: int, source: str, file_name: str, chunks: Iterable[PreparedChunk], counts: dict[str, int]
    ) -> None:
        """Store the chunks in input order; records are gathered into runs and inserted sorted.

        Inserting a run of records in key order into the B-tree touches each page once instead of
        at random (about 15% of the insert time, measured; a run of :data:`RUN_ROWS` records holds
        some 60 MB while it waits). The outcome is the same: without a source record id the only
        key a record can collide on is its id, so among records with one id the first in input
        order is inserted (the sort is stable) and the rest are duplicates, as in input order.
        A run holding a record with a source record id (which can collide with another record on
        either key) is inserted in input order.
        """
        run = PreparedChunk()
        for chunk in chunks:
            self._store_others(batch_id, source, chunk, counts)
            run.completed += chunk.completed
            run.others += chunk.others
            if len(run.completed) + len(run.others) >= RUN_ROWS:
                self._store_records(batch_id, source, file_name, run, counts)
                run = PreparedChunk()
        self._store_records(batch_id, source, file_name, run, counts)

    def _store_records(
        self, batch_id: int, source: str, file_name: str, run: PreparedChunk, counts: dict[str, int]
    ) -> None:
        """Insert a run of records. The batch's source and file name are written into the
        statement (text bound to a statement is copied for every row); an origin given as a row
        number is the file name, a colon and the number."""
        db = self._db
        literal = "\x00" not in source and "\x00" not in file_name  # SQL text cannot hold a NUL
        if literal:
            origin_sql = f"CASE WHEN typeof(?10) = 'integer' THEN {_sql_text(file_name + ':')} || ?10 ELSE ?10 END"
            source_sql = _sql_text(source)
        else:
            origin_sql, source_sql = "?10", "?11"
        insert = (
            f"INSERT OR IGNORE INTO records VALUES (?1, {batch_id:d}, ?2, ?3, ?4, ?5, ?6, ?7, ?8, {source_sql}, ?9, "
            f"{origin_sql})"
        )
        for rows, column in ((run.completed, "imported"), (run.others, "not_completed")):
            if not any(row[8] is not None for row in rows):
                rows.sort(key=itemgetter(0))
            before = db.total_changes
            if literal:
                db.executemany(insert, rows)
            else:
                db.executemany(
                    insert,
                    ((*r[:9], f"{file_name}:{r[9]}" if isinstance(r[9], int) else r[9], source) for r in rows),
                )
            inserted = db.total_changes - before
            counts[column] += inserted
            counts["duplicates"] += len(rows) - inserted

    def _store_others(self, batch_id: int, source: str, chunk: PreparedChunk, counts: dict[str, int]) -> None:
        """Store a chunk's held and rejected rows, and count its rows."""
        db = self._db
        before = db.total_changes
        db.executemany(
            f"INSERT OR IGNORE INTO held (batch_id, source, origin, reason, fingerprint, payload) "
            f"VALUES ({batch_id:d}, ?, ?, ?, ?, ?)",
            chunk.held,
        )
        held = db.total_changes - before
        db.executemany(
            "INSERT INTO rejected (batch_id, file, row, field, reason, raw) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (batch_id, row.file, row.row, row.field, row.reason, json.dumps(list(row.raw), ensure_ascii=False))
                for row in chunk.rejected
            ],
        )
        counts["rows_read"] += chunk.rows
        counts["unmatched"] += held
        counts["rejected"] += len(chunk.rejected)
        counts["duplicates"] += len(chunk.held) - held

    # -- batches --------------------------------------------------------------------------

    _BATCH_COLUMNS = (
        "id, source, profile, file_name, file_hash, imported_at, rows_read, imported, not_completed, "
        "duplicates, rejected, unmatched, retracted_at"
    )

    def _batch_from(self, r: Any) -> Batch:
        return Batch(
            id=r[0], source=r[1], profile=r[2], file_name=r[3], file_hash=r[4],
            imported_at=dt.datetime.fromisoformat(r[5]),
            counts=BatchCounts(
                rows_read=r[6], imported=r[7], not_completed=r[8], duplicates=r[9], rejected=r[10], unmatched=r[11],
                retracted=len(self.retracted_record_ids(r[0])),
            ),
            retracted_at=dt.datetime.fromisoformat(r[12]) if r[12] else None,
        )

    def _batch(self, batch_id: int) -> Batch:
        row = self._db.execute(f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None:
            raise LedgerError(f"{self.path}: no batch {batch_id}")
        return self._batch_from(row)

    def batches(self) -> list[Batch]:
        """All batches, oldest first."""
        rows = self._db.execute(f"SELECT {self._BATCH_COLUMNS} FROM batches ORDER BY id")
        return [self._batch_from(r) for r in rows]

    def batch_with_hash(self, source: str, file_hash: str) -> Batch | None:
        """The earliest live batch that imported a file with this hash from this source."""
        row = self._db.execute(
            f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE source = ? AND file_hash = ? "
            "AND retracted_at IS NULL ORDER BY id LIMIT 1",
            (source, file_hash),
        ).fetchone()
        return None if row is None else self._batch_from(row)

    def retract(self, batch_id: int, when: dt.datetime) -> Batch:
        """Remove a batch's records, held and rejected rows; keep the batch, marked retracted."""
        batch = self._batch(batch_id)
        if batch.retracted_at is not None:
            raise LedgerError(f"batch {batch_id} was already retracted on {batch.retracted_at.isoformat()}")
        with self._transaction():
            for table in ("records", "held", "rejected"):
                self._db.execute(f"DELETE FROM {table} WHERE batch_id = ?", (batch_id,))
            self._db.execute("UPDATE batches SET retracted_at = ? WHERE id = ?", (_now_text(when), batch_id))
        return self._batch(batch_id)

    # -- held and rejected rows -----------------------------------------------------------

    def held(self) -> list[HeldRow]:
        """Rows held as unmatched, oldest first."""
        rows = self._db.execute("SELECT id, batch_id, source, origin, reason, payload FROM held ORDER BY id")
        return [HeldRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def resolve(self, held_id: int, record: Record) -> Outcome:
        """Turn a held row into a record (imported, or duplicate of one already there)."""
        with self._transaction():
            row = self._db.execute("SELECT batch_id, source FROM held WHERE id = ?", (held_id,)).fetchone()
            if row is None:
                raise LedgerError(f"no held row {held_id}")
            before = self._db.total_changes
            self._db.execute(
                "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id, row[0], record.member, record.course, record.on.isoformat() if record.on else None,
                    record.status,
                    None if record.hours is None else str(record.hours), record.delivery, record.provider,
                    row[1], record.record_id, record.origin,
                ),
            )
            inserted = self._db.total_changes - before
            self._db.execute("DELETE FROM held WHERE id = ?", (held_id,))
            # Keep the batch's counts adding up: the row is no longer held, it is imported or a duplicate.
            column = "imported" if inserted else "duplicates"
            self._db.execute(
                f"UPDATE batches SET {column} = {column} + 1, unmatched = unmatched - 1 WHERE id = ?", (row[0],)
            )
        return Outcome.IMPORTED if inserted else Outcome.DUPLICATE

    def rejected(self, batch_id: int | None = None) -> list[tuple[int, RejectedRow]]:
        """Rejected rows with their batch id, optionally of one batch."""
        sql = "SELECT batch_id, file, row, field, reason, raw FROM rejected"
        rows = (
            self._db.execute(sql + " WHERE batch_id = ? ORDER BY id", (batch_id,))
            if batch_id is not None
            else self._db.execute(sql + " ORDER BY id")
        )
        return [(r[0], RejectedRow(r[1], r[2], r[3], r[4], tuple(json.loads(r[5])))) for r in rows]

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer (``"ok"`` when sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


@define
class PreparedChunk:
    """Consecutive input rows of one import, laid out for storing (see :func:`record_row`).

    ``completed`` and ``others`` hold the records with status completed and the rest (their keys
    never collide: a record id and a source record key both include the status), in input order;
    ``held`` holds the unmatched rows (:func:`held_row`), ``rows`` counts every input row.
    """

    rows: int = 0
    completed: list[RecordRow] = Factory(list)
    others: list[RecordRow] = Factory(list)
    rejected: list[RejectedRow] = Factory(list)
    held: list[HeldTuple] = Factory(list)

    def add(self, row: Record | RejectedRow | UnmatchedRow, source: str) -> None:
        """Add one row of any kind (the general path; the importer's fast path appends tuples)."""
        self.rows += 1
        if isinstance(row, Record):
            (self.completed if row.status == "completed" else self.others).append(record_row(row))
        elif isinstance(row, RejectedRow):
            self.rejected.append(row)
        else:
            self.held.append(held_row(row, source))


#: A record as the ``records`` table stores it, without the batch id and the source (the batch's):
#: id, member, course, date, status, hours, delivery, provider, record id, origin -- the origin's
#: text, or the row number in the batch's file.
RecordRow = tuple[str, str, str, str | None, str, str | None, str | None, str | None, str | None, str | int]


#: A held row as the ``held`` table stores it, without the batch id: source, origin, reason,
#: fingerprint, payload (the values as JSON, keys sorted).
HeldTuple = tuple[str, str, str, str, str]


def held_row(row: UnmatchedRow, source: str) -> HeldTuple:
    """How an :class:`UnmatchedRow` of ``source`` is stored."""
    payload = json.dumps(row.values, ensure_ascii=False, sort_keys=True)
    return (source, f"{row.file}:{row.row}", row.reason, row.fingerprint, payload)


def record_row(record: Record) -> RecordRow:
    """How a :class:`Record` is stored (its batch gives the source)."""
    return (
        record.id, record.member, record.course, record.on.isoformat() if record.on else None, record.status,
        None if record.hours is None else str(record.hours), record.delivery, record.provider,
        record.record_id, record.origin,
    )


def _sql_text(text: str) -> str:
    """``text`` as an SQL string literal (quotes doubled; the caller rules out NUL)."""
    return "'" + text.replace("'", "''") + "'"


def _prepare(rows: Iterable[Record | RejectedRow | UnmatchedRow], source: str) -> Iterator[PreparedChunk]:
    """The rows in chunks of :data:`CHUNK_ROWS`, drawn lazily."""
    iterator = iter(rows)
    while batch := list(islice(iterator, CHUNK_ROWS)):
        chunk = PreparedChunk()
        for row in batch:
            chunk.add(row, source)
        yield chunk


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
