"""The ledger commands of the command line: ``peertrain import`` and ``peertrain ledger ...``.

Thin wrappers over :mod:`peertrain.ledger` and :mod:`peertrain.imports.importer`; registered by
:mod:`peertrain.cli`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import sys
import zoneinfo
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from peertrain._files import shown, write_text
from peertrain.cli import history
from peertrain.cli.consortium import ACTIONS, add_actions, add_init_options, grant_sql, run_action
from peertrain.errors import InputError
from peertrain.imports.importer import courses_of_reports, import_file, rematch
from peertrain.imports.profiles import bundled_profile_ids, load_profile
from peertrain.imports.tables import read_roster
from peertrain.ledger import (
    Batch,
    Ledger,
    LedgerError,
    Outcome,
    ledger_exists,
    ledger_location,
    open_ledger,
    shown_location,
)
from peertrain.report.cells import safe_cell
from peertrain.rules.loading import load_bundled_catalogue

__all__ = ["add_commands", "run"]


def _zone(text: str) -> str:
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not an IANA time zone such as America/Chicago") from None
    return text


def add_commands(commands: Any) -> None:
    """Add ``import`` and ``ledger`` to the ``peertrain`` sub-command parser."""
    imp = commands.add_parser(
        "import",
        help="import training-portal exports into a ledger",
        description=(
            "Import exports (CSV, XLSX, XML) into a ledger with an import profile. Every row ends as "
            "exactly one of: imported, duplicate, rejected (file, row, field, reason) or held as "
            "unmatched (unknown person or course, matched later). Each file is one batch, stored "
            "all-or-nothing. Re-importing a file changes nothing."
        ),
    )
    imp.add_argument("exports", nargs="+", type=Path, metavar="EXPORT", help="export files to import")
    imp.add_argument("--profile", required=True, metavar="NAME",
                     help=f"import profile id or TOML file (bundled: {', '.join(bundled_profile_ids())})")
    imp.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER",
                     help="the ledger: a file, or a postgresql:// URL (docs/consortium.md)")
    imp.add_argument("--course", metavar="COURSE",
                     help="the catalogue course of a report with no course column (Moodle), for one file; "
                          "Moodle's file names (completion-<short name>.csv) name the course without it")
    imp.add_argument("--catalog", action="append", type=Path, default=[], metavar="FILE",
                     help="an extra course catalogue TOML file (repeatable)")
    imp.add_argument("--rejects", type=Path, metavar="FILE.csv",
                     help="also write the rejected rows of this import to a spreadsheet-safe CSV")

    ledger = commands.add_parser(
        "ledger", help="create and inspect a ledger", description="Create and inspect a ledger."
    )
    actions = ledger.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    init = actions.add_parser(
        "init", help="create a ledger",
        description="Create a new, empty ledger: a file, or the tables of one in a PostgreSQL database (a URL).",
    )
    init.add_argument("ledger", type=ledger_location, metavar="LEDGER", help="a file, or a postgresql:// URL")
    init.add_argument("--timezone", required=True, type=_zone, metavar="ZONE",
                      help="the agency's IANA time zone; completion timestamps become dates in it")
    init.add_argument("--roster", type=Path, metavar="FILE", help="load this roster CSV into it")
    add_init_options(init)
    roster = actions.add_parser("roster", help="add or update members from a roster CSV",
                                description="Add or update members from a roster CSV, then retry held rows.")
    roster.add_argument("roster", type=Path, metavar="ROSTER.csv")
    roster.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")
    for name, text in (
        ("batches", "list import batches and their counts"),
        ("held", "list rows held as unmatched"),
        ("rematch", "retry held rows against the current roster and catalogue"),
    ):
        action = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        action.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")
        if name == "rematch":
            action.add_argument("--catalog", action="append", type=Path, default=[], metavar="FILE")
    retract = actions.add_parser("retract", help="remove one import batch",
                                 description="Remove every record of one import batch (e.g. the wrong file).")
    retract.add_argument("batch", type=int, metavar="BATCH")
    retract.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")
    rejects = actions.add_parser("rejects", help="write rejected rows to CSV",
                                 description="Write rejected rows (file, row, field, reason, cells) as CSV.")
    rejects.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")
    rejects.add_argument("--batch", type=int, metavar="BATCH")
    rejects.add_argument("-o", "--output", type=Path, metavar="FILE")
    add_actions(actions)
    history.add_commands(actions)


@contextlib.contextmanager
def _opened(path: Path | str, **kwargs: Any) -> Iterator[Ledger]:
    ledger = open_ledger(path, **kwargs)
    try:
        yield ledger
    finally:
        ledger.close()


def run(args: argparse.Namespace) -> int:
    """Run ``import`` or ``ledger ...``; returns the exit status."""
    if args.command == "import":
        return _import(args)
    command = args.ledger_command
    if command in history.COMMANDS:
        return history.run(args)
    if command == "init":
        if ledger_exists(args.ledger):
            raise LedgerError(f"{shown_location(args.ledger)}: already exists; not overwriting it")
        members = read_roster(args.roster) if args.roster else []
        with _opened(args.ledger, create_timezone=args.timezone) as ledger:
            if args.agency:
                ledger.name_agency(args.agency, args.agency_name)
            added, _ = ledger.put_members(members)
        agency = f", agency {args.agency}" if args.agency else ""
        print(f"Created {shown_location(args.ledger)} (time zone {args.timezone}{agency}) with {added} member(s).")
        return 0
    if command == "grant" and args.print_sql:
        return grant_sql(args)
    with _opened(args.ledger) as ledger:
        if command in ACTIONS:
            return run_action(args, ledger)
        if command == "roster":
            added, updated = ledger.put_members(read_roster(args.roster))
            print(f"Roster: {added} added, {updated} updated.")
            _report_rematch(rematch(ledger, load_bundled_catalogue()))
        elif command == "batches":
            _print_batches(ledger)
        elif command == "held":
            rows = ledger.held()
            for row in rows:
                print(f"{row.id:>6}  batch {row.batch:<4} {row.origin}  {row.reason}")
            print(f"{len(rows)} row(s) held as unmatched.")
        elif command == "rematch":
            _report_rematch(rematch(ledger, _catalogue(args.catalog)))
        elif command == "retract":
            removed = sum(1 for _, batch_id in ledger.records() if batch_id == args.batch)
            batch = ledger.retract(args.batch, dt.datetime.now(dt.UTC))
            print(f"Retracted batch {batch.id} ({batch.file_name}): {removed} record(s) removed.")
            _warn_shared(ledger.batches(), batch, removed)
        elif command == "rejects":
            text = rejects_csv(ledger, args.batch)
            if args.output:
                write_text(args.output, text, encoding="utf-8-sig")
            else:
                sys.stdout.write(text)
    return 0


def _warn_shared(batches: list[Batch], retracted: Batch, removed: int) -> None:
    """Say which later live batches may have held some of the removed records as duplicates.

    The ledger stores each record once, under the batch that brought it first; a later batch that
    had the same record counted it as a duplicate and does not keep it. Those records are gone
    with the retracted batch until the later files are imported again.
    """
    later = [b for b in batches if b.id > retracted.id and b.retracted_at is None and b.counts.duplicates]
    if removed and later:
        names = ", ".join(f"{b.id} ({b.file_name})" for b in later)
        print(
            f"peertrain: warning: later batch(es) {names} counted rows as duplicates; any that were records "
            "of the retracted batch are gone with it. Import those files again to restore them "
            "(an import never adds a record twice).",
            file=sys.stderr,
        )


def _catalogue(extra: list[Path]) -> Any:
    # Read with the bundled files in one go, so a clash is a CatalogError naming file and key.
    return load_bundled_catalogue(extra)


def _report_rematch(result: dict[Outcome, int]) -> None:
    print(
        f"Held rows: {result[Outcome.IMPORTED]} now imported, {result[Outcome.DUPLICATE]} duplicate, "
        f"{result[Outcome.UNMATCHED]} still unmatched."
    )


def _print_batches(ledger: Ledger) -> None:
    print(f"{'batch':>5}  {'imported at (UTC)':<20} {'profile':<22} {'read':>7} {'new':>7} {'dup':>7} "
          f"{'rej':>5} {'held':>5}  file")
    for b in ledger.batches():
        c = b.counts
        state = f"  (retracted {b.retracted_at:%Y-%m-%d})" if b.retracted_at else ""
        print(
            f"{b.id:>5}  {b.imported_at:%Y-%m-%d %H:%M:%S}  {b.profile:<22} {c.rows_read:>7} {c.imported:>7} "
            f"{c.duplicates:>7} {c.rejected:>5} {c.unmatched:>5}  {b.file_name}{state}"
        )


def rejects_csv(ledger: Ledger, batch: int | Sequence[int] | None = None) -> str:
    """Rejected rows (of one batch, several, or all) as CSV a spreadsheet opens safely
    (formula-like cells neutralised)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["batch", "file", "row", "field", "reason", "cells"])
    batches: Sequence[int | None] = [batch] if batch is None or isinstance(batch, int) else batch
    rows = [item for b in batches for item in ledger.rejected(b)]
    for batch_id, row in rows:
        cells = " | ".join(row.raw)
        writer.writerow([safe_cell(v) for v in (batch_id, row.file, row.row, row.field or "", row.reason, cells)])
    return buffer.getvalue()


def _import(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    catalogue = _catalogue(args.catalog)
    course = None
    if args.course:
        course = catalogue.find(args.course)
        if course is None:
            raise InputError(
                "--course",
                f"{args.course!r} is not a course id, title or alias in the catalogue "
                "(courses of your own are added with --catalog FILE; see docs/catalogue.md)",
            )
    for path in args.exports:
        if not path.is_file():
            raise InputError(shown(path), "no such file")
    # One course per report for profiles without a course column (Moodle), decided before storing.
    by_name = profile.course_from == "option"
    courses = courses_of_reports(args.exports, catalogue, course) if by_name else [course] * len(args.exports)
    rejected_batches: list[int] = []
    with _opened(args.ledger) as ledger:
        for path, report_course in zip(args.exports, courses, strict=True):
            if by_name and report_course is not None:
                print(f"{shown(path.name)}: course {report_course.id} ({report_course.title})")
            with _progress(shown(path.name)) as tick:
                result = import_file(ledger, profile, path, catalogue, course=report_course, progress=tick)
            c = result.batch.counts
            print(
                f"{shown(path.name)}: batch {result.batch.id}: {c.rows_read} rows read = {c.imported} imported "
                f"({c.not_completed} not completed, recorded without credit) + {c.duplicates} duplicate + "
                f"{c.rejected} rejected + {c.unmatched} held as unmatched."
            )
            if result.same_file_as is not None:
                print(f"  (the same file was already imported as batch {result.same_file_as})")
            if c.rejected and args.rejects:
                rejected_batches.append(result.batch.id)
                print(f"  rejected rows written to {shown(args.rejects)}")
            elif c.rejected:
                ledger_name = shown_location(args.ledger)
                print(f"  see them with: peertrain ledger rejects --ledger {ledger_name} --batch {result.batch.id}")
        if rejected_batches:  # every file's rejects of this run in one report
            write_text(args.rejects, rejects_csv(ledger, rejected_batches), encoding="utf-8-sig")
    return 0


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Any]:
    """A progress line on a terminal; nothing when standard error is not one."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console  # noqa: PLC0415 - only needed on a terminal
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(), transient=True, console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(f"importing {label}", total=None)
        yield lambda count: bar.update(task, completed=count)
