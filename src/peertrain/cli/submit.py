"""``peertrain submit`` and ``peertrain review``: self-reported training with evidence, reviewed
before it counts (a thin layer over :mod:`peertrain.submissions`)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from peertrain._files import printable, shown
from peertrain.imports.inputs import parse_date
from peertrain.ledger import Ledger, ledger_location, open_ledger
from peertrain.rules.loading import load_bundled_catalogue
from peertrain.submissions import (
    State,
    Submission,
    approve,
    default_reviewer,
    get_submission,
    list_submissions,
    reject,
    revoke,
    submit,
    write_evidence,
)

__all__ = ["add_commands", "describe", "run"]

_BY_HELP = "who you are: a name, kept with the step (default: your login user name)"


def add_commands(commands: Any) -> None:
    """Add ``submit`` and ``review`` to the ``peertrain`` sub-command parser."""
    parser = commands.add_parser(
        "submit",
        help="submit training taken elsewhere, with its certificate, for review",
        description=(
            "Store training that no portal reports, with its evidence file (a PDF, PNG or JPEG, recognised by its "
            "content, at most 25 MB), as a pending submission. It counts for nothing until another person approves "
            "it with 'peertrain review approve'. See docs/submissions.md."
        ),
    )
    parser.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER",
                        help="the ledger: a file or a postgresql:// URL")
    parser.add_argument("--member", required=True, metavar="ID", help="the member's id (on the ledger's roster)")
    parser.add_argument("--course", required=True, metavar="COURSE", help="the course's catalogue id, title or alias")
    parser.add_argument("--date", required=True, type=parse_date, metavar="YYYY-MM-DD", help="the completion date")
    parser.add_argument("--hours", metavar="H", help="the certificate's contact hours (default: the catalogue's)")
    parser.add_argument("--provider", metavar="NAME", help="who delivered it (default: the catalogue's provider)")
    parser.add_argument("--delivery", choices=["in_person", "online"], help="how it was delivered")
    parser.add_argument("--evidence", required=True, type=Path, metavar="FILE", help="the certificate (PDF, PNG, JPEG)")
    parser.add_argument("--by", metavar="NAME", help="who submits: a name (default: your login user name)")
    parser.add_argument("--catalog", action="append", type=Path, default=[], metavar="FILE",
                        help="an extra course catalogue TOML file (repeatable)")
    parser.set_defaults(subparser=parser)

    review = commands.add_parser(
        "review", help="list, show, approve, reject or revoke submissions",
        description="Review self-reported submissions. Nobody may approve their own. See docs/submissions.md.",
    )
    actions = review.add_subparsers(dest="review_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list submissions", description="List submissions, oldest first.")
    listing.add_argument("--state", choices=[s.value for s in State], help="only those in this state")
    show = actions.add_parser("show", help="show one submission and its steps", description="Show one submission.")
    steps = {
        "approve": "approve a pending submission: its record enters the ledger (not your own submission)",
        "reject": "reject a pending submission, with the reason (--note)",
        "revoke": "revoke an approval, with the reason (--note): its record leaves the ledger",
    }
    evidence = actions.add_parser(
        "evidence", help="write a submission's evidence file out",
        description="Write the stored evidence file, its SHA-256 checked, to FILE (mode 0600, atomically).",
    )
    evidence.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="the file to write")
    for name, text in steps.items():
        step = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        step.add_argument("--by", metavar="NAME", help=_BY_HELP)
        step.add_argument("--note", required=name != "approve", metavar="TEXT",
                          help="the reason" if name != "approve" else "a note kept with the approval")
        step.add_argument("id", type=int, metavar="ID", help="the submission's number")
        step.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER",
                          help="the ledger: a file or a postgresql:// URL")
    for sub in (show, evidence):
        sub.add_argument("id", type=int, metavar="ID", help="the submission's number")
    for sub in (listing, show, evidence):
        sub.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER",
                         help="the ledger: a file or a postgresql:// URL")
    review.set_defaults(subparser=review)


def describe(s: Submission) -> list[str]:
    """A submission and its steps, as lines (``review show``)."""
    lines = [
        f"submission {s.id}: {s.state.value}",
        f"  record:    {s.record_id}",
        f"  hours:     {s.hours if s.hours is not None else 'the catalogue’s'}; delivery "
        f"{s.delivery.value if s.delivery else 'the catalogue’s'}; provider {s.provider or 'the catalogue’s'}",
        f"  evidence:  {s.evidence_name} ({s.media_type}, {s.size:,} bytes) sha256:{s.evidence_sha256}",
    ]
    for event in s.events:
        note = f": {event.note}" if event.note else ""
        batch = f" (batch {event.batch})" if event.batch is not None else ""
        lines.append(f"  {event.at.isoformat()}  {event.action.value} by {event.by}{batch}{note}")
    return [printable(line) for line in lines]


def _one_line(s: Submission) -> str:
    last = s.events[-1]
    return printable(f"{s.id:>5}  {s.state.value:<8}  {s.record_id}  {s.evidence_name}  "
                     f"({last.action.value} by {last.by} on {last.at.date().isoformat()})")


def run(args: argparse.Namespace) -> int:
    """Run ``submit`` or ``review``; returns the exit status (0)."""
    now = dt.datetime.now(dt.UTC)
    if args.command == "submit":
        catalogue = load_bundled_catalogue(args.catalog)
        ledger = open_ledger(args.ledger)
        try:
            s = submit(
                ledger, member=args.member, course=args.course, on=args.date, evidence=args.evidence,
                catalogue=catalogue, by=args.by or default_reviewer(), at=now, hours=args.hours,
                delivery=args.delivery, provider=args.provider,
            )
        finally:
            ledger.close()
        print(printable(f"submission {s.id}: {s.record_id}, evidence {s.evidence_name} ({s.media_type}, {s.size:,} "
                        f"bytes, sha256:{s.evidence_sha256}); pending review: it counts once approved."))
        return 0
    ledger = open_ledger(args.ledger)
    try:
        _review(ledger, args, now)
    finally:
        ledger.close()
    return 0


def _review(ledger: Ledger, args: argparse.Namespace, now: dt.datetime) -> None:
    action = args.review_command
    if action == "list":
        found = list_submissions(ledger, State(args.state) if args.state else None)
        for s in found:
            print(_one_line(s))
        print(f"{len(found)} submission(s).")
    elif action == "show":
        print("\n".join(describe(get_submission(ledger, args.id))))
    elif action == "evidence":
        s = write_evidence(ledger, args.id, args.output)
        print(printable(f"submission {s.id}: wrote {s.evidence_name} ({s.size:,} bytes, sha256 checked) to "
                        f"{shown(args.output)}."))
    else:
        step = {"approve": approve, "reject": reject, "revoke": revoke}[action]
        s = step(ledger, args.id, by=args.by or default_reviewer(), at=now, note=args.note)
        event = s.events[-1]
        batch = f"; its record {s.record_id} is in batch {event.batch}" if action == "approve" else ""
        if action == "revoke":
            batch = f"; its record {s.record_id} left the ledger (batch {event.batch} retracted)"
        print(printable(f"submission {s.id}: {s.state.value} by {event.by}{batch}."))
