"""``peertrain report``: the compliance report for a chief, the team or an auditor.

A thin layer over :mod:`peertrain.report`: the data options of ``check``, then
``--format html|csv|json`` and ``-o FILE``. Exit status 0 when the report was written (whatever
it says; ``check`` is the command whose exit status tells compliance), 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from peertrain._files import write_text
from peertrain.errors import InputError
from peertrain.imports.inputs import Inputs, add_data_arguments, evaluate, load_inputs
from peertrain.ledger import is_database_url, open_ledger, shown_location
from peertrain.report import Source, build_report, render_csv, render_html, render_json
from peertrain.rules.privacy import Privacy
from peertrain.submissions import State, list_submissions

__all__ = ["add_commands", "run"]

_FORMATS = ("html", "csv", "json")


def add_commands(commands: Any) -> None:
    """Add ``report`` to the ``peertrain`` sub-command parser."""
    parser = commands.add_parser(
        "report",
        help="write the compliance report (HTML, CSV or JSON)",
        description=(
            "Write the compliance report: the team at a glance, upcoming lapses and training hours "
            "(with charts), every member's verdicts with evidence and shortfall, the rule packs and "
            "citations, the data sources and what the report leaves out. HTML is one self-contained "
            "file that prints on letter paper; CSV and JSON carry the same content. The data options "
            "are those of 'peertrain check'. Exit 0 when the report is written, 2 for bad input."
        ),
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--format", choices=_FORMATS,
        help="output format (default: from the suffix of -o FILE, else html)",
    )
    parser.add_argument(
        "--privacy", choices=[p.value for p in Privacy], default="full",
        help="what the member table shows of people: full names, initials, or ids only (the counts and "
        "charts never name anyone)",
    )
    parser.add_argument("--title", default="Peer support team training compliance", help="the report's title")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    parser.set_defaults(subparser=parser)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = args.output.suffix.lower().lstrip(".") if args.output else ""
    return {"htm": "html"}.get(suffix, suffix) if suffix in (*_FORMATS, "htm") else "html"


def _sources(args: argparse.Namespace, inputs: Inputs) -> list[Source]:
    sources: list[Source] = []
    if args.demo:
        demo = inputs.demo or {}
        for kind in ("roster", "completions", "exemptions"):
            sources.append(Source(kind, str(demo.get(kind, "")), "bundled demo team (curricula/demo)"))
    elif args.ledger:
        ledger = open_ledger(args.ledger)
        try:
            sources.append(Source(
                "ledger", shown_location(args.ledger if is_database_url(args.ledger) else args.ledger.name),
                f"time zone {ledger.timezone()}; {len(inputs.members)} members, "
                f"{len(inputs.completions)} completed records",
            ))
            for batch in ledger.batches():
                c = batch.counts
                detail = (
                    f"batch {batch.id}, imported {batch.imported_at.isoformat(timespec='seconds')} with profile "
                    f"{batch.profile}: {c.rows_read} rows read, {c.imported} imported ({c.not_completed} not "
                    f"completed), {c.duplicates} duplicate, {c.rejected} rejected, {c.unmatched} held"
                )
                if batch.retracted_at is not None:
                    detail += f"; retracted {batch.retracted_at.isoformat(timespec='seconds')}"
                sources.append(Source("import batch", batch.file_name, detail))
            for pending in list_submissions(ledger, State.PENDING):
                sources.append(Source(
                    "pending review", pending.evidence_name,
                    f"submission {pending.id}: {pending.record_id}, submitted "
                    f"{pending.submitted_at.date().isoformat()}; self-reported, not counted until approved",
                ))
        finally:
            ledger.close()
    else:
        sources.append(Source("roster", str(args.roster), f"{len(inputs.members)} members"))
        sources.append(Source("completions", str(args.completions), f"{len(inputs.completions)} completions"))
    if args.exemptions:
        sources.append(Source("exemptions", str(args.exemptions), f"{len(inputs.waivers)} waivers"))
    for path in args.catalog:
        sources.append(Source("catalogue", str(path), "added to the bundled course catalogue"))
    sources.append(Source("catalogue", "bundled", "peertrain's course catalogue (curricula/courses.toml)"))
    return sources


def run(args: argparse.Namespace) -> int:
    """Run ``report``; returns the exit status (0 once the report is written)."""
    if args.output is not None and not args.output.parent.is_dir():
        raise InputError(str(args.output), "cannot be written: its folder does not exist")
    if args.output is not None and args.format is None and args.output.suffix.lower() == ".pdf":
        raise InputError(
            str(args.output),
            "peertrain writes the report as HTML, CSV or JSON; for a PDF write HTML and print it "
            "(a browser's Print, or headless Chromium: see docs/reports.md)",
        )
    inputs = load_inputs(args, args.subparser)
    result = evaluate(inputs, args.due_within)
    for warning in [*inputs.notes, *result.warnings]:
        print(f"peertrain: warning: {warning}", file=sys.stderr)
    report = build_report(
        inputs.members, inputs.completions, inputs.packs, result, catalogue=inputs.catalogue,
        sources=_sources(args, inputs), privacy=Privacy(args.privacy), due_within=args.due_within,
        title=args.title,
    )
    render = {"html": render_html, "csv": render_csv, "json": render_json}[_format(args)]
    text = render(report)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    write_text(args.output, text)
    return 0
