"""A consortium's ledger on PostgreSQL: agencies kept apart by the database itself.

Each test builds a ledger owned by an ordinary role (the administrator) with two agencies, Pine Lake
(``pinelake``) and Cedar County (``cedar``), whose coordinators' roles loaded their own part of the
demo roster and imported the same portal transcript (Cedar also a file with a rejected row), and a
consortium role ``state``. Every role connects as itself, never as a superuser or the tables'
owner-without-FORCE, so what it sees is what row-level security lets it see.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from consortium import PASSWORD_VARIABLE, Consortium, roster_of
from peertrain.cli import main
from peertrain.ledger import Agency, LedgerError, NoticeDraft, Record, open_ledger
from peertrain.ledger._pgschema import MIGRATIONS as PG_MIGRATIONS
from peertrain.rules.loading import data_dir
from peertrain.rules.model import Member

COPS_CSV = data_dir() / "integrations" / "samples" / "cops-portal-transcript.csv"
HEADER = (
    "Learner Name,Email,Agency,Course Title,Course ID,Enrollment Date,Completion Date,Status,"
    "Credit Hours,Certificate Number\r\n"
)
#: Cedar's own file: one new record of CC-01, one row with an impossible date (rejected), one
#: unknown person (held).
CEDAR_CSV = HEADER + (
    "Lisa Hartmann,lhartmann@cedarcounty.example,Cedar County SO,QPR,PS-QPR-2025-07,07/01/2025,07/01/2025,"
    "Completed,1,QPR-25-1001\r\n"
    "Ben Carlsson,bcarlsson@cedarcounty.example,Cedar County SO,QPR,PS-QPR-2025-07,07/01/2025,13/45/2025,"
    "Completed,1,QPR-25-1002\r\n"
    "Ann Stranger,ann.stranger@cedarcounty.example,Cedar County SO,QPR,PS-QPR-2025-07,07/01/2025,07/02/2025,"
    "Completed,1,QPR-25-1003\r\n"
)
PINE_LAKE = {f"PL-{n:02d}" for n in range(1, 11)}
CEDAR = {"CC-01", "CC-02"}
#: What each role sees: members, records, batch ids, held rows, rejected rows.
SEEN = {
    "pinelake": (PINE_LAKE, 10, [1], 5, 0),
    "cedar": (CEDAR, 3, [2, 3], 14, 1),
    "state": (PINE_LAKE | CEDAR, 13, [1, 2, 3], 19, 1),
    "admin": (PINE_LAKE | CEDAR, 13, [1, 2, 3], 19, 1),
}


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """``peertrain argv...`` in-process: (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def consortium(pg_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Consortium:
    """The two agencies' ledger, each coordinator's roster and imports made through the CLI as
    that coordinator's role."""
    con = Consortium(pg_cluster, ("pinelake", "cedar", "state"))
    con.create("pinelake", ("cedar",))
    cedar_csv = tmp_path / "cedar.csv"
    cedar_csv.write_text(CEDAR_CSV, encoding="utf-8")
    for agency, name, files in (
        ("pinelake", "Pine Lake PD", [COPS_CSV]), ("cedar", "Cedar County SO", [COPS_CSV, cedar_csv]),
    ):
        assert main(["ledger", "roster", str(roster_of(name, tmp_path)), "--ledger", con.url(agency)]) == 0
        for file in files:
            assert main(["import", "--profile", "cops-portal-csv", "--ledger", con.url(agency), str(file)]) == 0
    capsys.readouterr()
    return con


def seen(con: Consortium, who: str) -> tuple[set[str], int, list[int], int, int]:
    with open_ledger(con.url(who)) as ledger:
        return (
            {m.id for m in ledger.members()}, len(list(ledger.records())), [b.id for b in ledger.batches()],
            len(ledger.held()), len(ledger.rejected()),
        )


def sql(con: Consortium, who: str, statement: str) -> list[tuple[object, ...]]:
    """Run one statement as a role, directly (no peertrain in between); its rows."""
    password = os.environ[PASSWORD_VARIABLE]
    with psycopg.connect(
        host="127.0.0.1", port=con.cluster.port, dbname=con.database, user=con.role(who), password=password,
        autocommit=True,
    ) as db:
        cursor = db.execute(statement)
        return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]


def test_each_agency_sees_only_its_own_and_the_consortium_all(consortium):
    """Through the API, each coordinator sees exactly its agency's members, records, batches, held
    and rejected rows; the consortium role and the administrator see both agencies'."""
    for who, expected in SEEN.items():
        assert seen(consortium, who) == expected, who
    with open_ledger(consortium.url("pinelake")) as ledger:
        assert {r.member for r, _ in ledger.records()} <= PINE_LAKE
        assert ledger.agency() == "pinelake"
        assert ledger.agencies() == [Agency("cedar", "Cedar"), Agency("pinelake", "Pinelake")]
        assert ledger.member_agencies() == dict.fromkeys(sorted(PINE_LAKE), "pinelake")
        assert [c.id for c in ledger.completions()] == [r.id for r, _ in ledger.records() if r.status == "completed"]
    with open_ledger(consortium.url("cedar")) as ledger:
        assert [(b, r.row, r.field) for b, r in ledger.rejected()] == [(3, 3, "completed_on")]
        assert ledger.batches()[1].counts.rejected == 1


def test_counting_directly_in_sql_finds_nothing_of_the_other_agency(consortium):
    """Even in plain SQL, a coordinator's counts cover its own agency only: row-level security is
    the database's, not a filter of peertrain's."""
    counts = (
        "SELECT (SELECT count(*) FROM peertrain.members), (SELECT count(*) FROM peertrain.records), "
        "(SELECT count(*) FROM peertrain.batches), (SELECT count(*) FROM peertrain.held), "
        "(SELECT count(*) FROM peertrain.rejected), (SELECT count(*) FROM peertrain.records "
        "WHERE member_id LIKE 'CC-%'), (SELECT count(*) FROM peertrain.meta WHERE key LIKE 'retracted:%')"
    )
    assert sql(consortium, "pinelake", counts) == [(10, 10, 1, 5, 0, 0, 0)]
    assert sql(consortium, "cedar", counts) == [(2, 3, 2, 14, 1, 3, 0)]
    assert sql(consortium, "state", counts) == [(12, 13, 3, 19, 1, 3, 0)]


def test_an_agency_cannot_change_retract_or_rematch_the_others_rows(consortium):
    """Pine Lake's coordinator can neither retract Cedar's batch, resolve its held rows, take over
    its members, move members, add agencies or grant roles; Cedar's rows are untouched after."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with open_ledger(consortium.url("pinelake")) as ledger:
        with pytest.raises(LedgerError, match=r": no batch 2$"):
            ledger.retract(2, when)
        record = Record("PL-01", "qpr", dt.date(2025, 2, 3), "completed", None, None, None, None, "x")
        with pytest.raises(LedgerError, match=r"^no held row 6$"):
            ledger.resolve(6, record)
        with pytest.raises(LedgerError, match="'CC-01': member id, email or portal user id is already"):
            ledger.put_members([Member(id="CC-01", name="Taken Over")])
        with pytest.raises(LedgerError, match="only the ledger's administrator can move a member"):
            ledger.transfer("PL-01", "cedar", when)
        with pytest.raises(LedgerError, match=r": no member 'CC-01'$"):
            ledger.transfer("CC-01", "pinelake", when)
        with pytest.raises(LedgerError, match="only the ledger's administrator can add an agency"):
            ledger.add_agency("riverbend", "Riverbend PD")
        with pytest.raises(LedgerError, match="only the ledger's administrator can grant roles"):
            ledger.grant(consortium.role("pinelake"), "cedar")
    assert seen(consortium, "cedar") == SEEN["cedar"]
    assert seen(consortium, "pinelake") == SEEN["pinelake"]


@pytest.mark.parametrize(
    ("statement", "refused"),
    [
        ("UPDATE peertrain.members SET name = 'X' WHERE id = 'CC-01'", None),
        ("DELETE FROM peertrain.records WHERE member_id LIKE 'CC-%'", None),
        ("DELETE FROM peertrain.held WHERE batch_id = 2", None),
        ("UPDATE peertrain.batches SET retracted_at = now() WHERE id = 2", None),
        ("UPDATE peertrain.members SET agency_id = 'cedar' WHERE id = 'PL-01'", "row-level security"),
        ("INSERT INTO peertrain.members (id, name, roles, functions, agency_id) "
         "VALUES ('PL-99', 'X', '[]', '[]', 'cedar')", "row-level security"),
        ("INSERT INTO peertrain.batches (source, profile, file_name, file_hash, imported_at, agency_id) "
         "VALUES ('s', 'p', 'f', 'h', now(), 'cedar')", "row-level security"),
        ("INSERT INTO peertrain.meta (key, value) VALUES ('retracted:2', '[]')", "row-level security"),
        ("INSERT INTO peertrain.records (id, batch_id, member_id, course_id, status, source, origin) "
         "VALUES ('CC-01/x/undated/failed', 1, 'CC-01', 'x', 'failed', 's', 'o')", "row-level security"),
        ("UPDATE peertrain.roles SET agency_id = 'cedar'", "permission denied"),
        ("UPDATE peertrain.meta SET value = 'cedar' WHERE key = 'agency'", "permission denied"),
        ("INSERT INTO peertrain.transfers (member_id, from_agency, to_agency, at) "
         "VALUES ('PL-01', 'pinelake', 'cedar', now())", "permission denied"),
    ],
)
def test_plain_sql_as_an_agency_changes_nothing_of_another(consortium, statement, refused):
    """Statements a coordinator might type in psql: those aimed at Cedar's rows find none (0 rows
    changed); writing a row as Cedar, or changing the role map, is refused by the database."""
    if refused is None:
        assert sql(consortium, "pinelake", statement) == [(0,)]
    else:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refused):
            sql(consortium, "pinelake", statement)
    assert seen(consortium, "state") == SEEN["state"]


def test_the_consortium_role_reads_all_and_writes_nothing(consortium, capsys):
    """The consortium role can list every batch but not retract one, add a member, or import."""
    with open_ledger(consortium.url("state")) as ledger:
        with pytest.raises(LedgerError, match="the ledger's database refused: permission denied for table"):
            ledger.retract(1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        with pytest.raises(LedgerError, match="the ledger's database refused: permission denied for table members"):
            ledger.put_members([Member(id="ST-01", name="State")])
    state = consortium.url("state")
    status, _, err = cli(capsys, "import", "--profile", "cops-portal-csv", "--ledger", state, COPS_CSV)
    assert status == 2
    assert "the ledger's database refused: permission denied for table batches" in err
    assert seen(consortium, "state") == SEEN["state"]


def test_the_commands_as_one_agency_show_only_its_rows(consortium, capsys, tmp_path):
    """ledger batches/held/rejects/retract/rematch, check and report with Pine Lake's URL show and
    touch Pine Lake's rows only; Cedar's rejects are Cedar's."""
    pine = consortium.url("pinelake")
    status, out, _ = cli(capsys, "ledger", "batches", "--ledger", pine)
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["1"]
    status, out, _ = cli(capsys, "ledger", "held", "--ledger", pine)
    assert (status, out.splitlines()[-1]) == (0, "5 row(s) held as unmatched.")
    assert all(line.split()[2] == "1" for line in out.splitlines()[:-1])
    assert cli(capsys, "ledger", "rejects", "--ledger", pine) == (0, "batch,file,row,field,reason,cells\r\n", "")
    status, out, _ = cli(capsys, "ledger", "rejects", "--ledger", consortium.url("cedar"))
    assert (status, len(out.splitlines())) == (0, 2)
    status, out, err = cli(capsys, "ledger", "retract", "3", "--ledger", pine)
    assert (status, out) == (2, "")
    assert err.endswith(": no batch 3\n")
    status, out, _ = cli(capsys, "ledger", "rematch", "--ledger", pine)
    assert (status, out) == (0, "Held rows: 0 now imported, 0 duplicate, 5 still unmatched.\n")
    status, out, _ = cli(capsys, "check", "--ledger", pine, "--rules", "example-agency", "--as-of", "2026-11-15")
    assert status in (0, 1)
    listed = {line.split()[0] for line in out.splitlines() if line[:3] in ("PL-", "CC-")}
    assert listed == PINE_LAKE
    report = tmp_path / "report.json"
    status, _, _ = cli(capsys, "report", "--ledger", pine, "--rules", "example-agency", "--as-of", "2026-11-15",
                       "-o", report)
    assert status == 0
    text = report.read_text(encoding="utf-8")
    assert "CC-01" not in text
    assert "Cedar" not in text
    assert all(member in text for member in PINE_LAKE)
    assert seen(consortium, "cedar") == SEEN["cedar"]


def test_pine_lake_can_retract_its_own_batch_and_cedar_keeps_its_own(consortium, capsys):
    """A coordinator's retraction removes its batch's rows, none of the other agency's."""
    status, out, _ = cli(capsys, "ledger", "retract", "1", "--ledger", consortium.url("pinelake"))
    assert (status, out) == (0, "Retracted batch 1 (cops-portal-transcript.csv): 10 record(s) removed.\n")
    assert seen(consortium, "pinelake") == (PINE_LAKE, 0, [1], 0, 0)
    assert seen(consortium, "cedar") == SEEN["cedar"]


def draft(member: str) -> NoticeDraft:
    """A notice to ``member``."""
    return NoticeDraft(
        key=f"member:{member}:qpr:due:2026-12-01:30", kind="member", agency="", member=member, requirement="qpr",
        deadline=dt.date(2026, 12, 1), stage="30", recipient=f"{member}@example.org", subject="QPR due",
        message_id=f"<{member}@peertrain>",
    )


def test_cursors_and_notices_are_kept_apart(consortium):
    """Two agencies pulling one source keep a cursor each; each sees only its own notices."""
    when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for agency, member, position in (("pinelake", "PL-01", "p1"), ("cedar", "CC-01", "c7")):
        with open_ledger(consortium.url(agency)) as ledger:
            ledger.import_batch(
                source="shared-lrs", profile="xapi", file_name="pull", file_hash=position, imported_at=when, rows=[],
                cursor=("shared-lrs", position),
            )
            assert ledger.begin_notice(draft(member), b"message", when) is not None
    for agency, member, position in (("pinelake", "PL-01", "p1"), ("cedar", "CC-01", "c7")):
        with open_ledger(consortium.url(agency)) as ledger:
            assert ledger.cursor("shared-lrs") == position
            assert [n.draft.member for n in ledger.notices()] == [member]
            assert list(ledger.notice_states()) == [draft(member).key]
    with open_ledger(consortium.url("state")) as ledger:
        assert sorted(n.draft.member for n in ledger.notices()) == ["CC-01", "PL-01"]


def test_the_administrator_moves_a_member_with_their_history(consortium, capsys):
    """'ledger transfer PL-04 --to cedar' moves Tom Baker, his records (1) and his notice from Pine
    Lake to Cedar in one step, recorded for both; Pine Lake's held row naming him (an unknown
    course) goes too, kept once: Cedar held the same row of the same file already."""
    when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with open_ledger(consortium.url("pinelake")) as ledger:
        ledger.begin_notice(draft("PL-04"), b"message", when)
        assert len([r for r, _ in ledger.records("PL-04")]) == 1
    status, out, err = cli(capsys, "ledger", "transfer", "PL-04", "--to", "cedar", "--ledger", consortium.url("admin"))
    assert (status, out, err) == (0, "Moved member PL-04 from agency pinelake to cedar (transfer 1).\n", "")
    assert seen(consortium, "pinelake") == (PINE_LAKE - {"PL-04"}, 9, [1], 4, 0)
    assert seen(consortium, "cedar") == (CEDAR | {"PL-04"}, 4, [2, 3], 14, 1)
    assert seen(consortium, "state") == (PINE_LAKE | CEDAR, 13, [1, 2, 3], 18, 1)
    for agency in ("pinelake", "cedar", "state"):
        with open_ledger(consortium.url(agency)) as ledger:
            moved = ledger.transfers()
            assert [(t.id, t.member, t.from_agency, t.to_agency) for t in moved] == [(1, "PL-04", "pinelake", "cedar")]
            notices = [n.draft.member for n in ledger.notices()]
            assert notices == ([] if agency == "pinelake" else ["PL-04"])
    with open_ledger(consortium.url("cedar")) as ledger:
        assert [r.course for r, _ in ledger.records("PL-04")] == ["qpr"]
        assert ledger.member_agencies()["PL-04"] == "cedar"
    admin = consortium.url("admin")
    status, _, err = cli(capsys, "ledger", "transfer", "PL-04", "--to", "cedar", "--ledger", admin)
    assert (status, err.rstrip().rpartition(": ")[2]) == (2, "member 'PL-04' is already in agency 'cedar'")
    status, _, err = cli(capsys, "ledger", "transfer", "PL-04", "--to", "riverbend", "--ledger", admin)
    assert (status, err.rstrip().rpartition(": ")[2]) == (2, "no agency 'riverbend'")


def test_a_coordinator_cannot_transfer_through_the_cli(consortium, capsys):
    """As Pine Lake's role, 'ledger transfer' is refused and nothing moves."""
    pine = consortium.url("pinelake")
    status, out, err = cli(capsys, "ledger", "transfer", "PL-04", "--to", "cedar", "--ledger", pine)
    assert (status, out) == (2, "")
    assert err.endswith("only the ledger's administrator can move a member between agencies\n")
    assert seen(consortium, "pinelake") == SEEN["pinelake"]
    assert seen(consortium, "cedar") == SEEN["cedar"]


def test_agency_list_and_grant_print(consortium, capsys):
    """'agency list' shows each agency with the members the role sees; 'grant --print' writes the
    SQL without connecting (a URL whose password variable is unset still works)."""
    status, out, _ = cli(capsys, "ledger", "agency", "list", "--ledger", consortium.url("cedar"))
    assert (status, out.split("\n")) == (0, [
        "cedar                     2 member(s)  Cedar  (writes as)",
        "pinelake                  0 member(s)  Pinelake",
        "",
    ])
    status, out, _ = cli(capsys, "ledger", "agency", "list", "--ledger", consortium.url("state"))
    assert [line.split()[:2] for line in out.splitlines()] == [["cedar", "2"], ["pinelake", "10"]]
    url = consortium.url("admin").replace("password=env:", "password=env:UNSET_")
    status, out, _ = cli(capsys, "ledger", "grant", "coord_x", "--agency", "cedar", "--ledger", url, "--print")
    lines = out.splitlines()
    assert status == 0
    assert lines[0] == 'REVOKE ALL ON ALL TABLES IN SCHEMA "peertrain" FROM "coord_x";'
    assert 'GRANT INSERT, DELETE ON "peertrain"."records" TO "coord_x";' in lines
    assert lines[-1].startswith(
        """INSERT INTO "peertrain"."roles" (role, agency_id, kind) VALUES ('coord_x', 'cedar', 'agency')"""
    )
    status, out, _ = cli(capsys, "ledger", "grant", "reader", "--consortium", "--ledger", url, "--print")
    assert not [line for line in out.splitlines() if "INSERT," in line or "UPDATE" in line.split(" ON ")[0]]
    admin = consortium.url("admin")
    status, _, err = cli(capsys, "ledger", "grant", "nobody_here", "--agency", "cedar", "--ledger", admin)
    assert status == 2
    assert "no database role 'nobody_here'" in err
    status, _, err = cli(capsys, "ledger", "grant", consortium.role("admin"), "--consortium", "--ledger", admin)
    assert (status, err.rstrip().rpartition(": ")[2]) == (
        2, f"role '{consortium.role('admin')}' is the ledger's administrator; it keeps that",
    )


def test_a_new_coordinator_role_granted_by_the_cli_sees_its_agency(consortium, capsys):
    """The administrator's steps: CREATE ROLE (the database's), 'agency add', 'grant': the new
    role then sees its (empty) agency only."""
    consortium.add_role("river", os.environ[PASSWORD_VARIABLE])
    admin = consortium.url("admin")
    assert cli(capsys, "ledger", "agency", "add", "river", "--name", "Riverbend PD", "--ledger", admin)[:2] == (
        0, f"Added agency river (Riverbend PD) to {admin}.\n",
    )
    status, out, _ = cli(capsys, "ledger", "grant", consortium.role("river"), "--agency", "river", "--ledger", admin)
    assert (status, out) == (0, f"Role {consortium.role('river')} is agency river's coordinator in {admin}.\n")
    assert seen(consortium, "river") == (set(), 0, [], 0, 0)
    with open_ledger(consortium.url("river")) as ledger:
        assert ledger.put_members([Member(id="RB-01", name="River One")]) == (1, 0)
        assert ledger.agency() == "river"
    assert seen(consortium, "river") == ({"RB-01"}, 0, [], 0, 0)
    assert seen(consortium, "pinelake") == SEEN["pinelake"]


def test_a_coordinator_rematches_and_voids_its_own_rows(consortium, capsys, tmp_path):
    """Pine Lake adds Jordan Pike to its roster: 'ledger roster' rematches Pine Lake's held row for
    him (1 imported), not Cedar's; a pull that voids one of Pine Lake's records notes it where Pine
    Lake sees it and Cedar does not."""
    roster = tmp_path / "jordan.csv"
    roster.write_text(
        "member_id,name,agency,roles,functions,joined_on,email,portal_user_id\n"
        "PL-11,Jordan Pike,Riverbend PD,peer_supporter,,2024-01-01,jordan.pike@riverbend.example,\n",
        encoding="utf-8",
    )
    status, out, _ = cli(capsys, "ledger", "roster", roster, "--ledger", consortium.url("pinelake"))
    assert (status, out) == (
        0, "Roster: 1 added, 0 updated.\nHeld rows: 1 now imported, 0 duplicate, 4 still unmatched.\n",
    )
    assert seen(consortium, "pinelake") == (PINE_LAKE | {"PL-11"}, 11, [1], 4, 0)
    assert seen(consortium, "cedar") == SEEN["cedar"]
    when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with open_ledger(consortium.url("pinelake")) as ledger:
        record = Record("PL-01", "qpr", dt.date(2025, 3, 3), "completed", None, None, None, "st-1", "lrs:st-1")
        ledger.import_batch(source="lrs", profile="xapi", file_name="pull", file_hash="1", imported_at=when,
                            rows=[record])
        voiding = ledger.import_batch(source="lrs", profile="xapi", file_name="pull", file_hash="2",
                                      imported_at=when, rows=[], voided=["st-1"])
        assert voiding.counts.retracted == 1
        assert ledger.retracted_record_ids(voiding.id) == ["st-1"]
    with open_ledger(consortium.url("cedar")) as ledger:
        assert ledger.retracted_record_ids(voiding.id) == []


def test_a_coordinator_cannot_upgrade_the_schema(consortium):
    """A ledger one schema behind is upgraded by its administrator; a coordinator's role is told so
    (and changes nothing)."""
    behind = len(PG_MIGRATIONS) - 1
    with psycopg.connect(host=str(consortium.cluster.root), port=consortium.cluster.port,
                         user=consortium.cluster.user, dbname=consortium.database, autocommit=True) as db:
        db.execute("UPDATE peertrain.ledger_version SET version = %s", (behind,))
    with pytest.raises(LedgerError, match=(
        rf": ledger schema {behind} must be upgraded to {len(PG_MIGRATIONS)} by the ledger's administrator "
        r"\(this role may not: (permission denied for schema peertrain|must be owner of table \w+)\)$"
    )):
        open_ledger(consortium.url("pinelake"))
    assert sql(consortium, "state", "SELECT version FROM peertrain.ledger_version") == [(behind,)]


def test_a_coordinators_roster_cannot_take_or_explain_another_agencys_member(consortium, capsys, tmp_path):
    """'ledger roster' as Pine Lake with Cedar's CC-01 in the file is refused whole (CC-01 stays
    Cedar's, unchanged); 'explain' as Pine Lake does not know CC-01, as Cedar it does."""
    roster = tmp_path / "grab.csv"
    roster.write_text(
        "member_id,name,agency,roles,functions,joined_on,email,portal_user_id\n"
        "PL-12,New Member,Pine Lake PD,peer_supporter,,2024-01-01,new@pinelake.example,\n"
        "CC-01,Lisa Renamed,Pine Lake PD,peer_supporter,,2024-01-01,lisa@pinelake.example,\n",
        encoding="utf-8",
    )
    status, out, err = cli(capsys, "ledger", "roster", roster, "--ledger", consortium.url("pinelake"))
    assert (status, out) == (2, "")
    assert err.endswith(
        "member 'CC-01': member id, email or portal user id is already another member's (perhaps of another agency)\n"
    )
    assert seen(consortium, "pinelake") == SEEN["pinelake"]
    with open_ledger(consortium.url("state")) as ledger:
        assert [m.name for m in ledger.members() if m.id == "CC-01"] == ["Lisa Hartmann"]
    explain = ("explain", "--member", "CC-01", "--requirement", "example-agency/annual-hours", "--rules",
               "example-agency", "--as-of", "2026-11-15")
    status, _, err = cli(capsys, *explain, "--ledger", consortium.url("pinelake"))
    assert (status, err) == (2, "peertrain: error: --member: 'CC-01' is not on the roster\n")
    status, out, _ = cli(capsys, *explain, "--ledger", consortium.url("cedar"))
    assert status in (0, 1)
    assert "CC-01" in out


def test_the_journal_shows_each_agency_its_own_entries_and_is_verified_by_the_consortium(consortium):
    """The journal is one chain for the whole consortium: a coordinator sees only the entries of
    its own batches (and the head's number and hash, to append after it), cannot write an entry
    for another agency's batch, and cannot verify the chain; the consortium role verifies it."""
    entries = "SELECT kind, ref FROM peertrain.journal ORDER BY seq"
    assert sql(consortium, "pinelake", entries) == [("batch", 1)]
    assert sql(consortium, "cedar", entries) == [("batch", 2), ("batch", 3)]
    assert sql(consortium, "state", entries) == [("batch", 1), ("batch", 2), ("batch", 3)]
    head = sql(consortium, "state", "SELECT seq, sha256 FROM peertrain.journal ORDER BY seq DESC LIMIT 1")
    assert sql(consortium, "pinelake", "SELECT * FROM peertrain.journal_head()") == head
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        sql(consortium, "pinelake", "INSERT INTO peertrain.journal VALUES (4, 'batch', 2, '{}', 'x', 'y', 'z')")
    with open_ledger(consortium.url("pinelake")) as ledger, pytest.raises(LedgerError, match="consortium role"):
        ledger.verify()
    for who in ("state", "admin"):
        with open_ledger(consortium.url(who)) as ledger:
            result = ledger.verify()
        assert (result.ok, result.entries, result.head) == (True, 3, head[0][1]), who


def test_a_batch_holding_a_moved_members_rows_is_the_administrators_to_change(consortium):
    """After PL-04 moved to Cedar, Pine Lake's batch 1 still holds his record, which Pine Lake no
    longer sees: its retraction would remove only part of the batch and journal a content that is
    not the batch's, so it is refused and nothing changes; the administrator retracts the whole
    batch, and the journal verifies."""
    with open_ledger(consortium.url("admin")) as ledger:
        ledger.transfer("PL-04", "cedar", dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    with open_ledger(consortium.url("pinelake")) as ledger, pytest.raises(LedgerError, match="administrator"):
        ledger.retract(1, dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    assert seen(consortium, "state") == (PINE_LAKE | CEDAR, 13, [1, 2, 3], 18, 1)
    with open_ledger(consortium.url("admin")) as ledger:
        assert ledger.retract(1, dt.datetime(2026, 11, 2, tzinfo=dt.UTC)).retracted_at is not None
        result = ledger.verify()
    assert (result.ok, result.entries) == (True, 5)  # 3 batches, the transfer, the retraction
    assert seen(consortium, "state") == (PINE_LAKE | CEDAR, 3, [1, 2, 3], 14, 1)


def test_a_backup_by_the_administrator_restores_whole(consortium, tmp_path):
    """docs/consortium.md's backup: the administrator's ``pg_dump --enable-row-security`` of the
    schema ``peertrain`` (as the administrator, whose policies show every row), restored with
    ``pg_restore`` into a new database the administrator owns, is the same ledger: every role
    sees the same rows, and its journal verifies with the same head."""
    cluster = consortium.cluster
    admin = consortium.role("admin")
    env = {**os.environ, "PGPASSWORD": os.environ[PASSWORD_VARIABLE]}
    where = ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", admin]
    dump = tmp_path / "consortium.dump"
    subprocess.run(
        [str(cluster.bin / "pg_dump"), *where, "--enable-row-security", "--schema", "peertrain", "--format",
         "custom", "--file", str(dump), consortium.database], check=True, env=env, capture_output=True,
    )
    with open_ledger(consortium.url("admin")) as ledger:
        before = ledger.verify()
    original = {who: seen(consortium, who) for who in ("pinelake", "cedar", "state")}
    restored = cluster.create_database()
    cluster.admin(f'ALTER DATABASE "{restored}" OWNER TO "{admin}"')
    subprocess.run(
        [str(cluster.bin / "pg_restore"), *where, "--dbname", restored, str(dump)], check=True, env=env,
        capture_output=True,
    )
    consortium.database = restored
    assert {who: seen(consortium, who) for who in original} == original
    with open_ledger(consortium.url("admin")) as ledger:
        after = ledger.verify()
    assert (after.ok, after.entries, after.head) == (True, before.entries, before.head)
