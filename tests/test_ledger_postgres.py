"""What only the PostgreSQL ledger has: its URL and password references, the errors of a server
that refuses or a driver that is missing, a database that holds no ledger or something else, and
its schema version (migrated forward, a newer one refused). The behaviour both backends share is
tested on both in test_ledger.py."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from unittest import mock

import psycopg
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import peertrain.ledger._pgschema as pgschema
from local_servers import free_port
from peertrain.ledger import (
    LedgerError,
    Record,
    UnmatchedRow,
    _pgdigest,
    is_database_url,
    ledger_exists,
    ledger_location,
    open_ledger,
)
from peertrain.ledger._pgconnect import shown_url
from peertrain.ledger._pgdigest import copy_digest
from peertrain.ledger._pgschema import MIGRATIONS
from peertrain.ledger.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from pg_server import PASSWORD_VARIABLE

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def database(pg_cluster):
    """The name of a new, empty database."""
    return pg_cluster.create_database()


def sql(pg_cluster, database, statement):
    with psycopg.connect(host=str(pg_cluster.root), port=pg_cluster.port, user=pg_cluster.user, dbname=database,
                         autocommit=True) as connection:
        return connection.execute(statement).fetchall() if statement.lstrip().upper().startswith("SELECT") else (
            connection.execute(statement) and None
        )


def test_urls_are_told_from_files_and_keep_their_slashes():
    """A postgresql:// (or postgres://) URL stays text on the command line; anything else is a path."""
    assert ledger_location("postgresql://db.example/team") == "postgresql://db.example/team"
    assert ledger_location("POSTGRES://db.example/team") == "POSTGRES://db.example/team"
    assert str(ledger_location("team.db")) == "team.db"
    assert is_database_url("postgresql://h/d")
    assert not is_database_url("postgresql.db")
    assert not ledger_exists("postgresql://h/d")


def test_a_literal_password_is_never_shown():
    """A password written in a URL is hidden when the URL is shown; references are shown as given."""
    assert shown_url("postgresql://al:s3cret@h/d") == "postgresql://al:***@h/d"
    assert shown_url("postgresql://al@h/d?password=s3cret&sslmode=require") == (
        "postgresql://al@h/d?password=***&sslmode=require"
    )
    assert shown_url("postgresql://al@h/d?password=env:PW") == "postgresql://al@h/d?password=env:PW"


def test_new_ledger_is_versioned_in_its_own_schema(pg_cluster, database):
    """A new ledger's tables are in the 'peertrain' schema, whose version table holds the schema version."""
    open_ledger(pg_cluster.url(database), create_timezone="America/Chicago").close()
    assert sql(pg_cluster, database, "SELECT version FROM peertrain.ledger_version") == [(len(MIGRATIONS),)]
    assert len(MIGRATIONS) == len(SQLITE_MIGRATIONS)  # a schema version means the same tables in both


def test_a_database_without_a_ledger_is_not_used_silently(pg_cluster, database):
    """Without create_timezone, a database that holds no ledger is an error, and gets no tables."""
    with pytest.raises(LedgerError, match="no peertrain ledger in this database; create it"):
        open_ledger(pg_cluster.url(database))
    assert sql(pg_cluster, database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'peertrain'") == [(0,)]


def test_init_refuses_a_database_that_holds_a_ledger(pg_cluster, database):
    """Creating a ledger where one is already is refused, and the ledger is left as it was."""
    with open_ledger(pg_cluster.url(database), create_timezone="America/Chicago") as ledger:
        ledger.import_batch(source="s", profile="p", file_name="f", file_hash="h", imported_at=NOW, rows=[])
    with pytest.raises(LedgerError, match="already holds a peertrain ledger; not overwriting it"):
        open_ledger(pg_cluster.url(database), create_timezone="UTC")
    with open_ledger(pg_cluster.url(database)) as ledger:
        assert ledger.timezone() == "America/Chicago"
        assert len(ledger.batches()) == 1


def test_other_tables_are_left_alone_and_a_foreign_schema_refused(pg_cluster, database):
    """Tables of other applications in the database do not matter; a 'peertrain' schema that is not
    a ledger's is refused rather than written into."""
    sql(pg_cluster, database, "CREATE TABLE public.other (x int)")
    open_ledger(pg_cluster.url(database), create_timezone="UTC").close()
    second = pg_cluster.create_database()
    sql(pg_cluster, second, "CREATE SCHEMA peertrain")
    sql(pg_cluster, second, "CREATE TABLE peertrain.stuff (x int)")
    with pytest.raises(LedgerError, match="not a peertrain ledger"):
        open_ledger(pg_cluster.url(second), create_timezone="UTC")


def test_version_1_ledger_is_migrated_forward_with_its_data(pg_cluster, database):
    """A database at schema 1 opens at the current schema, with its records and zone intact."""
    statements = [
        "CREATE SCHEMA peertrain",
        "CREATE TABLE peertrain.ledger_version (version integer NOT NULL)",
        "INSERT INTO peertrain.ledger_version VALUES (1)",
        "SET search_path = peertrain",
        MIGRATIONS[0],
        "INSERT INTO meta VALUES ('timezone', 'America/Denver')",
        "INSERT INTO batches (source, profile, file_name, file_hash, imported_at) "
        "VALUES ('s', 'p', 'f', 'h', '2025-01-01T00:00:00+00:00')",
        "INSERT INTO records VALUES ('M1/qpr/2025-01-02', 1, 'M1', 'qpr', '2025-01-02', 'completed', '1', "
        "NULL, NULL, 's', NULL, 'f:2')",
    ]
    sql(pg_cluster, database, ";\n".join(statements))
    with open_ledger(pg_cluster.url(database)) as ledger:
        assert ledger.schema_version() == len(MIGRATIONS)
        assert [c.id for c in ledger.completions()] == ["M1/qpr/2025-01-02"]
        assert ledger.timezone() == "America/Denver"
        assert ledger.cursor("s") is None  # the cursors table exists now


def test_newer_schema_is_refused(pg_cluster, database):
    """A ledger written by a newer peertrain is not opened (and not changed)."""
    open_ledger(pg_cluster.url(database), create_timezone="UTC").close()
    sql(pg_cluster, database, "UPDATE peertrain.ledger_version SET version = 99")
    with pytest.raises(LedgerError, match="ledger schema 99 is newer than this peertrain understands"):
        open_ledger(pg_cluster.url(database))
    assert sql(pg_cluster, database, "SELECT version FROM peertrain.ledger_version") == [(99,)]


def test_literal_password_is_refused_before_connecting(pg_cluster, database):
    """A password written in the URL (as user:password@ or password=) is refused, and not repeated."""
    for url in (
        f"postgresql://postgres:{pg_cluster.password}@127.0.0.1:{pg_cluster.port}/{database}",
        f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/{database}?password={pg_cluster.password}",
    ):
        with pytest.raises(LedgerError, match="a password may not be written in a ledger URL") as caught:
            open_ledger(url)
        assert pg_cluster.password not in str(caught.value)


def test_password_from_a_file_or_the_environment(pg_cluster, database, tmp_path, monkeypatch):
    """password=file:PATH reads the file's first line; password=env:NAME the variable; a missing
    one is named in the error."""
    secret = tmp_path / "pw"
    secret.write_text(pg_cluster.password + "\nignored\n")
    base = f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/{database}"
    open_ledger(f"{base}?password=file:{secret}", create_timezone="UTC").close()
    monkeypatch.setenv("SOME_PW", pg_cluster.password)
    open_ledger(f"{base}?password=env:SOME_PW").close()
    with pytest.raises(LedgerError, match="environment variable NOPE_PW is not set"):
        open_ledger(f"{base}?password=env:NOPE_PW")
    with pytest.raises(LedgerError, match="cannot read the password file"):
        open_ledger(f"{base}?password=file:{tmp_path / 'missing'}")


def test_libpq_passfile_is_used(pg_cluster, database, tmp_path, monkeypatch):
    """With no password in the URL, libpq's own places are used (here PGPASSFILE)."""
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg_cluster.port}:*:postgres:{pg_cluster.password}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    open_ledger(pg_cluster.url(database, password=False), create_timezone="UTC").close()


def test_a_refusing_server_is_one_clear_error(pg_cluster, database, monkeypatch):
    """A wrong password, a missing database and a port where nothing listens are each a LedgerError
    naming the URL and the reason."""
    monkeypatch.setenv(PASSWORD_VARIABLE, "wrong")
    with pytest.raises(LedgerError, match="password authentication failed"):
        open_ledger(pg_cluster.url(database))
    monkeypatch.setenv(PASSWORD_VARIABLE, pg_cluster.password)
    with pytest.raises(LedgerError, match='database "nosuch" does not exist'):
        open_ledger(pg_cluster.url("nosuch"))
    with pytest.raises(LedgerError, match="cannot connect to the ledger's database: Connection refused"):
        open_ledger(f"postgresql://postgres@127.0.0.1:{free_port()}/x?connect_timeout=3")


def test_missing_driver_is_a_clear_error():
    """Without psycopg, a PostgreSQL URL is a LedgerError that says what to install."""
    script = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from peertrain.ledger import open_ledger, LedgerError\n"
        "try:\n    open_ledger('postgresql://h/d')\nexcept LedgerError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "needs psycopg 3; install it with: pip install 'peertrain[postgresql]'" in out


def test_text_postgresql_cannot_hold_is_a_ledger_error(pg_cluster, database):
    """A NUL character (which SQLite keeps and PostgreSQL's text cannot) fails the batch cleanly,
    storing nothing."""
    with open_ledger(pg_cluster.url(database), create_timezone="UTC") as ledger:
        row = Record(member="M\x001", course="qpr", on=dt.date(2025, 1, 1), status="completed", hours=None,
                     delivery=None, provider=None, record_id=None, origin="f:2")
        with pytest.raises(LedgerError, match="cannot be stored in the ledger"):
            ledger.import_batch(source="s", profile="p", file_name="f", file_hash="h", imported_at=NOW, rows=[row])
        assert ledger.batches() == []


def test_ids_sort_in_byte_order_whatever_the_locale(pg_cluster, database):
    """Ids are compared byte by byte, as SQLite does ('B' < 'a', '-' < '/'), so that ranges of
    members and the order of completions are the same on both backends."""
    with open_ledger(pg_cluster.url(database), create_timezone="UTC") as ledger:
        rows = [
            Record(member=m, course="qpr", on=dt.date(2025, 1, 1), status="completed", hours=None, delivery=None,
                   provider=None, record_id=None, origin="f:2")
            for m in ("a", "B", "A-1", "A")
        ]
        ledger.import_batch(source="s", profile="p", file_name="f", file_hash="h", imported_at=NOW, rows=rows)
        assert [c.id for c in ledger.completions()] == sorted(r.id for r in rows)
        assert [m for m, _ in ledger.completions_by_member()] == ["A-1", "A", "B", "a"]  # "A-1/" < "A/"
        assert ledger.completion_table("A-", "B/").column("member").to_pylist() == ["A-1", "A"]


def test_completion_table_reads_commas_quotes_newlines_and_nulls_exactly(pg_cluster, database):
    """The completion table comes through COPY as CSV: a value with a comma, a quote or a line
    break arrives whole, and a missing hours, delivery or provider is null, not empty text."""
    with open_ledger(pg_cluster.url(database), create_timezone="UTC") as ledger:
        rows = [
            Record(member='M,"1"', course="qpr", on=dt.date(2025, 1, 2), status="completed", hours=Decimal("1.5"),
                   delivery="online", provider='Agency, "North"\nUnit', record_id=None, origin='f.csv:2 "x",\ny'),
            Record(member="M2", course="asist", on=dt.date(2024, 2, 29), status="completed", hours=None,
                   delivery=None, provider=None, record_id=None, origin="f.csv:3"),
            Record(member="M2", course="asist", on=dt.date(2024, 3, 1), status="not_completed", hours=None,
                   delivery=None, provider=None, record_id=None, origin="f.csv:4"),
        ]
        ledger.import_batch(source="s", profile="p", file_name="f", file_hash="h", imported_at=NOW, rows=rows)
        table = ledger.completion_table()
        assert table.schema.types == [pa.string()] * 8
        assert table.to_pylist() == [
            {"member": 'M,"1"', "id": rows[0].id, "course": "qpr", "on": "2025-01-02", "hours": "1.5",
             "delivery": "online", "provider": 'Agency, "North"\nUnit', "origin": 'f.csv:2 "x",\ny'},
            {"member": "M2", "id": rows[1].id, "course": "asist", "on": "2024-02-29", "hours": None,
             "delivery": None, "provider": None, "origin": "f.csv:3"},
        ]
        assert ledger.completion_table("M2/", None).num_rows == 1
        assert ledger.completion_table("N", None).num_rows == 0


def test_a_lost_connection_is_a_ledger_error(pg_cluster, database):
    """The server ending the ledger's connection (a restart, an administrator) is a LedgerError
    naming the ledger, not a driver's traceback."""
    with open_ledger(pg_cluster.url(database), create_timezone="UTC") as ledger:
        pg_cluster.admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' "
            "AND pid <> pg_backend_pid()"
        )
        with pytest.raises(LedgerError, match="the ledger's database failed"):
            ledger.batches()
        with pytest.raises(LedgerError, match="the ledger's database failed"):
            list(ledger.completions())



#: Text that CSV quotes or that JSON escapes: quotes, separators, line breaks, backslashes, accents.
_TRICKY = st.text(alphabet='ab,"\n\r\\é ;', max_size=5)


@pytest.fixture(scope="module")
def digest_ledger(pg_cluster):
    """One PostgreSQL ledger that the journal digest test adds a batch to per example."""
    with open_ledger(pg_cluster.url(pg_cluster.create_database()), create_timezone="America/Chicago") as ledger:
        yield ledger


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(_TRICKY, st.none() | _TRICKY, st.none() | _TRICKY, st.none() | _TRICKY, st.booleans()),
             max_size=6),
    st.lists(st.tuples(_TRICKY, st.none() | _TRICKY, _TRICKY), max_size=4),
)
def test_journal_digest_by_copy_is_the_journals(digest_ledger, records, held):
    """A batch's records and held rows hashed from ``COPY ... TO STDOUT`` read by Arrow (the
    journal's path on PostgreSQL) give the content the journal's row-by-row path gives, whatever
    the text holds (quotes, separators, line breaks, empty text against NULL)."""
    n = len(digest_ledger.batches())  # record ids are unique across batches: each example its own
    rows: list[Record | UnmatchedRow] = [
        Record(f"M{n}.{i}{member}", "qpr", dt.date(2025, 1, 1 + i), "completed" if done else "failed", None,
               delivery, provider, record_id, f"f.csv:{i}{member}")
        for i, (member, delivery, provider, record_id, done) in enumerate(records)
    ]
    rows += [
        UnmatchedRow("f.csv", 10 + i, f"unknown course {reason}", {"course": course, "name": name}, f"fp{i}{name}")
        for i, (name, course, reason) in enumerate(held)
    ]
    batch = digest_ledger.import_batch(source=f"s{n}", profile="p", file_name="f.csv",
                                       file_hash="h", imported_at=NOW, rows=rows)
    db = digest_ledger._db
    used: list[tuple[str, bool]] = []

    def counted(*args):
        found = copy_digest(*args)
        used.append((args[1], found is not None))
        return found

    with db.transaction():
        assert copy_digest(db, "records", "SELECT 1 FROM records WHERE batch_id = ?", (batch.id,)) is None  # small
        with mock.patch.object(pgschema, "copy_digest", counted), mock.patch.object(_pgdigest, "LEAST_ROWS", 0):
            fast = pgschema.journal(db).contents(batch.id)
        by_rows = pgschema.journal(db)
        by_rows._digest = None
        slow = by_rows.contents(batch.id)
    assert fast == slow
    assert fast[batch.id]["records"]["count"] == batch.counts.imported
    assert ("records", True) in used  # hashed from the copy, not row by row
