"""Agencies in any ledger (schema 5): ``ledger init --agency``, ``ledger agency add|list``,
``ledger transfer``, the ``transfers`` table, and the migration of older ledgers to it, on a ledger
file and on PostgreSQL (connected as its administrator). Keeping agencies apart by database role
is :mod:`test_consortium`'s.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tempfile
from pathlib import Path

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peertrain.cli import main
from peertrain.ledger import Agency, LedgerError, NoticeDraft, Record, Transfer, UnmatchedRow, open_ledger
from peertrain.ledger._pgconnect import connect
from peertrain.ledger._pgschema import MIGRATIONS as PG_MIGRATIONS
from peertrain.ledger.sqlite import MIGRATIONS
from peertrain.rules.loading import curricula_dir
from peertrain.rules.model import Member

ROSTER = curricula_dir() / "demo" / "roster.csv"
WHEN = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def ledger_at(new_location, capsys):
    """A ledger made by 'ledger init --agency pinelake' with the demo roster, and agency 'cedar'."""
    location = new_location("team.db")
    status, out, _ = cli(capsys, "ledger", "init", location, "--timezone", "America/Chicago", "--roster", ROSTER,
                         "--agency", "pinelake", "--agency-name", "Pine Lake PD")
    assert (status, out) == (
        0, f"Created {location} (time zone America/Chicago, agency pinelake) with 12 member(s).\n",
    )
    assert cli(capsys, "ledger", "agency", "add", "cedar", "--name", "Cedar County SO", "--ledger", location) == (
        0, f"Added agency cedar (Cedar County SO) to {location}.\n", "",
    )
    return location


def test_init_names_the_agency_every_row_is_written_as(ledger_at, capsys):
    """The roster's members, a batch and its held row all belong to the agency init named."""
    with open_ledger(ledger_at) as ledger:
        assert ledger.agencies() == [Agency("cedar", "Cedar County SO"), Agency("pinelake", "Pine Lake PD")]
        assert ledger.agency() == "pinelake"
        assert set(ledger.member_agencies().values()) == {"pinelake"}
        assert len(ledger.member_agencies()) == 12
    status, out, _ = cli(capsys, "ledger", "agency", "list", "--ledger", ledger_at)
    assert (status, out) == (0, (
        "cedar                     0 member(s)  Cedar County SO\n"
        "pinelake                 12 member(s)  Pine Lake PD  (writes as)\n"
    ))


def test_adding_an_agency_twice_or_a_bad_id_is_refused(ledger_at, capsys):
    """An agency id is added once; ids are letters, digits, '.', '_' and '-'."""
    status, _, err = cli(capsys, "ledger", "agency", "add", "cedar", "--ledger", ledger_at)
    assert (status, err.rstrip().rpartition(": ")[2]) == (2, "agency 'cedar' already exists")
    with pytest.raises(SystemExit):
        main(["ledger", "agency", "add", "no spaces", "--ledger", str(ledger_at)])
    assert "is not an agency id" in capsys.readouterr().err
    with open_ledger(ledger_at) as ledger:
        with pytest.raises(ValueError, match="'-x' is not an agency id"):
            ledger.add_agency("-x", "")
        with pytest.raises(LedgerError, match="the ledger's agency can only be named while it is empty"):
            ledger.name_agency("other", "")


def draft(member: str) -> NoticeDraft:
    return NoticeDraft(
        key=f"member:{member}", kind="member", agency="", member=member, requirement="qpr",
        deadline=dt.date(2026, 12, 1), stage="30", recipient=f"{member}@example.org", subject="QPR due",
        message_id=f"<{member}@peertrain>",
    )


def held_for(email: str) -> UnmatchedRow:
    values = {"email": email, "portal_user_id": None, "course_title": "Firearms"}
    return UnmatchedRow("f.csv", 2, "unknown course 'Firearms'", values, f"fp-{email}")


def test_transfer_moves_a_member_with_records_held_rows_and_notices(ledger_at, capsys):
    """PL-04 moves to cedar with their record and the held row naming them; others stay; the
    move is one row of 'transfers'; moving again, to an unknown agency or an unknown member fails."""
    with open_ledger(ledger_at) as ledger:
        ledger.import_batch(
            source="s", profile="p", file_name="f.csv", file_hash="h", imported_at=WHEN,
            rows=[
                Record("PL-04", "qpr", dt.date(2025, 2, 3), "completed", None, None, None, None, "f.csv:1"),
                Record("PL-01", "qpr", dt.date(2025, 2, 3), "completed", None, None, None, None, "f.csv:2"),
                held_for("tom.baker@pinelake.example"), held_for("dana.whitfield@pinelake.example"),
            ],
        )
        for member in ("PL-01", "PL-04"):
            ledger.begin_notice(draft(member), b"message", WHEN)
    status, out, err = cli(capsys, "ledger", "transfer", "PL-04", "--to", "cedar", "--ledger", ledger_at)
    assert (status, out, err) == (0, "Moved member PL-04 from agency pinelake to cedar (transfer 1).\n", "")
    with open_ledger(ledger_at) as ledger:
        agencies = ledger.member_agencies()
        assert agencies["PL-04"] == "cedar"
        assert sorted(agencies.values()).count("pinelake") == 11
        assert ledger.transfers() == [Transfer(1, "PL-04", "pinelake", "cedar", ledger.transfers()[0].at)]
        assert [r.member for r, _ in ledger.records("PL-04")] == ["PL-04"]  # records belong to their member
        with pytest.raises(LedgerError, match="member 'PL-04' is already in agency 'cedar'"):
            ledger.transfer("PL-04", "cedar", WHEN)
        with pytest.raises(LedgerError, match="no agency 'riverbend'"):
            ledger.transfer("PL-04", "riverbend", WHEN)
        with pytest.raises(LedgerError, match="no member 'XX-99'"):
            ledger.transfer("XX-99", "cedar", WHEN)
        assert len(ledger.transfers()) == 1
    held = {json.loads(p)["email"]: a for p, a in read(ledger_at, "SELECT payload, agency_id FROM {}held")}
    assert held == {"dana.whitfield@pinelake.example": "pinelake", "tom.baker@pinelake.example": "cedar"}
    notices = read(ledger_at, "SELECT member_id, agency_id FROM {}notices ORDER BY member_id")
    assert notices == [("PL-01", "pinelake"), ("PL-04", "cedar")]


def read(location: Path | str, query: str) -> list[tuple[str, str]]:
    """The rows of a query (``{}`` before each table name), read from the database directly."""
    if isinstance(location, Path):
        return sqlite3.connect(location).execute(query.format("")).fetchall()
    db, _ = connect(location)
    with db:
        return db.execute(query.format("peertrain.")).fetchall()


def test_a_ledger_file_has_no_roles_to_grant(tmp_path, capsys):
    """'ledger grant' on a file is refused, with or without --print."""
    path = tmp_path / "team.db"
    assert main(["ledger", "init", str(path), "--timezone", "UTC"]) == 0
    capsys.readouterr()
    for extra in ([], ["--print"]):
        status, out, err = cli(capsys, "ledger", "grant", "coord", "--agency", "local", "--ledger", path, *extra)
        assert (status, out) == (2, "")
        assert err == (
            f"peertrain: error: {path}: a ledger file has no database roles; roles are a PostgreSQL ledger's "
            "(docs/consortium.md)\n"
        )


def test_a_schema_4_file_migrates_to_one_local_agency(tmp_path):
    """An older ledger file's rows all belong to the agency 'local' after migrating; its cursor
    survives the new cursors table (keyed by agency and source)."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:4]:
        db.executescript(script)
    db.execute("INSERT INTO meta VALUES ('timezone', 'UTC')")
    db.execute("INSERT INTO members (id, name, roles, functions) VALUES ('M1', 'One', '[]', '[]')")
    db.execute("INSERT INTO cursors VALUES ('xapi:lrs', 'pos-1', '2025-01-01T00:00:00+00:00')")
    db.execute("PRAGMA application_id = 1347703374")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    with open_ledger(path) as ledger:
        assert ledger.schema_version() == len(MIGRATIONS)
        assert ledger.agencies() == [Agency("local", "")]
        assert ledger.member_agencies() == {"M1": "local"}
        assert ledger.cursor("xapi:lrs") == "pos-1"


def test_a_schema_4_database_migrates_with_row_level_security(pg_cluster):
    """An older PostgreSQL ledger migrates in place: its member and cursor belong to 'local', the
    migrating role is the administrator, and the agency tables have row-level security forced."""
    database = pg_cluster.create_database()
    with psycopg.connect(host=str(pg_cluster.root), port=pg_cluster.port, user=pg_cluster.user, dbname=database,
                         autocommit=True) as db:
        db.execute("CREATE SCHEMA peertrain")
        db.execute("SET search_path = peertrain")
        db.execute("CREATE TABLE ledger_version (version integer NOT NULL)")
        db.execute("INSERT INTO ledger_version VALUES (4)")
        for script in PG_MIGRATIONS[:4]:
            for statement in (s.strip() for s in script.split(";") if s.strip()):
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('timezone', 'UTC')")
        db.execute("INSERT INTO members (id, name, roles, functions) VALUES ('M1', 'One', '[]', '[]')")
        db.execute("INSERT INTO cursors VALUES ('xapi:lrs', 'pos-1', now())")
    with open_ledger(pg_cluster.url(database)) as ledger:
        assert ledger.schema_version() == len(PG_MIGRATIONS)
        assert ledger.agencies() == [Agency("local", "")]
        assert ledger.member_agencies() == {"M1": "local"}
        assert ledger.cursor("xapi:lrs") == "pos-1"
    with psycopg.connect(host=str(pg_cluster.root), port=pg_cluster.port, user=pg_cluster.user, dbname=database,
                         autocommit=True) as db:
        forced = db.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'peertrain'::regnamespace AND relrowsecurity "
            "AND relforcerowsecurity ORDER BY relname"
        ).fetchall()
        assert [r[0] for r in forced] == [
            "batches", "cursors", "evidence", "held", "journal", "members", "meta", "notices", "records", "rejected",
            "submission_events", "submissions", "transfers",
        ]
        assert db.execute("SELECT role, kind FROM peertrain.roles").fetchall() == [("postgres", "administrator")]


@settings(max_examples=25)
@given(moves=st.lists(st.tuples(st.sampled_from(["M1", "M2", "M3"]), st.sampled_from(["a", "b", "c"])),
                      max_size=12))
def test_any_sequence_of_transfers_leaves_each_member_where_their_last_move_took_them(moves):
    """Whatever moves are asked for, each member ends in the agency of their last successful move
    (a move to where they are is refused and changes nothing), every successful move is one row of
    'transfers' in order, and no record is lost or gained."""
    with tempfile.TemporaryDirectory() as folder, open_ledger(Path(folder) / "t.db", create_timezone="UTC") as ledger:
        ledger.name_agency("a", "")
        for agency in ("b", "c"):
            ledger.add_agency(agency, "")
        ledger.put_members([Member(id=m, name=m) for m in ("M1", "M2", "M3")])
        ledger.import_batch(
            source="s", profile="p", file_name="f", file_hash="h", imported_at=WHEN,
            rows=[Record(m, "qpr", dt.date(2025, 1, 1), "completed", None, None, None, None, "f:1")
                  for m in ("M1", "M2", "M3")],
        )
        where = dict.fromkeys(("M1", "M2", "M3"), "a")
        done = []
        for member, to in moves:
            if where[member] == to:
                with pytest.raises(LedgerError, match="is already in agency"):
                    ledger.transfer(member, to, WHEN)
                continue
            ledger.transfer(member, to, WHEN)
            done.append((member, where[member], to))
            where[member] = to
        assert ledger.member_agencies() == where
        assert [(t.member, t.from_agency, t.to_agency) for t in ledger.transfers()] == done
        assert len(list(ledger.records())) == 3
