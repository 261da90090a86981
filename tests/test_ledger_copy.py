"""``peertrain ledger copy`` and :func:`copy_ledger`: a whole ledger into a new one, SQLite to
PostgreSQL and back, checked by the rows of every table and by the journal's head hash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import ledger_maker
from journal_helpers import NOW, raw_sql, store_history
from peertrain.cli import main
from peertrain.ledger import LedgerError, NoticeDraft, NoticeState, open_ledger
from peertrain.ledger.copying import TABLES, copy_ledger

DIRECTIONS = [("sqlite", "postgresql"), ("postgresql", "sqlite"), ("sqlite", "sqlite"), ("postgresql", "postgresql")]


def filled(backend, request, folder, *, submissions=False):
    """A ledger of ``backend`` holding the journal tests' history, a pull cursor and a notice."""
    where = ledger_maker(backend, request, folder)("source.db")
    with open_ledger(where, create_timezone="America/Chicago") as ledger:
        store_history(ledger)
        ledger.import_batch(source="lrs", profile="xapi", file_name="pull", file_hash="h4", imported_at=NOW,
                            rows=[], cursor=("lrs", "2026-11-23T12:00:00Z"))
        draft = NoticeDraft(key="k1", kind="due", agency="Pine Lake PD", member="M1", requirement="qpr",
                            deadline=dt.date(2027, 1, 1), stage="30", recipient="ana@pinelake.example",
                            subject="QPR due", message_id="<m1@peertrain>")
        notice = ledger.begin_notice(draft, b"From: x\r\n\r\nbody \xe9", NOW)
        ledger.finish_notice(notice, NoticeState.SENT, NOW)
    return where


def snapshot(where):
    """Everything a ledger answers through its interface, times and all."""
    with open_ledger(where) as ledger:
        return {
            "timezone": ledger.timezone(), "members": ledger.members(), "records": list(ledger.records()),
            "batches": ledger.batches(), "held": ledger.held(), "rejected": ledger.rejected(),
            "cursor": ledger.cursor("lrs"), "notices": ledger.notices(), "voided": ledger.retracted_record_ids(3),
            "verify": ledger.verify(),
        }


@pytest.mark.parametrize(("source", "destination"), DIRECTIONS)
def test_a_copy_answers_everything_as_the_source(request, tmp_path, source, destination):
    """Every table comes through: the copy answers every question as the source does, its journal
    verifies with the same head, and new batches continue the ids (the sequences moved on)."""
    where = filled(source, request, tmp_path)
    target = ledger_maker(destination, request, tmp_path)("copy.db")
    result = copy_ledger(where, target)
    assert result.rows == {
        "meta": 3, "agencies": 1, "transfers": 0,
        "members": 2, "batches": 4, "records": 4, "held": 0, "rejected": 1, "cursors": 1, "notices": 1,
        "evidence": 0, "submissions": 0, "submission_events": 0, "journal": 7,
    }
    assert set(result.rows) == {name for name, _, _ in TABLES}
    before, after = snapshot(where), snapshot(target)
    assert after == before
    assert after["verify"].ok
    assert (result.entries, result.head) == (7, before["verify"].head)
    with open_ledger(target) as ledger:
        assert ledger.notice_message(1) == b"From: x\r\n\r\nbody \xe9"
        batch = ledger.import_batch(source="s", profile="p", file_name="next.csv", file_hash="h9", imported_at=NOW,
                                    rows=[])
        assert batch.id == 5
        assert ledger.verify().entries == 8


def test_copy_refuses_a_destination_that_is_not_empty(request, tmp_path, backend):
    """A ledger holding anything is not copied into, and stays as it was."""
    where = filled("sqlite", request, tmp_path)
    target = ledger_maker(backend, request, tmp_path)("copy.db")
    with open_ledger(target, create_timezone="UTC") as ledger:
        ledger.import_batch(source="s", profile="p", file_name="x.csv", file_hash="h", imported_at=NOW, rows=[])
    with pytest.raises(LedgerError, match=r"not empty \(1 row\(s\) in batches\); copy into a new ledger only"):
        copy_ledger(where, target)
    assert raw_sql(target, "SELECT count(*) FROM journal") == [(1,)]


def test_an_empty_postgresql_ledger_is_copied_into(request, tmp_path, pg_cluster):
    """A database where 'ledger init' made an empty ledger takes the copy, with the source's zone."""
    where = filled("sqlite", request, tmp_path)
    url = pg_cluster.url(pg_cluster.create_database())
    open_ledger(url, create_timezone="UTC").close()
    copy_ledger(where, url)
    assert snapshot(url) == snapshot(where)


def test_a_source_that_does_not_verify_is_not_copied(request, tmp_path, backend):
    """A copy would seal rows changed by hand: refused, naming the entry; no destination file is left."""
    where = filled(backend, request, tmp_path)
    raw_sql(where, "UPDATE records SET hours = '9' WHERE id = 'M1/gci/2026-03-03'")
    target = tmp_path / "copy.db"
    with pytest.raises(LedgerError, match=r"the journal does not verify \(entry 4 \(batch, batch 3\): .*not copying"):
        copy_ledger(where, target)
    assert not target.exists()


def test_submissions_come_along_and_are_served_on_both(request, tmp_path, catalogue, capsys):
    """An SQLite ledger with a pending and an approved submission copied to PostgreSQL: the
    submissions (with their agency), events and evidence are all there and served as in the file;
    the pending one is approved there; copied back, the file serves them all again."""
    from peertrain.submissions import approve, list_submissions, submit

    where = tmp_path / "team.db"
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n")
    with open_ledger(where, create_timezone="UTC") as ledger:
        from journal_helpers import MEMBERS

        ledger.put_members(MEMBERS)
        first = submit(ledger, member="M1", course="qpr", on=dt.date(2026, 1, 5), evidence=pdf,
                       catalogue=catalogue, by="M1", at=NOW)
        submit(ledger, member="M2", course="qpr", on=dt.date(2026, 1, 6), evidence=pdf, catalogue=catalogue,
               by="M2", at=NOW)
        approve(ledger, first.id, by="coordinator", at=NOW)
        listed = list_submissions(ledger)
    url = ledger_maker("postgresql", request, tmp_path)()
    assert main(["ledger", "copy", str(where), url]) == 0
    out = capsys.readouterr().out
    assert "2 member(s), 1 batch(es), 1 record(s), 0 held, 0 rejected, 0 cursor(s), 0 notice(s), " \
        "2 submission(s)." in out
    assert "note:" not in out
    assert raw_sql(url, "SELECT count(*) FROM submission_events") == [(3,)]
    assert raw_sql(url, "SELECT count(*) FROM evidence") == [(1,)]
    assert raw_sql(url, "SELECT agency_id, count(*) FROM submissions GROUP BY 1") == [("local", 2)]
    with open_ledger(url) as ledger:
        assert list_submissions(ledger) == listed
        second = approve(ledger, listed[1].id, by="coordinator", at=NOW)
        assert ledger.verify().ok
    back = tmp_path / "back.db"
    assert main(["ledger", "copy", url, str(back)]) == 0
    with open_ledger(back) as ledger:
        assert list_submissions(ledger) == [listed[0], second]
        assert [c.id for c in ledger.completions()] == ["M1/qpr/2026-01-05", "M2/qpr/2026-01-06"]


def test_copy_on_the_command_line(request, tmp_path, capsys):
    """The command prints what it copied and the verified head; a second copy onto it is refused."""
    where = filled("postgresql", request, tmp_path)
    target = tmp_path / "team.db"
    assert main(["ledger", "copy", where, str(target)]) == 0
    head = snapshot(where)["verify"].head
    out = capsys.readouterr().out
    assert out.startswith(f"Copied {where} to {target}: 2 member(s), 4 batch(es), 4 record(s), 0 held, 1 rejected, ")
    assert f"the journal verifies, 7 entries, head {head}\n" in out
    assert Path(target).stat().st_mode & 0o777 == 0o600
    assert main(["ledger", "copy", where, str(target)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_a_copy_the_database_refuses_is_a_ledger_error_naming_both(request, tmp_path, pg_cluster, capsys):
    """A coordinator's role may not copy a whole team into the consortium's ledger (row-level
    security and the grants refuse it): one line naming source and destination, nothing copied."""
    from consortium import Consortium

    where = filled("sqlite", request, tmp_path)
    con = Consortium(pg_cluster, ("pinelake", "state"))
    con.create("pinelake", ())
    with pytest.raises(LedgerError, match=r"^copying .*source\.db to postgresql://pinelake_.*: .+; nothing copied$"):
        copy_ledger(where, con.url("pinelake"))
    assert main(["ledger", "copy", str(where), con.url("pinelake")]) != 0
    err = capsys.readouterr().err
    assert "nothing copied" in err
    assert "Traceback" not in err
    with open_ledger(con.url("admin")) as ledger:
        assert ledger.members() == []
        assert ledger.batches() == []
