"""The data options of everything that evaluates (``check``, ``calendar``, ``report``, ``explain``
and the feed server) and their loading.

``--demo`` | ``--roster``/``--completions`` | ``--ledger``, with ``--exemptions``, ``--rules`` and
``--catalog``: one definition and one loader, so every command, and the feed server that
:func:`peertrain.calendars.serve.make_app` builds from the same options, reads its inputs the same way. It
is not part of the command line: the feed server (a library WSGI application) uses it too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

from attrs import frozen

from peertrain.imports.tables import check_waivers, read_completions, read_roster, read_waivers
from peertrain.ledger import Ledger, ledger_location, open_ledger
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import DUE_WITHIN_DAYS, ComplianceResult, check_compliance
from peertrain.rules.loading import bundled_pack_ids, curricula_dir, load_bundled_catalogue, load_pack, read_toml
from peertrain.rules.model import Completion, Member, Waiver, parse_iso_date
from peertrain.rules.requirements import RulePack
from peertrain.rules.stream import stream_compliance

__all__ = ["Inputs", "add_data_arguments", "evaluate", "load_inputs", "parse_date", "parse_days", "today"]


def parse_date(text: str) -> dt.date:
    """An argparse type: a date written YYYY-MM-DD."""
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_days(text: str) -> int:
    """An argparse type: a whole number of days >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days >= 0")
    return value


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``data`` argument group (and ``--due-within``) to ``parser``."""
    source = parser.add_argument_group("data")
    source.add_argument("--demo", action="store_true", help="use the bundled demo team (a small rural agency)")
    source.add_argument("--roster", type=Path, metavar="FILE", help="roster CSV (docs/cli.md#roster)")
    source.add_argument("--completions", type=Path, metavar="FILE", help="completions CSV (docs/cli.md#completions)")
    source.add_argument("--ledger", type=ledger_location, metavar="LEDGER",
                        help="evaluate the members and completions of a ledger (instead of the two CSVs)")
    source.add_argument("--exemptions", type=Path, metavar="FILE", help="exemptions and equivalencies CSV (optional)")
    source.add_argument(
        "--rules", action="extend", nargs="+", metavar="PACK", default=[],
        help="rule pack ids (see 'peertrain rules list') or paths to your own pack TOML files",
    )
    source.add_argument(
        "--catalog", action="append", type=Path, default=[], metavar="FILE",
        help="an extra course catalogue TOML file, added to the bundled one (repeatable)",
    )
    parser.add_argument(
        "--as-of", type=parse_date, metavar="YYYY-MM-DD",
        help="the date to evaluate (default: today, in the ledger's time zone if any; for --demo, the demo's date)",
    )
    parser.add_argument(
        "--due-within", type=parse_days, default=DUE_WITHIN_DAYS, metavar="DAYS",
        help=f"a verdict is due_soon when it lapses within this many days (default {DUE_WITHIN_DAYS})",
    )


@frozen
class Inputs:
    """Everything an evaluating command read: catalogue, roster, completions, packs, waivers,
    the as-of date, warnings about waivers, and (for ``--demo``) the demo's folder and config."""

    catalogue: Catalogue
    members: list[Member]
    completions: list[Completion]
    packs: list[RulePack]
    waivers: list[Waiver]
    as_of: dt.date
    notes: list[str]
    demo: dict[str, Any] | None = None
    #: The ledger the roster and completions came from (``--ledger``), if any.
    ledger: Path | str | None = None


def today(zone: str | None) -> dt.date:
    """Today's date in the agency's zone (a ledger's), else on this machine's clock and zone."""
    now = dt.datetime.now(zoneinfo.ZoneInfo(zone)) if zone else dt.datetime.now().astimezone()
    return now.date()


def load_inputs(args: argparse.Namespace, parser: argparse.ArgumentParser, *, stream: bool = False) -> Inputs:
    """Read what the ``data`` options name; usage problems go to ``parser.error``.

    With ``stream`` and ``--ledger``, the completions are left in the ledger (``completions`` is
    empty) for :func:`peertrain.rules.stream.stream_compliance` to read one member at a time.
    """
    catalogue = load_bundled_catalogue(args.catalog)
    pack_names: list[str] = list(args.rules)
    exemptions_path: Path | None = args.exemptions
    demo: dict[str, Any] | None = None
    if args.demo:
        if args.roster or args.completions or args.exemptions or args.ledger:
            parser.error(
                "--demo uses the bundled demo files; leave out --roster, --completions, --exemptions and --ledger"
            )
        folder = curricula_dir() / "demo"
        demo = read_toml(folder / "demo.toml")
        exemptions_path = folder / demo["exemptions"]
        pack_names = pack_names or list(demo["packs"])
        as_of: dt.date = args.as_of or demo["as_of"]
        members = read_roster(folder / demo["roster"])
        completions = read_completions(folder / demo["completions"], catalogue, members)
    elif args.ledger:
        if args.roster or args.completions:
            parser.error("--ledger holds the roster and completions; leave out --roster and --completions")
        ledger = open_ledger(args.ledger)
        try:
            members = ledger.members()
            completions = [] if stream else list(ledger.completions())
            as_of = args.as_of or today(ledger.timezone())
        finally:
            ledger.close()
    else:
        if not args.roster or not args.completions:
            parser.error("give --roster and --completions, or --ledger (or --demo to try the bundled demo team)")
        as_of = args.as_of or today(None)
        members = read_roster(args.roster)
        completions = read_completions(args.completions, catalogue, members)
    if not pack_names:
        parser.error(f"choose rule packs with --rules (bundled: {', '.join(bundled_pack_ids())})")
    packs = [load_pack(name, catalogue) for name in dict.fromkeys(pack_names)]
    waivers = read_waivers(exemptions_path, members) if exemptions_path else []
    if stream and args.ledger and any(w.evidence for w in waivers):
        ledger = open_ledger(args.ledger)
        try:
            on_record = _evidence_on_record(ledger, waivers)
        finally:
            ledger.close()
    else:
        on_record = {c.id for c in completions}
    notes = check_waivers(waivers, packs, on_record)
    return Inputs(
        catalogue, list(members), list(completions), packs, list(waivers), as_of, list(notes), demo,
        args.ledger or None,
    )


def _evidence_on_record(ledger: Ledger, waivers: list[Waiver]) -> set[str]:
    """The completion ids among the waivers' evidence that the ledger holds: looked up among the
    waived members' records, and only if one is not found there, among all."""
    wanted = {e for w in waivers for e in w.evidence}
    found = {
        record.id
        for member in {w.member for w in waivers}
        for record, _batch in ledger.records(member)
        if record.status == "completed" and record.id in wanted
    }
    if wanted - found:
        found |= {row[0] for _member, rows in ledger.completions_by_member() for row in rows if row[0] in wanted}
    return found


def evaluate(inputs: Inputs, due_within: int) -> ComplianceResult:
    """The compliance result of ``inputs``: from a ledger, evaluated on columns
    (:func:`~peertrain.rules.stream.stream_compliance`); the same verdicts either way."""
    if inputs.ledger is not None:
        ledger = open_ledger(inputs.ledger)
        try:
            stream = stream_compliance(
                ledger, inputs.packs, inputs.as_of, catalogue=inputs.catalogue, waivers=inputs.waivers,
                due_within=due_within, members=inputs.members,
            )
            results = list(stream)
        finally:
            ledger.close()
        return ComplianceResult(
            as_of=inputs.as_of, verdicts=tuple(v for r in results for v in r.verdicts),
            forecasts=tuple(r.forecast for r in results), warnings=stream.warnings,
        )
    return check_compliance(
        inputs.members, inputs.completions, inputs.packs, inputs.as_of,
        catalogue=inputs.catalogue, waivers=inputs.waivers, due_within=due_within,
    )
