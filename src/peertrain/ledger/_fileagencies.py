"""A ledger file's agencies, for :mod:`peertrain.ledger.sqlite`: the same tables as a consortium's
PostgreSQL ledger (:mod:`peertrain.ledger._pgagencies`), so that a schema version means the same
tables, but a file has no database roles: whoever can open it sees every agency, and every row is
written as the file's own agency (``meta``'s ``agency``: ``local`` until ``ledger init --agency``
names it). Agencies can still be added and members moved between them.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from peertrain._files import shown
from peertrain.ledger import Agency, LedgerError, Transfer
from peertrain.ledger._model import LOCAL_AGENCY, check_agency_id
from peertrain.ledger._schema import AGENCY, _now_text, _Transaction, journal


class _FileAgencies:
    """The agencies of a ledger file (see :class:`~peertrain.ledger.sqlite.SQLiteLedger`)."""

    _db: sqlite3.Connection
    path: Path

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def agencies(self) -> list[Agency]:
        """Every agency of the ledger, in id order."""
        return [Agency(r[0], r[1]) for r in self._db.execute("SELECT id, name FROM agencies ORDER BY id")]

    def agency(self) -> str:
        """The agency rows are written as: the file's own."""
        return str(self._db.execute(f"SELECT {AGENCY}").fetchone()[0])

    def add_agency(self, agency: str, name: str) -> Agency:
        """Add an agency."""
        check_agency_id(agency)
        try:
            with self._transaction():
                self._db.execute("INSERT INTO agencies (id, name) VALUES (?, ?)", (agency, name))
        except sqlite3.IntegrityError:
            raise LedgerError(f"{shown(self.path)}: agency {agency!r} already exists") from None
        return Agency(agency, name)

    def name_agency(self, agency: str, name: str) -> Agency:
        """Give the agency of a new ledger (``local``) its id and name (``ledger init --agency``).
        Refused once the ledger holds members or batches, or has other agencies."""
        check_agency_id(agency)
        with self._transaction():
            held = self._db.execute(
                "SELECT (SELECT count(*) FROM agencies) + (SELECT count(*) FROM members) "
                "+ (SELECT count(*) FROM batches)"
            ).fetchone()[0]
            local = self._db.execute("SELECT count(*) FROM agencies WHERE id = ?", (LOCAL_AGENCY,)).fetchone()[0]
            if held != 1 or local != 1:
                raise LedgerError(f"{shown(self.path)}: the ledger's agency can only be named while it is empty")
            self._db.execute(
                "INSERT INTO agencies (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                (agency, name),
            )
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'agency'", (agency,))
            self._db.execute("DELETE FROM agencies WHERE id = ? AND id <> ?", (LOCAL_AGENCY, agency))
        return Agency(agency, name)

    def member_agencies(self) -> dict[str, str]:
        """The agency of every member, by member id."""
        return dict(self._db.execute("SELECT id, agency_id FROM members ORDER BY id").fetchall())

    def grant(self, role: str, agency: str | None) -> None:
        """A file has no database roles: refused."""
        raise LedgerError(
            f"{shown(self.path)}: a ledger file has no database roles; roles are a PostgreSQL ledger's "
            "(docs/consortium.md)"
        )

    def transfer(self, member: str, to: str, when: dt.datetime) -> Transfer:
        """Move a member, with the held rows that name them (by e-mail or portal user id), their
        notices and their self-reported submissions (with their approvals' batches), to agency
        ``to``, in one transaction; recorded in ``transfers`` and the journal. (Records belong to
        their member, so they move with them.)"""
        where = shown(self.path)
        with self._transaction():
            row = self._db.execute(
                "SELECT agency_id, email, portal_user_id FROM members WHERE id = ?", (member,)
            ).fetchone()
            if row is None:
                raise LedgerError(f"{where}: no member {member!r}")
            if self._db.execute("SELECT count(*) FROM agencies WHERE id = ?", (to,)).fetchone()[0] == 0:
                raise LedgerError(f"{where}: no agency {to!r}")
            if row[0] == to:
                raise LedgerError(f"{where}: member {member!r} is already in agency {to!r}")
            self._db.execute("UPDATE members SET agency_id = ? WHERE id = ?", (to, member))
            self._db.execute(
                "UPDATE held SET agency_id = ? WHERE agency_id = ? AND (json_extract(payload, '$.email') = ? "
                "OR json_extract(payload, '$.portal_user_id') = ?)",
                (to, row[0], row[1], row[2]),
            )
            self._db.execute("UPDATE notices SET agency_id = ? WHERE member_id = ?", (to, member))
            self._db.execute("UPDATE submissions SET agency_id = ? WHERE member_id = ?", (to, member))
            # An approval's batch holds the member's own record only: it moves with them.
            self._db.execute(
                "UPDATE batches SET agency_id = ? WHERE id IN (SELECT e.batch_id FROM submission_events e "
                "JOIN submissions s ON s.id = e.submission_id WHERE s.member_id = ? AND e.batch_id IS NOT NULL)",
                (to, member),
            )
            at = _now_text(when)
            cursor = self._db.execute(
                "INSERT INTO transfers (member_id, from_agency, to_agency, at) VALUES (?, ?, ?, ?)",
                (member, row[0], to, at),
            )
            journal(self._db).record_transfer(int(cursor.lastrowid or 0))
        return Transfer(int(cursor.lastrowid or 0), member, row[0], to, dt.datetime.fromisoformat(at))

    def transfers(self) -> list[Transfer]:
        """Every move between agencies, oldest first."""
        rows = self._db.execute("SELECT id, member_id, from_agency, to_agency, at FROM transfers ORDER BY id")
        return [Transfer(int(r[0]), r[1], r[2], r[3], dt.datetime.fromisoformat(r[4])) for r in rows]

