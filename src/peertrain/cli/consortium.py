"""The consortium's ledger commands: ``peertrain ledger agency add|list``, ``ledger grant`` and
``ledger transfer`` (and ``ledger init``'s ``--agency``). Thin wrappers over the ledger's agency
methods (:class:`peertrain.ledger.Ledger`); registered by :mod:`peertrain.cli.ledger`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from peertrain.ledger import Ledger, LedgerError, check_agency_id, is_database_url, ledger_location, shown_location

__all__ = ["ACTIONS", "add_actions", "add_init_options", "run_action"]

#: The ``peertrain ledger`` actions this module runs.
ACTIONS = ("agency", "grant", "transfer")


def _agency_id(text: str) -> str:
    try:
        return check_agency_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_init_options(init: Any) -> None:
    """``ledger init``'s ``--agency`` and ``--agency-name``."""
    init.add_argument("--agency", type=_agency_id, metavar="ID",
                      help="the id of the ledger's (first) agency; rows are written as it (default: local)")
    init.add_argument("--agency-name", metavar="NAME", default="", help="the agency's full name")


def add_actions(actions: Any) -> None:
    """Add ``agency``, ``grant`` and ``transfer`` to ``peertrain ledger``'s actions."""
    agency = actions.add_parser(
        "agency", help="list or add a consortium's agencies",
        description="List the ledger's agencies (with the members one sees of each), or add one.",
    )
    verbs = agency.add_subparsers(dest="agency_command", metavar="VERB", required=True)
    add = verbs.add_parser("add", help="add an agency", description="Add an agency to the ledger.")
    add.add_argument("agency", type=_agency_id, metavar="ID")
    add.add_argument("--name", default="", metavar="NAME", help="the agency's full name")
    add.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")
    listing = verbs.add_parser("list", help="list the agencies", description="List the ledger's agencies.")
    listing.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")

    grant = actions.add_parser(
        "grant", help="let a database role use a PostgreSQL ledger",
        description=(
            "Let an existing database role use a PostgreSQL ledger: as one agency's coordinator (reads and "
            "writes only that agency's members, records, batches, held and rejected rows), or as a consortium "
            "role (reads every agency, writes nothing). Run by the ledger's administrator; the database "
            "enforces it with row-level security. --print writes the SQL instead, for psql."
        ),
    )
    grant.add_argument("role", metavar="ROLE", help="the database role (CREATE ROLE ... LOGIN first)")
    which = grant.add_mutually_exclusive_group(required=True)
    which.add_argument("--agency", type=_agency_id, metavar="ID", help="the agency whose coordinator it is")
    which.add_argument("--consortium", action="store_true", help="read every agency, write nothing")
    grant.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")
    grant.add_argument("--print", action="store_true", dest="print_sql",
                       help="print the SQL instead of running it (nothing is changed)")

    transfer = actions.add_parser(
        "transfer", help="move a member to another agency",
        description=(
            "Move a member with their whole history (records, held rows naming them, notices) to another "
            "agency, in one transaction, recorded in the ledger. On PostgreSQL only the administrator can."
        ),
    )
    transfer.add_argument("member", metavar="MEMBER")
    transfer.add_argument("--to", required=True, type=_agency_id, metavar="AGENCY")
    transfer.add_argument("--ledger", required=True, type=ledger_location, metavar="LEDGER")


def grant_sql(args: argparse.Namespace) -> int:
    """``ledger grant --print``: the statements, without connecting."""
    if not is_database_url(args.ledger):
        raise LedgerError(f"{shown_location(args.ledger)}: a ledger file has no database roles; roles are a PostgreSQL "
            "ledger's (docs/consortium.md)")
    from peertrain.ledger.postgres import grant_sql as statements  # noqa: PLC0415 - needs psycopg

    for line in statements(args.role, None if args.consortium else args.agency):
        print(line)
    return 0


def run_action(args: argparse.Namespace, ledger: Ledger) -> int:
    """Run ``agency``, ``grant`` or ``transfer`` on an open ledger."""
    where = shown_location(args.ledger)
    if args.ledger_command == "agency":
        if args.agency_command == "add":
            added = ledger.add_agency(args.agency, args.name)
            print(f"Added agency {added.id}" + (f" ({added.name})" if added.name else "") + f" to {where}.")
            return 0
        counts: dict[str, int] = {}
        for member_agency in ledger.member_agencies().values():
            counts[member_agency] = counts.get(member_agency, 0) + 1
        own = ledger.agency()
        for each in ledger.agencies():
            mark = "  (writes as)" if each.id == own else ""
            print(f"{each.id:<20} {counts.get(each.id, 0):>6} member(s)  {each.name}{mark}")
        return 0
    if args.ledger_command == "grant":
        agency = None if args.consortium else args.agency
        ledger.grant(args.role, agency)
        what = "reads every agency" if agency is None else f"is agency {agency}'s coordinator"
        print(f"Role {args.role} {what} in {where}.")
        return 0
    moved = ledger.transfer(args.member, args.to, dt.datetime.now(dt.UTC))
    print(f"Moved member {moved.member} from agency {moved.from_agency} to {moved.to_agency} (transfer {moved.id}).")
    return 0
