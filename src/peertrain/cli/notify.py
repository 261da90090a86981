"""``peertrain notify``: e-mail notices before deadlines, each sent at most once; ``notify log`` and
``notify resend``. A thin layer over :mod:`peertrain.notify`.

Exit status: 0 when every notice due was sent (or nothing was due), 1 when some were refused,
deferred, of unknown fate or not attempted (the report says which), 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from peertrain.errors import InputError
from peertrain.imports.inputs import parse_date, today
from peertrain.ledger import NoticeState, ledger_location, open_ledger
from peertrain.notify import NotifyReport, load_config, plan_notices, resend, send_notices, write_outbox

__all__ = ["add_commands", "run"]


def _common(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--ledger", type=ledger_location, required=required, metavar="LEDGER",
                        help="the ledger: a file, or a postgresql:// URL")
    parser.add_argument("--config", type=Path, required=required, metavar="FILE",
                        help="the notify configuration TOML (docs/notify.md)")


def add_commands(commands: Any) -> None:
    """Add ``notify`` (with ``log`` and ``resend``) to the ``peertrain`` sub-command parser."""
    notify = commands.add_parser(
        "notify",
        help="e-mail reminders before deadlines, digests and escalations, each sent once",
        description=(
            "Work out every notice due as of a date (members before each deadline and when it lapses, "
            "copies to coordinators near the end, a weekly digest to coordinators, an escalation once "
            "something lapsed) and send those the ledger has not recorded. Run it daily; see docs/notify.md. "
            "'notify log' lists what was sent; 'notify resend' sends again messages whose fate is unknown."
        ),
    )
    _common(notify, required=False)
    notify.add_argument("--rules", action="extend", nargs="+", metavar="PACK", default=[],
                        help="rule packs (default: the configuration's packs)")
    notify.add_argument("--as-of", type=parse_date, metavar="YYYY-MM-DD",
                        help="the date (default: today in the ledger's time zone)")
    notify.add_argument("--dry-run", action="store_true", help="print the notices due; send and record nothing")
    notify.add_argument("--outbox", type=Path, metavar="DIR", help="also write each message to DIR as an .eml file")
    actions = notify.add_subparsers(dest="notify_command", metavar="ACTION")
    log = actions.add_parser("log", help="list the notices recorded", description="List the notices recorded.")
    _common(log, required=True)
    log.add_argument("--state", choices=[s.value for s in NoticeState], action="append",
                     help="only notices in this state (repeatable); 'pending' after a run means unknown fate")
    log.add_argument("--unknown", action="store_true", help="only notices whose fate is unknown (state pending)")
    again = actions.add_parser(
        "resend", help="send again messages whose fate is unknown, or chosen notices",
        description="Send again, exactly as first sent (same Message-ID), the messages of notices whose fate "
        "is unknown (--unknown) or the notices named by --id. Their first copy may have arrived: decide first.",
    )
    _common(again, required=True)
    what = again.add_mutually_exclusive_group(required=True)
    what.add_argument("--unknown", action="store_true", help="every notice whose fate is unknown")
    what.add_argument("--id", type=int, action="append", metavar="N", help="the notice with id N (repeatable)")
    notify.set_defaults(notify_parser=notify)


def run(args: argparse.Namespace) -> int:
    """Run ``notify``; returns the exit status."""
    if args.ledger is None or args.config is None:
        args.notify_parser.error("give --ledger and --config")
    config = load_config(args.config)
    ledger = open_ledger(args.ledger)
    try:
        if args.notify_command == "log":
            states = {NoticeState(s) for s in args.state or ()} | ({NoticeState.PENDING} if args.unknown else set())
            _log(ledger.notices(states or None))
            return 0
        if args.notify_command == "resend":
            report = resend(ledger, config, None if args.unknown else args.id)
            return _report(report, resending=True)
        as_of = args.as_of or today(ledger.timezone())
        if args.outbox is not None and not args.outbox.is_dir():
            raise InputError(str(args.outbox), "no such folder for --outbox")
        plan = plan_notices(ledger, config, as_of, packs=args.rules)
        for warning in plan.warnings:
            print(f"peertrain: warning: {warning}", file=sys.stderr)
        if args.outbox is not None:
            written = write_outbox(args.outbox, plan.messages)
            print(f"Wrote {len(written)} message(s) to {args.outbox}.", file=sys.stderr)
        if args.dry_run:
            _table(plan.messages, as_of)
            return 0
        return _report(send_notices(ledger, config, plan))
    finally:
        ledger.close()


def _table(messages: Any, as_of: Any) -> None:
    print(f"Notices due as of {as_of.isoformat()} (dry run: nothing sent, nothing recorded): {len(messages)}")
    if not messages:
        return
    print(f"{'kind':<10} {'stage':<8} {'deadline':<10}  {'member':<8} {'recipient':<38} subject")
    for draft, _data in messages:
        print(f"{draft.kind:<10} {draft.stage:<8} {draft.deadline.isoformat():<10}  {draft.member or '-':<8} "
              f"{draft.recipient:<38} {draft.subject}")


def _log(rows: Any) -> None:
    print(f"{'id':>5} {'state':<8} {'attempted (UTC)':<20} {'kind':<10} {'stage':<8} {'deadline':<10}  "
          f"{'member':<8} {'recipient':<38} subject")
    for row in rows:
        d = row.draft
        when = row.attempted_at.strftime("%Y-%m-%d %H:%M:%S")
        state = "unknown" if row.state is NoticeState.PENDING else row.state.value
        print(f"{row.id:>5} {state:<8} {when:<20} {d.kind:<10} {d.stage:<8} {d.deadline.isoformat():<10}  "
              f"{d.member or '-':<8} {d.recipient:<38} {d.subject}")
        if row.detail and row.state is not NoticeState.SENT:
            print(f"{'':>5} {row.detail}")


def _report(report: NotifyReport, *, resending: bool = False) -> int:
    verb = "resent" if resending else "sent"
    parts = [f"{report.count(NoticeState.SENT)} {verb}"]
    for state, label in ((NoticeState.REFUSED, "refused"), (NoticeState.DEFERRED, "deferred (tried again next run)"),
                         (NoticeState.PENDING, "of unknown fate")):
        if report.count(state):
            parts.append(f"{report.count(state)} {label}")
    if report.not_attempted:
        parts.append(f"{len(report.not_attempted)} not attempted (next run)")
    print("Notices: " + ", ".join(parts) + ".")
    for outcome in report.outcomes:
        if outcome.state is not NoticeState.SENT:
            shown = "unknown" if outcome.state is NoticeState.PENDING else outcome.state.value
            print(f"  {shown}: {outcome.draft.recipient}: {outcome.draft.subject}: {outcome.detail}")
    if report.stopped:
        print(f"Stopped: {report.stopped}")
    if report.unknown_before:
        print(f"{len(report.unknown_before)} notice(s) of earlier runs have an unknown fate and are not sent again "
              "by themselves: see 'peertrain notify log --unknown', then 'peertrain notify resend --unknown'.")
    return 0 if report.clean and not report.unknown_before else 1
