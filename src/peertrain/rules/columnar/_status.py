"""From a kind's tally to a verdict's status and dates, every member at once (the end of
:func:`peertrain.rules.engine.evaluate`), and from a row back to a :class:`Verdict`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from peertrain.rules.columnar._input import Scale
from peertrain.rules.engine import _explain
from peertrain.rules.requirements import Requirement, RulePack
from peertrain.rules.verdict import MinimumShortfall, Shortfall, Status, Verdict
from peertrain.rules.windows import ONE_DAY

__all__ = ["finish", "verdict_of"]


def finish(tally: pl.DataFrame, subjects: pl.DataFrame, as_of: dt.date, due_within: int) -> pl.DataFrame:
    """``tally`` (one row per member of ``subjects``, which give ``grace_end``) with ``status``,
    ``lapses_on`` and ``due_on`` as the engine decides them."""
    frame = tally.join(subjects.select("member", "grace_end"), on="member", how="left")
    grace_end = pl.col("grace_end")
    in_grace = grace_end.is_not_null() & (pl.lit(as_of) < grace_end)
    satisfied, lapses = pl.col("satisfied"), pl.col("lapses")
    soon = lapses.is_not_null() & ((lapses - pl.lit(as_of)).dt.total_days() <= due_within)
    status = (
        pl.when(satisfied & in_grace & ~pl.col("tally_satisfied")).then(pl.lit(Status.GRACE.value))
        .when(satisfied).then(pl.when(soon).then(pl.lit(Status.DUE_SOON.value)).otherwise(pl.lit(Status.MET.value)))
        .when(in_grace).then(pl.lit(Status.GRACE.value))
        .when(lapses.is_not_null()).then(pl.lit(Status.LAPSED.value))
        .otherwise(pl.lit(Status.NOT_MET.value))
    )
    frame = frame.with_columns(status=status)
    is_grace = pl.col("status") == Status.GRACE.value
    frame = frame.with_columns(
        lapses_on=pl.when(is_grace & satisfied).then(pl.coalesce(lapses, grace_end))
        .when(is_grace).then(grace_end)
        .otherwise(lapses)
    )
    due = pl.col("lapses_on") - ONE_DAY
    return frame.with_columns(
        due_on=pl.when((pl.col("status") == Status.NOT_MET.value) & grace_end.is_not_null())
        .then(grace_end - ONE_DAY)
        .otherwise(due)
    )


def verdict_of(
    row: dict[str, Any], pack: RulePack, req: Requirement, as_of: dt.date, scale: Scale, notes: tuple[str, ...],
    parts: tuple[Verdict, ...] = (),
) -> Verdict:
    """The :class:`Verdict` a finished row stands for (``notes``: those of its evidence)."""
    status = Status(row["status"])
    hours = scale.hours
    short_hours = row["short_hours"]
    return Verdict(
        member=row["member"],
        pack=pack.id,
        requirement=req.id,
        title=req.title,
        status=status,
        as_of=as_of,
        explanation=_explain(status, row["detail"], row["lapses_on"], row["due_on"], req),
        citation=req.citation or pack.citation,
        hours_credited=None if row["hours_credited"] is None else hours(row["hours_credited"]),
        hours_required=None if row["hours_required"] is None else hours(row["hours_required"]),
        shortfall=Shortfall(
            hours=None if short_hours is None else hours(short_hours),
            minimums=tuple(MinimumShortfall(m["label"], hours(m["hours"])) for m in row["short_minimums"]),
            count=row["short_count"],
            courses=tuple(row["short_courses"]),
            topics=tuple(row["short_topics"]),
        ),
        due_on=row["due_on"],
        lapses_on=row["lapses_on"],
        evidence=tuple(row["evidence"]),
        window_start=row["window_start"],
        window_end=row["window_end"],
        notes=notes,
        parts=parts,
    )


def row_of(verdict: Verdict, satisfied: bool, lapses: dt.date | None, scale: Scale) -> dict[str, Any]:
    """The finished row a verdict the engine gave stands for (with its timeline on D)."""
    short = verdict.shortfall

    def units(hours: Any) -> int | None:
        return None if hours is None else scale.units(hours)

    return {
        "member": verdict.member, "satisfied": satisfied, "lapses": lapses, "tally_satisfied": satisfied,
        "detail": "", "hours_credited": units(verdict.hours_credited), "hours_required": units(verdict.hours_required),
        "short_hours": units(short.hours),
        "short_minimums": [{"label": m.label, "hours": scale.units(m.hours)} for m in short.minimums],
        "short_count": short.count, "short_courses": list(short.courses), "short_topics": list(short.topics),
        "evidence": list(verdict.evidence), "window_start": verdict.window_start, "window_end": verdict.window_end,
        "status": verdict.status.value, "lapses_on": verdict.lapses_on, "due_on": verdict.due_on,
    }
