"""Self-reported training: evidence checks, review steps, verdicts, the requirement option, the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journal_helpers import raw_sql
from peertrain import Member
from peertrain.cli import main
from peertrain.ledger import LedgerError, open_ledger
from peertrain.rules.convert import converter, error_messages
from peertrain.rules.explain import explain
from peertrain.rules.requirements import AllOf, Hours, Requirement, RulePack
from peertrain.rules.stream import stream_compliance
from peertrain.rules.verdict import Status
from peertrain.rules.windows import Rolling
from peertrain.submissions import (
    MAX_BYTES,
    State,
    SubmissionError,
    approve,
    evidence_bytes,
    list_submissions,
    reject,
    revoke,
    submit,
    write_evidence,
)

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2026, 3, 2)
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
JPEG = b"\xff\xd8\xff\xe0" + b"\x00JFIF" * 10


def hours_pack(self_reported: bool = True, hours: int = 8) -> RulePack:
    req = Hours(id="annual", title="Annual hours", hours=hours, window=Rolling(12), self_reported=self_reported)
    return RulePack(id="agency", title="Agency", version="1", citation="Policy 1", requirements=(req,))


@pytest.fixture
def location(new_location):
    """Where the test's ledger is: a file, or a PostgreSQL database (the ``backend`` fixture)."""
    return new_location("team.db")


@pytest.fixture
def ledger(location):
    with open_ledger(location, create_timezone="America/Chicago") as opened:
        opened.put_members([Member(id="M1", name="Casey Quinn"), Member(id="M2", name="Robin Vale")])
        yield opened


@pytest.fixture
def pdf(write):
    return write("certificate.pdf", PDF)


def verdicts(ledger, catalogue, pack):
    stream = stream_compliance(ledger, [pack], AS_OF, catalogue=catalogue)
    return {(v.member, v.key): (v.status, v.hours_credited) for result in stream for v in result.verdicts}


def submit_qpr(ledger, catalogue, evidence, member="M1", on=dt.date(2026, 1, 10), hours=8, by="Casey Quinn"):
    return submit(ledger, member=member, course="qpr", on=on, evidence=evidence, catalogue=catalogue, by=by, at=NOW,
                  hours=hours)


def stored_counts(location):
    return tuple(raw_sql(location, f"SELECT count(*) FROM {t}")[0][0] for t in ("evidence", "submissions"))


# -- evidence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "media_type"), [
    ("scan.png", PDF, "application/pdf"),  # a PDF named .png is a PDF
    ("photo.jpg", PNG, "image/png"),
    ("certificate", JPEG, "image/jpeg"),
])
def test_evidence_is_recognised_by_content_not_name(ledger, catalogue, write, name, content, media_type):
    s = submit_qpr(ledger, catalogue, write(name, content))
    assert (s.media_type, s.size, s.evidence_name) == (media_type, len(content), name)
    assert s.evidence_sha256 == hashlib.sha256(content).hexdigest()
    assert s.state is State.PENDING


@pytest.mark.parametrize(("name", "content", "message"), [
    ("setup.pdf", b"\x7fELF\x02\x01\x01" + bytes(64), "is not a PDF, PNG or JPEG file"),
    ("tool.pdf", b"MZ\x90\x00" + bytes(64), "is not a PDF, PNG or JPEG file"),
    ("empty.pdf", b"", "is empty"),
    ("big.pdf", b"%PDF-" + bytes(26_000_000 - 5), "is 26,000,000 bytes; evidence files are at most 25,000,000"),
])
def test_bad_evidence_is_refused_with_one_line_and_nothing_stored(
    ledger, location, catalogue, write, name, content, message
):
    path = write(name, content)
    with pytest.raises(Exception, match=message) as info:
        submit_qpr(ledger, catalogue, path)
    assert "\n" not in str(info.value)
    assert stored_counts(location) == (0, 0)


def test_a_file_just_over_the_limit_is_refused_before_it_is_read(ledger, catalogue, write):
    path = write("edge.pdf", b"%PDF-" + bytes(MAX_BYTES - 4))
    with pytest.raises(Exception, match="25,000,001 bytes"):
        submit_qpr(ledger, catalogue, path)
    assert submit_qpr(ledger, catalogue, write("ok.pdf", b"%PDF-" + bytes(MAX_BYTES - 5))).size == MAX_BYTES


def test_evidence_written_back_is_byte_identical_and_private(ledger, catalogue, write, tmp_path):
    s = submit_qpr(ledger, catalogue, write("cert.jpg", JPEG))
    out = tmp_path / "out" / "copy.jpg"
    out.parent.mkdir()
    write_evidence(ledger, s.id, out)
    assert out.read_bytes() == JPEG
    assert os.stat(out).st_mode & 0o777 == 0o600


def test_evidence_altered_in_the_ledger_is_refused(ledger, location, catalogue, pdf):
    s = submit_qpr(ledger, catalogue, pdf)
    raw_sql(location, "UPDATE evidence SET content = ?", (PDF + b"x",))
    with pytest.raises(SubmissionError, match="no longer matches its SHA-256"):
        evidence_bytes(ledger, s.id)


# -- review --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reviewer", ["Casey Quinn", "  casey   QUINN ", "m1", "Pat Submitter"])
def test_nobody_approves_their_own_submission(ledger, catalogue, pdf, reviewer):
    s = submit_qpr(ledger, catalogue, pdf, by="Pat Submitter")
    with pytest.raises(SubmissionError, match="another reviewer must"):
        approve(ledger, s.id, by=reviewer, at=NOW)
    assert list_submissions(ledger)[0].state is State.PENDING
    assert list(ledger.completions()) == []


def test_approve_counts_and_revoke_takes_it_back(ledger, catalogue, pdf):
    pack = hours_pack()
    assert verdicts(ledger, catalogue, pack) == {
        ("M1", "agency/annual"): (Status.NOT_MET, Decimal(0)), ("M2", "agency/annual"): (Status.NOT_MET, Decimal(0))
    }
    s = submit_qpr(ledger, catalogue, pdf)
    assert verdicts(ledger, catalogue, pack)[("M1", "agency/annual")] == (Status.NOT_MET, Decimal(0))
    approved = approve(ledger, s.id, by="Jordan Lee", at=NOW, note="checked with the provider")
    assert approved.state is State.APPROVED
    assert verdicts(ledger, catalogue, pack)[("M1", "agency/annual")] == (Status.MET, Decimal(8))
    (completion,) = ledger.completions()
    assert completion.id == "M1/qpr/2026-01-10"
    assert completion.source == (
        f"self-reported:{s.id}; approved by Jordan Lee on 2026-03-02T15:00:00+00:00; evidence certificate.pdf "
        f"sha256:{hashlib.sha256(PDF).hexdigest()}"
    )
    revoked = revoke(ledger, s.id, by="Jordan Lee", at=NOW + dt.timedelta(days=1), note="certificate was forged")
    assert revoked.state is State.REVOKED
    assert verdicts(ledger, catalogue, pack)[("M1", "agency/annual")] == (Status.NOT_MET, Decimal(0))
    assert [(e.action.value, e.by, e.note) for e in revoked.events] == [
        ("submitted", "Casey Quinn", None), ("approved", "Jordan Lee", "checked with the provider"),
        ("revoked", "Jordan Lee", "certificate was forged"),
    ]
    batch = ledger.batches()[-1]
    assert (batch.source, batch.retracted_at) == ("self-reported", NOW + dt.timedelta(days=1))
    with pytest.raises(SubmissionError, match="only a pending one can be approved"):
        approve(ledger, s.id, by="Jordan Lee", at=NOW)


def test_rejection_keeps_the_submission_with_its_reason(ledger, catalogue, pdf):
    s = submit_qpr(ledger, catalogue, pdf)
    with pytest.raises(SubmissionError, match="must not be blank"):
        reject(ledger, s.id, by="Jordan Lee", at=NOW, note="  ")
    rejected = reject(ledger, s.id, by="Jordan Lee", at=NOW, note="not a peer support course")
    assert rejected.state is State.REJECTED
    assert rejected.events[-1].note == "not a peer support course"
    assert list(ledger.completions()) == []
    with pytest.raises(SubmissionError, match="is rejected; only an approved one can be revoked"):
        revoke(ledger, s.id, by="Jordan Lee", at=NOW, note="x")


def test_ledger_retract_refuses_an_approval_batch(ledger, catalogue, pdf):
    s = approve(ledger, submit_qpr(ledger, catalogue, pdf).id, by="Jordan Lee", at=NOW)
    with pytest.raises(LedgerError, match="review revoke"):
        ledger.retract(s.events[-1].batch, NOW)


def test_duplicates_are_refused(ledger, catalogue, pdf, write):
    s = submit_qpr(ledger, catalogue, pdf)
    with pytest.raises(SubmissionError, match="already pending"):
        submit_qpr(ledger, catalogue, write("other.png", PNG))
    approve(ledger, s.id, by="Jordan Lee", at=NOW)
    with pytest.raises(SubmissionError, match="already holds M1/qpr/2026-01-10"):
        submit_qpr(ledger, catalogue, write("other.png", PNG))


# -- rules ------------------------------------------------------------------------------------


def test_a_requirement_can_refuse_self_reported_credit(ledger, catalogue, pdf):
    approve(ledger, submit_qpr(ledger, catalogue, pdf).id, by="Jordan Lee", at=NOW)
    assert verdicts(ledger, catalogue, hours_pack(self_reported=False))[("M1", "agency/annual")] == (
        Status.NOT_MET, Decimal(0)
    )
    member = ledger.members()[0]
    pack = hours_pack(self_reported=False)
    lines = explain(member, pack, pack.requirements[0], ledger.completions(), AS_OF, catalogue=catalogue)
    assert lines[-1].endswith(
        "-> left out: self-reported, and this requirement does not accept self-reported credit"
    )
    assert "approved by Jordan Lee" in lines[-1]


def test_the_option_round_trips_and_passes_to_parts():
    part = Hours(id="h", title="H", hours=1)
    whole = AllOf(id="all", title="All", of=(part,), self_reported=False)
    assert whole.of[0].self_reported is False
    data = converter.unstructure(whole, Requirement)
    assert data["self_reported"] is False
    assert converter.structure(data, Requirement) == whole
    with pytest.raises(Exception) as info:  # noqa: PT011 - cattrs' own class; the path is what matters
        converter.structure({**data, "self_reported": "no"}, Requirement)
    assert error_messages(info.value) == [("self_reported", "expected true or false, got 'no'")]


@settings(max_examples=15)
@given(
    keys=st.lists(
        st.tuples(st.sampled_from(["M1", "M2"]), st.sampled_from(["qpr", "jh-pfa", "mhfa-ps"]),
                  st.integers(1, 360), st.integers(1, 6)),
        min_size=1, max_size=5, unique_by=lambda k: k[:3],
    ),
    order=st.randoms(use_true_random=False),
)
def test_approval_order_does_not_change_any_verdict(tmp_path_factory, catalogue, keys, order):
    """Independent submissions approved in two orders give the same verdicts."""
    results = []
    for run in range(2):
        path = tmp_path_factory.mktemp("order") / "team.db"
        with open_ledger(path, create_timezone="UTC") as ledger:
            ledger.put_members([Member(id="M1", name="Casey Quinn"), Member(id="M2", name="Robin Vale")])
            evidence = path.parent / "c.pdf"
            evidence.write_bytes(PDF)
            ids = [
                submit(ledger, member=m, course=c, on=AS_OF - dt.timedelta(days=d), evidence=evidence,
                       catalogue=catalogue, by="Coordinator", at=NOW, hours=h).id
                for m, c, d, h in keys
            ]
            if run:
                order.shuffle(ids)
            for sid in ids:
                approve(ledger, sid, by="Reviewer", at=NOW)
            results.append(verdicts(ledger, catalogue, hours_pack(hours=10)))
    assert results[0] == results[1]


# -- the command line -------------------------------------------------------------------------


def test_cli_submit_review_and_evidence(new_location, tmp_path, capsys, write):
    db = new_location("team.db")
    roster = write("roster.csv", "member_id,name\nM1,Casey Quinn\n")
    assert main(["ledger", "init", str(db), "--timezone", "UTC", "--roster", str(roster)]) == 0
    cert = write("scan.png", PDF)
    base = ["--ledger", str(db)]
    assert main(["submit", *base, "--member", "M1", "--course", "qpr", "--date", "2025-05-01", "--hours", "8",
                 "--evidence", str(cert), "--by", "Casey Quinn"]) == 0
    assert main(["submit", *base, "--member", "M1", "--course", "qpr", "--date", "2025-05-02",
                 "--evidence", str(write("x.pdf", b"MZ")), "--by", "Casey Quinn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "x.pdf: is not a PDF, PNG or JPEG file" in err
    assert main(["review", "approve", "1", *base, "--by", "casey quinn"]) == 2
    assert main(["review", "approve", "1", *base, "--by", "Jordan Lee"]) == 0
    assert main(["review", "list", *base, "--state", "approved"]) == 0
    assert "1  approved  M1/qpr/2025-05-01  scan.png  (approved by Jordan Lee" in capsys.readouterr().out
    out = tmp_path / "back.pdf"
    assert main(["review", "evidence", "1", *base, "-o", str(out)]) == 0
    assert out.read_bytes() == PDF
    assert main(["review", "revoke", "1", *base, "--by", "Jordan Lee", "--note", "wrong date"]) == 0
    capsys.readouterr()
    assert main(["review", "show", "1", *base]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("submission 1: revoked\n")
    assert "revoked by Jordan Lee (batch 1): wrong date" in shown


def test_report_marks_self_reported_credit_and_lists_pending_reviews(new_location, tmp_path, write):
    db = new_location("team.db")
    roster = write("roster.csv", "member_id,name\nM1,Casey Quinn\n")
    assert main(["ledger", "init", str(db), "--timezone", "UTC", "--roster", str(roster)]) == 0
    cert = write("cert.pdf", PDF)
    for day in ("2026-01-05", "2026-01-06"):
        assert main(["submit", "--ledger", str(db), "--member", "M1", "--course", "qpr", "--date", day, "--hours", "8",
                     "--evidence", str(cert), "--by", "Casey Quinn"]) == 0
    assert main(["review", "approve", "1", "--ledger", str(db), "--by", "Jordan Lee"]) == 0
    pack = write("pack.toml", (
        '[pack]\nid = "agency"\ntitle = "Agency"\nversion = "1"\ncitation = "Policy 1"\n\n'
        '[[requirements]]\nid = "annual"\nkind = "hours"\ntitle = "Annual hours"\nhours = 8\n'
    ))
    out = tmp_path / "report.csv"
    assert main(["report", "--ledger", str(db), "--rules", str(pack), "--as-of", "2026-03-02", "--format", "csv",
                 "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "M1/qpr/2026-01-05 (self-reported)" in text
    assert "pending review" in text
    assert "submission 2: M1/qpr/2026-01-06" in text
    html = tmp_path / "report.html"
    assert main(["report", "--ledger", str(db), "--rules", str(pack), "--as-of", "2026-03-02", "-o", str(html)]) == 0
    assert '<span class="small">(self-reported)</span>' in html.read_text(encoding="utf-8")


# -- agencies ----------------------------------------------------------------------------------


def test_a_submission_and_its_approval_move_with_their_member(ledger, location, catalogue, pdf, write):
    """A submission is its member's agency's; a transfer moves it and its approval's batch (on
    either backend), and the journal still verifies."""
    first = approve(ledger, submit_qpr(ledger, catalogue, pdf).id, by="Jordan Lee", at=NOW)
    submit_qpr(ledger, catalogue, write("b.png", PNG), member="M2", by="Robin Vale")
    home = ledger.agency()
    ledger.add_agency("north", "North")
    ledger.transfer("M1", "north", NOW)
    assert raw_sql(location, "SELECT id, agency_id FROM submissions ORDER BY id") == [(1, "north"), (2, home)]
    assert raw_sql(location, "SELECT id, agency_id FROM batches ORDER BY id") == [(first.events[-1].batch, "north")]
    assert revoke(ledger, first.id, by="Jordan Lee", at=NOW, note="moved").state is State.REVOKED
    check = ledger.verify()
    assert (check.ok, check.entries) == (True, 3)


def test_a_file_of_the_schema_before_gets_its_submissions_agencies(tmp_path, catalogue, pdf, write):
    """Opening a ledger file made before submissions had an agency gives each its member's."""
    from peertrain.ledger.sqlite import MIGRATIONS

    path = tmp_path / "old.db"
    with open_ledger(path, create_timezone="UTC") as ledger:
        ledger.put_members([Member(id="M1", name="Casey Quinn"), Member(id="M2", name="Robin Vale")])
        ledger.add_agency("north", "North")
        ledger.transfer("M2", "north", NOW)
        submit_qpr(ledger, catalogue, pdf)
        submit_qpr(ledger, catalogue, write("b.png", PNG), member="M2", by="Robin Vale")
    for statement in ("DROP INDEX submissions_agency", "DROP INDEX submissions_evidence",
                      "ALTER TABLE submissions DROP COLUMN agency_id", f"PRAGMA user_version = {len(MIGRATIONS) - 1}"):
        raw_sql(path, statement)
    with open_ledger(path) as ledger:
        assert ledger.schema_version() == len(MIGRATIONS)
        assert [s.member for s in list_submissions(ledger)] == ["M1", "M2"]
    assert raw_sql(path, "SELECT id, agency_id FROM submissions ORDER BY id") == [(1, "local"), (2, "north")]
