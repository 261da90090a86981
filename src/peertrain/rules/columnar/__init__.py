"""Compliance for every member at once, on columns: the same verdicts as the engine, faster at
state scale.

:func:`columnar_compliance` takes a roster and every completed record as one table (the ledger's
rows, :data:`ROW_COLUMNS`) and evaluates each requirement for all members with a few vectorised
group-bys (polars) instead of one member at a time. The pure-Python engine
(:mod:`peertrain.rules.engine`) stays the definition: the tests check on random rosters, records,
waivers and packs that every verdict here equals the engine's, field by field.

Every kind and window is vectorised: certificates; ``hours`` / ``n_of`` / ``topics`` over
``all_time`` and ``rolling`` (:mod:`._windowed`), ``periodic`` and ``recurring``
(:mod:`._periodic`) and ``any_span`` (:mod:`._anyspan`) windows; ``all_of`` / ``any_of`` from their
parts. A requirement no measure in :data:`MEASURES` takes is evaluated by the engine, member by
member (:attr:`ColumnarResult.by_engine` names them); so is an ``all_of`` / ``any_of`` for the
few members whose timeline the engine itself finds only by a scan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal

import polars as pl
from attrs import frozen

from peertrain.rules.catalog import Catalogue
from peertrain.rules.columnar._anyspan import measure_any_span
from peertrain.rules.columnar._certificate import measure_certificate
from peertrain.rules.columnar._composite import Composer
from peertrain.rules.columnar._input import MAX_SCALE, ROW_COLUMNS, ScaleError, credits_table
from peertrain.rules.columnar._periodic import measure_periodic
from peertrain.rules.columnar._status import finish
from peertrain.rules.columnar._tally import Context, Measure
from peertrain.rules.columnar._windowed import measure_windowed
from peertrain.rules.compliance import DUE_WITHIN_DAYS, forecast
from peertrain.rules.model import Member, Waiver
from peertrain.rules.requirements import AllOf, AnyOf, Hours, Minimum, Requirement, RulePack
from peertrain.rules.verdict import MemberVerdicts, Status

__all__ = ["MAX_SCALE", "MEASURES", "ROW_COLUMNS", "ColumnarResult", "ScaleError", "columnar_compliance"]

#: The vectorised kinds, tried in order; the first that takes a requirement measures it.
MEASURES: list[Measure] = [measure_certificate, measure_windowed, measure_periodic, measure_any_span]


@frozen(eq=False)
class ColumnarResult:
    """The verdicts of a roster: per member (:meth:`member_verdicts`), or as counts."""

    as_of: dt.date
    members: tuple[Member, ...]
    composer: Composer
    #: Data warnings, sorted (as :attr:`~peertrain.rules.compliance.ComplianceResult.warnings`).
    warnings: tuple[str, ...]
    #: ``pack/requirement`` keys the engine evaluated member by member, with why.
    by_engine: dict[str, str]

    def member_verdicts(self) -> Iterator[MemberVerdicts]:
        """One :class:`MemberVerdicts` per member with verdicts, in roster order."""
        for member in self.members:
            verdicts = self.composer.verdicts_of(member)
            if verdicts:
                (outlook,) = forecast(verdicts, self.as_of)
                yield MemberVerdicts(member, tuple(verdicts), outlook)

    def counts(self) -> dict[Status, int]:
        """How many verdicts have each status."""
        return self.composer.counts()


def _pack_hours(packs: Sequence[RulePack]) -> list[Decimal]:
    found: list[Decimal] = []

    def walk(req: Requirement) -> None:
        if isinstance(req, Hours):
            found.append(req.hours)
            found.extend(m.hours for m in req.minimums if isinstance(m, Minimum))
        if isinstance(req, AllOf | AnyOf):
            for part in req.of:
                walk(part)

    for pack in packs:
        for req in pack.requirements:
            walk(req)
    return found


def columnar_compliance(
    rows: pl.DataFrame,
    members: Sequence[Member],
    packs: Sequence[RulePack],
    as_of: dt.date,
    *,
    catalogue: Catalogue,
    waivers: Sequence[Waiver] = (),
    due_within: int = DUE_WITHIN_DAYS,
    measures: Sequence[Measure] | None = None,
) -> ColumnarResult:
    """Every verdict for ``members`` under ``packs`` as of ``as_of``, from ``rows``: the completed
    records of the ledger (columns :data:`ROW_COLUMNS`, any order).

    The verdicts, forecasts and warnings are those of
    :func:`~peertrain.rules.compliance.check_compliance` over the same members and records.

    Raises :class:`ScaleError` when an hour figure has more than :data:`MAX_SCALE` decimal places
    (then only the engine adds them up exactly: use :func:`~peertrain.rules.stream.stream_compliance`),
    and :class:`~peertrain.errors.InputError` for a record of a course the catalogue does not know.
    """
    if due_within < 0:
        raise ValueError(f"due_within must be 0 or more days, got {due_within}")
    roster = tuple(members)
    on_roster = {m.id for m in roster}
    strays = sorted(set(rows["member"].unique().to_list()) - on_roster)
    evaluated = [m for m in roster if m.joined_on is None or m.joined_on <= as_of]
    roster_type = pl.Enum([m.id for m in evaluated])
    chosen = tuple(measures if measures is not None else MEASURES)
    credits = credits_table(rows, catalogue, as_of, roster_type, more_hours=_pack_hours(packs))
    warnings = set(credits.warnings)
    warnings.update(f"member {m!r} has completions but is not on the roster; not evaluated" for m in strays)
    composer = Composer(
        credits=credits, members=evaluated, packs=tuple(packs), as_of=as_of, catalogue=catalogue,
        waivers=tuple(waivers), due_within=due_within, measures=chosen, roster_type=roster_type,
    )
    composer.run(lambda req, ctx, subjects: _leaf(req, ctx, subjects, composer, due_within))
    return ColumnarResult(
        as_of=as_of, members=tuple(evaluated), composer=composer, warnings=tuple(sorted(warnings)),
        by_engine=dict(composer.by_engine),
    )


def _leaf(
    req: Requirement, ctx: Context, subjects: pl.DataFrame, composer: Composer, due_within: int
) -> pl.DataFrame | None:
    for measure in composer.measures:
        tally = measure(req, ctx, subjects)
        if tally is not None:
            return finish(tally, subjects, ctx.as_of, due_within)
    return None
