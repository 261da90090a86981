"""Benchmark: evaluate compliance for a large ledger, streaming member by member.

Generates a ledger of ``--members`` members (default 50,000) and ``--completions`` completed
records (default 2,000,000), evaluates the 12 requirements of a generated rule pack for every
member with :func:`peertrain.rules.stream.stream_compliance`, and reports the time as a ratio to the
floor measured in the same run: SQLite's own ``SELECT member_id, SUM(hours) ... GROUP BY
member_id`` over the same completed records. Targets (issues 6 and 13): ratio <= 3, peak RSS < 500 MB.

    python benchmarks/bench_scale.py                                   # 50,000 / 2,000,000
    python benchmarks/bench_scale.py --members 5000 --completions 200000
    python benchmarks/bench_scale.py --pg-temp        # on PostgreSQL, in a throwaway cluster
    python benchmarks/bench_scale.py --ledger 'postgresql://me@db.example/bench?password=env:PGPW'

With ``--ledger URL`` or ``--pg-temp`` the generated ledger is copied into a PostgreSQL ledger
(``COPY``, not measured) and evaluated there, and the floor is PostgreSQL's own ``GROUP BY member``
(``benchmarks/pg_ledger.py``); SQLite's floor on the same data is printed beside it.

Generating the ledger is not measured. The evaluation runs in a child process so that its peak
RSS is its own. For reference it also reports how long two things that are much less than an
evaluation take:

- merely reading the ledger's rows into Python (``Ledger.completions_by_member``, no evaluation);
- one SQL pass computing, per member, only the sums and latest dates the 12 requirements need to
  say whether each is met on the as-of date (no lapse dates, no lapsed-or-never-met, no "30 hours
  within some 12 months", no evidence, no verdicts): the least an evaluator pushed down into
  SQLite would have to compute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import pg_ledger

AS_OF = dt.date(2026, 11, 15)

#: (course id, hours on the record or None for the catalogue's, delivery or None, weight).
COURSES = [
    ("team-quarterly", None, None, 30), ("qpr", None, None, 8), ("mhfa-ps", None, None, 6),
    ("icisf-gci", None, None, 6), ("icisf-aic", None, None, 5), ("icisf-agci", None, None, 4),
    ("jh-pfa", None, None, 5), ("nctsn-pfa-online", "6", None, 4), ("asist", None, None, 5),
    ("cop2cop-rps", "16", None, 3), ("mn-pasb-quarterly", "2", None, 8), ("cit-40", None, None, 2),
    ("mn-psc-online", "8", "online", 3), ("icisf-gci-online", "12", None, 2), ("wa-cjtc-peer-40", None, None, 1),
]

#: The rule pack evaluated: 12 requirements of every kind, every one applying to everyone.
PACK = """
[pack]
id = "bench"
title = "Benchmark pack"
version = "1"
citation = "benchmarks/bench_scale.py"
grace_months = 6
approved_providers = ["Agency", "ICISF", "QPR Institute", "Johns Hopkins", "LivingWorks"]

[[requirements]]
id = "rolling-24"
kind = "hours"
title = "24 hours in the last 24 months"
hours = 24
window = { kind = "rolling", months = 24 }

[[requirements]]
id = "annual"
kind = "hours"
title = "12 hours each calendar year, 4 in person, approved providers"
hours = 12
window = { kind = "periodic", months = 12 }
counts = { approved_providers_only = true }
[[requirements.minimums]]
label = "in person"
hours = 4
counts = { delivery = ["in_person"] }

[[requirements]]
id = "suicide-prevention"
kind = "hours"
title = "8 hours on suicide prevention in the last 12 months"
hours = 8
window = { kind = "rolling", months = 12 }
counts = { topics = ["suicide-prevention"] }

[[requirements]]
id = "mhfa"
kind = "certificate"
title = "Current MHFA"
courses = ["mhfa-ps"]

[[requirements]]
id = "gci"
kind = "certificate"
title = "GCI within 36 months, in person"
courses = ["icisf-gci", "icisf-agci"]
valid_months = 36
counts = { delivery = ["in_person"] }

[[requirements]]
id = "rps"
kind = "certificate"
title = "Hold RPS"
courses = ["cop2cop-rps"]

[[requirements]]
id = "icisf-two"
kind = "n_of"
title = "Two ICISF courses within 36 months"
n = 2
courses = ["icisf-gci", "icisf-aic", "icisf-agci"]
window = { kind = "rolling", months = 36 }

[[requirements]]
id = "topics"
kind = "topics"
title = "Core topics within 36 months"
topics = ["suicide-prevention", "self-care", "crisis-response"]
window = { kind = "rolling", months = 36 }

[[requirements]]
id = "quarterly"
kind = "recurring"
title = "One team session each quarter"
window = { kind = "periodic", months = 3 }
counts = { courses = ["team-quarterly", "mn-pasb-quarterly"] }

[[requirements]]
id = "pfa"
kind = "any_of"
title = "Current PFA"
[[requirements.of]]
id = "jh"
kind = "certificate"
title = "Johns Hopkins PFA within 36 months"
courses = ["jh-pfa"]
valid_months = 36
[[requirements.of]]
id = "nctsn"
kind = "certificate"
title = "NCTSN PFA within 24 months"
courses = ["nctsn-pfa-online"]
valid_months = 24

[[requirements]]
id = "initial-30"
kind = "hours"
title = "30 hours within some 12 months"
hours = 30
window = { kind = "any_span", months = 12 }

[[requirements]]
id = "foundation"
kind = "all_of"
title = "ASIST and CIT"
[[requirements.of]]
id = "asist"
kind = "n_of"
title = "ASIST"
n = 1
courses = ["asist"]
[[requirements.of]]
id = "cit"
kind = "hours"
title = "40 hours of CIT"
hours = 40
counts = { courses = ["cit-40"] }
"""


def generate(path: Path, members: int, completions: int, seed: int = 6) -> None:
    """A ledger at ``path`` with ``members`` members and ``completions`` completed records."""
    from peertrain.ledger import open_ledger

    open_ledger(path, create_timezone="America/Chicago").close()
    rnd = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    functions = ["prevention", "intervention", "postvention"]
    rows = []
    for i in range(members):
        joined = AS_OF - dt.timedelta(days=rnd.randrange(30, 4000))
        rows.append((
            f"M{i:06d}", f"Officer {i:06d}", f"Agency {i % 40:02d}", json.dumps(["peer_supporter"]),
            json.dumps(sorted(rnd.sample(functions, rnd.randrange(1, 4)))), joined.isoformat(), None, None,
        ))
    db.executemany(
        "INSERT INTO members (id, name, agency, roles, functions, joined_on, email, portal_user_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.execute(
        "INSERT INTO batches (id, source, profile, file_name, file_hash, imported_at) "
        "VALUES (1, 'bench', 'bench', 'bench', '0', '2026-11-15T00:00:00+00:00')"
    )
    weights = [c[3] for c in COURSES]
    start = dt.date(2018, 1, 1).toordinal()
    span = AS_OF.toordinal() + 60 - start  # a few records after the as-of date
    seen: set[str] = set()
    per_member = completions / members
    made = 0
    for i in range(members):
        member = f"M{i:06d}"
        want = round(per_member * (i + 1)) - made
        records = []
        while len(records) < want:
            course, hours, delivery, _ = rnd.choices(COURSES, weights)[0]
            day = dt.date.fromordinal(start + rnd.randrange(span)).isoformat()
            rid = f"{member}/{course}/{day}"
            if rid in seen:
                continue
            seen.add(rid)
            records.append((rid, 1, member, course, day, "completed", hours, delivery, None, "bench", None,
                            f"bench.csv:{made + len(records)}"))
        seen.clear()
        made += len(records)
        db.executemany(
            "INSERT INTO records (id, batch_id, member_id, course_id, on_date, status, hours, delivery, provider, "
            "source, record_id, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            records,
        )
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


FLOOR_SQL = (
    "SELECT member_id, SUM(hours) FROM records WHERE status = 'completed' GROUP BY member_id"
)


def floor(path: Path) -> float:
    """Seconds for SQLite alone to sum every member's completed hours (GROUP BY member)."""
    db = sqlite3.connect(path)
    began = time.perf_counter()
    groups = db.execute(FLOOR_SQL).fetchall()
    elapsed = time.perf_counter() - began
    db.close()
    assert groups
    return elapsed


def pushdown_sql() -> str:
    """One SELECT computing, per member, the figures that say whether each requirement of
    :data:`PACK` is met on :data:`AS_OF` (and nothing more), the catalogue's values written in."""
    from peertrain.rules.loading import load_bundled_catalogue

    catalogue = load_bundled_catalogue()
    ids = sorted({c[0] for c in COURSES})
    courses = {cid: catalogue.course(cid) for cid in ids}

    def listed(names: Iterable[str]) -> str:
        return "(" + ", ".join(f"'{n}'" for n in sorted(names)) + ")"

    hours = "CASE course_id " + " ".join(
        f"WHEN '{cid}' THEN {c.hours}" for cid, c in courses.items() if c.hours is not None
    ) + " ELSE 0 END"
    credit = f"(CASE WHEN hours IS NOT NULL THEN CAST(hours AS REAL) ELSE {hours} END)"
    online = listed(cid for cid, c in courses.items() if c.delivery and c.delivery.value == "online")
    in_person = f"coalesce(delivery, CASE WHEN course_id IN {online} THEN 'online' ELSE 'in_person' END) = 'in_person'"
    approved = set(tomllib.loads(PACK)["pack"]["approved_providers"])
    by_approved = listed(cid for cid, c in courses.items() if c.provider in approved)

    def covering(topic: str) -> str:
        return listed(cid for cid, c in courses.items() if topic in c.topics)

    d = f"'{AS_OF.isoformat()}'"
    this_year, last_year = f"'{AS_OF.year}-01-01'", f"'{AS_OF.year - 1}-01-01'"
    quarter = dt.date(AS_OF.year, 3 * ((AS_OF.month - 1) // 3) + 1, 1)
    previous = dt.date(quarter.year - (quarter.month == 1), (quarter.month - 4) % 12 + 1, 1)
    since = {m: f"'{dt.date(AS_OF.year - m // 12, AS_OF.month, AS_OF.day).isoformat()}'" for m in (12, 24, 36)}
    figures = [
        # rolling-24, suicide-prevention: hours inside the rolling window
        f"SUM(CASE WHEN on_date > {since[24]} AND on_date <= {d} THEN {credit} END)",
        f"SUM(CASE WHEN on_date > {since[12]} AND on_date <= {d} AND course_id IN "
        f"{covering('suicide-prevention')} THEN {credit} END)",
        # annual: approved and in-person hours, this calendar year and the last
        *(f"SUM(CASE WHEN {period} AND {where} THEN {credit} END)"
          for period in (f"on_date >= {this_year} AND on_date <= {d}",
                         f"on_date >= {last_year} AND on_date < {this_year}")
          for where in (f"course_id IN {by_approved}", in_person)),
        # certificates (mhfa, gci in person, rps) and the any_of of two PFA certificates: latest date
        f"MAX(CASE WHEN course_id = 'mhfa-ps' AND on_date <= {d} THEN on_date END)",
        f"MAX(CASE WHEN course_id IN ('icisf-agci', 'icisf-gci') AND on_date <= {d} AND {in_person} THEN on_date END)",
        *(f"MAX(CASE WHEN course_id = '{cid}' AND on_date <= {d} THEN on_date END)"
          for cid in ("cop2cop-rps", "jh-pfa", "nctsn-pfa-online")),
        # icisf-two: the latest date of each ICISF course
        *(f"MAX(CASE WHEN course_id = '{cid}' AND on_date > {since[36]} AND on_date <= {d} THEN on_date END)"
          for cid in ("icisf-agci", "icisf-aic", "icisf-gci")),
        # topics: the latest date each topic was covered
        *(f"MAX(CASE WHEN course_id IN {covering(t)} AND on_date <= {d} THEN on_date END)"
          for t in ("crisis-response", "self-care", "suicide-prevention")),
        # quarterly: sessions this quarter and the last
        *(f"SUM(CASE WHEN course_id IN ('mn-pasb-quarterly', 'team-quarterly') AND {period} THEN 1 END)"
          for period in (f"on_date >= '{quarter}' AND on_date <= {d}",
                         f"on_date >= '{previous}' AND on_date < '{quarter}'")),
        # foundation: ASIST held, CIT hours
        f"MAX(CASE WHEN course_id = 'asist' AND on_date <= {d} THEN on_date END)",
        f"SUM(CASE WHEN course_id = 'cit-40' AND on_date <= {d} THEN {credit} END)",
    ]
    return (f"SELECT member_id, {', '.join(figures)} FROM records WHERE status = 'completed' "
            "GROUP BY member_id")


def pushdown(path: Path) -> float:
    """Seconds for :func:`pushdown_sql` on the ledger at ``path``."""
    db = sqlite3.connect(path)
    began = time.perf_counter()
    groups = db.execute(pushdown_sql()).fetchall()
    elapsed = time.perf_counter() - began
    db.close()
    assert groups
    return elapsed


CHILD = """
import resource, sys, time
from pathlib import Path
import datetime as dt
from peertrain.ledger import open_ledger
from peertrain.rules.loading import load_bundled_catalogue, load_pack
from peertrain.rules.stream import CHUNK_MEMBERS, stream_compliance
ledger_path, pack_path, as_of, mode = sys.argv[1], Path(sys.argv[2]), dt.date.fromisoformat(sys.argv[3]), sys.argv[4]
catalogue = load_bundled_catalogue()
pack = load_pack(pack_path, catalogue)
ledger = open_ledger(ledger_path)
members = ledger.members()
began = time.perf_counter()
if mode == "reading":
    for _member, _rows in ledger.completions_by_member():
        pass
    print(time.perf_counter() - began)
    raise SystemExit
if mode == "table":
    # the columnar evaluation's product, the verdict table of each chunk, without making Verdicts
    import polars as pl
    from peertrain.rules.columnar import columnar_compliance
    from peertrain.rules.verdict import Status
    order = sorted(members, key=lambda m: m.id + "/")
    chunks = [order[i : i + CHUNK_MEMBERS] for i in range(0, len(order), CHUNK_MEMBERS)]
    from peertrain._prefetch import prefetched
    from peertrain.rules.stream import chunk_tables
    verdicts = failing = 0
    engine = set()
    # as stream_compliance reads them: the next chunk's records while this one is evaluated
    for chunk, table in zip(chunks, prefetched(chunk_tables(ledger, chunks), 1)):
        rows = pl.from_arrow(table)
        del table
        result = columnar_compliance(rows, chunk, [pack], as_of, catalogue=catalogue)
        counts = result.counts()
        verdicts += sum(counts.values())
        failing += counts[Status.LAPSED] + counts[Status.NOT_MET]
        engine |= set(result.by_engine)
        del rows, result  # as stream_compliance does: one chunk's tables in memory at a time
    elapsed = time.perf_counter() - began
    print(elapsed, len(members), verdicts, failing, ",".join(sorted(engine)) or "-",
          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    raise SystemExit
stream = stream_compliance(ledger, [pack], as_of, catalogue=catalogue, columnar=mode == "columnar")
for result in stream:
    pass
elapsed = time.perf_counter() - began
print(elapsed, stream.members, stream.total, len(stream.failing), len(stream.warnings),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def child(ledger: Path | str, pack: Path, mode: str) -> list[str]:
    """Run the evaluation ``mode`` in a child process (so that its peak RSS is its own)."""
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(ledger), str(pack), AS_OF.isoformat(), mode],
        check=True, capture_output=True, text=True,
    ).stdout.split()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--completions", type=int, default=2_000_000)
    parser.add_argument("--keep", type=Path, metavar="FILE",
                        help="keep the generated ledger in FILE (reused if it exists)")
    parser.add_argument("--engine", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the engine, member by member (--no-engine: skip it, it is the slow one)")
    parser.add_argument("--pack", type=Path, metavar="TOML",
                        help="evaluate this rule pack instead of the generated one")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--ledger", metavar="URL",
                       help="evaluate a PostgreSQL ledger (postgresql://..., password as env:/file: reference); "
                            "the generated SQLite ledger is copied into it when it has no members; the floor is "
                            "PostgreSQL's own GROUP BY member")
    where.add_argument("--pg-temp", action="store_true",
                       help="as --ledger, in a throwaway PostgreSQL cluster started (and removed) for the run")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        path = args.keep or Path(folder) / "ledger.db"
        if not path.exists():
            print(f"generating {args.members:,} members, {args.completions:,} completions ...", flush=True)
            generate(path, args.members, args.completions)
        pack = args.pack or Path(folder) / "bench.toml"
        if not args.pack:
            pack.write_text(PACK, encoding="utf-8")
        url = stack.enter_context(pg_ledger.temporary_database()) if args.pg_temp else args.ledger
        ledger: Path | str = path
        sqlite_floor = min(floor(path) for _ in range(3))
        low, least = sqlite_floor, None
        if url:
            copied = pg_ledger.copy_in(path, url)
            if copied:
                print(f"copied the ledger into PostgreSQL in {copied:.0f} s (not measured)", flush=True)
            ledger, low = url, min(pg_ledger.pg_floor(url) for _ in range(3))
        else:
            least = min(pushdown(path) for _ in range(3))
        reading = float(child(ledger, pack, "reading")[0])
        table = child(ledger, pack, "table")
        columnar = [float(x) for x in child(ledger, pack, "columnar")]
        engine = [float(x) for x in child(ledger, pack, "engine")] if args.engine else None
        size = path.stat().st_size
    print(f"ledger: {'PostgreSQL, ' if url else ''}{size / 1e6:.0f} MB as SQLite, {args.members:,} members, "
          f"{args.completions:,} completions, 12 requirements, as of {AS_OF.isoformat()}")
    if url:
        print(f"PostgreSQL GROUP BY member (floor):    {low:7.2f} s  (SQLite's on the same data: {sqlite_floor:.2f} s)")
    else:
        print(f"SQLite GROUP BY member (floor):        {low:7.2f} s")
    elapsed, _members, verdicts, failing, engine_kinds, rss_kb = table
    print(f"columnar, verdict tables:              {float(elapsed):7.2f} s  ratio {float(elapsed) / low:5.1f}  "
          f"peak RSS {float(rss_kb) / 1024:4.0f} MB  ({float(verdicts):,.0f} verdicts, {float(failing):,.0f} "
          "of them lapsed or not met)")
    print(f"   by the engine member by member: {engine_kinds}")
    elapsed, members, verdicts, failing, warnings, rss_kb = columnar
    print(f"columnar, stream_compliance (Verdicts): {elapsed:7.2f} s  ratio {elapsed / low:5.1f}  "
          f"peak RSS {rss_kb / 1024:4.0f} MB  ({verdicts:,.0f} verdicts for {members:,.0f} members, "
          f"{failing:,.0f} out of compliance, {warnings:,.0f} warnings)")
    if engine is not None:
        elapsed, members, verdicts, failing, warnings, rss_kb = engine
        print(f"engine, stream_compliance:             {elapsed:7.2f} s  ratio {elapsed / low:5.1f}  "
              f"peak RSS {rss_kb / 1024:4.0f} MB  ({verdicts:,.0f} verdicts, {failing:,.0f} out of compliance)")
    print(f"reading the rows into Python alone: {reading:7.2f} s  ({reading / low:.1f} x the floor; for reference)")
    if least is not None:
        print(f"one SQL pass with only what 'met on the as-of date' needs:  {least:7.2f} s  "
              f"({least / low:.1f} x the floor; for reference)")
    # issue 13: under 500 MB at 50,000 members, under 2 GB at the national point (500,000)
    print(f"targets: ratio <= 3, peak RSS < {'2 GB' if members >= 500_000 else '500 MB'}")


if __name__ == "__main__":
    main()
