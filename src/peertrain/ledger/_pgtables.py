"""The PostgreSQL ledger's tables outside an import, for :mod:`peertrain.ledger.postgres`: the
roster, reading records, cursors, batches (listing, retracting), held and rejected rows, and the
completion table of the columnar evaluation. The same answers as the SQLite ledger's
:mod:`peertrain.ledger._tables`, in the same order (ids compared in byte order, ``COLLATE "C"``).

Long reads (completions, records) go through a server-side cursor, a few thousand rows at a time,
so memory stays bounded and the connection stays usable between rows.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv

from peertrain.ledger import Batch, BatchCounts, CompletionRow, HeldRow, LedgerError, Outcome, Record, RejectedRow
from peertrain.ledger._journal import REMATCH, RETRACTION, Verification
from peertrain.ledger._pgdigest import csv_reading
from peertrain.ledger._pgschema import journal
from peertrain.ledger._rows import check_retractable
from peertrain.rules.model import Completion, Delivery, Member

_COMPLETION_COLUMNS = ("member", "id", "course", "on", "hours", "delivery", "provider", "origin")
_CURSORS = itertools.count(1)


def stamp(when: dt.datetime) -> dt.datetime:
    """A time as the ledger stores it: aware, in UTC, to the second (as the SQLite ledger)."""
    if when.tzinfo is None:
        raise ValueError("timestamps stored in the ledger must be time-zone aware")
    return when.astimezone(dt.UTC).replace(microsecond=0)


def one(result: psycopg.Cursor[Any]) -> Any:
    """The one row a statement returns (one that always returns a row)."""
    row = result.fetchone()
    if row is None:  # pragma: no cover - the statements given here always return a row
        raise LedgerError("the ledger's database returned no row")
    return row


#: The advisory lock writers take (a different key from the migrations' lock): shared by every
#: agency's writer, exclusive for the administrator's, who may write any agency's rows.
_WRITERS = 0x5054524F
#: The first half of an agency's own advisory lock (two keys: this, and the hash of its id).
_AGENCY_LOCK = 0x50545241


def lock_writes(db: psycopg.Connection[Any]) -> None:
    """Take, for the current transaction, the locks that keep writers apart: one agency's writes
    (imports, pulls, rematches, retractions, roster updates) one after another, so that two of them
    never wait on each other's rows in opposite orders (a deadlock) and each batch counts its
    duplicates against the rows committed before it; different agencies' at the same time. An
    administrator's (or an unknown role's) write waits for all of them. The locks are always taken in
    this order, so they cannot deadlock among themselves."""
    kind, agency = one(db.execute("SELECT peertrain.role_kind(), peertrain.writer_agency()"))
    if kind == "agency":
        db.execute(
            "SELECT pg_advisory_xact_lock_shared(%s), pg_advisory_xact_lock(%s, hashtext(%s))",
            (_WRITERS, _AGENCY_LOCK, agency),
        )
    else:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITERS,))


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    return None if when is None else when.astimezone(dt.UTC)


class _PgTables:
    """Reading and editing a ledger's tables (see :class:`~peertrain.ledger.postgres.PostgresLedger`)."""

    _db: psycopg.Connection[Any]
    url: str

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        """The rows of a query read through a server-side cursor (``WITH HOLD``: valid outside a
        transaction, and the connection can run other statements between rows)."""
        with self._db.cursor(name=f"peertrain_{next(_CURSORS)}", withhold=True) as cursor:
            cursor.itersize = 5000
            cursor.execute(sql, params)
            yield from cursor

    # -- members --------------------------------------------------------------------------

    def members(self) -> list[Member]:
        """The roster, in id order."""
        rows = self._db.execute(
            "SELECT id, name, agency, roles, functions, joined_on, email, portal_user_id FROM members ORDER BY id"
        ).fetchall()
        return [
            Member(
                id=r[0], name=r[1], agency=r[2], roles=json.loads(r[3]), functions=json.loads(r[4]),
                joined_on=r[5], email=r[6], portal_user_id=r[7],
            )
            for r in rows
        ]

    def put_members(self, members: Iterable[Member]) -> tuple[int, int]:
        """Add or update members by id; returns ``(added, updated)``."""
        added = updated = 0
        members = list(members)  # read once: the transaction may be tried again
        with self._db.transaction():
            lock_writes(self._db)
            for m in members:
                values = (
                    m.name, m.agency, json.dumps(sorted(m.roles)), json.dumps(sorted(m.functions)),
                    m.joined_on, m.email, m.portal_user_id,
                )
                old = self._db.execute(
                    "SELECT name, agency, roles, functions, joined_on, email, portal_user_id FROM members "
                    "WHERE id = %s",
                    (m.id,),
                ).fetchone()
                try:
                    if old is None:
                        self._db.execute(
                            "INSERT INTO members VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", (m.id, *values)
                        )
                        added += 1
                    elif tuple(old) != values:
                        self._db.execute(
                            "UPDATE members SET name = %s, agency = %s, roles = %s, functions = %s, "
                            "joined_on = %s, email = %s, portal_user_id = %s WHERE id = %s",
                            (*values, m.id),
                        )
                        updated += 1
                except psycopg.errors.UniqueViolation:
                    raise LedgerError(
                        f"member {m.id!r}: member id, email or portal user id is already another member's "
                        "(perhaps of another agency)"
                    ) from None
        return added, updated

    # -- records --------------------------------------------------------------------------

    def completions(self) -> Iterator[Completion]:
        """Every completed record of every live batch, in id order."""
        for r in self._rows(
            "SELECT id, member_id, course_id, on_date, hours, delivery, provider, origin "
            "FROM records WHERE status = 'completed' ORDER BY id"
        ):
            yield Completion(
                id=r[0], member=r[1], course=r[2], completed_on=r[3],
                hours=Decimal(r[4]) if r[4] is not None else None,
                delivery=Delivery(r[5]) if r[5] else None, provider=r[6], source=r[7],
            )

    def completions_by_member(self) -> Iterator[tuple[str, list[CompletionRow]]]:
        """The completed records one member at a time (see :class:`~peertrain.ledger.Ledger`),
        members in the order of ``member id + "/"``, each member's rows in id order."""
        member: str | None = None
        group: list[CompletionRow] = []
        for r in self._rows(
            "SELECT member_id, id, course_id, on_date::text, hours, delivery, provider, origin FROM records "
            "WHERE status = 'completed' ORDER BY member_id || '/', id"
        ):
            if r[0] != member:
                if member is not None:
                    yield member, group
                member, group = r[0], []
            group.append(r[1:])
        if member is not None:
            yield member, group

    def completion_table(self, start: str | None = None, stop: str | None = None) -> pa.Table:
        """The completed records whose id is ``>= start`` and ``< stop`` as one Arrow table of text
        columns ``member, id, course, on, hours, delivery, provider, origin`` (see
        :meth:`peertrain.ledger.Ledger.completion_table`).

        Read with ``COPY ... TO STDOUT`` as CSV and parsed by Arrow, without a Python object per row
        (NULL is an unquoted empty field, an empty text a quoted one)."""
        from psycopg import sql  # noqa: PLC0415

        query = sql.SQL(
            "COPY (SELECT member_id, id, course_id, on_date::text, hours, delivery, provider, origin FROM records "
            "WHERE status = 'completed'{bounds} ORDER BY id) TO STDOUT (FORMAT csv)"
        )
        parts: list[sql.Composable] = []
        if start is not None:
            parts.append(sql.SQL(" AND id >= {}").format(sql.Literal(start)))
        if stop is not None:
            parts.append(sql.SQL(" AND id < {}").format(sql.Literal(stop)))
        bounds = sql.Composed(parts)
        buffer = io.BytesIO()
        with self._db.cursor() as cursor, cursor.copy(query.format(bounds=bounds)) as copy:
            for data in copy:
                buffer.write(data)
        if not buffer.tell():
            return pa.table({name: pa.array([], pa.string()) for name in _COMPLETION_COLUMNS})
        buffer.seek(0)
        return pa_csv.read_csv(
            buffer,
            read_options=pa_csv.ReadOptions(column_names=list(_COMPLETION_COLUMNS)),
            **csv_reading(dict.fromkeys(_COMPLETION_COLUMNS, pa.string())),
        )

    def records(self, member: str | None = None) -> Iterator[tuple[Record, int]]:
        """Every record (any status) with its batch id, optionally of one member."""
        sql = (
            "SELECT member_id, course_id, on_date, status, hours, delivery, provider, record_id, origin, batch_id "
            "FROM records"
        )
        rows = self._rows(sql + " WHERE member_id = %s ORDER BY id", (member,)) if member else (
            self._rows(sql + " ORDER BY id")
        )
        for r in rows:
            yield (
                Record(
                    member=r[0], course=r[1], on=r[2], status=r[3], hours=Decimal(r[4]) if r[4] is not None else None,
                    delivery=r[5], provider=r[6], record_id=r[7], origin=r[8],
                ),
                int(r[9]),
            )

    def cursor(self, source: str) -> str | None:
        """Where the last incremental pull from ``source`` left off (``None``: never pulled)."""
        row = self._db.execute(
            "SELECT position FROM cursors WHERE source = %s AND agency_id = peertrain.writer_agency()", (source,)
        ).fetchone()
        return None if row is None else str(row[0])

    def retracted_record_ids(self, batch_id: int) -> list[str]:
        """The source's record ids whose records or held rows a batch removed (``voided``)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = %s", (f"retracted:{batch_id}",)).fetchone()
        return [] if row is None else [str(v) for v in json.loads(row[0])]

    # -- batches --------------------------------------------------------------------------

    _BATCH_COLUMNS = (
        "id, source, profile, file_name, file_hash, imported_at, rows_read, imported, not_completed, "
        "duplicates, rejected, unmatched, retracted_at"
    )

    def _batch_from(self, r: Any) -> Batch:
        return Batch(
            id=int(r[0]), source=r[1], profile=r[2], file_name=r[3], file_hash=r[4],
            imported_at=r[5].astimezone(dt.UTC),
            counts=BatchCounts(
                rows_read=r[6], imported=r[7], not_completed=r[8], duplicates=r[9], rejected=r[10], unmatched=r[11],
                retracted=len(self.retracted_record_ids(r[0])),
            ),
            retracted_at=_utc(r[12]),
        )

    def _batch(self, batch_id: int) -> Batch:
        row = self._db.execute(f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE id = %s", (batch_id,)).fetchone()
        if row is None:
            raise LedgerError(f"{self.url}: no batch {batch_id}")
        return self._batch_from(row)

    def batches(self) -> list[Batch]:
        """All batches, oldest first."""
        rows = self._db.execute(f"SELECT {self._BATCH_COLUMNS} FROM batches ORDER BY id").fetchall()
        return [self._batch_from(r) for r in rows]

    def batch_with_hash(self, source: str, file_hash: str) -> Batch | None:
        """The earliest live batch that imported a file with this hash from this source."""
        row = self._db.execute(
            f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE source = %s AND file_hash = %s "
            "AND retracted_at IS NULL ORDER BY id LIMIT 1",
            (source, file_hash),
        ).fetchone()
        return None if row is None else self._batch_from(row)

    def retract(self, batch_id: int, when: dt.datetime) -> Batch:
        """Remove a batch's records, held and rejected rows; keep the batch, marked retracted."""
        check_retractable(self._batch(batch_id))
        with self._db.transaction():
            lock_writes(self._db)
            # Locked first, so that a retraction racing another one (or an import's resolve) waits.
            locked = one(self._db.execute("SELECT retracted_at FROM batches WHERE id = %s FOR UPDATE", (batch_id,)))
            if locked[0] is not None:
                raise LedgerError(f"batch {batch_id} was already retracted on {_utc(locked[0])}")
            for table in ("records", "held", "rejected"):
                self._db.execute(f"DELETE FROM {table} WHERE batch_id = %s", (batch_id,))
            self._db.execute("UPDATE batches SET retracted_at = %s WHERE id = %s", (stamp(when), batch_id))
            journal(self._db).record(RETRACTION, batch_id)
        return self._batch(batch_id)

    # -- held and rejected rows -----------------------------------------------------------

    def held(self) -> list[HeldRow]:
        """Rows held as unmatched, oldest first."""
        rows = self._db.execute("SELECT id, batch_id, source, origin, reason, payload FROM held ORDER BY id")
        return [HeldRow(int(r[0]), int(r[1]), r[2], r[3], r[4], json.loads(r[5])) for r in rows.fetchall()]

    def resolve(self, held_id: int, record: Record) -> Outcome:
        """Turn a held row into a record (imported, or duplicate of one already there)."""
        return self.resolve_many([(held_id, record)])[0]

    def resolve_many(self, resolutions: Iterable[tuple[int, Record]]) -> list[Outcome]:
        """:meth:`resolve` for many held rows, in one transaction with one journal entry per batch."""
        outcomes: list[Outcome] = []
        batches: set[int] = set()
        with self._db.transaction():
            lock_writes(self._db)
            for held_id, record in resolutions:
                row = self._db.execute(
                    "DELETE FROM held WHERE id = %s RETURNING batch_id, source", (held_id,)
                ).fetchone()
                if row is None:
                    raise LedgerError(f"no held row {held_id}")
                inserted = self._db.execute(
                    "INSERT INTO records VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (
                        record.id, row[0], record.member, record.course, record.on, record.status,
                        None if record.hours is None else str(record.hours), record.delivery, record.provider,
                        row[1], record.record_id, record.origin,
                    ),
                ).rowcount
                column = "imported" if inserted else "duplicates"
                self._db.execute(
                    f"UPDATE batches SET {column} = {column} + 1, unmatched = unmatched - 1 WHERE id = %s", (row[0],)
                )
                batches.add(int(row[0]))
                outcomes.append(Outcome.IMPORTED if inserted else Outcome.DUPLICATE)
            chain = journal(self._db)
            for batch_id in sorted(batches):
                chain.record(REMATCH, batch_id)
        return outcomes

    def rejected(self, batch_id: int | None = None) -> list[tuple[int, RejectedRow]]:
        """Rejected rows with their batch id, optionally of one batch."""
        sql = 'SELECT batch_id, file, "row", field, reason, raw FROM rejected'
        rows = (
            self._db.execute(sql + " WHERE batch_id = %s ORDER BY id", (batch_id,))
            if batch_id is not None
            else self._db.execute(sql + " ORDER BY id")
        ).fetchall()
        return [(int(r[0]), RejectedRow(r[1], int(r[2]), r[3], r[4], tuple(json.loads(r[5])))) for r in rows]

    def verify(self) -> Verification:
        """Recompute the journal's chain and every batch's content from the stored rows, in one
        read-only snapshot (see :mod:`peertrain.ledger._journal`)."""
        with self._db.transaction():
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            sees_all = one(self._db.execute(
                "SELECT coalesce(peertrain.role_kind() IN ('administrator', 'consortium'), false) "
                "OR (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)"
            ))[0]
            if not sees_all:
                # An agency's role sees its own batches' entries only: the chain has gaps for it.
                raise LedgerError(
                    f"{self.url}: the journal is the whole consortium's; verify it as the ledger's "
                    "administrator or a consortium role"
                )
            return journal(self._db).verify()
