"""PostgreSQL for ``bench_scale.py --ledger postgresql://...`` and ``--pg-temp``: a throwaway cluster,
the benchmark's SQLite ledger copied into a PostgreSQL ledger, and PostgreSQL's own floor.

The throwaway cluster is the tests' (``tests/pg_server.py``): ``initdb`` into a temporary folder,
a free loopback port, the superuser's password in an environment variable that the URL names
(``password=env:...``), stopped and removed at the end.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The floor on PostgreSQL: its own ``GROUP BY member`` over the completed records (hours are text
#: in both ledgers; SQLite's SUM reads them as numbers, PostgreSQL is told to).
PG_FLOOR_SQL = "SELECT member_id, SUM(hours::numeric) FROM records WHERE status = 'completed' GROUP BY member_id"


@contextmanager
def temporary_database() -> Iterator[str]:
    """A new database in a throwaway cluster; its URL (the password an ``env:`` reference)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg_server import Cluster, server_bin

    found = server_bin()
    if found is None:
        raise SystemExit("--pg-temp: PostgreSQL's initdb and pg_ctl were not found (set PEERTRAIN_PG_BIN)")
    cluster = Cluster(found)
    cluster.start()
    try:
        yield cluster.url(cluster.create_database())
    finally:
        cluster.stop()


def _connect(url: str):  # type: ignore[no-untyped-def]
    from peertrain.ledger._pgconnect import connect
    from peertrain.ledger._pgschema import SCHEMA

    db, _shown = connect(url)
    db.execute(f"SET search_path = {SCHEMA}")
    return db


def copy_in(sqlite_path: Path, url: str) -> float:
    """Copy the members, batches and records of the SQLite ledger at ``sqlite_path`` into the
    PostgreSQL ledger at ``url`` (created if need be) unless it already has members; seconds taken."""
    from peertrain.ledger import open_ledger

    open_ledger(url, create_timezone="America/Chicago").close()
    db = _connect(url)
    began = time.perf_counter()
    try:
        if db.execute("SELECT count(*) FROM members").fetchone()[0]:
            return 0.0
        source = sqlite3.connect(sqlite_path)
        with db.transaction(), db.cursor() as cursor:
            for table, columns, extra in (
                ("members", "id, name, agency, roles, functions, joined_on, email, portal_user_id", ""),
                ("batches", "id, source, profile, file_name, file_hash, imported_at, rows_read, imported, "
                            "not_completed, duplicates, rejected, unmatched, retracted_at", ""),
                ("records", "id, batch_id, member_id, course_id, on_date, status, hours, delivery, provider, "
                            "source, record_id, origin", ""),
            ):
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN{extra}") as copy:
                    for row in source.execute(f"SELECT {columns} FROM {table}"):
                        copy.write_row(row)
            cursor.execute("SELECT setval(pg_get_serial_sequence('batches', 'id'), (SELECT max(id) FROM batches))")
        source.close()
        db.execute("ANALYZE")
    finally:
        db.close()
    return time.perf_counter() - began


def pg_floor(url: str) -> float:
    """Seconds for PostgreSQL alone to sum every member's completed hours (GROUP BY member)."""
    db = _connect(url)
    try:
        began = time.perf_counter()
        groups = db.execute(PG_FLOOR_SQL).fetchall()
        elapsed = time.perf_counter() - began
    finally:
        db.close()
    assert groups
    return elapsed
