"""From a kind's tally to a verdict's status and dates, every member at once (the end of
:func:`peertrain.rules.engine.evaluate`), and from a row back to a :class:`Verdict`."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import polars as pl

from peertrain.rules.columnar._input import Scale
from peertrain.rules.requirements import Requirement, RulePack
from peertrain.rules.verdict import MinimumShortfall, Shortfall, Status, Verdict
from peertrain.rules.windows import ONE_DAY, AllTime, AnySpan, Periodic

__all__ = ["collector_paused", "explanation", "finish", "row_of", "verdicts_of"]


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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the block makes many objects, then back as it
    was. Making a chunk's ``Verdict`` objects (tens of thousands, none in a reference cycle) set off
    collections that each walked every live object, the roster included: about a third of the time
    spent making them. Objects freed in the block are freed by reference counting as always; only
    the search for cycles waits until the block ends. Not for a block that yields."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def explanation(req: Requirement) -> pl.Expr:
    """The engine's ``_explain`` of every row of a finished frame (``status``, ``detail``,
    ``lapses_on``, ``due_on``), as one column expression."""
    window = getattr(req, "window", None)
    where = ""
    if window is not None and not isinstance(window, AllTime | Periodic | AnySpan):
        where = f" {window.describe()}"
    elif isinstance(window, Periodic):
        where = f" ({window.describe()})"
    text = pl.col("detail") + pl.lit(where)
    status = pl.col("status")
    due, lapses = _iso(pl.col("due_on")), _iso(pl.col("lapses_on"))
    return (
        pl.when(status == Status.MET.value).then(
            "Met: " + text + pl.when(due.is_not_null()).then("; stays met through " + due).otherwise(pl.lit("")) + "."
        )
        .when(status == Status.DUE_SOON.value).then(
            "Due soon: " + text + "; lapses on " + lapses + " unless training is added by " + due + "."
        )
        .when(status == Status.GRACE.value).then("Not met yet; new member, first due by " + due + ": " + text + ".")
        .when(status == Status.LAPSED.value).then("Lapsed on " + lapses + ": " + text + ".")
        .otherwise("Not met: " + text + ".")
    )


def _iso(day: pl.Expr) -> pl.Expr:
    """``date.isoformat()`` of a date column (``%Y`` zero-pads to four digits, as ``isoformat``
    does; a third of the time of building the parts one by one)."""
    return day.dt.to_string("%Y-%m-%d")


_LISTS = ("short_minimums", "short_courses", "short_topics", "evidence")
_COLUMNS = (
    "member", "status", "explanation", "hours_credited", "hours_required", "short_hours", "short_minimums",
    "short_count", "short_courses", "short_topics", "due_on", "lapses_on", "evidence", "window_start",
    "window_end",
)


def verdicts_of(  # noqa: PLR0917
    frame: pl.DataFrame, pack: RulePack, req: Requirement, as_of: dt.date, scale: Scale,
    notes: Callable[[str, Sequence[str]], tuple[str, ...]] | None,
    parts: Sequence[dict[str, Verdict]] = (),
    skip: Collection[str] = (),
) -> dict[str, Verdict]:
    """The :class:`Verdict` of every row of a finished frame that has one, by member; ``parts``:
    the parts' verdicts by member, in order; ``skip``: members whose verdict comes from elsewhere.
    ``notes(member, evidence)`` gives the notes of a verdict (``None``: no record has a note)."""
    wanted = pl.col("has_verdict")
    if skip:
        wanted = wanted & ~pl.col("member").cast(pl.String).is_in(pl.Series(list(skip), dtype=pl.String).implode())
    # an empty list as null: polars hands nulls to Python much faster than empty lists
    lists = [pl.when(pl.col(n).list.len() > 0).then(pl.col(n)).alias(n) for n in _LISTS]
    rows = frame.filter(wanted).select(
        pl.col("member").cast(pl.String), "status", explanation(req).alias("explanation"),
        *(n for n in _COLUMNS[3:] if n not in _LISTS), *lists,
    ).select(_COLUMNS)
    hours_of: dict[int | None, Decimal | None] = {None: None}
    for name in ("hours_credited", "hours_required", "short_hours"):
        for units in rows[name].unique().to_list():
            if units not in hours_of:
                hours_of[units] = scale.hours(units)
    statuses = {s.value: s for s in Status}
    citation = req.citation or pack.citation
    pack_id, req_id, title = pack.id, req.id, req.title
    found: dict[str, Verdict] = {}
    columns = [rows[name].to_list() for name in _COLUMNS]
    for (member, status, text, credited, required, short_hours, minimums, count, courses, topics, due_on, lapses_on,
         listed, window_start, window_end) in zip(*columns, strict=True):
        if short_hours is None and minimums is None and count is None and courses is None and topics is None:
            shortfall = _NO_SHORTFALL
        else:
            shortfall = Shortfall(
                hours=hours_of[short_hours],
                minimums=tuple(MinimumShortfall(m["label"], scale.hours(m["hours"])) for m in minimums or ()),
                count=count, courses=tuple(courses or ()), topics=tuple(topics or ()),
            )
        evidence = tuple(listed) if listed is not None else ()
        found[member] = Verdict(
            member=member, pack=pack_id, requirement=req_id, title=title, status=statuses[status], as_of=as_of,
            explanation=text, citation=citation, hours_credited=hours_of[credited], hours_required=hours_of[required],
            shortfall=shortfall, due_on=due_on, lapses_on=lapses_on, evidence=evidence,
            window_start=window_start, window_end=window_end,
            notes=notes(member, evidence) if evidence and notes is not None else (),
            parts=tuple(v for by_member in parts if (v := by_member.get(member)) is not None) if parts else (),
        )
    return found




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
