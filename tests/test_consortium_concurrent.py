"""Four agencies writing into one consortium ledger at the same time lose and double nothing.

Each agency has two writers running at once (eight threads, each with its own connection as the
agency's role): one imports three transcript files (overlapping each other, each with strangers
who are held and a row with an impossible date that is rejected) and the first file again; the
other pulls twice from one learning record store (a local HTTP server) that holds statements for
the members of all four agencies, some of them the same completions the files bring. The same
work done one step after another into a ledger file per agency is the oracle: each agency must
end with exactly its records, held and rejected rows, and every batch's counts must add up.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable
from pathlib import Path

import xapi_statements as xs
from consortium import Consortium
from peertrain.imports.importer import import_file
from peertrain.imports.profiles import load_profile
from peertrain.ledger import Ledger, Record, open_ledger
from peertrain.pull import pull_xapi
from peertrain.rules.model import Member
from pull_fixtures import PASSWORD, MemoryLRS, catalogue_with_lrs_courses, xapi_source
from pull_server import LocalServer

AGENCIES = ("a1", "a2", "a3", "a4")
MEMBERS = 20
HEADER = (
    "Learner Name,Email,Agency,Course Title,Course ID,Enrollment Date,Completion Date,Status,"
    "Credit Hours,Certificate Number\r\n"
)
COURSES = ("QPR", "Psychological First Aid", "Mental Health First Aid for Public Safety")
NOW = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)


def email(agency: str, n: int) -> str:
    return f"m{n:02d}@{agency}.example"


def row(agency: str, i: int) -> str:
    """Transcript row ``i`` of an agency: member, course and date depend on ``i`` alone."""
    n = i % MEMBERS + 1
    day = dt.date(2025, 1, 1) + dt.timedelta(days=i)
    return (
        f"Member {n},{email(agency, n)},{agency},{COURSES[i % 3]},X-{i},{day:%m/%d/%Y},{day:%m/%d/%Y},"
        f"Completed,1,C-{i}\r\n"
    )


def files(agency: str, folder: Path) -> list[Path]:
    """Three files: rows 0-59, 20-79, 40-99 (each overlapping the one before by 40 rows), each
    with two strangers and one impossible date."""
    made = []
    for f in range(3):
        lines = [row(agency, i) for i in range(f * 20, f * 20 + 60)]
        lines += [
            f"Stranger {f}{j},stranger{f}{j}@{agency}.example,{agency},QPR,X,01/02/2025,01/02/2025,Completed,1,S\r\n"
            for j in range(2)
        ]
        lines.append(f"Member 1,{email(agency, 1)},{agency},QPR,X,01/02/2025,13/45/2025,Completed,1,B\r\n")
        path = folder / f"{agency}-{f}.csv"
        path.write_text(HEADER + "".join(lines), encoding="utf-8")
        made.append(path)
    return made


def statements() -> list[dict]:
    """Ten QPR completions per agency; the first three of each are the same member, course and day
    as transcript rows 0, 3 and 6 (QPR rows) of that agency's files."""
    made = []
    number = 1000
    for agency in AGENCIES:
        for k in range(10):
            i = 3 * k  # a QPR row of the transcript (i % 3 == 0) for k < 3; later ones are new days
            day = dt.date(2025, 1, 1) + dt.timedelta(days=i if k < 3 else 400 + k)
            number += 1
            made.append(xs.statement(
                number, xs.COMPLETED, xs.mbox(email(agency, i % MEMBERS + 1)),
                "https://lrs.pinelake.example/activities/qpr", name="QPR", timestamp=f"{day}T17:00:00Z",
            ))
    return made


def roster(agency: str) -> list[Member]:
    return [Member(id=f"{agency.upper()}-{n:02d}", name=f"Member {n}", agency=agency, email=email(agency, n))
            for n in range(1, MEMBERS + 1)]


def importer(ledger: Ledger, paths: list[Path]) -> None:
    profile, catalogue = load_profile("cops-portal-csv"), catalogue_with_lrs_courses()
    for path in (paths[0], paths[1], paths[0], paths[2]):
        import_file(ledger, profile, path, catalogue)


def puller(ledger: Ledger, url: str) -> None:
    for _ in range(2):
        pull_xapi(ledger, xapi_source(url, page_size=7), catalogue_with_lrs_courses(), now=NOW)


def at_once(jobs: list[tuple[str, Callable[[Ledger], None]]], con: Consortium) -> list[BaseException]:
    """Run each job (an agency, and what it does with its own connection as that agency's role) in a
    thread of its own, all released at one moment; the exceptions they raised."""
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def work(agency: str, job: Callable[[Ledger], None]) -> None:
        try:
            with open_ledger(con.url(agency)) as ledger:
                start.wait(timeout=30)
                job(ledger)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not [t for t in threads if t.is_alive()]
    return errors


def state(ledger: Ledger) -> tuple[set[str], int, int]:
    """Record ids, held rows, rejected rows."""
    return {r.id for r, _ in ledger.records()}, len(ledger.held()), len(ledger.rejected())


def test_four_agencies_importing_and_pulling_at_once_lose_and_double_nothing(
    pg_cluster, tmp_path, monkeypatch
):
    """Eight writers at once; then every agency's rows equal the oracle's, and every count adds up."""
    monkeypatch.setenv("PEERTRAIN_TEST_LRS_PASSWORD", PASSWORD)
    con = Consortium(pg_cluster, (*AGENCIES, "state"))
    con.create(AGENCIES[0], AGENCIES[1:])
    lrs = MemoryLRS()
    lrs.load(statements())
    paths = {agency: files(agency, tmp_path) for agency in AGENCIES}
    for agency in AGENCIES:
        with open_ledger(con.url(agency)) as ledger:
            assert ledger.put_members(roster(agency)) == (MEMBERS, 0)
    with LocalServer(lrs) as server:
        jobs = [(a, functools.partial(importer, paths=paths[a])) for a in AGENCIES]
        jobs += [(a, functools.partial(puller, url=server.url)) for a in AGENCIES]
        assert at_once(jobs, con) == []
        # The oracle: the same work, one step after another, into a ledger file per agency.
        expected = {}
        for agency in AGENCIES:
            with open_ledger(tmp_path / f"{agency}.db", create_timezone="America/Chicago") as ledger:
                ledger.put_members(roster(agency))
                importer(ledger, paths[agency])
                puller(ledger, server.url)
                expected[agency] = state(ledger)
    total_records = 0
    for agency in AGENCIES:
        with open_ledger(con.url(agency)) as ledger:
            records, held, rejected = state(ledger)
            assert (records, held, rejected) == expected[agency]
            # 100 transcript rows (a third of them QPR) + 7 new QPR days from the LRS; 6 strangers
            # + the 30 statements of the other agencies' members; 4 files with one bad row each.
            assert (len(records), held, rejected) == (107, 36, 4)
            assert all(r.startswith(agency.upper() + "-") for r in records)
            batches = ledger.batches()
            assert len(batches) == 5  # 4 imports, 1 pull (the second pull found nothing new: no batch)
            for b in batches:
                c = b.counts
                assert c.rows_read == c.imported + c.duplicates + c.rejected + c.unmatched, b
            assert sum(b.counts.imported for b in batches) == len(records)
            assert sum(b.counts.unmatched for b in batches) == held
            assert sum(b.counts.rejected for b in batches) == rejected
            imports = [b for b in batches if b.source == "cops-training-portal"]
            assert sorted(b.counts.rows_read for b in imports) == [63, 63, 63, 63]
            assert sum(b.counts.rows_read for b in batches if b not in imports) == 40
            total_records += len(records)
    with open_ledger(con.url("state")) as ledger:
        assert len(ledger.members()) == len(AGENCIES) * MEMBERS
        assert len(list(ledger.records())) == total_records == 4 * 107
        assert len(ledger.batches()) == 20
        result = ledger.verify()  # one chain: every batch an entry, none forked
        assert (result.ok, result.entries) == (True, 20)


def test_one_agencys_imports_at_once_wait_for_each_other(pg_cluster):
    """Two imports of one agency at once, of the same 5,000 records in opposite orders: without
    care each would lock rows the other waits for (a deadlock), or each would store part of them.
    They run one after the other instead: one batch imports all, the other finds only duplicates."""
    con = Consortium(pg_cluster, ("a1",))
    con.create("a1", (), consortium=())
    records = [
        Record(f"A1-{i % MEMBERS + 1:02d}", "qpr", dt.date(2000, 1, 1) + dt.timedelta(days=i), "completed",
               None, None, None, None, f"row {i}")
        for i in range(5000)
    ]
    with open_ledger(con.url("a1")) as ledger:
        ledger.put_members(roster("a1"))

    def job(name: str, rows: list[Record]) -> Callable[[Ledger], None]:
        return lambda ledger: ledger.import_batch(
            source="s", profile="p", file_name=name, file_hash=name, imported_at=NOW, rows=rows
        )

    assert at_once([("a1", job("forward", records)), ("a1", job("backward", records[::-1]))], con) == []
    with open_ledger(con.url("a1")) as ledger:
        counts = sorted((b.counts.imported, b.counts.duplicates) for b in ledger.batches())
        assert counts == [(0, 5000), (5000, 0)]
        assert len(list(ledger.records())) == 5000
