"""The ledger's journal on both backends: every change to a batch's rows appends a hash-chained
entry; ``Ledger.verify`` and ``peertrain ledger verify`` recompute it and name the first entry that
does not match after the database is edited by hand; the same history gives the same chain on
SQLite and PostgreSQL; older ledgers are journalled when migrated; concurrent writers never fork
the chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ledger_maker
from journal_helpers import NOW, raw_sql, record, store_history
from peertrain.cli import main
from peertrain.ledger import RejectedRow, UnmatchedRow, open_ledger
from peertrain.ledger._journal import COLUMNS, GENESIS, canonical, entry_hash
from peertrain.ledger._pgschema import MIGRATIONS as PG_MIGRATIONS
from peertrain.ledger.sqlite import APPLICATION_ID, MIGRATIONS


@pytest.fixture
def location(new_location):
    """A ledger holding :func:`store_history`'s history."""
    where = new_location()
    with open_ledger(where, create_timezone="America/Chicago") as ledger:
        store_history(ledger)
    return where


def verify(where):
    with open_ledger(where) as ledger:
        return ledger.verify()


def test_every_change_appends_one_chained_entry(location):
    """Imports, a rematch, a void and a retraction: six entries, each chained to the one before,
    each hash recomputable by hand from its fields; the ledger verifies."""
    with open_ledger(location) as ledger:
        result = ledger.verify()
        batches = ledger.batches()
    rows = raw_sql(location, f"SELECT {COLUMNS} FROM journal ORDER BY seq")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1, "batch", 1), (2, "batch", 2), (3, "rematch", 1), (4, "batch", 3), (5, "void", 1), (6, "retraction", 2),
    ]
    prev = GENESIS
    for seq, kind, ref, content, content_sha, stored_prev, stored in rows:
        assert hashlib.sha256(content.encode()).hexdigest() == content_sha
        assert stored_prev == prev
        entry = f'{{"content_sha256":"{content_sha}","kind":"{kind}","ref":{ref},"seq":{seq}}}'
        assert stored == hashlib.sha256((prev + entry).encode()).hexdigest()
        assert stored == entry_hash(prev, seq, kind, ref, content_sha)
        prev = stored
    assert result.ok
    assert result.first is None
    assert (result.entries, result.head) == (6, prev)
    assert [b.id for b in batches] == [1, 2, 3]


def test_a_batch_entry_holds_the_batch_as_stored(location):
    """The content of batch 1's latest entry (the void) is its row, times in UTC, and the number of
    records, held and rejected rows it keeps after the rematch and the void."""
    content = raw_sql(location, "SELECT content FROM journal WHERE seq = 5")[0][0]
    import json

    data = json.loads(content)
    assert data["batch"] == {
        "id": 1, "source": "portal", "profile": "p", "file_name": "export.csv", "file_hash": "h1",
        "imported_at": "2026-11-23T12:00:00+00:00", "retracted_at": None, "rows_read": 5, "imported": 4,
        "not_completed": 1, "duplicates": 0, "rejected": 1, "unmatched": 0, "voided": [],
    }
    assert (data["records"]["count"], data["held"]["count"], data["rejected"]["count"]) == (3, 0, 1)
    assert content == canonical(data)
    retraction = json.loads(raw_sql(location, "SELECT content FROM journal WHERE seq = 6")[0][0])
    assert retraction["batch"]["retracted_at"] == "2026-11-25T12:00:00+00:00"
    assert retraction["records"] == {"count": 0, "sha256": hashlib.sha256(b"[]").hexdigest()}
    # batch 3's one record, as the canonical JSON array of its columns (the date as text)
    batch3 = json.loads(raw_sql(location, "SELECT content FROM journal WHERE seq = 4")[0][0])
    row = ["M1/gci/2026-03-03", "M1", "gci", "2026-03-03", "completed", "2.50", "in_person", "ICISF", "portal",
           None, "export.csv:2"]
    expected = hashlib.sha256(json.dumps([row], separators=(",", ":")).encode()).hexdigest()
    assert batch3["records"] == {"count": 1, "sha256": expected}


def test_the_same_history_gives_the_same_chain_on_both_backends(request, tmp_path):
    """SQLite and PostgreSQL store the same history with identical entries, hash for hash."""
    chains = []
    for backend in ("sqlite", "postgresql"):
        where = ledger_maker(backend, request, tmp_path)()
        with open_ledger(where, create_timezone="America/Chicago") as ledger:
            store_history(ledger)
            assert ledger.verify().ok
        chains.append(raw_sql(where, f"SELECT {COLUMNS} FROM journal ORDER BY seq"))
    assert chains[0] == chains[1]
    assert len(chains[0]) == 6


texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=5)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["M1", "M2", "Zoë-3"]), st.sampled_from(["qpr", "pfa"]),
            st.dates(dt.date(2020, 1, 1), dt.date(2026, 12, 31)),
            st.sampled_from(["completed", "in_progress"]),
            st.one_of(st.none(), st.sampled_from(["1", "1.0", "1.50", "16"])),
        ),
        max_size=12,
    ),
    held=st.lists(st.tuples(texts, texts), max_size=8),
    rejected=st.lists(st.tuples(st.sampled_from(["a.csv", "B.csv", "é.csv"]), st.integers(2, 4), texts), max_size=8),
    retract=st.booleans(),
)
def test_any_import_gives_the_same_chain_on_both_backends(request, tmp_path_factory, rows, held, rejected, retract):
    """Whatever the records (names beyond ASCII, hours as written, duplicates), held rows
    (fingerprints in any case and script) and rejected rows (several on one file and row), both
    backends give the same head hash, and both verify."""
    heads = []
    folder = tmp_path_factory.mktemp("chain")
    batch = [record(member=m, course=c, on=d, status=s, hours=h) for m, c, d, s, h in rows]
    batch += [UnmatchedRow("f.csv", 2, "unknown person", {"email": value}, fingerprint) for fingerprint, value in held]
    batch += [RejectedRow(file, row, None, "bad", (cell, "x")) for file, row, cell in rejected]
    for backend in ("sqlite", "postgresql"):
        with open_ledger(ledger_maker(backend, request, folder)(), create_timezone="UTC") as ledger:
            ledger.import_batch(source="s", profile="p", file_name="f.csv", file_hash="h", imported_at=NOW, rows=batch)
            if retract:
                ledger.retract(1, NOW)
            result = ledger.verify()
        assert result.ok
        heads.append(result.head)
    assert heads[0] == heads[1]


@pytest.mark.parametrize(
    ("statement", "seq", "kind", "ref", "reason"),
    [
        ("UPDATE records SET hours = '2.5' WHERE id = 'M1/qpr/2026-01-05'", 5, "void", 1,
         "the content of its 3 records row(s) differs"),
        ("DELETE FROM records WHERE id = 'M1/gci/2026-03-03'", 4, "batch", 3,
         "0 records row(s) stored, the journal says 1"),
        ("UPDATE batches SET file_name = 'other.csv' WHERE id = 3", 4, "batch", 3,
         "the batch's file_name is 'other.csv', the journal says 'export2.csv'"),
        ("UPDATE batches SET imported = 9 WHERE id = 1", 5, "void", 1,
         "the batch's imported is 9, the journal says 4"),
        ("UPDATE rejected SET reason = 'fine' WHERE batch_id = 1", 5, "void", 1,
         "the content of its 1 rejected row(s) differs"),
        ("UPDATE batches SET retracted_at = NULL WHERE id = 2", 6, "retraction", 2,
         "the batch's retracted_at is None, the journal says '2026-11-25T12:00:00+00:00'"),
        ("UPDATE journal SET content_sha256 = '" + "ab" * 32 + "' WHERE seq = 2", 2, "batch", 2,
         "its hash does not match"),
        ("DELETE FROM journal WHERE seq = 3", 4, "batch", 3, "expected entry 3 here"),
        ("UPDATE journal SET ref = 2 WHERE seq = 1", 1, "batch", 2, "its hash does not match"),
        ("UPDATE rejected SET raw = '[NaN, 1.5]' WHERE batch_id = 1", 5, "void", 1,
         "the content of its 1 rejected row(s) differs"),
        ("UPDATE journal SET content = 'not json' WHERE seq = 5", 5, "void", 1,
         "its stored content does not match its content hash"),
    ],
)
def test_an_edit_by_hand_is_named_by_the_first_entry_it_breaks(location, statement, seq, kind, ref, reason):
    """After one change made directly in the database (sqlite3 or psycopg), verify fails and names
    the entry (sequence number, kind, batch) that vouched for what was changed, and what differs."""
    raw_sql(location, statement)
    result = verify(location)
    assert not result.ok
    first = result.first
    assert (first.seq, first.kind, first.ref) == (seq, kind, ref)
    assert reason in first.reason


def test_a_batch_added_by_hand_is_covered_by_no_entry(location):
    """A batch inserted straight into the table has no entry: verify says so."""
    raw_sql(
        location,
        "INSERT INTO batches (source, profile, file_name, file_hash, imported_at) "
        "VALUES ('s', 'p', 'forged.csv', 'h9', '2026-11-23T12:00:00+00:00')",
    )
    result = verify(location)
    assert str(result.first) == "batch 4: no journal entry covers this batch"
    assert result.first.seq is None


def test_verify_on_the_command_line(location, capsys):
    """``peertrain ledger verify`` prints the entries and head, exit 0; after an edit it names the
    first entry that does not match, exit 1."""
    assert main(["ledger", "verify", str(location)]) == 0
    head = verify(location).head
    assert capsys.readouterr().out.endswith(f": the journal verifies: 6 entries, head {head}\n")
    raw_sql(location, "UPDATE records SET hours = '3' WHERE id = 'M1/gci/2026-03-03'")
    raw_sql(location, "UPDATE records SET hours = '3' WHERE id = 'M1/qpr/2026-01-05'")
    assert main(["ledger", "verify", str(location)]) == 1
    out = capsys.readouterr().out
    assert "the journal does NOT verify: entry 4 (batch, batch 3): the content of its 1 records row(s) differs\n" in out
    assert "(1 further mismatch(es) after it)" in out


def _old_ledger(backend, request, tmp_path):
    """A ledger made by the schema before the journal, holding two batches (one retracted)."""
    before = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE journal" in m)
    statements = [
        "INSERT INTO meta VALUES ('timezone', 'America/Denver')",
        "INSERT INTO batches (source, profile, file_name, file_hash, imported_at, rows_read, imported) "
        "VALUES ('s', 'p', 'a.csv', 'h', '2025-01-01T00:00:00+00:00', 1, 1)",
        "INSERT INTO batches (source, profile, file_name, file_hash, imported_at, retracted_at) "
        "VALUES ('s', 'p', 'b.csv', 'h2', '2025-01-02T00:00:00+00:00', '2025-01-03T00:00:00+00:00')",
        "INSERT INTO records (id, batch_id, member_id, course_id, on_date, status, hours, delivery, provider, "
        "source, record_id, origin) VALUES ('M1/qpr/2025-01-02', 1, 'M1', 'qpr', '2025-01-02', 'completed', '1', "
        "NULL, NULL, 's', NULL, 'a.csv:2')",
    ]
    where = ledger_maker(backend, request, tmp_path)()
    if backend == "sqlite":
        db = sqlite3.connect(where)
        for script in MIGRATIONS[:before]:
            db.executescript(script)
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for statement in statements:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {before}")
        db.commit()
        db.close()
        return where
    raw_sql(where, "CREATE SCHEMA peertrain")
    raw_sql(where, "CREATE TABLE ledger_version (version integer NOT NULL)")
    raw_sql(where, f"INSERT INTO ledger_version VALUES ({before})")
    for script in PG_MIGRATIONS[:before]:
        for statement in (s.strip() for s in script.split(";")):
            if statement:
                raw_sql(where, statement)
    for statement in statements:
        raw_sql(where, statement)
    return where


def test_a_ledger_made_before_the_journal_is_journalled_when_migrated(backend, request, tmp_path):
    """Opening it migrates it: its batches are journalled in order as they stand (the retracted one
    followed by its retraction), it verifies, and new changes chain on."""
    where = _old_ledger(backend, request, tmp_path)
    with open_ledger(where) as ledger:
        assert ledger.schema_version() == len(MIGRATIONS)
        assert ledger.verify().ok
        ledger.import_batch(source="s", profile="p", file_name="c.csv", file_hash="h3", imported_at=NOW,
                            rows=[record()])
        result = ledger.verify()
    assert result.ok
    assert result.entries == 4
    kinds = raw_sql(where, "SELECT seq, kind, ref FROM journal ORDER BY seq")
    assert kinds == [(1, "batch", 1), (2, "batch", 2), (3, "retraction", 2), (4, "batch", 3)]


def test_a_submission_approval_and_revocation_are_journalled(new_location, tmp_path, catalogue):
    """Approving a self-reported submission adds a batch, revoking it retracts the batch: both are
    entries, and the ledger verifies (both backends); the record edited by hand is named."""
    from peertrain.submissions import approve, revoke, submit

    path = new_location("team.db")
    with open_ledger(path, create_timezone="UTC") as ledger:
        from journal_helpers import MEMBERS

        ledger.put_members(MEMBERS)
        pdf = tmp_path / "certificate.pdf"
        pdf.write_bytes(b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n")
        submission = submit(ledger, member="M1", course="qpr", on=dt.date(2026, 1, 5), evidence=pdf,
                            catalogue=catalogue, by="M1", at=NOW)
        approve(ledger, submission.id, by="coordinator", at=NOW)
        assert ledger.verify().ok
        raw_sql(path, "UPDATE records SET hours = '80' WHERE id = 'M1/qpr/2026-01-05'")
        edited = ledger.verify()
        assert (edited.ok, edited.first.seq if edited.first else None) == (False, 1)
        raw_sql(path, "UPDATE records SET hours = NULL WHERE id = 'M1/qpr/2026-01-05'")
        revoke(ledger, submission.id, by="coordinator", at=NOW, note="wrong course")
        result = ledger.verify()
    assert result.ok
    assert result.entries == 2
    assert raw_sql(path, "SELECT kind, ref FROM journal ORDER BY seq") == [("batch", 1), ("retraction", 1)]


def test_concurrent_writers_never_fork_the_chain(pg_cluster, tmp_path):
    """Four writers importing into one PostgreSQL ledger at once: 20 batches, 20 entries numbered
    1 to 20, each chained to the one before, and the ledger verifies."""
    url = pg_cluster.url(pg_cluster.create_database())
    open_ledger(url, create_timezone="UTC").close()
    errors = []

    def writer(number):
        try:
            with open_ledger(url) as ledger:
                for i in range(5):
                    ledger.import_batch(
                        source=f"agency-{number}", profile="p", file_name=f"{number}-{i}.csv",
                        file_hash=f"{number}-{i}", imported_at=NOW,
                        rows=[record(member=f"A{number}-{k}", on=dt.date(2026, 1, 1 + i)) for k in range(50)],
                    )
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify(url)
    assert result.ok
    assert result.entries == 20
    rows = raw_sql(url, "SELECT seq, ref FROM journal ORDER BY seq")
    assert [r[0] for r in rows] == list(range(1, 21))
    assert sorted(r[1] for r in rows) == list(range(1, 21))
    assert raw_sql(url, "SELECT count(*) FROM records") == [(1000,)]


def test_a_transfer_is_chained_and_checked(location, backend):
    """``ledger transfer`` appends a ``transfer`` entry after the batches' (its content: the move
    as stored); verify passes, and names that entry once the stored move is changed by hand."""
    import datetime as dt

    from peertrain.ledger._journal import TRANSFER

    with open_ledger(location) as ledger:
        ledger.add_agency("riverbend", "Riverbend PD")
        moved = ledger.transfer("M1", "riverbend", dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC))
        result = ledger.verify()
    assert result.ok
    assert result.entries == 7
    assert raw_sql(location, "SELECT kind, ref FROM journal WHERE seq = 7") == [(TRANSFER, moved.id)]
    assert result.head == raw_sql(location, "SELECT sha256 FROM journal WHERE seq = 7")[0][0]
    raw_sql(location, "UPDATE transfers SET to_agency = from_agency")
    with open_ledger(location) as ledger:
        result = ledger.verify()
    assert str(result.first) == (
        f"entry 7 (transfer, transfer {moved.id}): the transfer as stored now differs from this entry"
    )


def test_a_rematch_run_is_one_entry_per_batch(ledger_file, capsys):
    """``rematch`` resolves every held row that now matches in one transaction: the Moodle report's
    two unknown learners, once on the roster, become records of its batch with one ``rematch``
    entry, not two; the ledger verifies."""
    from peertrain import Member
    from peertrain.imports.importer import rematch
    from peertrain.ledger import Outcome
    from peertrain.rules.loading import data_dir, load_bundled_catalogue

    report = data_dir() / "integrations" / "samples" / "moodle" / "completion-gci.csv"
    assert main(["import", "--profile", "moodle-completion-csv", "--ledger", str(ledger_file), str(report)]) == 0
    capsys.readouterr()
    with open_ledger(ledger_file) as ledger:
        ledger.put_members([
            Member(id="RB-02", name="Alex Moreno", email="alex.moreno@riverbend.example"),
            Member(id="RB-03", name="Priya Shah", email="priya.shah@riverbend.example"),
        ])
        assert rematch(ledger, load_bundled_catalogue()) == {
            Outcome.IMPORTED: 2, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 0,
        }
        assert len([r for r, _ in ledger.records() if r.member in ("RB-02", "RB-03")]) == 2
        assert ledger.verify().ok
    entries = raw_sql(ledger_file, "SELECT seq, kind, ref FROM journal ORDER BY seq")
    assert entries == [(1, "batch", 1), (2, "rematch", 1)]


def test_imports_voids_and_retractions_at_once_keep_one_chain(pg_cluster):
    """Two writers pull from one source at once, each pull voiding a record of an earlier pull of
    the other (removing rows of a batch another transaction may be journalling), while a third
    retracts every batch it sees: the chain is one, numbered without gaps, and verifies."""
    url = pg_cluster.url(pg_cluster.create_database())
    open_ledger(url, create_timezone="UTC").close()
    errors = []
    done = threading.Event()

    def puller(name, other):
        try:
            with open_ledger(url) as ledger:
                for i in range(6):
                    ledger.import_batch(
                        source="lrs", profile="xapi", file_name=f"{name}-{i}", file_hash=f"{name}-{i}",
                        imported_at=NOW,
                        rows=[record(member=f"{name}{k}", on=dt.date(2026, 1, 1 + i), record_id=f"{name}-{i}-{k}")
                              for k in range(20)],
                        voided=[f"{other}-{i - 1}-{k}" for k in range(5)] if i else [],
                    )
        except Exception as exc:
            errors.append(exc)

    def retractor():
        try:
            with open_ledger(url) as ledger:
                while not done.is_set():
                    for batch in ledger.batches():
                        if batch.retracted_at is None and batch.id % 3 == 0:
                            ledger.retract(batch.id, NOW)
        except Exception as exc:
            errors.append(exc)

    pullers = [threading.Thread(target=puller, args=("a", "b")), threading.Thread(target=puller, args=("b", "a"))]
    sweeper = threading.Thread(target=retractor)
    for thread in [*pullers, sweeper]:
        thread.start()
    for thread in pullers:
        thread.join()
    done.set()
    sweeper.join()
    assert errors == []
    with open_ledger(url) as ledger:
        for batch in ledger.batches():  # what the sweeper may have missed at the end
            if batch.retracted_at is None and batch.id % 3 == 0:
                ledger.retract(batch.id, NOW)
        result = ledger.verify()
    assert result.ok, result.first
    kinds = raw_sql(url, "SELECT kind, count(*) FROM journal GROUP BY kind ORDER BY kind")
    assert dict(kinds)["batch"] == 12
    assert dict(kinds)["retraction"] == 4
    assert [r[0] for r in raw_sql(url, "SELECT seq FROM journal ORDER BY seq")] == list(range(1, result.entries + 1))


def test_a_database_sorting_by_language_rules_gives_the_same_chain(request, tmp_path, pg_cluster):
    """In a PostgreSQL database whose text sorts by language rules (ICU, English: ``a < B < b``),
    held rows and rejected rows are still hashed in byte order (``B < a < b``), as SQLite's are."""
    name = f"icu_{pg_cluster.create_database()}"
    try:
        pg_cluster.admin(f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE \'en-US\'')
    except Exception as exc:
        pytest.skip(f"this PostgreSQL cannot make an ICU database: {exc}")
    assert raw_sql(pg_cluster.url(name), "SELECT 'a' < 'B'") == [(True,)]
    rows = [UnmatchedRow("f.csv", 2, "unknown person", {"email": v}, v) for v in ("b", "B", "a", "é", "E")]
    rows += [RejectedRow(file, 2, None, "bad", (file,)) for file in ("b.csv", "B.csv", "a.csv")]
    heads = []
    for where in (tmp_path / "team.db", pg_cluster.url(name)):
        with open_ledger(where, create_timezone="UTC") as ledger:
            ledger.import_batch(source="s", profile="p", file_name="f.csv", file_hash="h", imported_at=NOW, rows=rows)
            heads.append(ledger.verify().head)
    assert heads[0] == heads[1]


def test_the_rows_hash_does_not_depend_on_how_they_are_chunked(new_location, monkeypatch):
    """The records' hash is that of the one canonical JSON array of every row, however many rows
    the encoder takes at a time (2,500 records: one chunk and a part, or 834 chunks of 3)."""
    import json

    from peertrain.ledger import _chain

    where = new_location()
    with open_ledger(where, create_timezone="UTC") as ledger:
        ledger.import_batch(source="s", profile="p", file_name="f.csv", file_hash="h", imported_at=NOW,
                            rows=[record(member=f"M{i:04d}", hours=None) for i in range(2500)])
        first = ledger.verify()
        monkeypatch.setattr(_chain, "_CHUNK", 3)
        again = ledger.verify()
    rows = [[f"M{i:04d}/qpr/2026-01-05", f"M{i:04d}", "qpr", "2026-01-05", "completed", None, "in_person", "ICISF",
             "s", None, "export.csv:2"] for i in range(2500)]
    expected = hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()
    content = json.loads(raw_sql(where, "SELECT content FROM journal WHERE seq = 1")[0][0])
    assert content["records"] == {"count": 2500, "sha256": expected}
    assert first.ok
    assert again.ok
    assert first.head == again.head
