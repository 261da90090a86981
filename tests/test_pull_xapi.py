"""Pulling from an xAPI LRS, against a scripted LRS on loopback: mapping, paging, cursor, voiding.

The scripted LRS keeps statements in memory, stamps ``stored``, filters ``since``/``until`` on
``stored`` (exclusive/inclusive as xAPI says), pages with ``more`` and logs every request. The
same scenario against a real LRS (ralph) is in ``test_pull_ralph.py``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import xapi_statements as xs
from peertrain import load_bundled_catalogue
from peertrain.pull import pull_xapi
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Course
from pull_fixtures import MemoryLRS, catalogue_with_lrs_courses, team_ledger, xapi_source
from pull_server import LocalServer, Reply

__all__ = ["team_ledger"]  # a fixture

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def records(ledger):
    return sorted((r.id, r.hours, r.record_id[-2:]) for r, _ in ledger.records())


#: The ledger after the first pull: (record id, hours, last digits of the statement id).
FIRST_RECORDS = [
    ("PL-01/pinelake-wellness/2025-03-04", None, "01"),
    ("PL-02/icisf-gci/2025-02-10", Decimal("13.5"), "02"),
    ("PL-03/pinelake-wellness/2025-04-01/failed", None, "03"),
    ("PL-04/qpr/2025-04-06", None, "08"),
]
FIRST_HELD = [
    ("xapi:pinelake-lrs statement 00000000-0000-4000-8000-000000000004:4",
     "unknown person 'jordan.pike@riverbend.example'"),
    ("xapi:pinelake-lrs statement 00000000-0000-4000-8000-000000000005:5", "unknown course 'Firearms Qualification'"),
    ("xapi:pinelake-lrs statement 00000000-0000-4000-8000-000000000006:6",
     "unknown course 'https://LRS.pinelake.example/activities/wellness-seminar'"),
]


@pytest.mark.parametrize("more_style", ["absolute", "relative", "empty"])
def test_first_pull_maps_statements_exactly(team_ledger, more_style):
    """Completed and passed become completions (dates in Chicago, hours from the extension),
    failed is kept without credit, unknown learners and activities are held, other verbs are
    skipped; pages are followed through 'more' in its several forms; counts add up."""
    lrs = MemoryLRS(more_style=more_style, version_header=more_style != "empty")
    lrs.load(xs.FIRST)
    with LocalServer(lrs) as server:
        result = pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), now=NOW)
    assert records(team_ledger) == FIRST_RECORDS
    assert [(h.origin, h.reason) for h in team_ledger.held()] == FIRST_HELD
    c = result.batch.counts
    assert (c.rows_read, c.imported, c.not_completed, c.duplicates, c.rejected, c.unmatched) == (7, 4, 1, 0, 0, 3)
    assert (result.fetched, result.skipped, result.voiding, result.requests) == (8, 1, 0, 3)
    assert result.cursor_before is None
    assert result.cursor_after == "2026-11-20T08:00:08.000123+00:00" == team_ledger.cursor("xapi:pinelake-lrs")
    assert [r.query.get("since") for r in server.log] == [None, None, None]
    assert server.log[0].query["ascending"] == "true"
    assert "verb" not in server.log[0].query  # verbs are filtered here, not by the LRS
    completions = {c.id: c for c in team_ledger.completions()}
    assert completions["PL-01/pinelake-wellness/2025-03-04"].source.endswith("000000000001")


def test_second_pull_fetches_only_new_statements_and_voids(team_ledger):
    """The second pull asks for statements since the cursor, imports the new completion (learner
    by mbox_sha1sum), and the voiding statement retracts the QPR record; a third pull finds
    nothing new and stores no batch."""
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    catalogue = catalogue_with_lrs_courses()
    with LocalServer(lrs) as server:
        pull_xapi(team_ledger, xapi_source(server.url), catalogue, now=NOW)
        lrs.load(xs.second())
        del server.log[:]
        result = pull_xapi(team_ledger, xapi_source(server.url), catalogue, now=NOW)
        assert [r.query.get("since") for r in server.log] == ["2026-11-20T08:00:08.000123+00:00"]
        third = pull_xapi(team_ledger, xapi_source(server.url), catalogue, now=NOW)
    assert records(team_ledger) == [
        ("PL-01/pinelake-wellness/2025-03-04", None, "01"),
        ("PL-02/icisf-gci/2025-02-10", Decimal("13.5"), "02"),
        ("PL-03/asist/2025-05-01", None, "10"),
        ("PL-03/pinelake-wellness/2025-04-01/failed", None, "03"),
    ]
    c = result.batch.counts
    assert (c.rows_read, c.imported, c.duplicates, c.unmatched, c.retracted) == (1, 1, 0, 0, 1)
    assert (result.fetched, result.voiding) == (2, 1)
    assert team_ledger.retracted_record_ids(result.batch.id) == ["00000000-0000-4000-8000-000000000008"]
    assert result.cursor_after == "2026-11-20T08:00:10.000123+00:00"
    assert third.batch is None
    assert third.fetched == 0
    assert len(team_ledger.batches()) == 2


def test_pulling_the_same_statements_again_imports_nothing_twice(team_ledger):
    """With the cursor lost (an LRS that ignores 'since'), the same statements are duplicates and
    the held rows stay held once."""
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    with LocalServer(lrs) as server:
        pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), now=NOW)
        team_ledger._db.execute("DELETE FROM cursors")
        again = pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), now=NOW)
    c = again.batch.counts
    assert (c.rows_read, c.imported, c.duplicates, c.unmatched) == (7, 0, 7, 0)
    assert records(team_ledger) == FIRST_RECORDS
    assert len(team_ledger.held()) == 3


def test_an_inclusive_since_does_not_count_the_last_statement_twice(team_ledger):
    """An LRS that answers 'since' inclusively sends the last pulled statement again: it is
    skipped here, not counted as a duplicate row."""
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)

    def inclusive(request):
        if "since" in request.query:
            since = dt.datetime.fromisoformat(request.query["since"])
            page = [s for s in lrs.statements if dt.datetime.fromisoformat(s["stored"]) >= since]
            return Reply(200, {"statements": page})
        return lrs(request)

    with LocalServer(inclusive) as server:
        pull_xapi(team_ledger, xapi_source(server.url, page_size=100), catalogue_with_lrs_courses(), now=NOW)
        again = pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), now=NOW)
    assert again.batch is None
    assert (again.fetched, again.skipped) == (1, 1)


def test_held_statements_are_matched_later_by_rematch(team_ledger):
    """A held statement keeps what rematch needs: once the catalogue knows the activity's IRI,
    'rematch' turns it into a record of its batch."""
    from peertrain.imports.importer import rematch

    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    with LocalServer(lrs) as server:
        pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), now=NOW)
    firearms = Course(id="pinelake-firearms", title="Firearms Qualification - Handgun", provider="Pine Lake PD",
                      hours=Decimal(2), aliases=["https://lrs.pinelake.example/activities/firearms"])
    result = rematch(team_ledger, catalogue_with_lrs_courses().merged(Catalogue([firearms])))
    assert (result["imported"], result["unmatched"]) == (1, 2)
    assert "PL-01/pinelake-firearms/2025-04-03" in {r.id for r, _ in team_ledger.records()}


def test_statements_that_cannot_be_read_are_rejected_with_a_reason(team_ledger):
    """A statement with no learner identifier, a group as actor, an unreadable time or a bad
    hours value is rejected (field and reason), not dropped; the others still import."""
    bad = [
        xs.statement(21, xs.COMPLETED, {"objectType": "Agent", "name": "Nobody"}, xs.WELLNESS,
                     timestamp="2025-01-01T00:00:00Z"),
        xs.statement(22, xs.COMPLETED, {"objectType": "Group", "member": []}, xs.WELLNESS,
                     timestamp="2025-01-01T00:00:00Z"),
        xs.statement(23, xs.COMPLETED, xs.DANA, xs.WELLNESS, timestamp="yesterday"),
        xs.statement(24, xs.COMPLETED, xs.DANA, xs.WELLNESS, timestamp="2025-01-01T00:00:00Z",
                     extensions={xs.HOURS: "lots"}),
        xs.statement(25, xs.COMPLETED, xs.DANA, xs.WELLNESS, timestamp="2025-01-02T00:00:00Z"),
    ]
    lrs = MemoryLRS()
    lrs.load(bad)
    lrs.statements[2]["stored"] = "not a time either"  # then 'stored' cannot stand in for the timestamp
    lrs.statements.append(lrs.statements.pop(2))  # keep the sort order of stored times for the others
    with LocalServer(lrs) as server:
        result = pull_xapi(team_ledger, xapi_source(server.url, page_size=10), catalogue_with_lrs_courses(), now=NOW)
    rejected = [(row.field, row.reason) for _, row in team_ledger.rejected()]
    assert rejected == [
        ("actor", "the actor has no mbox, mbox_sha1sum or account"),
        ("actor", "the actor is a group, not one learner"),
        ("result.extensions", "'lots' in the hours extension is not a number"),
        ("timestamp", "'yesterday' is not an ISO 8601 time"),
    ]
    assert (result.batch.counts.rejected, result.batch.counts.imported) == (4, 1)
    assert [r.id for r, _ in team_ledger.records()] == ["PL-01/pinelake-wellness/2025-01-01"]


def test_catalogue_matches_iris_exactly_and_names_loosely():
    """An IRI alias matches only the same IRI (spaces around it aside); titles ignore case."""
    catalogue = catalogue_with_lrs_courses()
    assert catalogue.find(f"  {xs.WELLNESS} ").id == "pinelake-wellness"
    assert catalogue.find(xs.WELLNESS.upper()) is None
    assert catalogue.find(xs.WELLNESS + "/") is None
    assert catalogue.find("officer  WELLNESS and resilience seminar").id == "pinelake-wellness"
    assert load_bundled_catalogue().find("urn:x-course:gci") is None
