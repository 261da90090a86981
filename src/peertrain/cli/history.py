"""The ledger commands about a ledger's history as a whole: ``peertrain ledger verify`` (the
journal's hash chain), ``ledger copy`` (a whole ledger into an empty one, either backend),
``ledger export-member`` and ``ledger import-member`` (one person's training, as a file).

Thin wrappers over :mod:`peertrain.ledger` and :mod:`peertrain.ledger.moving`; registered by
:mod:`peertrain.cli.ledger`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

from peertrain._files import shown
from peertrain.ledger import Verification, ledger_location, open_ledger, shown_location
from peertrain.ledger.copying import copy_ledger
from peertrain.ledger.member_history import export_member, import_member, read_member_history, write_member_history

__all__ = ["COMMANDS", "add_commands", "run"]

#: The ``ledger`` actions this module runs.
COMMANDS = frozenset({"verify", "copy", "export-member", "import-member"})

#: The exit status of ``ledger verify`` when the journal does not match.
EXIT_MISMATCH = 1


def add_commands(actions: Any) -> None:
    """Add this module's actions to the ``peertrain ledger`` sub-command parser."""
    verify = actions.add_parser(
        "verify", help="check the ledger's tamper-evident journal",
        description=(
            "Recompute the journal's hash chain and every batch's content from the stored rows. "
            "Prints the number of entries and the hash of the last one (record it elsewhere: a later "
            "verify giving the same or a longer chain from it shows nothing was rewritten); when an entry "
            "does not match, names the first (sequence number, kind, batch, what differs) and exits 1."
        ),
    )
    verify.add_argument("ledger", type=ledger_location, metavar="LEDGER", help="a file, or a postgresql:// URL")
    copy = actions.add_parser(
        "copy", help="copy a whole ledger into a new one (file or PostgreSQL, either way)",
        description=(
            "Copy everything of a ledger (members, batches, records, held and rejected rows, cursors, notices, "
            "submissions, the journal) into a new ledger: a file that does not exist yet, or a PostgreSQL "
            "database holding no ledger or an empty one. One transaction, committed only when every table's "
            "rows are counted equal and the copy's journal verifies with the source's head hash. A source "
            "whose journal does not verify is refused."
        ),
    )
    copy.add_argument("source", type=ledger_location, metavar="SOURCE", help="the ledger to copy: a file or a URL")
    copy.add_argument("destination", type=ledger_location, metavar="DEST", help="the new ledger: a file or a URL")
    export = actions.add_parser(
        "export-member", help="write one member's training history to a JSON file",
        description=(
            "Write one member's roster entry and every record of theirs (with the source and batch each came in) "
            "to a JSON file that another ledger imports with 'peertrain ledger import-member'. The file holds "
            "personal data: it is written readable by its owner alone."
        ),
    )
    export.add_argument("member", metavar="MEMBER", help="the member's id")
    export.add_argument("ledger", type=ledger_location, metavar="LEDGER", help="a file, or a postgresql:// URL")
    export.add_argument("-o", "--output", required=True, type=Path, metavar="FILE.json")
    imp = actions.add_parser(
        "import-member", help="import a member's history written by export-member, as one batch",
        description=(
            "Import a member history file (from 'peertrain ledger export-member') as one batch: the member is "
            "added to the roster when absent, each record keeps its original source and batch in its origin. "
            "A history already imported stores nothing."
        ),
    )
    imp.add_argument("history", type=Path, metavar="FILE.json")
    imp.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")


def run(args: argparse.Namespace) -> int:
    """Run one of :data:`COMMANDS`; returns the exit status."""
    if args.ledger_command == "copy":
        return _copy(args)
    if args.ledger_command == "import-member":
        return _import_member(args)
    if args.ledger_command == "export-member":
        return _export_member(args)
    ledger = open_ledger(args.ledger)
    try:
        result = ledger.verify()
    finally:
        ledger.close()
    return report_verification(shown_location(args.ledger), result)


def report_verification(name: str, result: Verification) -> int:
    """Print what :meth:`~peertrain.ledger.Ledger.verify` found; the exit status."""
    if result.first is None:
        print(f"{name}: the journal verifies: {result.entries} entries, head {result.head}")
        return 0
    print(f"{name}: the journal does NOT verify: {result.first}")
    if len(result.mismatches) > 1:
        print(f"  ({len(result.mismatches) - 1} further mismatch(es) after it)")
    return EXIT_MISMATCH


def _copy(args: argparse.Namespace) -> int:
    source, destination = shown_location(args.source), shown_location(args.destination)
    result = copy_ledger(args.source, args.destination)
    rows = result.rows
    print(
        f"Copied {source} to {destination}: {rows['members']} member(s), {rows['batches']} batch(es), "
        f"{rows['records']} record(s), {rows['held']} held, {rows['rejected']} rejected, {rows['cursors']} cursor(s), "
        f"{rows['notices']} notice(s), {rows['submissions']} submission(s)."
    )
    print(f"Verified: every table's rows counted equal; the journal verifies, {result.entries} entries, "
          f"head {result.head}")
    return 0


def _export_member(args: argparse.Namespace) -> int:
    with contextlib.closing(open_ledger(args.ledger)) as ledger:
        history = export_member(ledger, args.member, at=dt.datetime.now(dt.UTC))
    write_member_history(history, args.output)
    print(
        f"Wrote {shown(args.output)}: member {history.member.id}, {len(history.records)} record(s) from "
        f"{len(history.batches)} batch(es) (content SHA-256 {history.content_sha256})."
    )
    return 0


def _import_member(args: argparse.Namespace) -> int:
    history = read_member_history(args.history)
    with contextlib.closing(open_ledger(args.ledger)) as ledger:
        result = import_member(ledger, history, file_name=shown(args.history.name), at=dt.datetime.now(dt.UTC))
    name = shown(args.history.name)
    if result.batch is None:
        assert result.earlier is not None
        print(f"{name}: this history of {history.member.id} is already in the ledger as batch {result.earlier.id}; "
              "nothing stored.")
        return 0
    c = result.batch.counts
    added = " (added to the roster)" if result.member_added else ""
    print(
        f"{name}: member {history.member.id}{added}: batch {result.batch.id}: {c.rows_read} record(s) read = "
        f"{c.imported} imported ({c.not_completed} not completed) + {c.duplicates} duplicate."
    )
    return 0
