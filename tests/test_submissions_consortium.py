"""Self-reported submissions in a consortium's PostgreSQL ledger: each agency's coordinator sees,
counts and reviews only its own members' submissions and evidence; the consortium role reads all.

The ledger is owned by an ordinary role (its administrator) with two agencies, Pine Lake
(``pinelake``) and Cedar County (``cedar``), each with its part of the demo roster, and a
consortium role ``state``; every role connects as itself (none is a superuser), so what it sees is
what row-level security lets it see. Pine Lake submitted submission 1 (PL-01, evidence A); Cedar
submissions 2 (CC-01, the same evidence A: one file shared by content) and 3 (CC-02, evidence B).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from pathlib import Path

import psycopg
import pytest

from consortium import PASSWORD_VARIABLE, Consortium, roster_of
from peertrain.cli import main
from peertrain.ledger import LedgerError, open_ledger
from peertrain.ledger._pgschema import MIGRATIONS as PG_MIGRATIONS
from peertrain.submissions import (
    State,
    SubmissionError,
    approve,
    evidence_bytes,
    get_submission,
    list_submissions,
    reject,
    revoke,
    submit,
    write_evidence,
)

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
EVIDENCE_A = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
EVIDENCE_B = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
HASH_A, HASH_B = hashlib.sha256(EVIDENCE_A).hexdigest(), hashlib.sha256(EVIDENCE_B).hexdigest()


def sql(con: Consortium, who: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run one statement as a role, directly (no peertrain in between); its rows (or its row count)."""
    with psycopg.connect(
        host="127.0.0.1", port=con.cluster.port, dbname=con.database, user=con.role(who),
        password=os.environ[PASSWORD_VARIABLE], autocommit=True,
    ) as db:
        cursor = db.execute(statement, params)
        return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]


def superuser(con: Consortium, statement: str) -> None:
    """Run statements as the cluster's superuser (what no ledger role can do)."""
    with psycopg.connect(host=str(con.cluster.root), port=con.cluster.port, user=con.cluster.user,
                         dbname=con.database, autocommit=True) as db:
        db.execute(statement)


@pytest.fixture
def con(pg_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Consortium:
    made = Consortium(pg_cluster, ("pinelake", "cedar", "state"))
    made.create("pinelake", ("cedar",))
    for agency, name in (("pinelake", "Pine Lake PD"), ("cedar", "Cedar County SO")):
        assert main(["ledger", "roster", str(roster_of(name, tmp_path)), "--ledger", made.url(agency)]) == 0
    capsys.readouterr()
    a, b = tmp_path / "a.pdf", tmp_path / "b.png"
    a.write_bytes(EVIDENCE_A)
    b.write_bytes(EVIDENCE_B)
    for agency, member, day, evidence in (
        ("pinelake", "PL-01", 5, a), ("cedar", "CC-01", 6, a), ("cedar", "CC-02", 7, b),
    ):
        with open_ledger(made.url(agency)) as ledger:
            submit(ledger, member=member, course="qpr", on=dt.date(2026, 1, day), evidence=evidence,
                   catalogue=_catalogue(), by=f"{agency} coordinator", at=NOW, hours=8)
    return made


def _catalogue():
    from peertrain.rules.loading import load_bundled_catalogue

    return load_bundled_catalogue()


def state_of(con: Consortium) -> tuple[object, ...]:
    """Everything a review could change, as the administrator sees it."""
    with open_ledger(con.url("admin")) as ledger:
        return (
            list_submissions(ledger), [(b.id, b.retracted_at) for b in ledger.batches()],
            [r.id for r, _ in ledger.records()], ledger.verify().head,
        )


def test_each_agency_lists_and_counts_only_its_own_and_the_consortium_all(con):
    for who, ids in {"pinelake": [1], "cedar": [2, 3], "state": [1, 2, 3], "admin": [1, 2, 3]}.items():
        with open_ledger(con.url(who)) as ledger:
            assert [(s.id, s.state) for s in list_submissions(ledger)] == [(i, State.PENDING) for i in ids]
    counts = (
        "SELECT (SELECT count(*) FROM peertrain.submissions), (SELECT count(*) FROM peertrain.submission_events), "
        "(SELECT count(*) FROM peertrain.evidence), (SELECT count(*) FROM peertrain.submissions "
        "WHERE member_id LIKE 'CC-%%'), (SELECT count(*) FROM peertrain.evidence WHERE sha256 = %s)"
    )
    assert sql(con, "pinelake", counts, (HASH_B,)) == [(1, 1, 1, 0, 0)]
    assert sql(con, "cedar", counts, (HASH_B,)) == [(2, 2, 2, 2, 1)]
    assert sql(con, "state", counts, (HASH_B,)) == [(3, 3, 2, 2, 1)]
    # The evidence both agencies submitted is stored once, and each reads it through its own submission.
    assert sql(con, "admin", "SELECT count(*) FROM peertrain.evidence WHERE sha256 = %s", (HASH_A,)) == [(1,)]
    with open_ledger(con.url("pinelake")) as ledger:
        assert evidence_bytes(ledger, 1)[1] == EVIDENCE_A
    with open_ledger(con.url("cedar")) as ledger:
        assert evidence_bytes(ledger, 2)[1] == EVIDENCE_A
        assert evidence_bytes(ledger, 3)[1] == EVIDENCE_B


def test_an_agency_cannot_see_approve_reject_revoke_or_read_anothers(con, tmp_path):
    with open_ledger(con.url("cedar")) as ledger:
        approve(ledger, 3, by="Cedar Reviewer", at=NOW)
    before = state_of(con)
    out = tmp_path / "out.png"
    with open_ledger(con.url("pinelake")) as ledger:
        attempts = {
            2: (lambda: get_submission(ledger, 2), lambda: approve(ledger, 2, by="Pine Reviewer", at=NOW),
                lambda: reject(ledger, 2, by="Pine Reviewer", at=NOW, note="not ours")),
            3: (lambda: revoke(ledger, 3, by="Pine Reviewer", at=NOW, note="not ours"),
                lambda: evidence_bytes(ledger, 3), lambda: write_evidence(ledger, 3, out)),
        }
        for number, calls in attempts.items():
            for call in calls:
                with pytest.raises(SubmissionError, match=rf"^no submission {number} in this ledger$"):
                    call()
        # Its own is there, and an id no agency has reads the same as another agency's.
        assert get_submission(ledger, 1).member == "PL-01"
        with pytest.raises(SubmissionError, match=r"^no submission 99 in this ledger$"):
            get_submission(ledger, 99)
    assert not out.exists()
    assert state_of(con) == before


def test_the_commands_as_one_agency_show_only_its_own(con, capsys, tmp_path):
    assert main(["review", "list", "--ledger", con.url("pinelake")]) == 0
    out = capsys.readouterr().out
    assert "CC-0" not in out
    assert out.endswith("1 submission(s).\n")
    assert "    1  pending   PL-01/qpr/2026-01-05  a.pdf" in out
    for argv in (["show", "2"], ["approve", "2", "--by", "Pine Reviewer"], ["reject", "3", "--note", "x", "--by", "P"],
                 ["evidence", "3", "-o", str(tmp_path / "x.png")]):
        assert main(["review", *argv, "--ledger", con.url("pinelake")]) == 2
        err = capsys.readouterr().err
        assert f"no submission {argv[1]} in this ledger" in err
        assert err.count("\n") == 1
    assert main(["review", "list", "--ledger", con.url("state"), "--state", "pending"]) == 0
    assert capsys.readouterr().out.endswith("3 submission(s).\n")
    cert = tmp_path / "c.pdf"
    cert.write_bytes(EVIDENCE_A)
    assert main(["submit", "--ledger", con.url("pinelake"), "--member", "CC-01", "--course", "qpr", "--date",
                 "2026-01-09", "--evidence", str(cert), "--by", "Pine Coordinator"]) == 2
    assert "'CC-01' is not on the ledger's roster" in capsys.readouterr().err
    assert sql(con, "admin", "SELECT count(*) FROM peertrain.submissions") == [(3,)]


@pytest.mark.parametrize(("statement", "refused"), [
    ("INSERT INTO peertrain.submission_events (submission_id, action, actor, at) VALUES (2, 'approved', 'x', now())",
     "new row violates row-level security policy"),
    ("INSERT INTO peertrain.submissions (member_id, course_id, on_date, evidence_sha256, evidence_name, submitted_by, "
     f"submitted_at, agency_id) VALUES ('CC-01', 'qpr', '2026-01-01', '{HASH_A}', 'x', 'x', now(), 'pinelake')",
     "new row violates row-level security policy"),
    ("INSERT INTO peertrain.submissions (member_id, course_id, on_date, evidence_sha256, evidence_name, submitted_by, "
     f"submitted_at, agency_id) VALUES ('CC-01', 'qpr', '2026-01-01', '{HASH_A}', 'x', 'x', now(), 'cedar')",
     "new row violates row-level security policy"),
    ("UPDATE peertrain.submissions SET course_id = 'x'", "permission denied for table submissions"),
    ("DELETE FROM peertrain.submission_events", "permission denied for table submission_events"),
    ("UPDATE peertrain.evidence SET content = ''", "permission denied for table evidence"),
])
def test_plain_sql_as_an_agency_cannot_write_anothers(con, statement, refused):
    before = state_of(con)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refused):
        sql(con, "pinelake", statement)
    assert state_of(con) == before


def test_the_consortium_role_reads_all_and_reviews_nothing(con, capsys):
    before = state_of(con)
    with open_ledger(con.url("state")) as ledger:
        assert get_submission(ledger, 2).member == "CC-01"
        assert evidence_bytes(ledger, 3)[1] == EVIDENCE_B
        with pytest.raises(LedgerError, match=r": the ledger's database refused: permission denied for table batches"):
            approve(ledger, 2, by="State Reviewer", at=NOW)
        with pytest.raises(LedgerError, match=r"permission denied for table submission_events"):
            reject(ledger, 2, by="State Reviewer", at=NOW, note="no")
    assert main(["review", "approve", "3", "--ledger", con.url("state"), "--by", "State Reviewer"]) == 2
    assert "permission denied for table batches" in capsys.readouterr().err
    assert state_of(con) == before


def test_an_approval_is_a_batch_of_the_members_agency_whoever_approves(con):
    """Cedar's approval of 2 and the administrator's of 3 are both Cedar's batches: Cedar sees and
    revokes them, Pine Lake sees neither; the consortium verifies the chain after each step."""
    with open_ledger(con.url("cedar")) as ledger:
        first = approve(ledger, 2, by="Cedar Reviewer", at=NOW).events[-1].batch
    with open_ledger(con.url("admin")) as ledger:
        second = approve(ledger, 3, by="Administrator", at=NOW).events[-1].batch
    assert sql(con, "admin", "SELECT id, agency_id FROM peertrain.batches ORDER BY id") == [
        (first, "cedar"), (second, "cedar"),
    ]
    with open_ledger(con.url("pinelake")) as ledger:
        assert ledger.batches() == []
        assert list(ledger.completions()) == []
    with open_ledger(con.url("cedar")) as ledger:
        assert [c.id for c in ledger.completions()] == ["CC-01/qpr/2026-01-06", "CC-02/qpr/2026-01-07"]
        revoke(ledger, 3, by="Cedar Reviewer", at=NOW, note="wrong course")
        assert [(b.id, b.retracted_at) for b in ledger.batches()] == [(first, None), (second, NOW)]
    with open_ledger(con.url("state")) as ledger:
        check = ledger.verify()
        assert (check.ok, check.entries) == (True, 3)


def test_a_transfer_moves_the_members_submissions_and_evidence(con):
    """CC-01 moves to Pine Lake with submission 2 (approved by Cedar): Pine Lake now sees it, its
    evidence and its batch, and can revoke it; Cedar keeps only CC-02's."""
    with open_ledger(con.url("cedar")) as ledger:
        batch = approve(ledger, 2, by="Cedar Reviewer", at=NOW).events[-1].batch
    with open_ledger(con.url("admin")) as ledger:
        ledger.transfer("CC-01", "pinelake", NOW)
    with open_ledger(con.url("cedar")) as ledger:
        assert [s.id for s in list_submissions(ledger)] == [3]
        assert ledger.batches() == []
    with open_ledger(con.url("pinelake")) as ledger:
        assert [s.id for s in list_submissions(ledger)] == [1, 2]
        assert evidence_bytes(ledger, 2)[1] == EVIDENCE_A
        assert [b.id for b in ledger.batches()] == [batch]
        assert revoke(ledger, 2, by="Pine Reviewer", at=NOW, note="moved; re-checked").state is State.REVOKED
    with open_ledger(con.url("state")) as ledger:
        check = ledger.verify()
        assert (check.ok, check.entries) == (True, 3)  # the approval, the transfer, the revocation


def test_a_ledger_of_the_schema_before_is_migrated_with_agencies_and_grants(con):
    """Submissions stored before they had an agency (by 'ledger copy' into PostgreSQL) get their
    member's agency when the administrator opens the ledger, and the roles granted before get the
    rights of their kind on the submission tables."""
    behind = len(PG_MIGRATIONS) - 1
    superuser(con, f"""
        SET search_path = peertrain;
        DROP POLICY agency ON submissions; DROP POLICY agency ON submission_events; DROP POLICY agency ON evidence;
        ALTER TABLE submissions NO FORCE ROW LEVEL SECURITY; ALTER TABLE submissions DISABLE ROW LEVEL SECURITY;
        ALTER TABLE submission_events NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE submission_events DISABLE ROW LEVEL SECURITY;
        ALTER TABLE evidence NO FORCE ROW LEVEL SECURITY; ALTER TABLE evidence DISABLE ROW LEVEL SECURITY;
        DROP INDEX submissions_evidence; ALTER TABLE submissions DROP COLUMN agency_id;
        ALTER TABLE submissions ALTER COLUMN member_id TYPE text COLLATE "default";
        REVOKE ALL ON submissions, submission_events, evidence FROM "{con.role('pinelake')}", "{con.role('cedar')}",
            "{con.role('state')}";
        UPDATE ledger_version SET version = {behind};
    """)
    with pytest.raises(LedgerError, match="must be upgraded"):
        open_ledger(con.url("cedar"))
    with open_ledger(con.url("admin")) as ledger:
        assert ledger.schema_version() == len(PG_MIGRATIONS)
    assert sql(con, "admin", "SELECT id, agency_id FROM peertrain.submissions ORDER BY id") == [
        (1, "pinelake"), (2, "cedar"), (3, "cedar"),
    ]
    for who, ids in {"pinelake": [1], "cedar": [2, 3], "state": [1, 2, 3]}.items():
        with open_ledger(con.url(who)) as ledger:
            assert [s.id for s in list_submissions(ledger)] == ids
    with open_ledger(con.url("cedar")) as ledger:
        assert approve(ledger, 3, by="Cedar Reviewer", at=NOW).state is State.APPROVED


def test_two_reviewers_approving_at_once_make_one_approval(con, tmp_path):
    """Two connections of Cedar's role approve the same submission at the same moment, ten times
    over: each time one approves and the other is told it is approved already (the writers' lock
    makes the second read the first's step), never two batches nor a database error."""
    evidence = tmp_path / "c.pdf"
    evidence.write_bytes(EVIDENCE_A)
    with open_ledger(con.url("cedar")) as ledger:
        ids = [
            submit(ledger, member="CC-02", course="qpr", on=dt.date(2026, 2, day), evidence=evidence,
                   catalogue=_catalogue(), by="cedar coordinator", at=NOW).id
            for day in range(1, 11)
        ]
    outcomes: list[str] = []
    for number in ids:
        barrier = threading.Barrier(2)

        def review(who: str, number: int = number, barrier: threading.Barrier = barrier) -> None:
            with open_ledger(con.url("cedar")) as ledger:
                barrier.wait()
                try:
                    approve(ledger, number, by=who, at=NOW)
                    outcomes.append("approved")
                except SubmissionError as exc:
                    outcomes.append(str(exc))

        threads = [threading.Thread(target=review, args=(who,)) for who in ("Reviewer One", "Reviewer Two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    refused = {f"submission {n} is approved; only a pending one can be approved" for n in ids}
    assert sorted(set(outcomes)) == sorted({"approved", *refused})
    assert outcomes.count("approved") == 10
    assert sql(con, "admin", "SELECT count(*) FROM peertrain.batches WHERE source = 'self-reported'") == [(10,)]
    with open_ledger(con.url("state")) as ledger:
        assert ledger.verify().ok


def test_a_team_file_copied_in_by_the_administrator_keeps_each_agencys_submissions(pg_cluster, tmp_path):
    """A file with two agencies' submissions (one approved) copied into a consortium's database by
    its administrator, an ordinary role held to row-level security: each coordinator then sees
    its own members' submissions, evidence and approval batch, and the chain verifies."""
    from peertrain import Member
    from peertrain.ledger.copying import copy_ledger

    evidence = tmp_path / "a.pdf"
    evidence.write_bytes(EVIDENCE_A)
    team = tmp_path / "team.db"
    with open_ledger(team, create_timezone="America/Chicago") as ledger:
        ledger.name_agency("pinelake", "Pine Lake")
        ledger.add_agency("cedar", "Cedar")
        ledger.put_members([Member(id="PL-01", name="Pat One"), Member(id="CC-01", name="Cody One")])
        ledger.transfer("CC-01", "cedar", NOW)
        for member in ("PL-01", "CC-01"):
            submit(ledger, member=member, course="qpr", on=dt.date(2026, 1, 5), evidence=evidence,
                   catalogue=_catalogue(), by="Coordinator", at=NOW)
        batch = approve(ledger, 2, by="Reviewer", at=NOW).events[-1].batch
    made = Consortium(pg_cluster, ("pinelake", "cedar", "state"))
    result = copy_ledger(team, made.url("admin"))
    assert (result.rows["submissions"], result.rows["submission_events"], result.rows["evidence"]) == (2, 3, 1)
    with open_ledger(made.url("admin")) as ledger:
        for agency in ("pinelake", "cedar"):
            ledger.grant(made.role(agency), agency)
        ledger.grant(made.role("state"), None)
    for who, ids, batches in (("pinelake", [1], []), ("cedar", [2], [batch])):
        with open_ledger(made.url(who)) as ledger:
            assert [s.id for s in list_submissions(ledger)] == ids
            assert evidence_bytes(ledger, ids[0])[1] == EVIDENCE_A
            assert [b.id for b in ledger.batches()] == batches
    with open_ledger(made.url("state")) as ledger:
        assert ledger.verify().ok
