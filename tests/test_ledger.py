"""The ledger, on SQLite and on PostgreSQL (the ``backend`` fixture): atomic batches, duplicates by
key, retraction, migration, refusal of a newer schema, integrity."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BACKENDS, ledger_maker
from peertrain import Member
from peertrain.ledger import LedgerError, Outcome, Record, RejectedRow, UnmatchedRow, open_ledger
from peertrain.ledger.sqlite import APPLICATION_ID, MIGRATIONS, SQLiteLedger

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def record(member="M1", course="qpr", on=dt.date(2026, 1, 5), status="completed", record_id=None, hours=None):
    return Record(
        member=member, course=course, on=on, status=status, hours=hours, delivery=None, provider=None,
        record_id=record_id, origin="export.csv:2",
    )


def store(ledger, rows, file_hash="h1", source="portal"):
    return ledger.import_batch(
        source=source, profile="p", file_name="export.csv", file_hash=file_hash, imported_at=NOW, rows=rows
    )


@pytest.fixture
def ledger(new_location):
    with open_ledger(new_location(), create_timezone="America/Chicago") as opened:
        yield opened


def test_a_missing_ledger_is_not_created_silently(tmp_path):
    """Opening a path that does not exist without create_timezone is an error, and creates nothing."""
    with pytest.raises(LedgerError, match="no such ledger"):
        open_ledger(tmp_path / "typo.db")
    assert not (tmp_path / "typo.db").exists()


def test_new_ledger_has_its_zone_and_schema_version(ledger):
    """A new ledger, of either backend, is at the current schema version, in its agency's zone."""
    assert ledger.schema_version() == len(MIGRATIONS)
    assert ledger.timezone() == "America/Chicago"


def test_new_ledger_is_marked_versioned_and_in_wal_mode(tmp_path):
    """A new SQLite ledger carries peertrain's application id, the current schema version, WAL and its zone."""
    ledger = SQLiteLedger.open(tmp_path / "ledger.db", create_timezone="America/Chicago")
    db = sqlite3.connect(ledger.path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger.timezone() == "America/Chicago"
    ledger.close()


def test_other_sqlite_files_and_garbage_are_refused(tmp_path):
    """A plain SQLite database or a non-database file is not taken for a ledger."""
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="not a peertrain ledger"):
        open_ledger(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match="not a peertrain ledger"):
        open_ledger(junk)


def test_version_1_ledger_is_migrated_forward_with_its_data(tmp_path):
    """A file at schema 1 (no cursors table) opens at schema 2 with its records intact."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MIGRATIONS[0])
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("INSERT INTO meta VALUES ('timezone', 'America/Denver')")
    db.execute(
        "INSERT INTO batches (source, profile, file_name, file_hash, imported_at) "
        "VALUES ('s', 'p', 'f', 'h', '2025-01-01T00:00:00+00:00')"
    )
    db.execute(
        "INSERT INTO records VALUES ('M1/qpr/2025-01-02', 1, 'M1', 'qpr', '2025-01-02', 'completed', '1', "
        "NULL, NULL, 's', NULL, 'f:2')"
    )
    db.execute("PRAGMA user_version = 1")
    db.close()
    with SQLiteLedger.open(path) as ledger:
        assert ledger.schema_version() == len(MIGRATIONS)
        assert [c.id for c in ledger.completions()] == ["M1/qpr/2025-01-02"]
        assert ledger.timezone() == "America/Denver"
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "cursors" in tables


def test_newer_schema_is_refused(tmp_path):
    """A ledger written by a newer peertrain is not opened (and not damaged)."""
    path = tmp_path / "new.db"
    SQLiteLedger.open(path, create_timezone="UTC").close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="newer than this peertrain"):
        open_ledger(path)


def test_every_row_ends_as_exactly_one_outcome(ledger):
    """Counts: 2 new records, 1 duplicate within the file, 1 rejected, 1 unmatched; they add up."""
    rows = [
        record(),
        record(course="asist"),
        record(),  # same member, course, date: a duplicate
        RejectedRow("export.csv", 5, "completed_on", "bad date", ("x",)),
        UnmatchedRow("export.csv", 6, "unknown person 'a@b.c'", {"email": "a@b.c"}, "fp1"),
    ]
    batch = store(ledger, rows)
    c = batch.counts
    assert (c.rows_read, c.imported, c.duplicates, c.rejected, c.unmatched) == (5, 2, 1, 1, 1)
    assert c.imported + c.duplicates + c.rejected + c.unmatched == c.rows_read
    assert [x.id for x in ledger.completions()] == ["M1/asist/2026-01-05", "M1/qpr/2026-01-05"]


def test_reimport_changes_nothing(ledger):
    """The same rows again: all duplicates (records and held rows alike), the ledger unchanged."""
    rows = [record(), UnmatchedRow("export.csv", 3, "unknown course 'X'", {"course_title": "X"}, "fp")]
    store(ledger, rows)
    before = (list(ledger.records()), ledger.held())
    again = store(ledger, rows)
    assert (again.counts.imported, again.counts.duplicates, again.counts.unmatched) == (0, 2, 0)
    after = (list(ledger.records()), ledger.held())
    assert [r for r, _ in before[0]] == [r for r, _ in after[0]]
    assert [h.values for h in before[1]] == [h.values for h in after[1]]


def test_source_record_id_makes_a_duplicate_even_with_another_date(ledger):
    """The source's own record id identifies the row: a later export with a corrected date is a
    duplicate of what is there, but a record id's completion after its in-progress row is new."""
    store(ledger, [record(record_id="E-1", status="in_progress", on=dt.date(2026, 1, 2))])
    batch = store(
        ledger,
        [
            record(record_id="E-1", status="in_progress", on=dt.date(2026, 1, 3)),
            record(record_id="E-1", status="completed", on=dt.date(2026, 2, 1)),
        ],
    )
    assert (batch.counts.imported, batch.counts.duplicates, batch.counts.not_completed) == (1, 1, 0)
    assert [c.id for c in ledger.completions()] == ["M1/qpr/2026-02-01"]


def test_in_progress_and_failed_records_are_not_completions(ledger):
    """Only completed records come out as completions; the others are kept with their status."""
    rows = [record(status="in_progress"), record(status="failed", course="asist"), record(course="mhfa-ps")]
    batch = store(ledger, rows)
    assert batch.counts.not_completed == 2
    assert [c.course for c in ledger.completions()] == ["mhfa-ps"]
    assert sorted(r.status for r, _ in ledger.records()) == ["completed", "failed", "in_progress"]


def test_hours_round_trip_exactly(ledger):
    """Decimal hours are stored as text and come back exact."""
    store(ledger, [record(hours=Decimal("1.4") * 10)])
    (completion,) = ledger.completions()
    assert completion.hours == Decimal(14)


def test_retract_removes_the_batch_and_allows_reimport(ledger):
    """Retracting removes the batch's records, held and rejected rows; the batch stays, marked."""
    batch = store(ledger, [record(), RejectedRow("f", 3, None, "r", ()), UnmatchedRow("f", 4, "u", {}, "fp")])
    retracted = ledger.retract(batch.id, NOW)
    assert retracted.retracted_at == NOW
    assert list(ledger.completions()) == []
    assert ledger.held() == []
    assert ledger.rejected() == []
    with pytest.raises(LedgerError, match="already retracted"):
        ledger.retract(batch.id, NOW)
    assert store(ledger, [record()], file_hash="h1").counts.imported == 1


def test_batch_with_hash_finds_live_batches_only(ledger):
    """A byte-identical file is recognised, unless its batch was retracted."""
    first = store(ledger, [record()], file_hash="abc")
    assert ledger.batch_with_hash("portal", "abc").id == first.id
    assert ledger.batch_with_hash("other", "abc") is None
    ledger.retract(first.id, NOW)
    assert ledger.batch_with_hash("portal", "abc") is None


def test_failed_import_stores_nothing(ledger):
    """An exception while rows are being read rolls the whole batch back."""

    def rows():
        yield record()
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        store(ledger, rows())
    assert ledger.batches() == []
    assert list(ledger.completions()) == []


def test_resolve_held_row(ledger):
    """A held row resolved into a record is imported under its original batch, then gone from held."""
    batch = store(ledger, [UnmatchedRow("f", 2, "unknown person", {"email": "x@y.z"}, "fp")])
    (held,) = ledger.held()
    assert ledger.resolve(held.id, record()) is Outcome.IMPORTED
    assert ledger.held() == []
    ((_, batch_id),) = list(ledger.records())
    assert batch_id == batch.id


def test_members_upsert(ledger):
    """Members are added, then updated by id; an email already used by another member is refused."""
    jane = Member(id="M1", name="Jane Smith", email="jane@x.org")
    assert ledger.put_members([jane, Member(id="M2", name="Bo Li")]) == (2, 0)
    assert ledger.put_members([Member(id="M1", name="Jane Smith-Lee", email="jane@x.org")]) == (0, 1)
    assert [m.name for m in ledger.members()] == ["Jane Smith-Lee", "Bo Li"]
    with pytest.raises(LedgerError, match="already another member"):
        ledger.put_members([Member(id="M3", name="X", email="jane@x.org")])
    assert len(ledger.members()) == 2


@st.composite
def consistent_records(draw):
    """Records as overlapping exports of one source carry them: a record id always names the same
    facts (the source's id for that member, course, date and status), or is absent."""
    member = draw(st.sampled_from(["M1", "M2"]))
    course = draw(st.sampled_from(["qpr", "asist", "mhfa-ps"]))
    on = draw(st.dates(dt.date(2025, 1, 1), dt.date(2025, 1, 10)))
    status = draw(st.sampled_from(["completed", "in_progress"]))
    with_id = member == "M1"  # one source gives ids for some people's rows, consistently
    return record(member, course, on, status, f"{member}-{course}-{on}-{status}" if with_id else None)


rows_strategy = st.lists(
    st.one_of(
        consistent_records(),
        st.builds(RejectedRow, st.just("f"), st.integers(2, 99), st.none(), st.just("bad"), st.just(())),
        st.builds(
            UnmatchedRow, st.just("f"), st.integers(2, 99), st.just("u"), st.just({}), st.sampled_from(["a", "b"])
        ),
    ),
    max_size=30,
)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(rows_strategy, rows_strategy)
def test_counts_add_up_and_order_of_imports_does_not_matter_for_completeness(
    tmp_path_factory, request, backend, first, second
):
    """For any rows: every batch's outcomes add up to its rows; importing A then B, or B then A,
    then each again, leaves the same records and the same held rows."""

    def build(order):
        location = ledger_maker(backend, request, tmp_path_factory.mktemp("l"))()
        with open_ledger(location, create_timezone="UTC") as ledger:
            for i, rows in enumerate(order + order):
                batch = store(ledger, rows, file_hash=str(i))
                c = batch.counts
                assert c.imported + c.duplicates + c.rejected + c.unmatched == c.rows_read == len(rows)
            for batch in ledger.batches()[len(order):]:
                assert batch.counts.imported == 0
                assert batch.counts.unmatched == 0
            return {r for r, _ in ledger.records()}, sorted(h.reason for h in ledger.held())

    assert build([first, second]) == build([second, first])


def test_kill_9_mid_import_leaves_whole_batches_only(new_location):
    """A process killed with SIGKILL in the middle of a large import leaves a ledger that opens
    (on SQLite, passes PRAGMA integrity_check) and holds the first (committed) batch whole and
    nothing of the second; its journal verifies."""
    path = new_location()
    script = textwrap.dedent(
        f"""
        import datetime as dt, sys
        from peertrain.ledger import Record
        from peertrain.ledger import open_ledger
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        ledger = open_ledger({str(path)!r}, create_timezone="UTC")
        def rows(prefix, n):
            for i in range(n):
                yield Record(member=f"{{prefix}}{{i}}", course="qpr", on=dt.date(2025, 1, 1), status="completed",
                             hours=None, delivery=None, provider=None, record_id=None, origin="f:1")
        ledger.import_batch(
            source="s", profile="p", file_name="a", file_hash="a", imported_at=now, rows=rows("A", 1000)
        )
        print("first committed", flush=True)
        def slow():
            for i, row in enumerate(rows("B", 10**9)):
                if i == 50_000:
                    print("second under way", flush=True)
                yield row
        ledger.import_batch(source="s", profile="p", file_name="b", file_hash="b", imported_at=now, rows=slow())
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "first committed"
    assert child.stdout.readline().strip() == "second under way"
    time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    with open_ledger(path) as ledger:
        if isinstance(ledger, SQLiteLedger):
            assert ledger.integrity_check() == "ok"
        assert [b.file_name for b in ledger.batches()] == ["a"]
        assert sum(1 for _ in ledger.completions()) == 1000
        result = ledger.verify()  # the journal holds the first batch's entry, nothing of the second
        assert (result.ok, result.entries) == (True, 1)
