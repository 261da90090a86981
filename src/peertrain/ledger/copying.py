"""Copying a whole ledger into an empty one, either backend to either: a team's SQLite file onto
the consortium's PostgreSQL server (``peertrain ledger copy team.db postgresql://...``), or back.

Everything is copied: members, batches (with their ids), records, held and rejected rows, pull
cursors, e-mail notices, self-reported submissions with their evidence and review events, the
``meta`` notes, and the journal as it is. The destination is written in one transaction, which
is committed only after the copy is checked: the number of rows of every table equals the
source's, and the destination's journal verifies with the same head hash as the source's (so the
canonical content of every batch came through unchanged). A source whose journal does not verify
is refused: a copy would seal what was changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from peertrain._types import StrPath
from peertrain.ledger import Ledger, LedgerError, is_database_url, open_ledger, shown_location
from peertrain.ledger._chain import _stamp
from peertrain.ledger._journal import Journal
from peertrain.ledger.sqlite import SQLiteLedger

__all__ = ["TABLES", "CopyResult", "copy_ledger"]

# Column kinds: "" as is, "d" a date, "t" a time (UTC), "b" bytes.
#: The tables copied, in an order that satisfies their foreign keys: name, columns (with kinds),
#: whether the id is allocated by the database (a sequence to move on in PostgreSQL).
TABLES: tuple[tuple[str, tuple[tuple[str, str], ...], bool], ...] = (
    ("meta", (("key", ""), ("value", "")), False),
    ("agencies", (("id", ""), ("name", "")), False),
    ("members", (("id", ""), ("name", ""), ("agency", ""), ("roles", ""), ("functions", ""), ("joined_on", "d"),
                 ("email", ""), ("portal_user_id", ""), ("agency_id", "")), False),
    ("transfers", (("id", ""), ("member_id", ""), ("from_agency", ""), ("to_agency", ""), ("at", "t")), True),
    ("batches", (("id", ""), ("source", ""), ("profile", ""), ("file_name", ""), ("file_hash", ""),
                 ("imported_at", "t"), ("rows_read", ""), ("imported", ""), ("not_completed", ""),
                 ("duplicates", ""), ("rejected", ""), ("unmatched", ""), ("retracted_at", "t"),
                 ("agency_id", "")), True),
    ("records", (("id", ""), ("batch_id", ""), ("member_id", ""), ("course_id", ""), ("on_date", "d"),
                 ("status", ""), ("hours", ""), ("delivery", ""), ("provider", ""), ("source", ""),
                 ("record_id", ""), ("origin", "")), False),
    ("held", (("id", ""), ("batch_id", ""), ("source", ""), ("origin", ""), ("reason", ""), ("fingerprint", ""),
              ("payload", ""), ("agency_id", "")), True),
    ("rejected", (("id", ""), ("batch_id", ""), ("file", ""), ('"row"', ""), ("field", ""), ("reason", ""),
                  ("raw", ""), ("agency_id", "")), True),
    ("cursors", (("agency_id", ""), ("source", ""), ("position", ""), ("updated_at", "t")), False),
    ("notices", (("id", ""), ("key", ""), ("kind", ""), ("agency", ""), ("member_id", ""), ("requirement", ""),
                 ("deadline", "d"), ("stage", ""), ("recipient", ""), ("subject", ""), ("message_id", ""),
                 ("message", "b"), ("state", ""), ("attempts", ""), ("attempted_at", "t"), ("finished_at", "t"),
                 ("detail", ""), ("agency_id", "")), True),
    ("evidence", (("sha256", ""), ("media_type", ""), ("size", ""), ("content", "b")), False),
    ("submissions", (("id", ""), ("member_id", ""), ("course_id", ""), ("on_date", "d"), ("hours", ""),
                     ("delivery", ""), ("provider", ""), ("evidence_sha256", ""), ("evidence_name", ""),
                     ("submitted_by", ""), ("submitted_at", "t"), ("agency_id", "")), True),
    ("submission_events", (("id", ""), ("submission_id", ""), ("action", ""), ("actor", ""), ("at", "t"),
                           ("note", ""), ("batch_id", "")), True),
    ("journal", (("seq", ""), ("kind", ""), ("ref", ""), ("content", ""), ("content_sha256", ""),
                 ("prev_sha256", ""), ("sha256", "")), False),
)


@frozen
class CopyResult:
    """What :func:`copy_ledger` copied: rows per table, the journal's entries and head hash (the
    same in both ledgers)."""

    rows: dict[str, int]
    entries: int
    head: str


def _value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "d":
        return value.isoformat() if isinstance(value, dt.date) else value
    if kind == "t":
        return _stamp(value)
    if kind == "b":
        return bytes(value)
    return value


class _Side:
    """One ledger's database as copying sees it (see :func:`_side`)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.postgres = not isinstance(ledger, SQLiteLedger)
        self.db: Any = ledger._db  # type: ignore[attr-defined]  # the backends' own connection

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        cursor = self.db.execute(sql.replace("?", "%s") if self.postgres else sql, params)
        return list(cursor.fetchall()) if cursor.description is not None else []

    def rows(self, table: str, columns: Sequence[tuple[str, str]]) -> Iterator[tuple[Any, ...]]:
        names = ", ".join(name for name, _ in columns)
        sql = f"SELECT {names} FROM {table} ORDER BY 1"
        if self.postgres:
            with self.db.cursor(name=f"peertrain_copy_{table}") as cursor:
                cursor.itersize = 5000
                cursor.execute(sql)
                rows: Iterable[Any] = cursor
                for row in rows:
                    yield tuple(_value(v, kind) for v, (_, kind) in zip(row, columns, strict=True))
        else:
            for row in self.db.execute(sql):
                yield tuple(_value(v, kind) for v, (_, kind) in zip(row, columns, strict=True))

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """One consistent read of the whole ledger."""
        if self.postgres:
            with self.db.transaction():
                self.db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield
        else:
            self.db.execute("BEGIN")
            try:
                yield
            finally:
                self.db.execute("COMMIT")

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        if self.postgres:
            with self.db.transaction():
                yield
        else:
            with self.ledger._transaction():  # type: ignore[attr-defined]
                yield

    def journal(self) -> Journal:
        if self.postgres:
            from peertrain.ledger._pgschema import journal  # noqa: PLC0415 - only with psycopg installed

            return journal(self.db)
        from peertrain.ledger._schema import journal as sqlite_journal  # noqa: PLC0415

        return sqlite_journal(self.db)

    def insert(self, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[tuple[Any, ...]]) -> None:
        names = ", ".join(name for name, _ in columns)
        if self.postgres:
            # COPY cannot write a table under row-level security (which holds the tables' owner, the
            # ledger's administrator, too: it is forced): into a temporary table of the same
            # columns, then one INSERT, which writes the identity columns as given.
            staging = f"copying_{table}"
            self.db.execute(f"CREATE TEMPORARY TABLE {staging} (LIKE {table}) ON COMMIT DROP")
            with self.db.cursor().copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            self.db.execute(
                f"INSERT INTO {table} ({names}) OVERRIDING SYSTEM VALUE SELECT {names} FROM {staging} ORDER BY 1"
            )
        else:
            marks = ", ".join("?" for _ in columns)
            self.db.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def finish(self, table: str, identity: bool) -> None:
        """After a table is copied into PostgreSQL: its sequence moves past the copied ids, and the
        held rows get the record id PostgreSQL keeps beside the payload."""
        if not self.postgres:
            return
        if identity:
            self.db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
            )
        if table == "held":
            self.db.execute("UPDATE held SET record_id = payload::json ->> 'record_id'")


def _open_destination(destination: StrPath, timezone: str) -> tuple[Ledger, bool]:
    """The destination ledger, created when absent (``True``) or empty when it exists."""
    if not is_database_url(destination) and Path(destination).exists():
        return open_ledger(destination), False
    if is_database_url(destination):
        try:
            return open_ledger(destination, create_timezone=timezone), True
        except LedgerError as exc:
            if "already holds a peertrain ledger" not in str(exc):
                raise
            return open_ledger(destination), False
    return open_ledger(destination, create_timezone=timezone), True


def copy_ledger(source: StrPath, destination: StrPath) -> CopyResult:
    """Copy the ledger at ``source`` into an empty (or absent) ledger at ``destination``: files or
    ``postgresql://`` URLs, either way round. One transaction, checked before it commits by the
    rows of every table and the journal's head hash; raises :class:`LedgerError` when the source
    does not verify, the destination is not empty, or the check fails (nothing is then committed;
    a destination file this call created is removed)."""
    src_name, dest_name = shown_location(source), shown_location(destination)
    with contextlib.closing(open_ledger(source)) as src_ledger:
        src = _Side(src_ledger)
        check = src_ledger.verify()
        if not check.ok:
            raise LedgerError(f"{src_name}: the journal does not verify ({check.first}); not copying it")
        dest_ledger, created = _open_destination(destination, src_ledger.timezone())
        try:
            with contextlib.closing(dest_ledger):
                result = _copy(src, _Side(dest_ledger), src_name, dest_name)
        except _database_errors() as exc:
            # E.g. a coordinator's role, which may not write the consortium's tables: one line.
            if created and not is_database_url(destination):
                _remove(destination)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LedgerError(f"copying {src_name} to {dest_name}: {reason}; nothing copied") from None
        except BaseException:
            if created and not is_database_url(destination):
                _remove(destination)
            raise
    return result


def _remove(destination: StrPath) -> None:
    """Remove a ledger file this copy created, with SQLite's side files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{destination}{suffix}").unlink(missing_ok=True)


def _database_errors() -> tuple[type[Exception], ...]:
    """The errors the databases' drivers raise (psycopg's only when it is installed)."""
    try:
        import psycopg  # noqa: PLC0415 - the PostgreSQL extra is optional
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def _copy(src: _Side, dest: _Side, src_name: str, dest_name: str) -> CopyResult:
    for table, _, _ in TABLES:
        if table == "agencies":  # a new ledger has its own, with nothing in them: replaced below
            continue
        rows = dest.count(table) if table != "meta" else dest.count("meta WHERE key NOT IN ('timezone', 'agency')")
        if rows:
            raise LedgerError(f"{dest_name}: not empty ({rows} row(s) in {table}); copy into a new ledger only")
    counts: dict[str, int] = {}
    with src.snapshot():
        head = src.journal().head()
        with dest.writing():
            dest.query("DELETE FROM meta")
            # The destination's agencies (none holds a row: checked above) give way to the source's,
            # but for those a database role is granted (PostgreSQL), which stay.
            dest.query("DELETE FROM agencies WHERE id NOT IN (SELECT agency_id FROM roles WHERE agency_id IS NOT NULL)")
            kept = {r[0] for r in dest.query("SELECT id FROM agencies")}
            for table, columns, identity in TABLES:
                stream: Iterable[tuple[Any, ...]] = src.rows(table, columns)
                if table == "agencies":
                    stream = (row for row in stream if row[0] not in kept)
                dest.insert(table, columns, stream)
                dest.finish(table, identity)
                counts[table] = src.count(table)
                copied = dest.count(table)
                if table == "agencies":  # every source agency is there (beside the ones kept)
                    there = {r[0] for r in dest.query("SELECT id FROM agencies")}
                    copied = len(there & {r[0] for r in src.query("SELECT id FROM agencies")})
                if copied != counts[table]:
                    raise LedgerError(
                        f"{dest_name}: {copied} row(s) of {table} copied, {src_name} has {counts[table]}; "
                        "nothing copied"
                    )
            check = dest.journal().verify()
            if not check.ok or check.head != head[1]:
                raise LedgerError(
                    f"{dest_name}: the copied journal does not verify ({check.first or 'another head hash'}); "
                    "nothing copied"
                )
    return CopyResult(counts, check.entries, check.head)
