"""``peertrain explain``: the audit trail of one verdict (a thin layer over :mod:`peertrain.rules.explain`)."""

from __future__ import annotations

import argparse
from typing import Any

from peertrain.errors import InputError
from peertrain.imports.inputs import add_data_arguments, load_inputs
from peertrain.ledger import open_ledger
from peertrain.rules.explain import explain, find_requirement

__all__ = ["add_commands", "run"]


def add_commands(commands: Any) -> None:
    """Add ``explain`` to the ``peertrain`` sub-command parser."""
    parser = commands.add_parser(
        "explain",
        help="show how one member's verdict for one requirement was reached",
        description=(
            "Print the audit trail of one verdict: the rule and its citation, whom it applies to, the "
            "grace period, the window, every completion of the member and whether it counted or why "
            "it was left out, and where each came from (file and row, or ledger batch). The data "
            "options are those of 'peertrain check'."
        ),
    )
    parser.add_argument("--member", required=True, metavar="ID", help="the member's id")
    parser.add_argument("--requirement", required=True, metavar="[PACK/]ID",
                        help="the requirement, as PACK/ID (or ID when only one pack has it)")
    add_data_arguments(parser)
    parser.set_defaults(subparser=parser)


def run(args: argparse.Namespace) -> int:
    """Run ``explain``; returns the exit status (0)."""
    inputs = load_inputs(args, args.subparser)
    member = next((m for m in inputs.members if m.id == args.member), None)
    if member is None:
        raise InputError("--member", f"{args.member!r} is not on the roster")
    pack, requirement = find_requirement(inputs.packs, args.requirement)
    origins = None
    if args.ledger:
        ledger = open_ledger(args.ledger)
        try:
            origins = {
                record.id: f"batch {batch}, {record.origin}"
                for record, batch in ledger.records(member.id)
            }
        finally:
            ledger.close()
    lines = explain(
        member, pack, requirement, inputs.completions, inputs.as_of, catalogue=inputs.catalogue,
        waivers=inputs.waivers, due_within=args.due_within, origins=origins,
    )
    print("\n".join(lines))
    return 0
