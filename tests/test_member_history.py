"""One member's history as a file (``ledger export-member``) imported by another ledger as one batch
(``ledger import-member``): SQLite to PostgreSQL and back, idempotent, records kept distinguishable
by their source, the file checked on reading."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ledger_maker
from journal_helpers import MEMBERS, NOW, raw_sql, record, store_history
from peertrain.cli import main
from peertrain.errors import InputError
from peertrain.ledger import LedgerError, open_ledger
from peertrain.ledger.member_history import (
    SOURCE,
    export_member,
    import_member,
    read_member_history,
    write_member_history,
)

DIRECTIONS = [("sqlite", "postgresql"), ("postgresql", "sqlite")]


def essentials(ledger, member):
    """What training a member has in a ledger, whatever the batch or source it came in."""
    return sorted(
        (r.id, r.course, r.on, r.status, None if r.hours is None else str(r.hours), r.delivery, r.provider)
        for r, _ in ledger.records(member)
    )


@pytest.mark.parametrize(("source", "destination"), DIRECTIONS)
def test_a_history_moves_to_another_ledger_as_one_batch(request, tmp_path, source, destination):
    """M1's three live records (one rematched, one of a pull; the voided one is gone) go to a new
    ledger as one batch of source 'member-history'; M1 is added to its roster; each record says
    where it came from; the ledger verifies; importing again stores nothing."""
    src = ledger_maker(source, request, tmp_path)("a.db")
    with open_ledger(src, create_timezone="America/Chicago") as ledger:
        store_history(ledger)
        expected = essentials(ledger, "M1")
        history = export_member(ledger, "M1", at=NOW)
    path = tmp_path / "m1.json"
    write_member_history(history, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(expected) == 3
    dest = ledger_maker(destination, request, tmp_path)("b.db")
    with open_ledger(dest, create_timezone="UTC") as ledger:
        result = import_member(ledger, read_member_history(path), file_name="m1.json", at=NOW)
        assert result.member_added
        assert result.earlier is None
        counts = result.batch.counts
        assert (counts.rows_read, counts.imported, counts.duplicates) == (3, 3, 0)
        assert ledger.members() == [MEMBERS[0]]
        assert essentials(ledger, "M1") == expected
        assert {(r.record_id, r.origin) for r, _ in ledger.records("M1")} == {
            ("portal/M1/qpr/2026-01-05", "portal batch 1: export.csv:2"),
            ("portal/r-9", "portal batch 1: export.csv:2"),  # as resolve was given it
            ("portal/M1/gci/2026-03-03", "portal batch 3: export.csv:2"),
        }
        assert [b.source for b in ledger.batches()] == [SOURCE]
        again = import_member(ledger, read_member_history(path), file_name="m1.json", at=NOW)
        assert (again.batch, again.earlier.id) == (None, result.batch.id)
        assert len(ledger.batches()) == 1
        assert ledger.verify().ok


def test_a_history_exported_twice_is_the_same_history(ledger_file, tmp_path):
    """Two exports at different times have the same content hash, so the second stores nothing."""
    with open_ledger(ledger_file) as ledger:
        store_history(ledger)
        first = export_member(ledger, "M2", at=NOW)
        second = export_member(ledger, "M2", at=NOW + dt.timedelta(days=3))
    assert first.exported_at != second.exported_at
    assert first.content_sha256 == second.content_sha256 != ""
    assert [r.status for r in first.records] == ["in_progress"]  # batch 2 (M2's gci) was retracted


dates = st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31))


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["qpr", "pfa", "gci"]), dates, st.sampled_from(["completed", "failed"]),
                  st.one_of(st.none(), st.sampled_from(["1", "1.50", "16", "0.25"])),
                  st.one_of(st.none(), st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                                               min_size=1, max_size=6))),
        max_size=10,
    ),
    direction=st.sampled_from(DIRECTIONS),
)
def test_any_history_round_trips(request, tmp_path_factory, rows, direction):
    """Whatever the records (hours as written, source record ids beyond ASCII), the destination has
    the same training for the member, and a second import stores nothing."""
    folder = tmp_path_factory.mktemp("history")
    src = ledger_maker(direction[0], request, folder)("a.db")
    with open_ledger(src, create_timezone="UTC") as ledger:
        ledger.put_members(MEMBERS)
        ledger.import_batch(
            source="lms", profile="p", file_name="x.csv", file_hash="h", imported_at=NOW,
            rows=[record(course=c, on=d, status=s, hours=h, record_id=i) for c, d, s, h, i in rows],
        )
        expected = essentials(ledger, "M1")
        history = export_member(ledger, "M1", at=NOW)
    path = folder / "m1.json"
    write_member_history(history, path)
    with open_ledger(ledger_maker(direction[1], request, folder)("b.db"), create_timezone="UTC") as ledger:
        import_member(ledger, read_member_history(path), file_name="m1.json", at=NOW)
        assert essentials(ledger, "M1") == expected
        batches = len(ledger.batches())
        import_member(ledger, read_member_history(path), file_name="m1.json", at=NOW)
        assert len(ledger.batches()) == batches
        assert ledger.verify().ok


def test_records_already_there_are_duplicates(ledger_file, tmp_path):
    """A ledger that already has one of the member's records (same member, course, date) counts it
    as a duplicate and stores the others."""
    with open_ledger(ledger_file) as ledger:
        store_history(ledger)
        history = export_member(ledger, "M1", at=NOW)
    target = tmp_path / "other.db"
    with open_ledger(target, create_timezone="UTC") as ledger:
        ledger.put_members([MEMBERS[0]])
        ledger.import_batch(source="own", profile="p", file_name="own.csv", file_hash="o", imported_at=NOW,
                            rows=[record(hours="2.50")])
        result = import_member(ledger, history, file_name="m1.json", at=NOW)
    assert not result.member_added
    assert (result.batch.counts.imported, result.batch.counts.duplicates) == (2, 1)


def test_another_person_with_the_same_id_is_refused(ledger_file, tmp_path):
    """A roster where the id is someone else's: nothing is imported."""
    with open_ledger(ledger_file) as ledger:
        store_history(ledger)
        history = export_member(ledger, "M1", at=NOW)
    with open_ledger(tmp_path / "other.db", create_timezone="UTC") as ledger:
        ledger.put_members([MEMBERS[1].__class__(id="M1", name="Someone Else")])
        with pytest.raises(LedgerError, match="member id 'M1' is already 'Someone Else' in this ledger"):
            import_member(ledger, history, file_name="m1.json", at=NOW)
        assert ledger.batches() == []


def test_a_changed_or_foreign_file_is_refused(ledger_file, tmp_path):
    """A file edited after export, one of a newer version, and one that is not a history are refused
    with the file's name and the reason."""
    with open_ledger(ledger_file) as ledger:
        store_history(ledger)
        history = export_member(ledger, "M1", at=NOW)
    path = tmp_path / "m1.json"
    write_member_history(history, path)
    data = json.loads(path.read_text())
    data["records"][0]["hours"] = "40"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"m1\.json: its content does not match its content_sha256"):
        read_member_history(path)
    data["version"] = 2
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="member history version 2 is newer than this peertrain reads"):
        read_member_history(path)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="is not a member history"):
        read_member_history(path)
    data["version"] = 1
    data["records"][0]["on"] = "2026-13-01"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"records\[0\]"):
        read_member_history(path)


def test_export_and_import_on_the_command_line(request, tmp_path, capsys):
    """The two commands, PostgreSQL to SQLite, then the import again."""
    src = ledger_maker("postgresql", request, tmp_path)()
    with open_ledger(src, create_timezone="UTC") as ledger:
        store_history(ledger)
    out_file = tmp_path / "m1.json"
    assert main(["ledger", "export-member", "M1", src, "-o", str(out_file)]) == 0
    sha = json.loads(out_file.read_text())["content_sha256"]
    assert capsys.readouterr().out == (
        f"Wrote {out_file}: member M1, 3 record(s) from 2 batch(es) (content SHA-256 {sha}).\n"
    )
    target = tmp_path / "b.db"
    assert main(["ledger", "init", str(target), "--timezone", "UTC"]) == 0
    capsys.readouterr()
    assert main(["ledger", "import-member", str(out_file), "--ledger", str(target)]) == 0
    assert capsys.readouterr().out == (
        "m1.json: member M1 (added to the roster): batch 1: 3 record(s) read = 3 imported (0 not completed) "
        "+ 0 duplicate.\n"
    )
    assert main(["ledger", "import-member", str(out_file), "--ledger", str(target)]) == 0
    out = capsys.readouterr().out
    assert out == "m1.json: this history of M1 is already in the ledger as batch 1; nothing stored.\n"
    assert raw_sql(target, "SELECT hours FROM records ORDER BY id") == [("2.50",), ("2.50",), ("2.50",)]
    assert main(["ledger", "export-member", "M9", src, "-o", str(out_file)]) == 2
    assert "'M9' is not on the ledger's roster" in capsys.readouterr().err
    assert Decimal("2.50") == Decimal(json.loads(out_file.read_text())["records"][0]["hours"])
