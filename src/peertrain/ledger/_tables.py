"""The SQLite ledger's tables outside an import, for :mod:`peertrain.ledger.sqlite`: the roster,
reading records, incremental-pull cursors, batches (listing, retracting), held and rejected rows.

:class:`_Tables` is a base of :class:`~peertrain.ledger.sqlite.SQLiteLedger`, which opens the
file and stores imports.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from peertrain.ledger import Batch, BatchCounts, CompletionRow, HeldRow, LedgerError, Outcome, Record, RejectedRow
from peertrain.ledger._journal import REMATCH, RETRACTION, Verification
from peertrain.ledger._rows import check_retractable
from peertrain.ledger._schema import AGENCY, _now_text, _Transaction, journal
from peertrain.rules.model import Completion, Delivery, Member

_COMPLETION_COLUMNS = ("member", "id", "course", "on", "hours", "delivery", "provider", "origin")


class _Tables:
    """Reading and editing a ledger's tables (see :class:`~peertrain.ledger.sqlite.SQLiteLedger`)."""

    _db: sqlite3.Connection
    path: Path

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

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
                        self._db.execute(
                            "INSERT INTO members (id, name, agency, roles, functions, joined_on, email, "
                            f"portal_user_id, agency_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {AGENCY})",
                            (m.id, *values),
                        )
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
                        f"member {m.id!r}: member id, email or portal user id is already another member's "
                        "(perhaps of another agency)"
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

    def completion_table(self, start: str | None = None, stop: str | None = None) -> pa.Table:
        """The completed records (of batches not retracted) whose id is ``>= start`` and ``< stop``
        (``None``: no bound) as one Arrow table, for the columnar evaluation: columns ``member, id,
        course, on, hours, delivery, provider, origin`` (all text; ``on`` as ``YYYY-MM-DD``;
        ``hours``, ``delivery``, ``provider`` null when not given). A record's id starts with its
        member's id and ``/``, so a range of ids is the records of a range of members.

        Read through ADBC's SQLite driver from the committed file, without a Python object per row.
        """
        import adbc_driver_sqlite.dbapi as adbc  # noqa: PLC0415 - a compiled reader, loaded only when used

        # ADBC's driver types a column by its first rows: a column that starts with NULLs would be
        # taken for integers, so the optional ones come as text ('' for NULL) and are nulled after.
        sql = (
            "SELECT member_id AS member, id, course_id AS course, on_date AS \"on\", ifnull(hours, '') AS hours, "
            "ifnull(delivery, '') AS delivery, ifnull(provider, '') AS provider, origin FROM records "
            "WHERE status = 'completed'"
        )
        bounds: list[str] = []
        if start is not None:
            sql += " AND id >= ?"
            bounds.append(start)
        if stop is not None:
            sql += " AND id < ?"
            bounds.append(stop)
        uri = self.path.resolve().as_uri() + "?mode=ro"
        with adbc.connect(uri) as connection, connection.cursor() as cursor:
            cursor.execute(sql, bounds or None)
            table = cursor.fetch_arrow_table()
        if table.num_rows == 0:
            return pa.table({name: pa.array([], pa.string()) for name in _COMPLETION_COLUMNS})
        columns = []
        for name in _COMPLETION_COLUMNS:
            column = table.column(name).cast(pa.string())
            if name in ("hours", "delivery", "provider"):
                column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
            columns.append(column)
        return pa.table(columns, names=list(_COMPLETION_COLUMNS))

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

    def cursor(self, source: str) -> str | None:
        """Where the last incremental pull from ``source`` left off (``None``: never pulled)."""
        row = self._db.execute(
            f"SELECT position FROM cursors WHERE source = ? AND agency_id = {AGENCY}", (source,)
        ).fetchone()
        return None if row is None else str(row[0])

    def retracted_record_ids(self, batch_id: int) -> list[str]:
        """The source's record ids whose records or held rows a batch removed (``voided``)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"retracted:{batch_id}",)).fetchone()
        return [] if row is None else [str(v) for v in json.loads(row[0])]

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
        check_retractable(self._batch(batch_id))
        with self._transaction():
            for table in ("records", "held", "rejected"):
                self._db.execute(f"DELETE FROM {table} WHERE batch_id = ?", (batch_id,))
            self._db.execute("UPDATE batches SET retracted_at = ? WHERE id = ?", (_now_text(when), batch_id))
            journal(self._db).record(RETRACTION, batch_id)
        return self._batch(batch_id)

    # -- held and rejected rows -----------------------------------------------------------

    def held(self) -> list[HeldRow]:
        """Rows held as unmatched, oldest first."""
        rows = self._db.execute("SELECT id, batch_id, source, origin, reason, payload FROM held ORDER BY id")
        return [HeldRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def resolve(self, held_id: int, record: Record) -> Outcome:
        """Turn a held row into a record (imported, or duplicate of one already there)."""
        return self.resolve_many([(held_id, record)])[0]

    def resolve_many(self, resolutions: Iterable[tuple[int, Record]]) -> list[Outcome]:
        """:meth:`resolve` for many held rows, in one transaction with one journal entry per batch."""
        outcomes: list[Outcome] = []
        batches: set[int] = set()
        with self._transaction():
            for held_id, record in resolutions:
                row = self._db.execute("SELECT batch_id, source FROM held WHERE id = ?", (held_id,)).fetchone()
                if row is None:
                    raise LedgerError(f"no held row {held_id}")
                before = self._db.total_changes
                self._db.execute(
                    "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id, row[0], record.member, record.course,
                        record.on.isoformat() if record.on else None, record.status,
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
                batches.add(int(row[0]))
                outcomes.append(Outcome.IMPORTED if inserted else Outcome.DUPLICATE)
            chain = journal(self._db)
            for batch_id in sorted(batches):
                chain.record(REMATCH, batch_id)
        return outcomes

    def rejected(self, batch_id: int | None = None) -> list[tuple[int, RejectedRow]]:
        """Rejected rows with their batch id, optionally of one batch."""
        sql = "SELECT batch_id, file, row, field, reason, raw FROM rejected"
        rows = (
            self._db.execute(sql + " WHERE batch_id = ? ORDER BY id", (batch_id,))
            if batch_id is not None
            else self._db.execute(sql + " ORDER BY id")
        )
        return [(r[0], RejectedRow(r[1], r[2], r[3], r[4], tuple(json.loads(r[5])))) for r in rows]

    def verify(self) -> Verification:
        """Recompute the journal's chain and every batch's content from the stored rows, in one
        read transaction (see :mod:`peertrain.ledger._journal`)."""
        self._db.execute("BEGIN")
        try:
            return journal(self._db).verify()
        finally:
            self._db.execute("COMMIT")

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer (``"ok"`` when sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
