"""Helpers of the journal, copy and export tests: raw SQL on a ledger of either backend (as a
person editing the database by hand would), and a small history to store."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

from peertrain import Member
from peertrain.ledger import Record, RejectedRow, UnmatchedRow
from pg_server import PASSWORD_VARIABLE

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def raw_sql(location: Path | str, statement: str, params: tuple = ()) -> list[tuple]:
    """Run one statement on the ledger's database directly (sqlite3, or psycopg in the ``peertrain``
    schema), committed; the rows it returns."""
    if isinstance(location, Path):
        db = sqlite3.connect(location)
        try:
            rows = db.execute(statement, params).fetchall()
            db.commit()
            return rows
        finally:
            db.close()
    import psycopg

    with psycopg.connect(location.split("?")[0], password=os.environ[PASSWORD_VARIABLE], autocommit=True) as db:
        db.execute("SET search_path = peertrain")
        # Without parameters the statement goes as written ('%' in a LIKE pattern is no placeholder).
        cursor = db.execute(statement.replace("?", "%s"), params) if params else db.execute(statement)
        return cursor.fetchall() if cursor.description else []


def record(member="M1", course="qpr", on=dt.date(2026, 1, 5), status="completed", record_id=None, hours="2.50",
           origin="export.csv:2"):
    return Record(
        member=member, course=course, on=on, status=status, hours=None if hours is None else Decimal(hours),
        delivery="in_person", provider="ICISF", record_id=record_id, origin=origin,
    )


MEMBERS = [
    Member(id="M1", name="Ana Ruiz", agency="Pine Lake PD", roles=["peer_supporter"], functions=["prevention"],
           joined_on=dt.date(2020, 3, 1), email="ana@pinelake.example"),
    Member(id="M2", name="Bo Chen", agency="Pine Lake PD", roles=["peer_supporter"], functions=["intervention"]),
]


def store_history(ledger) -> None:
    """A history touching every kind of journal entry: two imports (records, a rejected row, a held
    row), a rematch, a pull whose voided statement removes a record of an earlier batch, and a
    retraction. Five batches' worth of entries: batch 1, batch 2, rematch of 1, batch 3 with a void
    of 1, retraction of 2."""
    ledger.put_members(MEMBERS)
    ledger.import_batch(
        source="portal", profile="p", file_name="export.csv", file_hash="h1", imported_at=NOW,
        rows=[
            record(), record(course="pfa", hours="1.50", record_id="r-2"),
            record(member="M2", on=None, status="in_progress", hours=None, origin="export.csv:4"),
            RejectedRow("export.csv", 5, "completed_on", "not a date", ("Tom Baker", "05/32/2025", "é")),
            UnmatchedRow("export.csv", 6, "unknown person 'zoe@x.example'",
                         {"person": "zoe@x.example", "course": "qpr", "record_id": "r-9"}, "fp-6"),
        ],
    )
    ledger.import_batch(
        source="lrs", profile="xapi", file_name="lrs pull", file_hash="h2", imported_at=NOW + dt.timedelta(hours=1),
        rows=[record(member="M2", course="gci", on=dt.date(2025, 2, 28), record_id="s-1", origin="statement s-1")],
    )
    held = ledger.held()[0]
    ledger.resolve(held.id, record(member="M1", course="qpr", on=dt.date(2026, 2, 1), record_id="r-9"))
    ledger.import_batch(
        source="portal", profile="p", file_name="export2.csv", file_hash="h3",
        imported_at=NOW + dt.timedelta(days=1), rows=[record(course="gci", on=dt.date(2026, 3, 3))], voided=["r-2"],
    )
    ledger.retract(2, NOW + dt.timedelta(days=2))
