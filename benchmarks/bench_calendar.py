"""Benchmark: build and serialise a 10,000-event team feed.

Reports the time of peertrain's ``build_feed`` plus serialisation as a ratio to icalendar
serialising the same calendar object (``cal.to_ical()`` of the built calendar), both measured in
the same run (best of ``--repeat``). Target (issue 4): ratio within 1.5.

    python benchmarks/bench_calendar.py                  # 10,000 events
    python benchmarks/bench_calendar.py --events 2000    # quicker

The data: the bundled demo team copied until its deadlines (all-day events with three alarms
each) are about a quarter of the events, plus one-off sessions (every fifth one two days long,
every seventh cancelled) up to the number of events.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import tempfile
import time
from pathlib import Path

from peertrain import check_compliance, load_bundled_catalogue, load_pack, read_completions, read_roster
from peertrain.calendars import Feed, build_feed, deadline_events, member_stamps
from peertrain.calendars.schedule import parse_schedule
from peertrain.rules.loading import curricula_dir, read_toml

DEMO = curricula_dir() / "demo"
COURSES = ["icisf-gci", "cop2cop-rps", "team-quarterly", "icisf-agci", "mn-pasb-quarterly"]


def copy_team(folder: Path, copies: int) -> tuple[Path, Path]:
    """The demo roster and completions repeated ``copies`` times with distinct ids."""
    out: list[Path] = []
    for name, key in (("roster.csv", "member_id"), ("completions.csv", "completion_id")):
        with (DEMO / name).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for n in range(copies):
                for row in rows:
                    copy = dict(row)
                    copy["member_id"] = f"{row['member_id']}-{n:03d}"
                    if key == "completion_id":
                        copy["completion_id"] = f"{row['completion_id']}-{n:03d}"
                    if "name" in copy:
                        copy["name"] = f"{row['name']} {n:03d}"
                        copy["email"] = ""
                    writer.writerow(copy)
        out.append(path)
    return out[0], out[1]


def schedule_data(sessions: int) -> dict[str, object]:
    """A schedule whose sessions give exactly ``sessions`` events."""
    items: list[dict[str, object]] = []
    start = dt.datetime(2026, 1, 5, 9, 0)
    events = 0
    n = 0
    while events < sessions:
        day = start + dt.timedelta(days=n)
        item: dict[str, object] = {
            "id": f"s-{n:05d}", "course": COURSES[n % len(COURSES)],
            "location": f"Training room {n % 9}, 210 Lake St, Pine Lake; building {n % 3}",
            "description": f"Session {n}: bring your badge, a notebook and lunch — parking behind the station.",
            "capacity": 10 + n % 20, "revision": n % 3, "updated": dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        }
        if n % 5 == 0 and sessions - events >= 2:
            item["days"] = [
                {"start": day, "end": day + dt.timedelta(hours=8)},
                {"start": day + dt.timedelta(days=1), "end": day + dt.timedelta(days=1, hours=8)},
            ]
            events += 2
        else:
            item["start"], item["end"] = day, day + dt.timedelta(hours=4)
            events += 1
        if n % 7 == 0:
            item["cancelled"] = True
        items.append(item)
        n += 1
    return {"schedule": {"id": "bench", "name": "Benchmark team", "timezone": "America/Chicago"}, "sessions": items}


def best(repeat: int, run: object, *, collect: bool = True) -> tuple[float, object]:
    """The fastest of ``repeat`` runs of ``run()`` and its last result; with ``collect=False`` the
    cyclic garbage collector is off while it runs (as ``timeit`` does)."""
    times: list[float] = []
    result: object = None
    for _ in range(repeat):
        gc.collect()
        if not collect:
            gc.disable()
        try:
            began = time.perf_counter()
            result = run()  # type: ignore[operator]
            times.append(time.perf_counter() - began)
        finally:
            gc.enable()
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    catalogue = load_bundled_catalogue()
    config = read_toml(DEMO / "demo.toml")
    packs = [load_pack(p, catalogue) for p in config["packs"]]
    with tempfile.TemporaryDirectory() as folder:
        # about 25 deadlines per copy of the demo team: a quarter of the events are deadlines
        roster_path, completions_path = copy_team(Path(folder), max(1, args.events // 100))
        members = read_roster(roster_path)
        completions = read_completions(completions_path, catalogue, members)
    result = check_compliance(members, completions, packs, config["as_of"], catalogue=catalogue)
    deadlines = len(deadline_events(
        result, members, packs, catalogue, team_id="bench", stamps=member_stamps(members, completions, result.as_of)
    ))
    schedule = parse_schedule(schedule_data(args.events - deadlines), catalogue)

    def peertrain() -> bytes:
        calendar = build_feed(Feed.parse("team"), catalogue=catalogue, schedule=schedule, result=result,
                              members=members, packs=packs, completions=completions)
        return bytes(calendar.to_ical())

    calendar = build_feed(Feed.parse("team"), catalogue=catalogue, schedule=schedule, result=result,
                          members=members, packs=packs, completions=completions)
    events = len(calendar.walk("VEVENT"))
    assert events == args.events, (events, args.events)
    ours, data = best(args.repeat, peertrain)
    theirs, again = best(args.repeat, calendar.to_ical)
    assert data == again
    assert isinstance(data, bytes)
    ours_nogc, _ = best(args.repeat, peertrain, collect=False)
    theirs_nogc, _ = best(args.repeat, calendar.to_ical, collect=False)
    print(f"feed: {events:,} events ({deadlines:,} deadlines with alarms, {events - deadlines:,} session events), "
          f"{len(data) / 1e6:.1f} MB, {len(members):,} members")
    print("                                              gc on     gc off (as timeit)")
    print(f"icalendar to_ical() of the built calendar: {theirs:7.3f} s  {theirs_nogc:7.3f} s  (floor)")
    print(f"peertrain build_feed + to_ical():          {ours:7.3f} s  {ours_nogc:7.3f} s")
    print(f"ratio: {ours / theirs:.2f} (gc on), {ours_nogc / theirs_nogc:.2f} (gc off)  (target <= 1.50)")


if __name__ == "__main__":
    main()
