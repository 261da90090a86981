"""Benchmark: import a large COPS-portal-style CSV export into a fresh ledger.

Reports the import's rows per second as a ratio to the floor measured in the same run -- the
bare ``csv`` module reading the same file -- and the import's peak resident memory.
Targets (issue 3): ratio >= 0.3, peak RSS < 400 MB.

For reference it also measures the cheapest import conceivable with the standard library: the
``csv`` module's rows inserted as they are, one ``executemany`` in one transaction, into a
table with no index, no key and no checks. No import that keeps its rows in SQLite can be
faster than that from Python; its ratio bounds what the target can ask of peertrain.

    python benchmarks/bench_import.py                 # 1,000,000 rows
    python benchmarks/bench_import.py --rows 200000   # quicker
    python benchmarks/bench_import.py --fast-path     # the fast path (files the columnar path cannot read)
    python benchmarks/bench_import.py --pg-temp       # into a PostgreSQL ledger in a throwaway cluster

The default import takes the columnar path for this plain file (``--columnar`` says so explicitly).

The import runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import pg_ledger

HEADER = [
    "Learner Name", "Email", "Agency", "Course Title", "Course ID", "Enrollment Date", "Completion Date",
    "Status", "Credit Hours", "Certificate Number",
]
COURSES = [
    ("Group Crisis Intervention", "14"), ("Assisting Individuals in Crisis", "14"), ("QPR Gatekeeper Training", "1"),
    ("Mental Health First Aid - Public Safety", "8"), ("Reciprocal Peer Support (RPS)", "16"),
    ("Psychological First Aid (RAPID)", "6"), ("Peer support team quarterly in-service", "4"),
    ("Applied Suicide Intervention Skills Training", "15"), ("Unknown Vendor Webinar", "1"),
]


def generate(path: Path, rows: int, members: int, seed: int = 7) -> Path:
    """A CSV export of ``rows`` rows for ``members`` people (about 3% unknown people or courses,
    10% not completed), and the matching roster CSV beside it."""
    rnd = random.Random(seed)
    start = dt.date(2019, 1, 1)
    people = [(f"Officer {i:05d}", f"officer{i:05d}@agency{i % 40:02d}.example", f"Agency {i % 40:02d}")
              for i in range(members)]
    roster = path.with_name("roster.csv")
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["member_id", "name", "agency", "roles", "functions", "joined_on", "email"])
        for i, (name, email, agency) in enumerate(people[: members - members // 30]):
            writer.writerow([f"M{i:05d}", name, agency, "peer_supporter", "intervention", "2019-01-01", email])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            name, email, agency = people[rnd.randrange(members)]
            title, hours = COURSES[rnd.randrange(len(COURSES))]
            enrolled = start + dt.timedelta(days=rnd.randrange(2500))
            done = enrolled + dt.timedelta(days=rnd.randrange(30))
            completed = rnd.random() > 0.1
            writer.writerow([
                name, email.upper() if n % 11 == 0 else email, agency, title, "",
                f"{enrolled:%m/%d/%Y}", f"{done:%m/%d/%Y} {rnd.randrange(1, 12):02d}:{rnd.randrange(60):02d} PM"
                if completed else "", "Completed" if completed else "In Progress", hours if completed else "",
                f"C-{n}" if completed else "",
            ])
    return roster


def bare_csv(path: Path) -> float:
    """Seconds for the csv module alone to read every row."""
    began = time.perf_counter()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for _row in csv.reader(handle):
            pass
    return time.perf_counter() - began


def cheapest(path: Path, folder: Path) -> float:
    """Seconds for the cheapest conceivable import: every csv row inserted as it is into a table
    with one column per cell and no index, in one transaction (WAL, as the ledger)."""
    db = sqlite3.connect(folder / "cheapest.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(f"CREATE TABLE rows ({', '.join(f'c{i}' for i in range(len(HEADER)))})")
    insert = f"INSERT INTO rows VALUES ({', '.join('?' * len(HEADER))})"
    began = time.perf_counter()
    db.execute("BEGIN")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        next(rows)
        db.executemany(insert, rows)
    db.execute("COMMIT")
    elapsed = time.perf_counter() - began
    db.close()
    return elapsed


CHILD = """
import sys, time, resource
from pathlib import Path
from peertrain.imports.importer import import_file
from peertrain.ledger import open_ledger
from peertrain.rules.loading import load_bundled_catalogue
from peertrain.imports.profiles import load_profile
from peertrain.imports.tables import read_roster
import peertrain.imports.importer
export, roster = map(Path, sys.argv[1:3])
ledger_path = sys.argv[3]  # a file, or a postgresql:// URL
peertrain.imports.importer._COLUMNAR = sys.argv[4] != "rows"
ledger = open_ledger(ledger_path, create_timezone="America/Chicago")
ledger.put_members(read_roster(roster))
catalogue, profile = load_bundled_catalogue(), load_profile("cops-portal-csv")
began = time.perf_counter()
result = import_file(ledger, profile, export, catalogue)
elapsed = time.perf_counter() - began
c = result.batch.counts
print(elapsed, c.rows_read, c.imported, c.duplicates, c.rejected, c.unmatched,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--columnar", action="store_true", help="import on the columnar path (the default)")
    parser.add_argument("--fast-path", action="store_true", help="import on the fast path instead")
    parser.add_argument("--pg-temp", action="store_true",
                        help="import into a PostgreSQL ledger in a throwaway cluster (started and removed here)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        target = stack.enter_context(pg_ledger.temporary_database()) if args.pg_temp else str(
            Path(folder) / "ledger.db"
        )
        export = Path(folder) / "transcript.csv"
        print(f"generating {args.rows:,} rows ...", flush=True)
        roster = generate(export, args.rows, args.members)
        size = export.stat().st_size
        floor = min(bare_csv(export) for _ in range(3))
        least = cheapest(export, Path(folder))
        out = subprocess.run(
            [
                sys.executable, "-c", CHILD, str(export), str(roster), target,
                "rows" if args.fast_path else "columnar",
            ],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        elapsed, rows, imported, duplicates, rejected, unmatched, rss_kb = (float(x) for x in out)
    assert rows == args.rows, (rows, args.rows)
    assert imported + duplicates + rejected + unmatched == rows
    floor_rate, rate = args.rows / floor, args.rows / elapsed
    print(f"file: {size / 1e6:.0f} MB, {args.rows:,} rows, into {'PostgreSQL' if args.pg_temp else 'SQLite'}")
    print(f"bare csv module:  {floor:7.2f} s  {floor_rate:12,.0f} rows/s  (floor)")
    print(f"peertrain import: {elapsed:7.2f} s  {rate:12,.0f} rows/s")
    print(f"  imported {imported:,.0f}, duplicate {duplicates:,.0f}, rejected {rejected:,.0f}, "
          f"held {unmatched:,.0f}")
    print(f"ratio to floor: {rate / floor_rate:.2f}  (target >= 0.30)")
    print(f"for reference, the cheapest conceivable import (csv rows inserted as they are, no index, "
          f"no checks): {least:.2f} s, ratio {floor / least:.2f}")
    print(f"peak RSS of the import: {rss_kb / 1024:.0f} MB  (target < 400 MB)")


if __name__ == "__main__":
    main()
