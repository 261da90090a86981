"""The ledger's support for pulls (on both backends): a cursor per source, stored with its batch, and voided records."""

from __future__ import annotations

import datetime as dt

import pytest

from peertrain.ledger import Record, UnmatchedRow, open_ledger

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def record(record_id, member="M1", course="qpr", on=dt.date(2026, 1, 5)):
    return Record(
        member=member, course=course, on=on, status="completed", hours=None, delivery=None, provider=None,
        record_id=record_id, origin=f"lrs/{record_id}",
    )


def held(record_id):
    values = {"email": "who@example.org", "course_id": "x", "record_id": record_id}
    return UnmatchedRow("lrs", 1, "unknown person 'who@example.org'", values, f"fp-{record_id}")


def pull(ledger, rows, *, cursor=None, voided=(), source="xapi:lrs"):
    return ledger.import_batch(
        source=source, profile="xapi", file_name="xapi:lrs", file_hash="-", imported_at=NOW, rows=rows,
        cursor=cursor, voided=voided,
    )


@pytest.fixture
def ledger(new_location):
    """A new ledger of each backend."""
    with open_ledger(new_location(), create_timezone="America/Chicago") as opened:
        yield opened


def test_a_source_never_pulled_has_no_cursor(ledger):
    """cursor() is None until a batch stores one."""
    assert ledger.cursor("xapi:lrs") is None


def test_the_cursor_is_stored_with_its_batch_and_moves_forward(ledger):
    """Each pull's cursor replaces the last one for that source only."""
    pull(ledger, [record("s1")], cursor=("xapi:lrs", "2026-01-01T00:00:00+00:00"))
    pull(ledger, [], cursor=("xapi:lrs", "2026-02-01T00:00:00+00:00"))
    pull(ledger, [], cursor=("moodle:site", "1700000000"), source="moodle:site")
    assert ledger.cursor("xapi:lrs") == "2026-02-01T00:00:00+00:00"
    assert ledger.cursor("moodle:site") == "1700000000"


def test_a_failed_batch_does_not_move_the_cursor(ledger):
    """The batch and its cursor advance together or not at all: an error while reading the rows
    (a broken connection mid-pull) leaves both as they were."""
    pull(ledger, [record("s1")], cursor=("xapi:lrs", "A"))

    def rows():
        yield record("s2")
        raise ConnectionError("the LRS went away")

    with pytest.raises(ConnectionError):
        pull(ledger, rows(), cursor=("xapi:lrs", "B"))
    assert ledger.cursor("xapi:lrs") == "A"
    assert [r.record_id for r, _ in ledger.records()] == ["s1"]
    assert len(ledger.batches()) == 1


def test_voided_record_ids_remove_records_of_earlier_batches(ledger):
    """A voided id removes the record (and a held row) with that record id from the same source,
    and the batch counts and lists what it retracted."""
    pull(ledger, [record("s1"), record("s2", course="asist"), held("s3")])
    batch = pull(ledger, [], voided=["s1", "s3", "unknown"])
    assert [r.record_id for r, _ in ledger.records()] == ["s2"]
    assert ledger.held() == []
    assert batch.counts.retracted == 2
    assert ledger.retracted_record_ids(batch.id) == ["s1", "s3"]
    assert ledger.batches()[0].counts.retracted == 0


def test_voiding_applies_after_the_batch_rows_and_only_to_its_source(ledger):
    """A statement and its voiding statement in one pull leave nothing; another source's record
    with the same record id is untouched."""
    pull(ledger, [record("s1", member="M2")], source="xapi:other")
    batch = pull(ledger, [record("s1")], voided=["s1"])
    assert batch.counts.imported == 1
    assert batch.counts.retracted == 1
    assert [(r.member, r.record_id) for r, _ in ledger.records()] == [("M2", "s1")]
