"""``peertrain pull``: incremental pulls from learning systems (xAPI LRS, Moodle) into the ledger.

A thin layer over :mod:`peertrain.pull`: read the sources file, open the ledger, pull one source
as one batch, print one summary line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from peertrain.errors import InputError
from peertrain.ledger import ledger_location, open_ledger
from peertrain.pull import PullResult, load_sources, pull_moodle, pull_xapi
from peertrain.rules.loading import load_bundled_catalogue

__all__ = ["DEFAULT_SOURCES", "add_commands", "run"]

#: The sources file used when neither ``--sources`` nor ``PEERTRAIN_SOURCES`` names one.
DEFAULT_SOURCES = "peertrain-sources.toml"


def _time(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2026-01-31T00:00:00Z") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; add Z or +HH:MM")
    return when


def add_commands(commands: Any) -> None:
    """Add ``pull`` to the ``peertrain`` sub-command parser."""
    parser = commands.add_parser(
        "pull",
        help="pull new completions from an xAPI LRS or a Moodle site into the ledger",
        description=(
            "Pull what is new since the last pull from one learning system into the ledger, as one "
            "batch stored with the source's cursor (all or nothing). Sources, with references to "
            "their credentials (env:PEERTRAIN_NAME, or file:PATH beside the sources file; never the "
            "secret itself), are declared in a TOML file; see docs/pull.md."
        ),
    )
    parser.add_argument("kind", choices=["xapi", "moodle"], help="the kind of learning system")
    parser.add_argument("--source", required=True, metavar="NAME", help="the source's name in the sources file")
    parser.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER",
                        help="the ledger: a file, or a postgresql:// URL")
    parser.add_argument(
        "--sources", type=Path, metavar="FILE",
        help=f"the sources TOML file (default: $PEERTRAIN_SOURCES, else ./{DEFAULT_SOURCES})",
    )
    parser.add_argument("--catalog", action="append", type=Path, default=[], metavar="FILE",
                        help="an extra course catalogue TOML file, e.g. with activity IRIs as aliases (repeatable)")
    parser.add_argument("--until", type=_time, metavar="TIME",
                        help="xapi only: pull statements stored up to this time (ISO 8601 with offset)")
    parser.set_defaults(subparser=parser)


def run(args: argparse.Namespace) -> int:
    """Run ``pull``; returns the exit status."""
    path = args.sources or Path(os.environ.get("PEERTRAIN_SOURCES") or DEFAULT_SOURCES)
    if not path.is_file():
        raise InputError(str(path), "no such sources file (name one with --sources or PEERTRAIN_SOURCES)")
    sources = load_sources(path)
    table = sources.xapi if args.kind == "xapi" else sources.moodle
    if args.source not in table:
        known = ", ".join(sorted(table)) or "none"
        raise InputError(str(path), f"no [{args.kind}.{args.source}] source (declared {args.kind} sources: {known})")
    if args.until is not None and args.kind != "xapi":
        args.subparser.error("--until applies to xapi sources only")
    catalogue = load_bundled_catalogue(args.catalog)
    ledger = open_ledger(args.ledger)
    try:
        with _progress(f"pulling {args.kind}:{args.source}") as tick:
            if args.kind == "xapi":
                result = pull_xapi(ledger, sources.xapi[args.source], catalogue, until=args.until, progress=tick)
            else:
                result = pull_moodle(ledger, sources.moodle[args.source], catalogue, progress=tick)
    finally:
        ledger.close()
    print(summary(result, args.kind))
    return 0


def summary(result: PullResult, kind: str) -> str:
    """The one-paragraph report of a pull."""
    items = "statement(s)" if kind == "xapi" else "learner status(es)"
    head = f"{result.source}: {result.fetched} {items} fetched in {result.requests} request(s)"
    since = f" since {result.cursor_before}" if result.cursor_before else ""
    if result.batch is None:
        return f"{head}{since}: nothing new."
    c = result.batch.counts
    text = (
        f"{head}{since}: batch {result.batch.id}: {c.rows_read} rows read = {c.imported} imported "
        f"({c.not_completed} not completed, recorded without credit) + {c.duplicates} duplicate + "
        f"{c.rejected} rejected + {c.unmatched} held as unmatched; {result.skipped} skipped "
        + ("(other verbs, or stored before the cursor)" if kind == "xapi" else "(not completed, or pulled before)")
    )
    if kind == "xapi":
        text += f"; {result.voiding} voiding statement(s) retracted {c.retracted} record(s)"
    return text + f".\n  cursor: {result.cursor_after or 'none'}"


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress line on a terminal; nothing when standard error is not one."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console  # noqa: PLC0415 - only needed on a terminal
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} fetched"),
        TimeElapsedColumn(), transient=True, console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda count: bar.update(task, completed=count)
