"""Benchmark: evaluate compliance for a large ledger, streaming member by member.

Generates a ledger of ``--members`` members (default 50,000) and ``--completions`` completed
records (default 2,000,000), evaluates the 12 requirements of a generated rule pack for every
member with :func:`peertrain.stream.stream_compliance`, and reports the time as a ratio to the
floor measured in the same run: SQLite's own ``SELECT member_id, SUM(hours) ... GROUP BY
member_id`` over the same completed records. Targets (issue 6): ratio <= 3, peak RSS < 500 MB.

    python benchmarks/bench_scale.py                                   # 50,000 / 2,000,000
    python benchmarks/bench_scale.py --members 5000 --completions 200000

Generating the ledger is not measured. The evaluation runs in a child process so that its peak
RSS is its own. For reference it also reports how long merely reading the ledger's rows into
Python (``Ledger.completions_by_member``, no evaluation) takes.
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
from pathlib import Path

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
    db.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
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
        db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", records)
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


CHILD = """
import resource, sys, time
from pathlib import Path
from peertrain.ledger import open_ledger
from peertrain.loading import load_bundled_catalogue, load_pack
from peertrain.stream import stream_compliance
ledger_path, pack_path, as_of = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
import argparse
import datetime as dt
catalogue = load_bundled_catalogue()
pack = load_pack(pack_path, catalogue)
ledger = open_ledger(ledger_path)
began = time.perf_counter()
for _member, _rows in ledger.completions_by_member():
    pass
reading = time.perf_counter() - began
began = time.perf_counter()
stream = stream_compliance(ledger, [pack], dt.date.fromisoformat(as_of), catalogue=catalogue)
for result in stream:
    pass
elapsed = time.perf_counter() - began
print(elapsed, reading, stream.members, stream.total, len(stream.failing), len(stream.warnings),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--completions", type=int, default=2_000_000)
    parser.add_argument("--keep", type=Path, metavar="FILE",
                        help="keep the generated ledger in FILE (reused if it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ledger = args.keep or Path(folder) / "ledger.db"
        if not ledger.exists():
            print(f"generating {args.members:,} members, {args.completions:,} completions ...", flush=True)
            generate(ledger, args.members, args.completions)
        pack = Path(folder) / "bench.toml"
        pack.write_text(PACK, encoding="utf-8")
        low = min(floor(ledger) for _ in range(3))
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(ledger), str(pack), AS_OF.isoformat()],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        elapsed, reading, members, verdicts, failing, warnings, rss_kb = (float(x) for x in out)
        size = ledger.stat().st_size
    print(f"ledger: {size / 1e6:.0f} MB, {args.members:,} members, {args.completions:,} completions, "
          f"12 requirements, as of {AS_OF.isoformat()}")
    print(f"SQLite GROUP BY member (floor): {low:7.2f} s")
    print(f"peertrain stream_compliance:    {elapsed:7.2f} s  ({verdicts:,.0f} verdicts for {members:,.0f} members, "
          f"{failing:,.0f} out of compliance, {warnings:,.0f} warnings)")
    print(f"reading the rows into Python alone: {reading:7.2f} s  ({reading / low:.1f} x the floor; for reference)")
    print(f"ratio to floor: {elapsed / low:.1f}  (target <= 3)")
    print(f"peak RSS of the evaluation: {rss_kb / 1024:.0f} MB  (target < 500 MB)")


if __name__ == "__main__":
    main()
