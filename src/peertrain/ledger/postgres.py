"""The consortium ledger backend: a PostgreSQL database, through psycopg 3.

The same interface and guarantees as :mod:`peertrain.ledger.sqlite`: each import is one
transaction (a process killed mid-import leaves the batch whole or absent); duplicates are decided
by the database's unique keys (``INSERT ... ON CONFLICT DO NOTHING``), in input order, so the
first of several rows with one key is the one stored; a schema version, migrated forward in one
transaction and refused when newer. Open one with :func:`peertrain.ledger.open_ledger` and a
``postgresql://`` URL (:mod:`peertrain.ledger._pgconnect` says how its password is given).

This module opens the database and stores imports; beside it are
:mod:`peertrain.ledger._pgschema` (the schema as migrations), :mod:`peertrain.ledger._pgtables`
(everything outside an import) and :mod:`peertrain.ledger._pgnotices` (the e-mail notices).
Rows reach the database by ``COPY`` into a temporary table, then one ``INSERT ... SELECT`` per
chunk, which counts what it inserted.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import io
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import psycopg

from peertrain._prefetch import prefetched
from peertrain.ledger import Batch, LedgerError, RejectedRow
from peertrain.ledger._ingest import HELD_COLUMNS, RECORD_COLUMNS, ColumnarChunk
from peertrain.ledger._journal import BATCH, VOID
from peertrain.ledger._pgagencies import _PgAgencies, grant_again, grant_statements
from peertrain.ledger._pgconnect import connect
from peertrain.ledger._pgnotices import _PgNotices
from peertrain.ledger._pgschema import MIGRATIONS, SCHEMA, check_version, installed_version, journal, migrate
from peertrain.ledger._pgtables import _PgTables, lock_writes, one, stamp
from peertrain.ledger._rows import PreparedChunk, _BatchImport

__all__ = ["MIGRATIONS", "PostgresLedger", "grant_sql"]



class PostgresLedger(_PgTables, _PgNotices, _PgAgencies, _BatchImport):
    """A ledger in a PostgreSQL database. Use :func:`peertrain.ledger.open_ledger` to open one."""

    def __init__(self, connection: psycopg.Connection[Any], url: str) -> None:
        self._db = connection
        #: The ledger's URL as it may be shown (a literal password never is).
        self.url = url

    @classmethod
    def open(cls, url: str, *, create_timezone: str | None = None) -> PostgresLedger:
        """Open (or with ``create_timezone``, create) the ledger in the database at ``url``.

        Creating makes the ledger's tables in an existing database (creating databases and roles
        is the database administrator's); a database that already holds a ledger is refused.
        """
        db, shown = connect(url)
        version = None
        try:
            db.execute("SET TimeZone = 'UTC'")
            db.execute("SET DateStyle = 'ISO'")
            db.execute(f"SET search_path = {SCHEMA}")
            version = installed_version(db, shown)
            if version is not None:
                check_version(version, shown)
            if version is None or version < len(MIGRATIONS) or create_timezone is not None:
                migrate(db, shown, create_timezone=create_timezone, regrant=grant_again)
        except psycopg.errors.InsufficientPrivilege as exc:
            db.close()
            reason = str(exc).strip().splitlines()[0]
            if version is not None and version < len(MIGRATIONS):
                raise LedgerError(
                    f"{shown}: ledger schema {version} must be upgraded to {len(MIGRATIONS)} by the ledger's "
                    f"administrator (this role may not: {reason})"
                ) from None
            raise LedgerError(f"{shown}: {reason}") from None
        except psycopg.Error as exc:
            db.close()
            raise LedgerError(f"{shown}: {str(exc).strip().splitlines()[0]}") from None
        except BaseException:
            db.close()
            raise
        return cls(db, shown)

    def schema_version(self) -> int:
        """The schema version of the open ledger."""
        return int(one(self._db.execute("SELECT max(version) FROM ledger_version"))[0])

    def timezone(self) -> str:
        """The agency's IANA time zone."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone()
        return str(row[0]) if row else "UTC"

    def close(self) -> None:
        """Close the ledger."""
        self._db.close()

    def __enter__(self) -> PostgresLedger:
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
        return self._import_chunks(
            (source, profile, file_name, file_hash, imported_at),
            (functools.partial(self._store_chunk, chunk=chunk) for chunk in chunks), cursor, voided,
        )

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
        each chunk's tables copied in as CSV written by Arrow, then stored by the same statements
        as the fast path's, one batch in one transaction. The next chunk is classified in a worker
        thread while the server stores this one."""
        return self._import_chunks(
            (source, profile, file_name, file_hash, imported_at),
            (functools.partial(self._store_columnar, chunk=chunk) for chunk in prefetched(chunks, 1)), None, (),
        )

    def _import_chunks(
        self,
        batch: tuple[str, str, str, str, dt.datetime],
        stores: Iterable[Callable[[int, str, str, dict[str, int]], None]],
        cursor: tuple[str, str] | None,
        voided: Iterable[str],
    ) -> Batch:
        source, profile, file_name, file_hash, imported_at = batch
        counts = dict.fromkeys(("rows_read", "imported", "not_completed", "duplicates", "rejected", "unmatched"), 0)
        try:
            with self._db.transaction():
                lock_writes(self._db)
                batch_id = int(
                    one(
                        self._db.execute(
                            "INSERT INTO batches (source, profile, file_name, file_hash, imported_at) "
                            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                            (source, profile, file_name, file_hash, stamp(imported_at)),
                        )
                    )[0]
                )
                self._db.execute(
                    "CREATE TEMPORARY TABLE incoming_records (ord bigint, id text COLLATE \"C\", member_id text, "
                    "course_id text, on_date date, status text, hours text, delivery text, provider text, "
                    "record_id text, origin text) ON COMMIT DROP"
                )
                self._db.execute(
                    "CREATE TEMPORARY TABLE incoming_held (ord bigint, origin text, reason text, fingerprint text, "
                    "payload text) ON COMMIT DROP"
                )
                self._db.execute(
                    'CREATE TEMPORARY TABLE incoming_rejected (ord bigint, file text, "row" bigint, field text, '
                    "reason text, raw text) ON COMMIT DROP"
                )
                for store in stores:
                    store(batch_id, source, file_name, counts)
                self._db.execute(
                    "UPDATE batches SET rows_read = %s, imported = %s, not_completed = %s, duplicates = %s, "
                    "rejected = %s, unmatched = %s WHERE id = %s",
                    (
                        counts["rows_read"], counts["imported"] + counts["not_completed"], counts["not_completed"],
                        counts["duplicates"], counts["rejected"], counts["unmatched"], batch_id,
                    ),
                )
                touched = self._void(batch_id, source, voided)
                if cursor is not None:
                    self._db.execute(
                        "INSERT INTO cursors (source, position, updated_at) VALUES (%s, %s, %s) "
                        "ON CONFLICT (agency_id, source) "
                        "DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
                        (cursor[0], cursor[1], stamp(imported_at)),
                    )
                chain = journal(self._db)
                chain.record(BATCH, batch_id)
                for other in sorted(touched - {batch_id}):
                    chain.record(VOID, other)
        except psycopg.DataError as exc:  # e.g. a NUL character, which PostgreSQL's text cannot hold
            raise LedgerError(
                f"{file_name}: cannot be stored in the ledger: {str(exc).strip().splitlines()[0]}"
            ) from None
        return self._batch(batch_id)

    def _store_chunk(
        self, batch_id: int, source: str, file_name: str, counts: dict[str, int], *, chunk: PreparedChunk
    ) -> None:
        """Store one chunk: held rows, rejected rows, then its records, each in input order."""
        db = self._db
        counts["rows_read"] += chunk.rows
        if chunk.held:
            with db.cursor().copy(
                "COPY incoming_held (ord, origin, reason, fingerprint, payload) FROM STDIN"
            ) as copy:
                for number, (_, origin, reason, fingerprint, payload) in enumerate(chunk.held):
                    copy.write_row((number, origin, reason, fingerprint, payload))
            self._insert_held(batch_id, source, len(chunk.held), counts)
        self._store_rejected(batch_id, chunk.rejected, counts)
        for rows, column in ((chunk.completed, "imported"), (chunk.others, "not_completed")):
            if not rows:
                continue
            with db.cursor().copy(
                "COPY incoming_records (ord, id, member_id, course_id, on_date, status, hours, delivery, provider, "
                "record_id, origin) FROM STDIN"
            ) as copy:
                for number, r in enumerate(rows):
                    origin = f"{file_name}:{r[9]}" if isinstance(r[9], int) else r[9]
                    copy.write_row((number, *r[:9], origin))
            self._insert_records(batch_id, source, counts, staged=len(rows), column=column)

    def _store_columnar(
        self, batch_id: int, source: str, _file_name: str, counts: dict[str, int], *, chunk: ColumnarChunk
    ) -> None:
        """Store one chunk of the columnar path, as :meth:`_store_chunk` stores one of the fast path."""
        import pyarrow.compute as pc  # noqa: PLC0415 - the compiled libraries load only when used

        counts["rows_read"] += chunk.rows
        if chunk.held is not None and chunk.held.num_rows:
            self._copy_csv("incoming_held", chunk.held.select(["seq", *HELD_COLUMNS]))  # stored ORDER BY ord
            self._insert_held(batch_id, source, chunk.held.num_rows, counts)
        self._store_rejected(batch_id, chunk.rejected, counts)
        if chunk.records is not None and chunk.records.num_rows:
            records = chunk.records.select(["seq", *RECORD_COLUMNS])
            self._copy_csv("incoming_records", records)
            completed = int(pc.sum(pc.equal(records.column("status"), "completed")).as_py() or 0)
            for where, staged, column in (
                ("WHERE status = 'completed' ", completed, "imported"),
                ("WHERE status <> 'completed' ", records.num_rows - completed, "not_completed"),
            ):
                if staged:
                    self._insert_records(batch_id, source, counts, where=where, staged=staged, column=column,
                                         truncate=False)
            self._db.execute("TRUNCATE incoming_records")

    def _copy_csv(self, table: str, rows: Any) -> None:
        """Copy an Arrow table into one of the temporary tables as CSV written by Arrow (strings
        quoted, an empty one as ``""``; NULL as an empty field, as PostgreSQL's CSV reads them)."""
        import pyarrow.csv as pa_csv  # noqa: PLC0415

        buffer = io.BytesIO()
        pa_csv.write_csv(rows, buffer, write_options=pa_csv.WriteOptions(include_header=False))
        columns = ", ".join(("ord", *rows.column_names[1:]))
        with self._db.cursor().copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getbuffer())

    def _insert_held(self, batch_id: int, source: str, staged: int, counts: dict[str, int]) -> None:
        """Move the held rows copied into ``incoming_held`` into ``held``, in input order.

        The held (and rejected) rows' agency is the writer's, as the column's default would give
        it, but asked once per statement: as a default, ``writer_agency()`` (two queries) ran for
        every row, more than half of the held rows' insert."""
        held = self._db.execute(
            "INSERT INTO held (batch_id, source, origin, reason, fingerprint, payload, record_id, agency_id) "
            "SELECT %s, %s, origin, reason, fingerprint, payload, payload::json ->> 'record_id', "
            "(SELECT peertrain.writer_agency()) FROM incoming_held ORDER BY ord ON CONFLICT DO NOTHING",
            (batch_id, source),
        ).rowcount
        self._db.execute("TRUNCATE incoming_held")
        counts["unmatched"] += held
        counts["duplicates"] += staged - held

    def _store_rejected(self, batch_id: int, rejected: Sequence[RejectedRow], counts: dict[str, int]) -> None:
        if not rejected:  # COPY cannot write a table under row-level security: through a temporary table
            return
        with self._db.cursor().copy('COPY incoming_rejected (ord, file, "row", field, reason, raw) FROM STDIN') as copy:
            for number, row in enumerate(rejected):
                copy.write_row((number, row.file, row.row, row.field, row.reason, json.dumps(list(row.raw))))
        self._db.execute(
            'INSERT INTO rejected (batch_id, file, "row", field, reason, raw, agency_id) '
            'SELECT %s, file, "row", field, reason, raw, (SELECT peertrain.writer_agency()) '
            "FROM incoming_rejected ORDER BY ord",
            (batch_id,),
        )
        self._db.execute("TRUNCATE incoming_rejected")
        counts["rejected"] += len(rejected)

    def _insert_records(
        self, batch_id: int, source: str, counts: dict[str, int], *, where: str = "", staged: int, column: str,
        truncate: bool = True,
    ) -> None:
        """Move the records copied into ``incoming_records`` (those ``where`` selects) into
        ``records``, in input order: the first of several with one key is stored."""
        inserted = self._db.execute(
            "INSERT INTO records (id, batch_id, member_id, course_id, on_date, status, hours, delivery, provider, "
            "source, record_id, origin) SELECT id, %s, member_id, course_id, on_date, status, hours, delivery, "
            f"provider, %s, record_id, origin FROM incoming_records {where}ORDER BY ord ON CONFLICT DO NOTHING",
            (batch_id, source),
        ).rowcount
        if truncate:
            self._db.execute("TRUNCATE incoming_records")
        counts[column] += inserted
        counts["duplicates"] += staged - inserted

    def _void(self, batch_id: int, source: str, voided: Iterable[str]) -> set[int]:
        """Remove the records and held rows of ``source`` with these record ids; note them in ``meta``
        (``retracted:<batch>``, a JSON list, as the SQLite ledger does). Returns the batches whose
        rows were removed."""
        removed: list[str] = []
        touched: set[int] = set()
        for record_id in dict.fromkeys(voided):
            owners = self._db.execute(
                "DELETE FROM records WHERE source = %s AND record_id = %s RETURNING batch_id", (source, record_id)
            ).fetchall()
            owners += self._db.execute(
                "DELETE FROM held WHERE source = %s AND record_id = %s RETURNING batch_id", (source, record_id)
            ).fetchall()
            touched.update(int(owner) for (owner,) in owners)
            if owners:
                removed.append(record_id)
        if removed:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s)", (f"retracted:{batch_id}", json.dumps(removed))
            )
        return touched


def _lost(ledger: PostgresLedger, exc: psycopg.OperationalError | psycopg.errors.InsufficientPrivilege) -> LedgerError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):  # a role writing what is not its own
        return LedgerError(f"{ledger.url}: the ledger's database refused: {reason}")
    return LedgerError(f"{ledger.url}: the ledger's database failed: {reason}")


#: The writes tried again (whole: each is one transaction, rolled back) when the database ends
#: them for a deadlock or a serialization failure; an import is not (its rows are read once) and
#: fails whole instead: importing it again is safe.
_RETRIED = frozenset({"put_members", "retract", "resolve", "transfer", "begin_notice", "finish_notice"})
_ATTEMPTS = 4


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with the database's operational failures (a lost connection, a server shutting
    down, a statement cancelled) raised as one :class:`LedgerError` instead of psycopg's; the writes
    of :data:`_RETRIED` tried again after a deadlock or serialization failure."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def rows(self: PostgresLedger, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(self, *args, **kwargs)
            except (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege) as exc:
                raise _lost(self, exc) from None

        return rows

    retried = method.__name__ in _RETRIED

    @functools.wraps(method)
    def call(self: PostgresLedger, *args: Any, **kwargs: Any) -> Any:
        for attempt in itertools.count(1):
            try:
                return method(self, *args, **kwargs)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
                if not retried or attempt == _ATTEMPTS:
                    raise _lost(self, exc) from None
                time.sleep(0.05 * attempt)
            except (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege) as exc:
                raise _lost(self, exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    return call


for _name in (
    "schema_version", "timezone", "members", "put_members", "completions", "records", "completions_by_member",
    "completion_table", "import_prepared", "cursor", "retracted_record_ids", "batches", "batch_with_hash",
    "retract", "held", "resolve", "resolve_many", "rejected", "notice_states", "notices", "begin_notice",
    "finish_notice", "notice_message", "verify", "agencies", "agency", "add_agency", "name_agency",
    "member_agencies", "grant", "transfer", "transfers",
):
    setattr(PostgresLedger, _name, _guarded(getattr(PostgresLedger, _name)))



def grant_sql(role: str, agency: str | None) -> list[str]:
    """The SQL that ``peertrain ledger grant`` runs, as text for a database administrator to run
    (in psql) instead: ``role`` as ``agency``'s coordinator, or (``None``) a consortium role."""
    return [statement.as_string(None) + ";" for statement in grant_statements(role, agency)]
