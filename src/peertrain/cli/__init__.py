"""The ``peertrain`` command line: a thin layer over the library.

Exit status: 0 when everyone is compliant, 1 when any verdict is ``not_met`` or ``lapsed``, 2 for
bad input or usage (one line on standard error naming file, row and field).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from peertrain._files import atomic_write, printable, write_text
from peertrain._version import __version__
from peertrain.cli.calendar import add_commands as add_calendar_commands
from peertrain.cli.calendar import run as run_calendar_command
from peertrain.cli.explain import add_commands as add_explain_commands
from peertrain.cli.explain import run as run_explain_command
from peertrain.cli.ledger import add_commands as add_ledger_commands
from peertrain.cli.ledger import run as run_ledger_command
from peertrain.cli.notify import add_commands as add_notify_commands
from peertrain.cli.notify import run as run_notify_command
from peertrain.cli.pull import add_commands as add_pull_commands
from peertrain.cli.pull import run as run_pull_command
from peertrain.cli.report import add_commands as add_report_commands
from peertrain.cli.report import run as run_report_command
from peertrain.cli.serve import add_commands as add_serve_commands
from peertrain.cli.serve import run as run_serve_command
from peertrain.cli.sessions import add_commands as add_sessions_commands
from peertrain.cli.sessions import run as run_sessions_command
from peertrain.cli.submit import add_commands as add_submit_commands
from peertrain.cli.submit import run as run_submit_command
from peertrain.errors import InputError, PeertrainError
from peertrain.imports.inputs import add_data_arguments, evaluate, load_inputs
from peertrain.ledger import open_ledger
from peertrain.report.output import to_csv, to_json, to_table, write_stream
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import ComplianceResult
from peertrain.rules.convert import converter
from peertrain.rules.explain import describe_requirement
from peertrain.rules.loading import (
    bundled_pack_ids,
    load_bundled_catalogue,
    load_pack,
)
from peertrain.rules.model import Member
from peertrain.rules.privacy import Privacy
from peertrain.rules.requirements import (
    AllOf,
    AnyOf,
    Requirement,
    RulePack,
)
from peertrain.rules.stream import stream_compliance

EXIT_OK, EXIT_NONCOMPLIANT, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line naming the command and its --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(
        prog="peertrain",
        description="Track peer support team training and certification compliance.",
        epilog="Docs: docs/cli.md in the source tree. Exit status: 0 compliant, 1 not compliant, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"peertrain {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check",
        help="evaluate every member against rule packs as of a date",
        description=(
            "Evaluate every roster member against the chosen rule packs as of a date and print one "
            "verdict per member per applicable requirement (met, due_soon, lapsed, not_met, grace, "
            "exempt). Exit 0 when everyone is compliant, 1 when any verdict is not_met or lapsed, "
            "2 for bad input."
        ),
    )
    add_data_arguments(check)
    check.add_argument(
        "--format", choices=["table", "json", "csv"], default="table", help="output format (default table)"
    )
    check.add_argument(
        "--privacy", choices=[p.value for p in Privacy], default="full",
        help="how names appear: full, initials, or ids only (JSON and CSV name members by id; this also "
        "reduces names in recorded free text such as who granted an exemption)",
    )
    check.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")

    rules = commands.add_parser("rules", help="list or show rule packs", description="List or show rule packs.")
    rule_commands = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    rule_commands.add_parser("list", help="list the bundled rule packs", description="List the bundled rule packs.")
    show = rule_commands.add_parser("show", help="show one rule pack's requirements", description="Show one rule pack.")
    show.add_argument("pack", metavar="PACK", help="a bundled pack id or a path to a pack TOML file")
    show.add_argument("--format", choices=["text", "json"], default="text")
    show.add_argument("--catalog", action="append", type=Path, default=[], metavar="FILE",
                      help="an extra course catalogue TOML file the pack's courses come from (repeatable)")
    check.set_defaults(subparser=check)
    add_ledger_commands(commands)
    add_calendar_commands(commands)
    add_explain_commands(commands)
    add_serve_commands(commands)
    add_sessions_commands(commands)
    add_pull_commands(commands)
    add_report_commands(commands)
    add_notify_commands(commands)
    add_submit_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _check(args, args.subparser)
        if args.command == "rules":
            return _rules(args)
        if args.command == "calendar":
            return run_calendar_command(args)
        if args.command == "explain":
            return run_explain_command(args)
        if args.command == "serve":
            return run_serve_command(args)
        if args.command == "sessions":
            return run_sessions_command(args)
        if args.command == "pull":
            return run_pull_command(args)
        if args.command == "report":
            return run_report_command(args)
        if args.command == "notify":
            return run_notify_command(args)
        if args.command in ("submit", "review"):
            return run_submit_command(args)
        return run_ledger_command(args)
    except PeertrainError as exc:
        print(f"peertrain: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return EXIT_OK


def _catalogue(extra: Sequence[Path]) -> Catalogue:
    # Read in one go with the bundled files, so that a clash with a bundled course id or name is
    # a CatalogError naming the extra file and key (Catalogue.merged would raise a bare ValueError).
    return load_bundled_catalogue(extra)


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.output is not None and not args.output.parent.is_dir():
        raise InputError(str(args.output), "cannot be written: its folder does not exist")
    if args.ledger and not args.demo:
        return _check_ledger(args, parser)
    inputs = load_inputs(args, parser)
    members, packs, notes = inputs.members, inputs.packs, inputs.notes
    result = evaluate(inputs, args.due_within)
    for warning in [*notes, *result.warnings]:
        print(f"peertrain: warning: {warning}", file=sys.stderr)
    _emit(_render(result, members, packs, args), args.output)
    return EXIT_OK if result.compliant else EXIT_NONCOMPLIANT



def _check_ledger(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``check --ledger``: stream the verdicts member by member, in bounded memory, written as
    they come (to ``--output`` through :func:`~peertrain._files.atomic_write`: a new private file
    that replaces the output only when the check is complete)."""
    inputs = load_inputs(args, parser, stream=True)
    for note in inputs.notes:
        print(f"peertrain: warning: {note}", file=sys.stderr)
    ledger = open_ledger(args.ledger)
    try:
        stream = stream_compliance(
            ledger, inputs.packs, inputs.as_of, catalogue=inputs.catalogue, waivers=inputs.waivers,
            due_within=args.due_within, members=inputs.members,
        )
        privacy = Privacy(args.privacy)
        if args.output is None:
            write_stream(sys.stdout, stream, inputs.packs, output_format=args.format, privacy=privacy)
        else:
            with atomic_write(args.output) as out:
                write_stream(out, stream, inputs.packs, output_format=args.format, privacy=privacy)
    finally:
        ledger.close()
    for warning in stream.warnings:
        print(f"peertrain: warning: {warning}", file=sys.stderr)
    return EXIT_OK if stream.compliant else EXIT_NONCOMPLIANT


def _render(
    result: ComplianceResult, members: Sequence[Member], packs: Sequence[RulePack], args: argparse.Namespace
) -> str:
    privacy = Privacy(args.privacy)
    if args.format == "json":
        return to_json(result, members, privacy=privacy)
    if args.format == "csv":
        return to_csv(result, members, privacy=privacy)
    return to_table(result, members, packs, privacy=privacy)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    write_text(output, text)


def _rules(args: argparse.Namespace) -> int:
    catalogue = _catalogue(getattr(args, "catalog", []))
    if args.rules_command == "list":
        for pack_id in bundled_pack_ids():
            pack = load_pack(pack_id, catalogue)
            print(f"{pack.id:<20} {pack.version:<11} {pack.title}")
            print(f"{'':<20} {pack.citation}")
        return EXIT_OK
    pack = load_pack(args.pack, catalogue)
    if args.format == "json":
        print(json.dumps(converter.unstructure(pack, RulePack), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{pack.title}\n  id: {pack.id}  version: {pack.version}\n  citation: {pack.citation}")
    if pack.source:
        print(f"  source: {pack.source}")
    if pack.read_on:
        print(f"  source read on: {pack.read_on.isoformat()}")
    if pack.grace_months:
        print(f"  new members: {pack.grace_months} months of grace")
    if pack.approved_providers:
        print(f"  approved providers: {', '.join(sorted(pack.approved_providers))}")
    if pack.note:
        print(f"  note: {pack.note}")
    print()
    for requirement in pack.requirements:
        _show_requirement(requirement, "  ")
    return EXIT_OK


def _show_requirement(req: Requirement, indent: str) -> None:
    kind = converter.unstructure(req)["kind"]
    print(f"{indent}{req.id} [{kind}]: {req.title}")
    for line in describe_requirement(req):
        print(f"{indent}  {line}")
    applies = req.applies_to.describe()
    if applies != "everyone":
        print(f"{indent}  applies to: {applies}")
    if req.grace_months is not None:
        print(f"{indent}  grace: {req.grace_months} months")
    if req.citation:
        print(f"{indent}  citation: {req.citation}")
    if req.note:
        print(f"{indent}  note: {req.note}")
    if isinstance(req, AllOf | AnyOf):
        print(f"{indent}  {'all' if isinstance(req, AllOf) else 'any one'} of:")
        for part in req.of:
            _show_requirement(part, indent + "    ")


def run() -> None:  # pragma: no cover - console script entry point
    """Console-script entry point."""
    sys.exit(main())
