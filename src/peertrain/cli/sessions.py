"""The ``peertrain sessions`` command: ``import-ics`` reads a provider's ``.ics`` into a schedule.

A thin wrapper over :mod:`peertrain.calendars.ics`; registered by :mod:`peertrain.cli`. Skipped
events and notes go to standard error as ``peertrain: warning:`` / ``peertrain: note:`` lines and
into the written file as comments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from peertrain._files import write_text
from peertrain.calendars.ics import load_mapping, provider_slug, read_ics_sessions, schedule_toml
from peertrain.calendars.schedule import parse_schedule
from peertrain.errors import InputError
from peertrain.rules.loading import load_bundled_catalogue

__all__ = ["add_commands", "run"]


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2027-12-31") from None


def _provider(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the provider's name must not be blank")
    return text.strip()


def add_commands(commands: Any) -> None:
    """Add ``sessions`` (with ``import-ics``) to the ``peertrain`` sub-command parser."""
    sessions = commands.add_parser(
        "sessions", help="work with training schedules (sessions TOML)",
        description="Work with training schedules (sessions TOML files, see docs/calendars.md).",
    )
    actions = sessions.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import-ics",
        help="read a provider's published .ics calendar into a sessions TOML file",
        description=(
            "Read a training provider's published iCalendar (.ics) file into a sessions TOML file that "
            "'peertrain calendar --sessions' reads. Each event's course is found from --map or from the "
            "catalogue's titles and aliases; events that cannot become sessions are listed, never dropped "
            "silently. Session ids come from the events' UIDs, so importing an updated file updates the same "
            "sessions. See docs/calendars.md, 'Importing a provider's calendar'."
        ),
    )
    imp.add_argument("ics", type=Path, metavar="FILE.ics", help="the provider's calendar file")
    imp.add_argument("--provider", required=True, type=_provider, metavar="NAME",
                     help="the provider's name: each session's provider and the prefix of its id")
    imp.add_argument("--timezone", metavar="ZONE",
                     help="IANA zone for UTC and floating times (default: the file's X-WR-TIMEZONE, "
                     "else the one zone its events use)")
    imp.add_argument("--map", type=Path, metavar="FILE.toml",
                     help="mapping of event UIDs and titles to course ids ([uids], [titles]) and of "
                     "time-zone names ([timezones])")
    imp.add_argument("--catalog", action="append", type=Path, default=[], metavar="FILE",
                     help="an extra course catalogue TOML file, added to the bundled one (repeatable)")
    imp.add_argument("--expand-until", type=_day, metavar="DATE",
                     help="last day to expand a series without end through, when it cannot be kept as a rule")
    imp.add_argument("--schedule-id", metavar="ID",
                     help="the schedule's id (default: from --provider); part of every feed UID, keep it stable")
    imp.add_argument("--name", metavar="NAME",
                     help="the schedule's name (default: the calendar's own name, else --provider)")
    imp.add_argument("--strict", action="store_true", help="exit with status 1 when any event was skipped")
    imp.add_argument("-o", "--output", type=Path, metavar="FILE.toml",
                     help="write to FILE.toml instead of standard output")


def run(args: argparse.Namespace) -> int:
    """Run ``sessions import-ics``; returns the exit status (0: written; 1: events skipped, with
    ``--strict``)."""
    if args.output is not None and not args.output.parent.is_dir():
        raise InputError(str(args.output), "cannot be written: its folder does not exist")
    catalogue = load_bundled_catalogue(args.catalog)
    mapping = load_mapping(args.map, catalogue) if args.map is not None else None
    result = read_ics_sessions(
        args.ics, catalogue, provider=args.provider, timezone=args.timezone, mapping=mapping,
        expand_until=args.expand_until,
    )
    schedule_id = args.schedule_id or provider_slug(args.provider)
    name = args.name or result.name or args.provider
    try:
        schedule = result.schedule(schedule_id, name)
    except ValueError as exc:
        raise InputError("--schedule-id" if str(exc).startswith("id") else "--name", str(exc)) from None
    comments = [
        f"Imported from {args.ics.name} by 'peertrain sessions import-ics' (provider: {args.provider}).",
        "Import the provider's calendar again instead of editing this file: session ids follow the events' UIDs.",
        *(f"note: {n}" for n in result.notes),
        *(f"skipped: {s}" for s in result.skipped),
    ]
    text = schedule_toml(schedule, comments=comments)
    # What is written must read back as the same schedule.
    again = parse_schedule(tomllib.loads(text, parse_float=Decimal), catalogue, source="<written>")
    if again != schedule:  # pragma: no cover - a bug in schedule_toml
        raise AssertionError("the written schedule does not read back the same")
    for note in result.notes:
        print(f"peertrain: note: {note}", file=sys.stderr)
    for skipped in result.skipped:
        print(f"peertrain: warning: skipped {skipped}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_text(args.output, text)
        count = len(result.skipped)
        print(
            f"Wrote {args.output} ({len(schedule.sessions)} sessions; {count} event{'' if count == 1 else 's'} "
            "skipped).", file=sys.stderr,
        )
    return 1 if args.strict and result.skipped else 0
