"""From a kind's tally to a verdict's status and dates, every member at once (the end of
:func:`peertrain.rules.engine.evaluate`), and from a row back to a :class:`Verdict`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Sequence
from decimal import Decimal
from typing import Any

import polars as pl

from peertrain.rules.columnar._input import Scale
from peertrain.rules.engine import _explain
from peertrain.rules.requirements import Requirement, RulePack
from peertrain.rules.verdict import MinimumShortfall, Shortfall, Status, Verdict
from peertrain.rules.windows import ONE_DAY

__all__ = ["finish", "row_of", "verdicts_of"]


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


_NO_SHORTFALL = Shortfall()


def verdicts_of(  # noqa: PLR0917
    columns: dict[str, list[Any]], pack: RulePack, req: Requirement, as_of: dt.date, scale: Scale,
    notes: Callable[[str, Sequence[str]], tuple[str, ...]],
    parts: Sequence[dict[str, Verdict]] = (),
    skip: Container[str] = (),
) -> dict[str, Verdict]:
    """The :class:`Verdict` of every row of a finished frame (``columns``: the frame as lists) that
    has one, by member; ``parts``: the parts' verdicts by member, in order; ``skip``: members whose
    verdict comes from elsewhere. ``notes(member, evidence)`` gives the notes of a verdict."""
    hours_of: dict[int | None, Decimal | None] = {None: None}

    def hours(units: int | None) -> Decimal | None:
        found = hours_of.get(units, _MISSING)
        if found is _MISSING:
            found = hours_of[units] = scale.hours(units)  # type: ignore[arg-type]
        return found  # type: ignore[return-value]

    statuses = {s.value: s for s in Status}
    citation = req.citation or pack.citation
    found: dict[str, Verdict] = {}
    c = columns
    for i, member in enumerate(c["member"]):
        if not c["has_verdict"][i] or member in skip:
            continue
        status = statuses[c["status"][i]]
        lapses_on, due_on = c["lapses_on"][i], c["due_on"][i]
        short_hours, minimums, count = c["short_hours"][i], c["short_minimums"][i], c["short_count"][i]
        courses, topics = c["short_courses"][i], c["short_topics"][i]
        if short_hours is None and not minimums and count is None and not courses and not topics:
            shortfall = _NO_SHORTFALL
        else:
            shortfall = Shortfall(
                hours=hours(short_hours),
                minimums=tuple(MinimumShortfall(m["label"], hours(m["hours"])) for m in minimums),  # type: ignore[arg-type]
                count=count, courses=tuple(courses), topics=tuple(topics),
            )
        evidence = c["evidence"][i]
        found[member] = Verdict(
            member=member, pack=pack.id, requirement=req.id, title=req.title, status=status, as_of=as_of,
            explanation=_explain(status, c["detail"][i], lapses_on, due_on, req), citation=citation,
            hours_credited=hours(c["hours_credited"][i]), hours_required=hours(c["hours_required"][i]),
            shortfall=shortfall, due_on=due_on, lapses_on=lapses_on, evidence=tuple(evidence),
            window_start=c["window_start"][i], window_end=c["window_end"][i],
            notes=notes(member, evidence) if evidence else (),
            parts=tuple(v for by_member in parts if (v := by_member.get(member)) is not None),
        )
    return found


_MISSING = object()


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
