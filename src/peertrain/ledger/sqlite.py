"""The embedded ledger backend: one SQLite file, WAL mode, schema-versioned.

Each import is one ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, so a process killed mid-import
leaves the ledger holding the whole batch or none of it. Duplicates are decided by the database's
unique keys (``INSERT OR IGNORE``): a record's id (member/course/date, plus the status when not
completed) and, where the source gives one, its record id within that source.

This module opens the file and stores imports (the code that reads :data:`RUN_ROWS` is here);
beside it are :mod:`peertrain.ledger._schema` (application id, migrations, transactions),
:mod:`peertrain.ledger._rows` (rows as stored, shared with the PostgreSQL backend:
:class:`PreparedChunk`, :func:`record_row`, :func:`held_row`, :data:`CHUNK_ROWS`, ``import_batch``),
:mod:`peertrain.ledger._tables` (the roster, records, batches, held and rejected rows outside an
import: a base class of :class:`SQLiteLedger`), and
:mod:`peertrain.ledger._notices` (the e-mail notices of ``peertrain notify``: another base).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path

from peertrain._files import create_private, shown
from peertrain.ledger import Batch, LedgerError
from peertrain.ledger._fileagencies import _FileAgencies
from peertrain.ledger._ingest import ColumnarChunk, ingest
from peertrain.ledger._journal import BATCH, VOID
from peertrain.ledger._notices import _Notices
from peertrain.ledger._rows import (
    CHUNK_ROWS,
    HeldTuple,
    PreparedChunk,
    RecordRow,
    _BatchImport,
    held_row,
    record_row,
)
from peertrain.ledger._schema import (
    AGENCY,
    APPLICATION_ID,
    MIGRATIONS,
    _now_text,
    _statements,
    has_journal,
    journal,
)
from peertrain.ledger._tables import _Tables

__all__ = [
    "APPLICATION_ID",
    "CHUNK_ROWS",
    "MIGRATIONS",
    "ColumnarChunk",
    "HeldTuple",
    "PreparedChunk",
    "RecordRow",
    "SQLiteLedger",
    "held_row",
    "record_row",
]

#: Records inserted per sorted run (about 300 bytes each while they wait).
RUN_ROWS = 200_000


class SQLiteLedger(_Tables, _Notices, _FileAgencies, _BatchImport):
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
            raise LedgerError(f"{shown(path)}: no such ledger; create it with 'peertrain ledger init'")
        if not exists:
            # Made here, 0600 and exclusively, before SQLite creates it with the umask's mode (0644
            # under the usual umask 022); SQLite gives the -wal and -shm files the main file's mode.
            try:
                create_private(path)
            except FileExistsError:
                raise LedgerError(f"{shown(path)}: already exists; not overwriting it") from None
            except OSError as exc:
                raise LedgerError(f"{shown(path)}: cannot be created: {exc.strerror or exc}") from None
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            db.execute("PRAGMA busy_timeout = 10000")
            application = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{shown(path)}: not a peertrain ledger ({exc})") from None
        if exists and tables and application != APPLICATION_ID:
            db.close()
            raise LedgerError(f"{shown(path)}: an SQLite file, but not a peertrain ledger")
        if version > len(MIGRATIONS):
            db.close()
            raise LedgerError(
                f"{shown(path)}: ledger schema {version} is newer than this peertrain understands "
                f"({len(MIGRATIONS)}); upgrade peertrain"
            )
        db.execute("PRAGMA journal_mode = WAL")
        _settings(db)
        ledger = cls(db, path)
        ledger._migrate(version, create_timezone)
        return ledger

    def _migrate(self, version: int, timezone: str | None) -> None:
        if version == len(MIGRATIONS):
            return
        with self._transaction():
            journalled = has_journal(self._db)
            for number in range(version, len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    self._db.execute(statement)
            if not journalled:  # the batches of a ledger made before the journal, as they stand
                journal(self._db).backfill()
            if version == 0:
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('timezone', ?)", (timezone or "UTC",)
                )
            self._db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

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

    # -- importing ------------------------------------------------------------------------


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
                "INSERT INTO batches (source, profile, file_name, file_hash, imported_at, agency_id) "
                f"VALUES (?, ?, ?, ?, ?, {AGENCY})",
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
            touched = self._void(batch_id, source, voided)
            if cursor is not None:
                self._db.execute(
                    f"INSERT INTO cursors (agency_id, source, position, updated_at) VALUES ({AGENCY}, ?, ?, ?) "
                    "ON CONFLICT (agency_id, source) "
                    "DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
                    (cursor[0], cursor[1], _now_text(imported_at)),
                )
            chain = journal(self._db)
            chain.record(BATCH, batch_id)
            for other in sorted(touched - {batch_id}):
                chain.record(VOID, other)
        return self._batch(batch_id)

    def import_columnar(
        self,
        *,
        source: str,
        profile: str,
        file_name: str,
        file_hash: str,
        imported_at: dt.datetime,
        chunks: Iterable[ColumnarChunk],
    ) -> Batch:
        """:meth:`import_batch` for rows laid out as Arrow tables (the importer's columnar path):
        bulk-ingested through ADBC, still one batch in one transaction (see
        :mod:`peertrain.ledger._ingest`)."""
        # The ingest writes through another connection. This one may hold a read snapshot (a
        # statement stepped to its one row but not reset) and would not see the batch: reopened.
        self._db.close()
        try:
            batch_id, _counts = ingest(
                self.path, (source, profile, file_name, file_hash, _now_text(imported_at)), chunks
            )
        finally:
            self._db = _connect(self.path)
        return self._batch(batch_id)

    def _void(self, batch_id: int, source: str, voided: Iterable[str]) -> set[int]:
        """Remove the records and held rows of ``source`` with these record ids; note them in ``meta``.
        Returns the batches whose rows were removed.

        The note (``retracted:<batch>`` in ``meta``, a JSON list) keeps the schema unchanged.
        """
        removed: list[str] = []
        touched: set[int] = set()
        for record_id in dict.fromkeys(voided):
            for (owner,) in self._db.execute(
                "SELECT batch_id FROM records WHERE source = ?1 AND record_id = ?2 UNION SELECT batch_id FROM held "
                "WHERE source = ?1 AND json_extract(payload, '$.record_id') = ?2",
                (source, record_id),
            ).fetchall():
                touched.add(int(owner))
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
        return touched

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
        agency = _sql_text(str(db.execute(f"SELECT {AGENCY}").fetchone()[0]))
        before = db.total_changes
        db.executemany(
            f"INSERT OR IGNORE INTO held (batch_id, agency_id, source, origin, reason, fingerprint, payload) "
            f"VALUES ({batch_id:d}, {agency}, ?, ?, ?, ?, ?)",
            chunk.held,
        )
        held = db.total_changes - before
        db.executemany(
            f"INSERT INTO rejected (batch_id, agency_id, file, row, field, reason, raw) "
            f"VALUES (?, {agency}, ?, ?, ?, ?, ?)",
            [
                (batch_id, row.file, row.row, row.field, row.reason, json.dumps(list(row.raw), ensure_ascii=False))
                for row in chunk.rejected
            ],
        )
        counts["rows_read"] += chunk.rows
        counts["unmatched"] += held
        counts["rejected"] += len(chunk.rejected)
        counts["duplicates"] += len(chunk.held) - held


def _settings(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -65536")  # 64 MiB: large imports insert into a large B-tree
    db.execute("PRAGMA foreign_keys = ON")


def _connect(path: Path) -> sqlite3.Connection:
    """A new connection to an open ledger's file, set up as :meth:`SQLiteLedger.open` sets it."""
    db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    db.execute("PRAGMA busy_timeout = 10000")
    _settings(db)
    return db


def _sql_text(text: str) -> str:
    """``text`` as an SQL string literal (quotes doubled; the caller rules out NUL)."""
    return "'" + text.replace("'", "''") + "'"

