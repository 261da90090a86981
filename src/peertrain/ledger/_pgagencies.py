"""A consortium's agencies in a PostgreSQL ledger, for :mod:`peertrain.ledger.postgres`: listing and
adding agencies, the roles that may connect (what ``peertrain ledger grant`` runs), and moving a
member between agencies.

Which rows a role sees is decided by the database, not here: the tables that carry an
``agency_id`` have row-level security (enabled and forced, so the tables' owner is held to it too),
whose policies look the connected role up in ``peertrain.roles`` through ``current_user``:

- ``administrator`` (whoever created the ledger): reads and writes everything;
- ``agency``: reads and writes only its agency's members, their records, its batches, held and
  rejected rows, cursors and notices, and its members' self-reported submissions with their review
  events and evidence files; new rows get its agency (the columns' default);
- ``consortium``: reads everything, writes nothing (it is granted ``SELECT`` only).

A role missing from ``roles`` sees no row at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql

from peertrain.ledger import Agency, LedgerError, Transfer
from peertrain.ledger._model import LOCAL_AGENCY, check_agency_id
from peertrain.ledger._pgschema import SCHEMA, journal
from peertrain.ledger._pgtables import lock_writes, one, stamp

#: What every ledger role may read (``SELECT``): the row-level security decides which rows.
READ_TABLES = (
    "ledger_version", "meta", "agencies", "roles", "members", "batches", "records", "held", "rejected", "cursors",
    "notices", "transfers", "journal", "evidence", "submissions", "submission_events",
)
#: What an agency's role may change, beyond reading.
WRITE_GRANTS = (
    ("INSERT, UPDATE", "members"), ("INSERT, UPDATE", "batches"), ("INSERT, DELETE", "records"),
    ("INSERT, DELETE", "held"), ("INSERT, DELETE", "rejected"), ("INSERT, UPDATE", "cursors"),
    ("INSERT, UPDATE", "notices"), ("INSERT", "meta"), ("INSERT", "journal"), ("INSERT", "evidence"),
    ("INSERT", "submissions"), ("INSERT", "submission_events"),
)


def grant_statements(role: str, agency: str | None) -> list[sql.Composed]:
    """The statements that let ``role`` use the ledger: as ``agency``'s coordinator, or (``None``)
    as a consortium role that reads every agency. The role must exist (``CREATE ROLE``)."""
    who = sql.Identifier(role)
    schema = sql.Identifier(SCHEMA)
    statements = [
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, who),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, who),
        sql.SQL("GRANT SELECT ON {} TO {}").format(
            sql.SQL(", ").join(sql.Identifier(SCHEMA, t) for t in READ_TABLES), who
        ),
    ]
    if agency is not None:
        statements += [
            sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(privileges), sql.Identifier(SCHEMA, table), who)
            for privileges, table in WRITE_GRANTS
        ]
        statements.append(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, who))
    kind = "consortium" if agency is None else "agency"
    statements.append(
        sql.SQL(
            "INSERT INTO {} (role, agency_id, kind) VALUES ({}, {}, {}) "
            "ON CONFLICT (role) DO UPDATE SET agency_id = excluded.agency_id, kind = excluded.kind"
        ).format(sql.Identifier(SCHEMA, "roles"), sql.Literal(role), sql.Literal(agency), sql.Literal(kind))
    )
    return statements


def grant_again(db: Any) -> None:
    """Give the roles already granted the rights of their kind on every table, the new ones too (a
    migration may add tables, or let agencies use tables they could not before): what
    :func:`~peertrain.ledger._pgschema.migrate` calls after migrating a ledger that has roles."""
    granted = db.execute(
        "SELECT r.role, r.agency_id FROM roles r JOIN pg_catalog.pg_roles p ON p.rolname = r.role "
        "WHERE r.kind IN ('agency', 'consortium') ORDER BY r.role"
    ).fetchall()
    for role, agency in granted:
        for statement in grant_statements(role, agency):
            db.execute(statement)


class _PgAgencies:
    """The agencies of a ledger (see :class:`~peertrain.ledger.postgres.PostgresLedger`)."""

    _db: psycopg.Connection[Any]
    url: str

    def agencies(self) -> list[Agency]:
        """Every agency of the ledger, in id order."""
        rows = self._db.execute("SELECT id, name FROM agencies ORDER BY id").fetchall()
        return [Agency(r[0], r[1]) for r in rows]

    def agency(self) -> str:
        """The agency this connection writes as: its role's, else the ledger's own (``meta``)."""
        return str(one(self._db.execute("SELECT peertrain.writer_agency()"))[0])

    def add_agency(self, agency: str, name: str) -> Agency:
        """Add an agency (the administrator's)."""
        check_agency_id(agency)
        try:
            with self._db.transaction():
                self._db.execute("INSERT INTO agencies (id, name) VALUES (%s, %s)", (agency, name))
        except psycopg.errors.UniqueViolation:
            raise LedgerError(f"{self.url}: agency {agency!r} already exists") from None
        except psycopg.errors.InsufficientPrivilege:
            raise LedgerError(f"{self.url}: only the ledger's administrator can add an agency") from None
        return Agency(agency, name)

    def name_agency(self, agency: str, name: str) -> Agency:
        """Give the agency of a new ledger (``local``) its id and name (``ledger init --agency``).
        Refused once the ledger holds members or batches, or has other agencies."""
        check_agency_id(agency)
        with self._db.transaction():
            held = one(self._db.execute(
                "SELECT (SELECT count(*) FROM agencies) + (SELECT count(*) FROM members) "
                "+ (SELECT count(*) FROM batches)"
            ))[0]
            local = one(self._db.execute("SELECT count(*) FROM agencies WHERE id = %s", (LOCAL_AGENCY,)))[0]
            if held != 1 or local != 1:
                raise LedgerError(f"{self.url}: the ledger's agency can only be named while it is empty")
            self._db.execute(
                "INSERT INTO agencies (id, name) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                (agency, name),
            )
            self._db.execute("UPDATE meta SET value = %s WHERE key = 'agency'", (agency,))
            self._db.execute("DELETE FROM agencies WHERE id = %s AND id <> %s", (LOCAL_AGENCY, agency))
        return Agency(agency, name)

    def member_agencies(self) -> dict[str, str]:
        """The agency of every member this connection sees, by member id."""
        return dict(self._db.execute("SELECT id, agency_id FROM members ORDER BY id").fetchall())

    def grant(self, role: str, agency: str | None) -> None:
        """Let an existing database role use the ledger as ``agency``'s coordinator, or (``None``)
        as a consortium role that reads all (the administrator's; see :func:`grant_statements`)."""
        if agency is not None and agency not in {a.id for a in self.agencies()}:
            raise LedgerError(f"{self.url}: no agency {agency!r}; add it with 'peertrain ledger agency add'")
        if one(self._db.execute("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = %s", (role,)))[0] == 0:
            raise LedgerError(
                f"{self.url}: no database role {role!r}; the database administrator creates it first "
                f"(CREATE ROLE ... LOGIN, then \\password in psql)"
            )
        kind = self._db.execute("SELECT kind FROM roles WHERE role = %s", (role,)).fetchone()
        if kind is not None and kind[0] == "administrator":
            raise LedgerError(f"{self.url}: role {role!r} is the ledger's administrator; it keeps that")
        try:
            with self._db.transaction():
                for statement in grant_statements(role, agency):
                    self._db.execute(statement)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise LedgerError(
                f"{self.url}: only the ledger's administrator can grant roles ({str(exc).strip().splitlines()[0]})"
            ) from None

    def transfer(self, member: str, to: str, when: dt.datetime) -> Transfer:
        """Move a member, with their records, the held rows that name them (by e-mail or portal
        user id; one that ``to`` holds too is left to it), their notices and their self-reported
        submissions (with their events, evidence and approvals' batches), to agency ``to``, in one
        transaction; recorded in ``transfers`` and chained in the journal.
        Only the administrator may: an agency's role can neither write another agency's rows nor
        see them."""
        try:
            with self._db.transaction():
                lock_writes(self._db)
                row = self._db.execute(
                    "SELECT agency_id, email, portal_user_id FROM members WHERE id = %s FOR UPDATE", (member,)
                ).fetchone()
                if row is None:
                    raise LedgerError(f"{self.url}: no member {member!r}")
                if one(self._db.execute("SELECT count(*) FROM agencies WHERE id = %s", (to,)))[0] == 0:
                    raise LedgerError(f"{self.url}: no agency {to!r}")
                if row[0] == to:
                    raise LedgerError(f"{self.url}: member {member!r} is already in agency {to!r}")
                self._db.execute("UPDATE members SET agency_id = %s WHERE id = %s", (to, member))
                names = "((payload::json ->> 'email') = %s OR (payload::json ->> 'portal_user_id') = %s)"
                # A row the new agency holds too (it imported the same file) is kept once, as its.
                self._db.execute(
                    f"DELETE FROM held h WHERE agency_id = %s AND {names} AND EXISTS (SELECT 1 FROM held o "
                    "WHERE o.agency_id = %s AND o.source = h.source AND o.fingerprint = h.fingerprint)",
                    (row[0], row[1], row[2], to),
                )
                self._db.execute(
                    f"UPDATE held SET agency_id = %s WHERE agency_id = %s AND {names}", (to, row[0], row[1], row[2])
                )
                self._db.execute("UPDATE notices SET agency_id = %s WHERE member_id = %s", (to, member))
                self._db.execute("UPDATE submissions SET agency_id = %s WHERE member_id = %s", (to, member))
                # An approval's batch holds the member's own record only: it moves with them.
                self._db.execute(
                    "UPDATE batches SET agency_id = %s WHERE id IN (SELECT e.batch_id FROM submission_events e "
                    "JOIN submissions s ON s.id = e.submission_id WHERE s.member_id = %s AND e.batch_id IS NOT NULL)",
                    (to, member),
                )
                moved = one(self._db.execute(
                    "INSERT INTO transfers (member_id, from_agency, to_agency, at) VALUES (%s, %s, %s, %s) "
                    "RETURNING id, at",
                    (member, row[0], to, stamp(when)),
                ))
                journal(self._db).record_transfer(int(moved[0]))
        except psycopg.errors.InsufficientPrivilege:
            raise LedgerError(
                f"{self.url}: only the ledger's administrator can move a member between agencies"
            ) from None
        return Transfer(int(moved[0]), member, row[0], to, moved[1].astimezone(dt.UTC))

    def transfers(self) -> list[Transfer]:
        """The moves between agencies this connection sees, oldest first."""
        rows = self._db.execute(
            "SELECT id, member_id, from_agency, to_agency, at FROM transfers ORDER BY id"
        ).fetchall()
        return [Transfer(int(r[0]), r[1], r[2], r[3], r[4].astimezone(dt.UTC)) for r in rows]
