"""The ``peertrain calendar`` command: write one iCalendar feed to a file.

A thin wrapper over :mod:`peertrain.calendars.feed` and :mod:`peertrain.calendars.sessions`, reading the same
data options as ``peertrain check`` (:mod:`peertrain.imports.inputs`); registered by :mod:`peertrain.cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from peertrain._files import write_bytes
from peertrain.calendars.feed import Feed, FeedOptions, build_feed
from peertrain.calendars.options import add_feed_arguments
from peertrain.calendars.schedule import load_schedule
from peertrain.calendars.sessions import Schedule
from peertrain.errors import InputError
from peertrain.imports.inputs import evaluate, load_inputs
from peertrain.rules.loading import curricula_dir, load_bundled_catalogue
from peertrain.rules.privacy import Privacy

__all__ = ["add_commands", "run"]


def _feed(text: str) -> Feed:
    try:
        return Feed.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_commands(commands: Any) -> None:
    """Add ``calendar`` to the ``peertrain`` sub-command parser."""
    calendar = commands.add_parser(
        "calendar",
        help="write an iCalendar feed of training sessions and deadlines",
        description=(
            "Write one iCalendar (RFC 5545) feed: training sessions from a schedule TOML file and the "
            "deadlines of the compliance verdicts (the same data options as 'check'). Feeds: team "
            "(everything), member:ID (one member's deadlines and the sessions that serve them), "
            "function:NAME (sessions for that function and the deadlines of its members). "
            "Generating twice from the same data gives the same bytes. See docs/calendars.md."
        ),
    )
    calendar.add_argument("--feed", required=True, type=_feed, metavar="FEED",
                          help="team, member:ID or function:NAME (prevention, intervention, postvention)")
    add_feed_arguments(calendar, privacy_help="how people appear: full names, initials, or none (agency ids only)")
    calendar.add_argument("-o", "--output", type=Path, metavar="FILE.ics",
                          help="write to FILE.ics instead of standard output")
    calendar.set_defaults(calendar_parser=calendar)


def run(args: argparse.Namespace) -> int:
    """Run ``calendar``; returns the exit status (0: written)."""
    parser: argparse.ArgumentParser = args.calendar_parser
    if args.output is not None and not args.output.parent.is_dir():
        raise InputError(str(args.output), "cannot be written: its folder does not exist")
    options = FeedOptions(
        privacy=Privacy(args.privacy), alarm_days=args.alarms, reminder_events=args.reminder_events,
        refresh=args.refresh_hours,
    )
    has_records = args.demo or args.roster or args.completions or args.ledger
    if not has_records:
        if args.sessions is None:
            parser.error("give --sessions, records (--roster/--completions, --ledger), or --demo")
        if args.feed.value is not None and args.feed.kind.value == "member":
            parser.error("a member feed needs records: give --roster and --completions, --ledger or --demo")
        catalogue = load_bundled_catalogue(args.catalog)
        calendar = build_feed(args.feed, catalogue=catalogue, schedule=load_schedule(args.sessions, catalogue),
                              options=options)
    else:
        inputs = load_inputs(args, parser)
        result = evaluate(inputs, args.due_within)
        for warning in [*inputs.notes, *result.warnings]:
            print(f"peertrain: warning: {warning}", file=sys.stderr)
        sessions_path: Path | None = args.sessions
        if sessions_path is None and inputs.demo is not None:
            sessions_path = curricula_dir() / "demo" / "sessions.toml"
        schedule: Schedule | None = load_schedule(sessions_path, inputs.catalogue) if sessions_path else None
        calendar = build_feed(
            args.feed, catalogue=inputs.catalogue, schedule=schedule, result=result, members=inputs.members,
            packs=inputs.packs, completions=inputs.completions, options=options,
        )
    data: bytes = calendar.to_ical()
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    write_bytes(args.output, data)
    print(f"Wrote {args.output} ({args.feed!s} feed, {len(calendar.events)} events).", file=sys.stderr)
    return 0
